// `tessera train gan` and `tessera demo`: trains a toy GAN and writes report.json and the plots.
import { join } from 'node:path';
import { type ToyGanConfig, trainToyGan } from '../models/toy-gan.js';
import { autoRange, densityPlot, linePlot, savePNG, scatterPlot } from '../plot/index.js';
import type { CliIO } from './main.js';
import { createProgress, formatDuration } from './progress.js';
import { makeRunDir, writeReport } from './report.js';

/** Trains a toy GAN, writes report.json and the plots into the run folder, prints the paths. */
export async function runGanCommand(
  name: string,
  overrides: Partial<ToyGanConfig>,
  out: string | undefined,
  backend: { name: string; description: string },
  io: CliIO,
): Promise<number> {
  const started = new Date();
  const dir = await makeRunDir(name, out);
  const defined = Object.fromEntries(
    Object.entries(overrides).filter(([, v]) => v !== undefined),
  ) as Partial<ToyGanConfig>;
  let progress: ReturnType<typeof createProgress> | undefined;
  const result = await trainToyGan(defined, {
    onStart: (cfg) => {
      io.out.write(
        `training a GAN on ${cfg.data} (${cfg.steps} steps, batch ${cfg.batchSize}, seed ${cfg.seed}); output in ${dir}\n`,
      );
      progress = createProgress('train', cfg.steps, { stream: io.out, silent: io.quiet ?? false });
    },
    onProgress: (step, d, g) => progress?.update(step, `D ${d.toFixed(3)} G ${g.toFixed(3)}`),
  });
  progress?.stop();
  const cfg = result.config;
  const m = result.metrics;
  const hqRadius = cfg.threshold * result.mixture.std[0]!;
  const subtitle = `modes ${m.modesCaptured}/${m.numModes}, HQ ${(100 * m.hqFraction).toFixed(1)}% (n=${m.total})`;
  const files = {
    samples: join(dir, 'samples.png'),
    density: join(dir, 'density.png'),
    data: join(dir, 'data.png'),
    losses: join(dir, 'losses.png'),
  };
  // One window for every scatter and density plot: the modes and most samples, real and generated.
  const range = autoRange(Float64Array.from([...result.realSamples, ...result.samples]), result.mixture.means);
  await savePNG(
    files.samples,
    scatterPlot(result.samples, {
      modes: result.mixture.means,
      modeRadius: hqRadius,
      range,
      title: `GAN samples on ${cfg.data}, step ${cfg.steps}`,
      subtitle,
      xLabel: 'x1',
      yLabel: 'x2',
    }),
  );
  await savePNG(
    files.density,
    densityPlot(result.samples, {
      modes: result.mixture.means,
      range,
      title: `Sample density, step ${cfg.steps}`,
      subtitle,
    }),
  );
  await savePNG(
    files.data,
    scatterPlot(result.realSamples, {
      modes: result.mixture.means,
      modeRadius: hqRadius,
      range,
      title: `Training data: ${cfg.data}`,
      color: [44, 160, 44],
      xLabel: 'x1',
      yLabel: 'x2',
    }),
  );
  await savePNG(
    files.losses,
    linePlot(
      [
        { name: 'D loss', x: result.lossSteps, y: result.lossesD },
        { name: 'G loss', x: result.lossSteps, y: result.lossesG },
      ],
      {
        title: 'GAN losses (non-saturating)',
        xLabel: 'step',
        yLabel: 'loss',
        smooth: Math.max(1, Math.floor(result.lossSteps.length / 40)),
      },
    ),
  );
  const report = {
    command: name,
    startedAt: started.toISOString(),
    config: cfg,
    seed: cfg.seed,
    backend,
    timings: result.timings,
    metrics: {
      modesCaptured: m.modesCaptured,
      numModes: m.numModes,
      highQualityPercent: 100 * m.hqFraction,
      highQuality: m.highQuality,
      samples: m.total,
      reverseKL: m.reverseKL,
      hqPerMode: m.hqPerMode,
      threshold: m.threshold,
      minHighQuality: m.minHighQuality,
    },
    finalLosses: result.finalLosses,
    files,
  };
  const reportPath = await writeReport(dir, report);
  const t = result.timings;
  io.out.write(
    `done in ${formatDuration(t.totalSeconds)} (${t.stepsPerSecond.toFixed(1)} steps/s): modes captured ${m.modesCaptured}/${m.numModes}, high quality ${(100 * m.hqFraction).toFixed(1)}%, final losses D ${result.finalLosses.d.toFixed(3)} G ${result.finalLosses.g.toFixed(3)}\n`,
  );
  io.out.write(`report: ${reportPath}\n`);
  for (const [k, p] of Object.entries(files)) io.out.write(`${`${k}:`.padEnd(9)}${p}\n`);
  return 0;
}
