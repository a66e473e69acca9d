// Running a trainer: the loop with asynchronous loss read-back, progress, snapshot and
// checkpoint hooks, and the evaluation of the final samples. No file system here: hooks write.

import { fail } from '../errors.js';
import { type ModeMetrics, modeMetrics } from '../metrics/modes.js';
import { getBackend } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { disposeLosses, type GanTrainer } from './trainer.js';

/** One row of the loss log. */
export interface LogRecord {
  step: number;
  /** Seconds since the run (or the resumed part of it) started. */
  wallSeconds: number;
  losses: Record<string, number>;
}

export interface RunOptions {
  /** Iterations to reach (counted from 0, so a resumed run continues up to the same total). Default `hyper.steps`. */
  steps?: number;
  /** Read losses back every this many iterations (default steps / 500, at least 1). */
  logEvery?: number;
  /** Called with each loss row (rows arrive one log interval late: the read-back never stalls the device). */
  onLog?(record: LogRecord): void | Promise<void>;
  /** Called after every iteration. */
  onProgress?(step: number, total: number): void;
  /** Call `onSnapshot` every this many iterations (default never). */
  snapshotEvery?: number;
  onSnapshot?(step: number, samples: Float32Array, shape: readonly number[]): void | Promise<void>;
  /** Samples per snapshot (default 512). */
  snapshotSamples?: number;
  /** Call `onCheckpoint` every this many iterations and at the end (default never). */
  checkpointEvery?: number;
  onCheckpoint?(step: number, bytes: Uint8Array): void | Promise<void>;
  /** Stop after this iteration (for tests of kill-and-resume); default none. */
  stopAfter?: number;
}

export interface RunResult {
  /** Iteration reached. */
  step: number;
  log: LogRecord[];
  finalLosses: Record<string, number>;
  trainSeconds: number;
  stepsPerSecond: number;
}

async function readLosses(step: number, wall: number, losses: Record<string, Tensor>): Promise<LogRecord> {
  const names = Object.keys(losses);
  const values = await Promise.all(names.map((k) => losses[k]!.data()));
  disposeLosses(losses);
  return { step, wallSeconds: wall, losses: Object.fromEntries(names.map((k, i) => [k, values[i]![0]!])) };
}

/** Trains until `steps` iterations, calling the hooks; resumes from wherever `trainer.stepCount` is. */
export async function runTrainer(trainer: GanTrainer, opts: RunOptions = {}): Promise<RunResult> {
  const total = opts.steps ?? trainer.hyper.steps;
  if (!Number.isInteger(total) || total < 0) fail('runTrainer', `steps must be a non-negative integer, got ${total}`);
  const logEvery = opts.logEvery ?? Math.max(1, Math.floor(total / 500));
  if (!Number.isInteger(logEvery) || logEvery < 1)
    fail('runTrainer', `logEvery must be a positive integer, got ${logEvery}`);
  const end = opts.stopAfter === undefined ? total : Math.min(total, opts.stopAfter);
  const log: LogRecord[] = [];
  let pending: Promise<LogRecord> | undefined;
  const flush = async () => {
    if (pending === undefined) return;
    const rec = await pending;
    pending = undefined;
    log.push(rec);
    await opts.onLog?.(rec);
  };
  const start = trainer.stepCount;
  const t0 = performance.now();
  while (trainer.stepCount < end) {
    const losses = await trainer.stepAsync();
    const s = trainer.stepCount;
    if (s % logEvery === 0 || s === end) {
      await flush(); // the previous interval's read has long finished
      pending = readLosses(s, (performance.now() - t0) / 1000, losses);
    } else {
      disposeLosses(losses);
    }
    opts.onProgress?.(s, total);
    if (opts.snapshotEvery && opts.onSnapshot && s % opts.snapshotEvery === 0) {
      const n = opts.snapshotSamples ?? 512;
      const x = trainer.sample(n);
      const data = Float32Array.from(await x.data());
      const shape = x.shape;
      x.dispose();
      await opts.onSnapshot(s, data, shape);
    }
    if (opts.checkpointEvery && opts.onCheckpoint && s % opts.checkpointEvery === 0 && s !== end) {
      await flush(); // every row up to the checkpoint's step is logged before it is saved
      await opts.onCheckpoint(s, await trainer.checkpoint());
    }
  }
  await flush();
  await getBackend().sync();
  const trainSeconds = (performance.now() - t0) / 1000;
  if (opts.onCheckpoint) await opts.onCheckpoint(trainer.stepCount, await trainer.checkpoint());
  const last = log[log.length - 1];
  return {
    step: trainer.stepCount,
    log,
    finalLosses: last?.losses ?? {},
    trainSeconds,
    stepsPerSecond: (trainer.stepCount - start) / Math.max(trainSeconds, 1e-9),
  };
}

/** The mixture metrics a report carries (../shared/spec/objectives.md 8.1). */
export interface MixtureEvaluation {
  samples: number;
  /** Modes with at least one high-quality sample (VEEGAN / PacGAN rule). */
  modes: number;
  numModes: number;
  /** Fraction of high-quality samples, in [0, 1]. */
  highQuality: number;
  /** KL(high-quality mode histogram || uniform), natural log; null without high-quality samples. */
  reverseKL: number | null;
  /** Modes with more than 20 high-quality samples (LDMGAN rule). */
  modesLdmgan: number;
  /** High-quality radius in standard deviations (3 for 2-D, 10 for 1200-D, per coordinate). */
  threshold: number;
  hqPerMode: number[];
}

/** Default number of evaluation samples (VEEGAN, PacGAN: 2,500). */
export const EVAL_SAMPLES = 2500;

/**
 * Scores `n` samples (fixed latents, seed 2333) against the data set's mixture: modes captured,
 * % high quality within 3 std (10 std for the 1200-D set), reverse KL. Undefined for data without a mixture.
 */
export async function evaluateMixture(
  trainer: GanTrainer,
  n = EVAL_SAMPLES,
): Promise<{ metrics: MixtureEvaluation; samples: Float32Array; details: ModeMetrics } | undefined> {
  const mixture = trainer.data.mixture;
  if (mixture === undefined) return undefined;
  const x = trainer.sample(n);
  const samples = Float32Array.from(await x.data());
  x.dispose();
  const threshold = mixture.dim > 2 ? 10 : 3;
  const details = modeMetrics(samples, mixture, { threshold });
  const ldm = details.hqPerMode.filter((c) => c > 20).length;
  return {
    samples,
    details,
    metrics: {
      samples: details.total,
      modes: details.modesCaptured,
      numModes: details.numModes,
      highQuality: details.hqFraction,
      reverseKL: details.reverseKL,
      modesLdmgan: ldm,
      threshold,
      hqPerMode: details.hqPerMode,
    },
  };
}
