// `tessera eval <run dir or checkpoint>`: evaluates a trained GAN-layer model with every metric that
// applies (src/eval), writes eval.json (numbers and protocol) atomically and the PNGs to look at.
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setBackend } from '../backend/select.js';
import { TesseraError } from '../errors.js';
import { evaluateTrainer, METRIC_NAMES, resolveMetrics } from '../eval/evaluate.js';
import { loadTrainedModel } from '../eval/load.js';
import { setCpuThreads } from '../kernels/cpu/threads.js';
import { imageGrid, linePlot, scatterPlot } from '../plot/plots.js';
import {
  BACKENDS,
  COMMAND_USAGE,
  choiceOption,
  intOption,
  MAX_THREADS,
  numberOption,
  parseOptions,
  UsageError,
} from './args.js';
import { writeAtomic, writeJsonAtomic } from './atomic.js';
import type { CliIO } from './main.js';
import { formatDuration } from './progress.js';
import { makeRunDir } from './report.js';

const EVAL_OPTIONS = {
  metrics: { type: 'string' },
  samples: { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  classifier: { type: 'string' },
  'ivom-images': { type: 'string' },
  'ivom-steps': { type: 'string' },
  'ivom-restarts': { type: 'string' },
  'birthday-threshold': { type: 'string' },
  'noise-std': { type: 'string' },
  backend: { type: 'string' },
  threads: { type: 'string' },
} as const;

/** Runs `tessera eval`; returns the exit status (usage errors are thrown as UsageError). */
export async function evalCommand(argv: readonly string[], io: CliIO): Promise<number> {
  const c = 'tessera eval';
  const [target, ...rest] = argv;
  if (target === '--help' || target === '-h') {
    io.out.write(`${COMMAND_USAGE.eval!}\n`);
    return 0;
  }
  if (target === undefined || target.startsWith('-'))
    throw new UsageError(`${c}: expected a run folder or checkpoint first`);
  const o = parseOptions(c, rest, EVAL_OPTIONS);
  if (o.help) {
    io.out.write(`${COMMAND_USAGE.eval!}\n`);
    return 0;
  }
  const metrics =
    o.metrics === undefined
      ? undefined
      : String(o.metrics)
          .split(',')
          .map((m) => m.trim())
          .filter((m) => m !== '');
  if (metrics !== undefined) {
    if (metrics.length === 0) throw new UsageError(`${c}: --metrics is empty; metrics: ${METRIC_NAMES.join(', ')}`);
    const unknown = metrics.filter((m) => !(METRIC_NAMES as readonly string[]).includes(m));
    if (unknown.length > 0)
      throw new UsageError(`${c}: unknown metric '${unknown[0]}'; metrics: ${METRIC_NAMES.join(', ')}`);
  }
  const samples = intOption(c, 'samples', o.samples, 2);
  const seed = intOption(c, 'seed', o.seed, 0);
  const ivomImages = intOption(c, 'ivom-images', o['ivom-images']);
  const ivomSteps = intOption(c, 'ivom-steps', o['ivom-steps'], 0);
  const ivomRestarts = intOption(c, 'ivom-restarts', o['ivom-restarts']);
  const birthdayThreshold = numberOption(c, 'birthday-threshold', o['birthday-threshold']);
  const noiseStd = numberOption(c, 'noise-std', o['noise-std']);
  const backend = choiceOption(c, 'backend', o.backend, BACKENDS) ?? 'cpu';
  const threads = intOption(c, 'threads', o.threads, 1, MAX_THREADS);
  const info = await stat(target).catch(() => undefined);
  if (info === undefined) throw new UsageError(`${c}: no run folder or checkpoint at '${target}'`);
  if (info.isDirectory()) {
    const ck = await stat(join(target, 'checkpoint.safetensors')).catch(() => undefined);
    if (ck === undefined)
      throw new UsageError(`${c}: '${target}' has no checkpoint.safetensors (not a run folder of 'tessera train')`);
  }
  if (o.classifier !== undefined && (await stat(String(o.classifier)).catch(() => undefined)) === undefined)
    throw new UsageError(`${c}: --classifier: no file at '${String(o.classifier)}'`);

  const chosen = await setBackend(backend);
  if (threads !== undefined) setCpuThreads(threads);
  io.out.write(`backend: ${chosen.name} - ${chosen.description}\n`);
  const t0 = performance.now();
  const { trainer, checkpoint, runDir } = await loadTrainedModel(target);
  try {
    try {
      resolveMetrics(trainer, metrics);
    } catch (e) {
      if (e instanceof TesseraError) throw new UsageError(`${c}: ${e.message.replace(/^evaluateTrainer: /, '')}`);
      throw e;
    }
    const out =
      o.out !== undefined || runDir === undefined
        ? await makeRunDir('eval', o.out as string | undefined)
        : await makeRunDir('eval', join(runDir, 'eval'));
    io.out.write(
      `evaluating ${trainer.objective.title} on ${trainer.data.name} (step ${trainer.stepCount}) from ${checkpoint}; output in ${out}\n`,
    );
    const ev = await evaluateTrainer(trainer, {
      ...(metrics === undefined ? {} : { metrics }),
      ...(samples === undefined ? {} : { samples }),
      ...(seed === undefined ? {} : { seed }),
      ...(o.classifier === undefined ? {} : { classifierPath: String(o.classifier) }),
      ...(ivomImages === undefined ? {} : { ivomImages }),
      ivom: {
        ...(ivomSteps === undefined ? {} : { steps: ivomSteps }),
        ...(ivomRestarts === undefined ? {} : { restarts: ivomRestarts }),
      },
      ...(birthdayThreshold === undefined ? {} : { birthdayThreshold }),
      ...(noiseStd === undefined ? {} : { noisyD: { noiseStd } }),
    });
    const files: Record<string, string> = {};
    const shape = ev.sampleShape;
    const title = `${trainer.objective.title} on ${trainer.data.name}, step ${trainer.stepCount}`;
    if (shape.length === 4) {
      const [, ch, h, w] = shape as [number, number, number, number];
      const count = Math.min(64, shape[0]!);
      files.samples = join(out, 'samples.png');
      await writeAtomic(
        files.samples,
        imageGrid(
          ev.samples.subarray(0, count * ch * h * w),
          { count, channels: ch, height: h, width: w },
          { range: [-1, 1], title },
        ),
      );
      if (ev.nearestPairs !== undefined && ev.nearestPairs.count > 0) {
        files.birthdayPairs = join(out, 'birthday-pairs.png');
        await writeAtomic(
          files.birthdayPairs,
          imageGrid(
            ev.nearestPairs.samples,
            { count: 2 * ev.nearestPairs.count, channels: ch, height: h, width: w },
            { range: [-1, 1], cols: 8, title: 'birthday test: the closest pairs (side by side)' },
          ),
        );
      }
    } else if (shape.length === 2 && shape[1] === 2) {
      files.samples = join(out, 'samples.png');
      await writeAtomic(files.samples, scatterPlot(ev.samples, { modes: trainer.data.mixture?.means ?? [], title }));
    }
    if (ev.histogram !== undefined) {
      files.modes = join(out, 'modes.png');
      await writeAtomic(
        files.modes,
        linePlot([{ name: 'samples', x: ev.histogram.counts.map((_, i) => i), y: ev.histogram.counts }], {
          title: ev.histogram.title,
          xLabel: ev.histogram.axis,
          yLabel: 'samples',
        }),
      );
    }
    files.eval = join(out, 'eval.json');
    const record = { ...ev.record, source: { path: resolve(target), checkpoint: resolve(checkpoint) }, files };
    await writeJsonAtomic(files.eval, record);
    io.out.write(`done in ${formatDuration((performance.now() - t0) / 1000)}\n`);
    for (const [name, m] of Object.entries(ev.record.metrics)) io.out.write(`${name}: ${summary(m)}\n`);
    for (const [k, p] of Object.entries(files)) io.out.write(`${`${k}:`.padEnd(15)}${p}\n`);
    return 0;
  } finally {
    trainer.dispose();
    trainer.data.dispose();
  }
}

/** A one-line summary of a metric's record: its top-level numbers. */
function summary(m: Record<string, unknown> | undefined): string {
  if (m === undefined) return '';
  return Object.entries(m)
    .filter(([, v]) => typeof v === 'number' || typeof v === 'boolean')
    .slice(0, 6)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`)
    .join(', ');
}
