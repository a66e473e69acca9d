// `tessera demo` (= `npm start`): the PresGAN paper's Figure 1. A GAN and a PresGAN with the same
// hyperparameters on the 8-Gaussian ring, side by side in one picture, modes and % high quality for
// both; resumable (each model's run folder checkpoints, demo.json holds the demo's settings).
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sideBySide } from '../plot/compose.js';
import { writeAtomic, writeJsonAtomic } from './atomic.js';
import type { CliIO } from './main.js';
import { formatDuration } from './progress.js';
import { makeRunDir } from './report.js';
import { type TrainReport, trainRun } from './train-command.js';

/**
 * The shared setting of Figure 1 (docs/figure1.md): the GAN's defaults with G's learning rate 2e-4
 * (D's stays 1e-3), under which the GAN missed modes in 5 of 5 seeds; PresGAN runs with exactly
 * these plus its own entropy term (its defaults: lambda 0.01, sigma in [0.01, 0.3]).
 */
export const FIGURE1_SETTINGS: Record<string, unknown> = { 'optimizers.G.lr': 2e-4 };

/** The demo's default seed (seed 1 of the five in docs/figure1.md). */
export const FIGURE1_SEED = 1;

/** Iterations of each model in the demo. */
export const FIGURE1_STEPS = 2000;

export interface Figure1Options {
  steps?: number;
  seed: number;
  out?: string;
  set?: Record<string, unknown>;
  /** A demo folder to continue (its demo.json settings are used; finished models are kept). */
  resume?: string;
  /** Steps between each model's checkpoints. */
  checkpointEvery?: number;
}

/** The demo's settings, written first (demo.json) so that --resume runs the same demo. */
interface DemoSettings {
  seed: number;
  steps: number;
  set: Record<string, unknown>;
  checkpointEvery?: number;
}

const exists = async (path: string) => (await stat(path).catch(() => undefined)) !== undefined;

/** Trains both models, writes figure1.png and report.json, prints both models' scores. */
export async function runFigure1(
  opts: Figure1Options,
  backend: { name: string; description: string },
  io: CliIO,
): Promise<number> {
  const t0 = performance.now();
  let settings: DemoSettings;
  let dir: string;
  if (opts.resume !== undefined) {
    dir = opts.resume;
    settings = JSON.parse(await readFile(join(dir, 'demo.json'), 'utf8')) as DemoSettings;
  } else {
    dir = await makeRunDir('demo', opts.out);
    settings = {
      seed: opts.seed,
      steps: opts.steps ?? FIGURE1_STEPS,
      set: { ...FIGURE1_SETTINGS, ...(opts.set ?? {}) },
      ...(opts.checkpointEvery !== undefined ? { checkpointEvery: opts.checkpointEvery } : {}),
    };
    await writeJsonAtomic(join(dir, 'demo.json'), settings);
  }
  const { set, steps } = settings;
  const runs: (TrainReport & { dir: string })[] = [];
  for (const objective of ['gan', 'presgan']) {
    const sub = join(dir, objective);
    if (opts.resume !== undefined && (await exists(join(sub, 'report.json')))) {
      // Finished before the kill: its report (written last, atomically) stands.
      const done = JSON.parse(await readFile(join(sub, 'report.json'), 'utf8')) as TrainReport;
      runs.push({ ...done, dir: sub });
      continue;
    }
    const resume = opts.resume !== undefined && (await exists(join(sub, 'checkpoint.safetensors'))) ? sub : undefined;
    runs.push(
      await trainRun(
        {
          objective,
          data: 'ring',
          seed: settings.seed,
          steps,
          set,
          out: sub,
          evalSamples: 2500,
          ...(resume !== undefined ? { resume } : {}),
          ...(settings.checkpointEvery !== undefined ? { checkpointEvery: settings.checkpointEvery } : {}),
        },
        backend,
        io,
      ),
    );
  }
  const panels = await Promise.all(runs.map((r) => readFile(r.files.samples!)));
  const figure = join(dir, 'figure1.png');
  await writeAtomic(
    figure,
    sideBySide(panels, { title: 'GAN (left) and PresGAN (right), same hyperparameters, 8-Gaussian ring' }),
  );
  const summary = runs.map((r) => ({
    objective: r.objective,
    modes: 'modes' in r.metrics ? r.metrics.modes : null,
    highQuality: 'highQuality' in r.metrics ? r.metrics.highQuality : null,
    reverseKL: 'reverseKL' in r.metrics ? r.metrics.reverseKL : null,
    stepsPerSecond: r.stepsPerSecond,
    report: r.files.report,
  }));
  const report = {
    command: 'demo',
    figure,
    seed: settings.seed,
    steps,
    settings: set,
    backend,
    runs: summary,
    files: { figure, gan: join(dir, 'gan'), presgan: join(dir, 'presgan'), metrics: runs.map((r) => r.files.metrics) },
    ...(opts.resume !== undefined ? { resumed: true } : {}),
  };
  await writeJsonAtomic(join(dir, 'report.json'), report);
  io.out.write(`\nFigure 1 (PresGAN paper), 2,500 samples, high quality = within 3 std of the nearest mode:\n`);
  for (const s of summary) {
    io.out.write(
      `  ${s.objective.padEnd(8)} modes ${s.modes}/8, high quality ${s.highQuality === null ? 'n/a' : `${(100 * s.highQuality).toFixed(1)}%`}\n`,
    );
  }
  io.out.write(
    `figure: ${figure}\nreport: ${join(dir, 'report.json')}\ntotal ${formatDuration((performance.now() - t0) / 1000)}\n`,
  );
  return 0;
}
