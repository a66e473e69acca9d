// `tessera train <objective>`: trains any registered GAN objective on a named data set, with
// metrics.jsonl, checkpoints (atomic, resumable), plots and report.json in the run folder.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseSetValue } from '../gan/config.js';
import { type DataSource, loadDataSource } from '../gan/data.js';
import { getObjective } from '../gan/registry.js';
import { EVAL_SAMPLES, evaluateMixture, type MixtureEvaluation, runTrainer } from '../gan/run.js';
import { GanTrainer, readCheckpointSetup } from '../gan/trainer.js';
import { autoRange, densityPlot, imageGrid, linePlot, scatterPlot } from '../plot/plots.js';
import { isDecimal, UsageError } from './args.js';
import { writeAtomic } from './atomic.js';
import type { CliIO } from './main.js';
import { createProgress, formatDuration } from './progress.js';
import { makeRunDir } from './report.js';

/** What one training run is asked to do. */
export interface TrainRequest {
  objective: string;
  data: string;
  seed: number;
  steps?: number;
  /** `key=value` overrides of the objective's hyperparameters. */
  set: Record<string, unknown>;
  out?: string;
  /** A run folder to continue from its checkpoint. */
  resume?: string;
  evalSamples?: number;
  checkpointEvery?: number;
  /** Write a PNG of samples every this many steps into snapshots/ (default never). */
  snapshotEvery?: number;
  /** Short label for plot titles (default the objective's title). */
  label?: string;
}

/** The outcome of a run, as written to report.json. */
export interface TrainReport {
  command: string;
  objective: string;
  paper: string;
  data: string;
  seed: number;
  backend: { name: string; description: string };
  steps: number;
  config: Record<string, unknown>;
  wallSeconds: number;
  trainSeconds: number;
  stepsPerSecond: number;
  finalLosses: Record<string, number>;
  metrics: MixtureEvaluation | Record<string, never>;
  files: Record<string, string>;
  resumedFrom?: number;
}

/** Parses repeated `--set key=value` options. */
export function parseSets(command: string, sets: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of sets) {
    const i = s.indexOf('=');
    if (i <= 0) throw new UsageError(`${command}: --set expects key=value, got '${s}'`);
    const raw = s.slice(i + 1).trim();
    if (raw !== '' && Number.isFinite(Number(raw)) && !isDecimal(raw))
      throw new UsageError(
        `${command}: --set ${s.slice(0, i).trim()}: numbers must be decimal (like 16 or 1e-4), got '${raw}'`,
      );
    if (s.slice(0, i).trim() in out)
      throw new UsageError(`${command}: --set ${s.slice(0, i).trim()} is given more than once`);
    out[s.slice(0, i).trim()] = parseSetValue(s.slice(i + 1));
  }
  return out;
}

const CHECKPOINT = 'checkpoint.safetensors';

/** Draws the run's figures from its samples and loss log; returns the file paths. */
async function drawFigures(
  dir: string,
  title: string,
  data: DataSource,
  samples: Float32Array,
  shape: readonly number[],
  evaluation: MixtureEvaluation | undefined,
  log: { step: number; losses: Record<string, number> }[],
  realSamples: Float32Array | undefined,
): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const mixture = data.mixture;
  if (data.info.kind === 'vector' && data.info.shape[0] === 2) {
    const means = mixture?.means ?? [];
    const range = autoRange(Float64Array.from([...(realSamples ?? []), ...samples]), means);
    const subtitle = evaluation
      ? `modes ${evaluation.modes}/${evaluation.numModes}, HQ ${(100 * evaluation.highQuality).toFixed(1)}% (n=${evaluation.samples})`
      : `n=${samples.length / 2}`;
    const radius = mixture ? evaluation!.threshold * mixture.std[0]! : undefined;
    const scatter = async (
      name: string,
      points: Float32Array,
      plotTitle: string,
      extra: { subtitle?: string; color?: [number, number, number] },
    ) => {
      files[name] = join(dir, `${name}.png`);
      const png = scatterPlot(points, {
        modes: means,
        ...(radius ? { modeRadius: radius } : {}),
        range,
        title: plotTitle,
        xLabel: 'x1',
        yLabel: 'x2',
        ...extra,
      });
      await writeAtomic(files[name]!, png);
    };
    await scatter('samples', samples, title, { subtitle });
    if (realSamples) await scatter('data', realSamples, `Training data: ${data.name}`, { color: [44, 160, 44] });
    files.density = join(dir, 'density.png');
    await writeAtomic(
      files.density,
      densityPlot(samples, { modes: means, range, title: `${title}: density`, subtitle }),
    );
  } else if (data.info.kind === 'image') {
    const [c, h, w] = data.info.shape as [number, number, number];
    const count = Math.min(64, shape[0]!);
    files.samples = join(dir, 'samples.png');
    await writeAtomic(
      files.samples,
      imageGrid(
        samples.subarray(0, count * c * h * w),
        { count, channels: c, height: h, width: w },
        { range: [-1, 1] },
      ),
    );
  }
  const names = [...new Set(log.flatMap((r) => Object.keys(r.losses)))].filter((k) => !k.includes('/'));
  if (log.length > 0 && names.length > 0) {
    files.losses = join(dir, 'losses.png');
    await writeAtomic(
      files.losses,
      linePlot(
        names.map((k) => ({
          name: `${k} loss`,
          x: log.map((r) => r.step),
          y: log.map((r) => r.losses[k] ?? Number.NaN),
        })),
        { title: `${title}: losses`, xLabel: 'step', yLabel: 'loss', smooth: Math.max(1, Math.floor(log.length / 40)) },
      ),
    );
  }
  return files;
}

/** Writes snapshots/step-<N>.png: samples over the modes (2-D data) or an image grid. */
function snapshotWriter(dir: string, data: DataSource, label: string) {
  return async (step: number, samples: Float32Array, shape: readonly number[]): Promise<void> => {
    await mkdir(join(dir, 'snapshots'), { recursive: true });
    const path = join(dir, 'snapshots', `step-${String(step).padStart(7, '0')}.png`);
    if (data.info.kind === 'image') {
      const [c, h, w] = data.info.shape as [number, number, number];
      const count = Math.min(64, shape[0]!);
      const grid = imageGrid(
        samples.subarray(0, count * c * h * w),
        { count, channels: c, height: h, width: w },
        { range: [-1, 1] },
      );
      await writeAtomic(path, grid);
    } else if (data.info.shape[0] === 2) {
      await writeAtomic(
        path,
        scatterPlot(samples, { modes: data.mixture?.means ?? [], title: `${label}, step ${step}` }),
      );
    }
  };
}

/** Trains (or resumes) one run and writes its folder; returns the report. */
export async function trainRun(
  req: TrainRequest,
  backend: { name: string; description: string },
  io: CliIO,
): Promise<TrainReport & { dir: string }> {
  const t0 = performance.now();
  let setup = { objective: req.objective, data: req.data, seed: req.seed, set: req.set };
  let bytes: Uint8Array | undefined;
  let dir: string;
  if (req.resume !== undefined) {
    dir = req.resume;
    bytes = new Uint8Array(
      await readFile(join(dir, CHECKPOINT)).catch(() => {
        throw new UsageError(`--resume: no ${CHECKPOINT} in ${dir}`);
      }),
    );
    const saved = readCheckpointSetup(bytes).setup;
    setup = { objective: saved.objective, data: saved.data, seed: saved.seed, set: saved.set };
  } else {
    dir = await makeRunDir(`train-${req.objective}-${req.data}`, req.out);
  }
  const objective = getObjective(setup.objective);
  const data = await loadDataSource(setup.data);
  const trainer = new GanTrainer({ objective, data, seed: setup.seed, set: setup.set });
  try {
    if (bytes !== undefined) trainer.restore(bytes);
    const resumedFrom = bytes !== undefined ? trainer.stepCount : undefined;
    const steps = req.steps ?? trainer.hyper.steps;
    const label = req.label ?? objective.title;
    io.out.write(
      `${resumedFrom !== undefined ? `resuming from step ${resumedFrom}: ` : ''}training ${objective.title} on ${data.name} (${steps} steps, batch ${trainer.hyper.batchSize}, seed ${setup.seed}); output in ${dir}\n`,
    );
    const metricsPath = join(dir, 'metrics.jsonl');
    if (resumedFrom === undefined) await writeAtomic(metricsPath, '');
    else {
      // Rows past the checkpoint were written by the killed run; the resumed run writes them again.
      const kept = (await readLog(metricsPath)).filter((r) => r.step <= resumedFrom);
      await writeAtomic(metricsPath, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
    }
    const progress = createProgress('train', steps, { stream: io.out, silent: io.quiet ?? false });
    let lastLosses = '';
    const result = await runTrainer(trainer, {
      steps,
      onLog: async (r) => {
        await appendFile(
          metricsPath,
          `${JSON.stringify({ step: r.step, wallSeconds: r.wallSeconds, losses: r.losses })}\n`,
        );
        lastLosses = Object.entries(r.losses)
          .filter(([k]) => !k.includes('/'))
          .map(([k, v]) => `${k} ${v.toFixed(3)}`)
          .join(' ');
      },
      onProgress: (s) => progress.update(s, lastLosses),
      checkpointEvery: req.checkpointEvery ?? Math.max(100, Math.floor(steps / 10)),
      ...(req.snapshotEvery ? { snapshotEvery: req.snapshotEvery, onSnapshot: snapshotWriter(dir, data, label) } : {}),
      onCheckpoint: (_s, b) => writeAtomic(join(dir, CHECKPOINT), b),
    });
    progress.stop();
    const evaluation = await evaluateMixture(trainer, req.evalSamples ?? EVAL_SAMPLES);
    let samples = evaluation?.samples;
    let shape: readonly number[] = [];
    if (samples === undefined) {
      const x = trainer.sample(64);
      samples = Float32Array.from(await x.data());
      shape = x.shape;
      x.dispose();
    } else shape = [samples.length / data.info.shape[0]!, data.info.shape[0]!];
    let real: Float32Array | undefined;
    if (data.info.kind === 'vector') {
      const { Generator } = await import('../random/generator.js');
      const r = data.sample(evaluation?.metrics.samples ?? 2500, new Generator(setup.seed + 1));
      real = Float32Array.from(await r.x.data());
      r.x.dispose();
      r.labels?.dispose();
    }
    const log = await readLog(metricsPath);
    const files = await drawFigures(
      dir,
      `${label} on ${data.name}, step ${trainer.stepCount}`,
      data,
      samples,
      shape,
      evaluation?.metrics,
      log,
      real,
    );
    files.metrics = metricsPath;
    files.checkpoint = join(dir, CHECKPOINT);
    const report: TrainReport = {
      command: `train ${objective.name}`,
      objective: objective.name,
      paper: objective.paper,
      data: data.name,
      seed: setup.seed,
      backend,
      steps: trainer.stepCount,
      config: { ...trainer.describe() },
      wallSeconds: (performance.now() - t0) / 1000,
      trainSeconds: result.trainSeconds,
      stepsPerSecond: result.stepsPerSecond,
      // A run resumed after its last step (killed while writing its figures) trains no step: its
      // final losses are the last logged ones.
      finalLosses:
        Object.keys(result.finalLosses).length > 0 ? result.finalLosses : (log[log.length - 1]?.losses ?? {}),
      metrics: evaluation?.metrics ?? {},
      files,
      ...(resumedFrom !== undefined ? { resumedFrom } : {}),
    };
    files.report = join(dir, 'report.json');
    await writeAtomic(files.report, `${JSON.stringify(report, null, 2)}\n`);
    const m = evaluation?.metrics;
    io.out.write(
      `done in ${formatDuration(report.wallSeconds)} (${result.stepsPerSecond.toFixed(1)} steps/s)${m ? `: modes ${m.modes}/${m.numModes}, high quality ${(100 * m.highQuality).toFixed(1)}%, reverse KL ${m.reverseKL === null ? 'n/a' : m.reverseKL.toFixed(3)}` : ''}\n`,
    );
    for (const [k, p] of Object.entries(files)) io.out.write(`${`${k}:`.padEnd(12)}${p}\n`);
    return { ...report, dir };
  } finally {
    trainer.dispose();
    data.dispose();
  }
}

/** Every row of a run's metrics.jsonl (a truncated last line, from a killed run, is skipped). */
export async function readLog(path: string): Promise<{ step: number; losses: Record<string, number> }[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const rows: { step: number; losses: Record<string, number> }[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      rows.push(JSON.parse(line) as { step: number; losses: Record<string, number> });
    } catch {
      // a partial line written when the process was killed
    }
  }
  return rows;
}
