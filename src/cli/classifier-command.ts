// `tessera train-classifier`: trains the Stacked-MNIST classifier (resumable from its training
// state) and writes its checkpoint, metrics.jsonl, plots and report.json, all atomically.
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ClassifierConfig, trainClassifier } from '../models/classifier.js';
import { saveClassifier } from '../models/classifier-checkpoint.js';
import { readClassifierState } from '../models/classifier-state.js';
import { imageGrid, linePlot } from '../plot/index.js';
import { writeAtomic } from './atomic.js';
import type { CliIO } from './main.js';
import { createProgress, formatDuration } from './progress.js';
import { makeRunDir, resumeDir, writeReport } from './report.js';
import { readLog } from './train-command.js';

/** The training state's file name in a train-classifier run folder. */
export const CLASSIFIER_STATE = 'state.safetensors';

/** Where a classifier run writes and how often it saves its training state. */
export interface ClassifierRunOptions {
  out?: string;
  /** A run folder to continue exactly from its state.safetensors (its config is used). */
  resume?: string;
  /** Batches between training-state saves inside an epoch (default 20; always after each epoch). */
  checkpointEvery?: number;
}

/** Trains the protocol's classifier, saves the checkpoint, the plots and report.json, prints the paths. */
export async function runClassifierCommand(
  overrides: Partial<ClassifierConfig>,
  run: ClassifierRunOptions,
  backend: { name: string; description: string },
  io: CliIO,
): Promise<number> {
  const started = new Date();
  const t0 = performance.now();
  let defined = Object.fromEntries(
    Object.entries(overrides).filter(([, v]) => v !== undefined),
  ) as Partial<ClassifierConfig>;
  let dir: string;
  let resumedFrom: number | undefined;
  let wallOffset = 0;
  if (run.resume !== undefined) {
    dir = await resumeDir(run.resume, CLASSIFIER_STATE);
    const saved = await readClassifierState(join(dir, CLASSIFIER_STATE));
    defined = saved.config as Partial<ClassifierConfig>;
    resumedFrom = saved.done;
  } else dir = await makeRunDir('train-classifier', run.out);
  const metricsPath = join(dir, 'metrics.jsonl');
  if (resumedFrom === undefined) await writeAtomic(metricsPath, '');
  else {
    // Rows past the saved state were written by the killed run; the resumed run writes them again.
    const kept = (await readLog(metricsPath)).filter((r) => r.step <= resumedFrom!);
    wallOffset = (kept[kept.length - 1] as { wallSeconds?: number } | undefined)?.wallSeconds ?? 0;
    await writeAtomic(metricsPath, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
    io.out.write(`resuming from batch ${resumedFrom}\n`);
  }
  const wall = () => wallOffset + (performance.now() - t0) / 1000;
  // One line per batch, appended (and so flushed) as training goes; readers skip a torn last line.
  let pending: Promise<void> = Promise.resolve();
  const logRow = (row: Record<string, unknown>) => {
    const line = `${JSON.stringify(row)}\n`;
    pending = pending.then(() => appendFile(metricsPath, line));
  };
  let progress: ReturnType<typeof createProgress> | undefined;
  let lastDone = 0;
  let data = defined.data ?? 'mnist';
  const result = await trainClassifier(
    defined,
    {
      onStart: ({ cfg, trainCount, validationCount, testCount, totalBatches }) => {
        const val = validationCount > 0 ? ` / ${validationCount} validation` : '';
        io.out.write(
          `training the ${cfg.data} classifier: ${trainCount} training${val} / ${testCount} test images, ${cfg.epochs} epochs of batch ${cfg.batchSize}; output in ${dir}\n`,
        );
        data = cfg.data;
        progress = createProgress('train', totalBatches, { stream: io.out, unit: 'batch', silent: io.quiet ?? false });
      },
      onBatch: (done, loss, epoch) => {
        lastDone = done;
        logRow({ step: done, epoch, wallSeconds: wall(), losses: { train: loss } });
        progress?.update(done, `epoch ${epoch} loss ${loss.toFixed(4)}`);
        return pending; // the row is on disk before the training state after this batch is saved
      },
      onEpoch: async (epoch, acc, loss, seconds, model, { record, best }) => {
        logRow({
          step: lastDone,
          epoch,
          wallSeconds: wall(),
          losses: { trainMean: loss },
          metrics: {
            testAccuracy: acc,
            ...(record.validationAccuracy === undefined ? {} : { validationAccuracy: record.validationAccuracy }),
          },
        });
        await pending;
        if (!io.out.isTTY && !io.quiet) {
          const va = record.validationAccuracy;
          const val =
            va === undefined ? '' : `validation accuracy ${(100 * va).toFixed(2)}%${best ? ' (best so far)' : ''}, `;
          io.out.write(
            `epoch ${epoch}: lr ${record.lr}, mean loss ${loss.toFixed(4)}, ${val}test accuracy ${(100 * acc).toFixed(2)}% (${formatDuration(seconds)})\n`,
          );
        }
        // A checkpoint after every epoch that is the best so far by validation accuracy (every epoch
        // without a validation set), so that a long run stopped early still leaves its selected state.
        if (best) {
          await saveClassifier(join(dir, 'classifier.safetensors'), model, {
            data,
            testAccuracy: acc,
            ...(record.validationAccuracy === undefined ? {} : { validationAccuracy: record.validationAccuracy }),
            epochs: epoch,
          });
        }
      },
    },
    { path: join(dir, CLASSIFIER_STATE), every: run.checkpointEvery ?? 20, resume: resumedFrom !== undefined },
  );
  await pending;
  progress?.stop();
  const cfg = result.config;
  const files = {
    checkpoint: join(dir, 'classifier.safetensors'),
    curves: join(dir, 'training.png'),
    accuracy: join(dir, 'accuracy.png'),
    predictions: join(dir, 'predictions.png'),
    metrics: metricsPath,
    state: join(dir, CLASSIFIER_STATE),
  };
  // result.model holds the selected epoch's weights (the best by validation accuracy, or the last).
  const valEv = result.validationEvaluation;
  await saveClassifier(files.checkpoint, result.model, {
    data: cfg.data,
    testAccuracy: result.evaluation.accuracy,
    ...(valEv === undefined ? {} : { validationAccuracy: valEv.accuracy }),
    epochs: result.selectedEpoch,
    seed: cfg.seed,
  });
  const perEpoch = result.batchLosses.length / cfg.epochs;
  await writeAtomic(
    files.curves,
    linePlot([{ name: 'batch loss', x: result.batchLosses.map((_, i) => (i + 1) / perEpoch), y: result.batchLosses }], {
      title: `${cfg.data} classifier: training loss`,
      xLabel: 'epoch',
      yLabel: 'cross-entropy',
      smooth: Math.max(1, Math.round(perEpoch / 4)),
    }),
  );
  await writeAtomic(
    files.accuracy,
    linePlot(
      [
        {
          name: 'test accuracy %',
          x: result.epochs.map((e) => e.epoch),
          y: result.epochs.map((e) => 100 * e.testAccuracy),
        },
        ...(valEv === undefined
          ? []
          : [
              {
                name: 'validation accuracy %',
                x: result.epochs.map((e) => e.epoch),
                y: result.epochs.map((e) => 100 * (e.validationAccuracy ?? 0)),
              },
            ]),
      ],
      {
        title: `${cfg.data} classifier: held-out accuracy`,
        xLabel: 'epoch',
        yLabel: 'accuracy %',
      },
    ),
  );
  // 60 test images spread over the classes, captioned "predicted" (and "predicted/true" when wrong).
  const n = Math.min(60, result.test.count);
  const picks = Array.from({ length: n }, (_, i) => Math.floor((i * result.test.count) / n));
  const per = 28 * 28;
  const imgs = new Float32Array(n * per);
  picks.forEach((j, i) => {
    imgs.set(result.test.images.subarray(j * per, (j + 1) * per), i * per);
  });
  const labels = picks.map((j) => {
    const p = result.evaluation.predictions[j]!;
    const t = result.test.labels[j]!;
    return p === t ? `${p}` : `${p}/${t}!`;
  });
  await writeAtomic(
    files.predictions,
    imageGrid(
      imgs,
      { count: n, channels: 1, height: 28, width: 28 },
      {
        cols: 12,
        scale: 2,
        labels,
        labelColors: labels.map((l) => (l.endsWith('!') ? ([214, 39, 40] as const) : ([0, 0, 0] as const))),
        title: 'test images: predicted(/true), wrong in red',
      },
    ),
  );
  const ev = result.evaluation;
  const report = {
    command: 'train-classifier',
    startedAt: started.toISOString(),
    config: cfg,
    seed: cfg.seed,
    backend,
    architecture: 'conv3x3x32-relu, conv3x3x64-relu, maxpool2, dropout0.25, fc128-relu, dropout0.5, fc10 (softmax)',
    parameters: result.model.numParameters(),
    trainImages: result.trainCount,
    validationImages: result.validationCount,
    testImages: result.test.count,
    timings: result.timings,
    selection:
      valEv === undefined
        ? 'last epoch (no validation set)'
        : 'best validation accuracy (ties: the later epoch); test accuracy not used',
    selectedEpoch: result.selectedEpoch,
    ...(resumedFrom === undefined ? {} : { resumedFromBatch: resumedFrom }),
    metrics: {
      testAccuracy: ev.accuracy,
      correct: ev.correct,
      total: ev.total,
      perClassAccuracy: ev.perClass,
      ...(valEv === undefined
        ? {}
        : { validationAccuracy: valEv.accuracy, validationCorrect: valEv.correct, validationTotal: valEv.total }),
    },
    epochs: result.epochs,
    finalLosses: { train: result.epochs[result.epochs.length - 1]!.meanLoss },
    files,
  };
  result.model.dispose();
  const reportPath = await writeReport(dir, report);
  io.out.write(
    `done in ${formatDuration(result.timings.totalSeconds)} (${result.timings.imagesPerSecond.toFixed(1)} images/s): ${
      valEv === undefined
        ? ''
        : `epoch ${result.selectedEpoch} selected by validation accuracy ${(100 * valEv.accuracy).toFixed(2)}% (${valEv.correct}/${valEv.total}); `
    }test accuracy ${(100 * ev.accuracy).toFixed(2)}% (${ev.correct}/${ev.total})\n`,
  );
  io.out.write(`report: ${reportPath}\n`);
  for (const [k, p] of Object.entries(files)) io.out.write(`${`${k}:`.padEnd(12)}${p}\n`);
  return 0;
}
