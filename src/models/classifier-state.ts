// The classifier's training state for an exact resume: weights, Adam's state, the random streams
// (shuffle, augmentation, dropout) and the loop's counters, in one safetensors checkpoint.
import { loadCheckpointContents, readSafetensors, saveCheckpoint } from '../checkpoint/checkpoint.js';
import { fail } from '../errors.js';
import type { ClassifierEvaluation } from '../metrics/accuracy.js';
import { Dropout, type Sequential } from '../nn/layers.js';
import type { Adam } from '../optim/index.js';
import type { Generator, GeneratorState } from '../random/generator.js';
import { tensor } from '../tensor/ops/convert.js';
import type { Tensor } from '../tensor/tensor.js';
import { unflattenTree } from '../tensor/tree.js';

/** Marks training-state files written by `saveClassifierState`. */
export const CLASSIFIER_STATE_KIND = 'tessera.mnist-classifier-state.v1';

/** Host copies of parameters: name, values, shape. */
export type HostWeights = [string, Float32Array, number[]][];

/** Where the training loop stands; with the tensors and streams it restarts the loop exactly. */
export interface ClassifierProgress {
  /** The epoch in progress (1-based); `batch` batches of it are done. */
  epoch: number;
  batch: number;
  /** Batches done over all epochs (the step count of metrics.jsonl). */
  done: number;
  /** The sum of this epoch's batch losses so far (its mean is the epoch's mean loss). */
  epochLossSum: number;
  /** The shuffle stream at the start of `epoch` (its batches are drawn again on resume). */
  shuffleAtEpochStart: GeneratorState;
  batchLosses: number[];
  epochs: import('./classifier.js').EpochRecord[];
  selectedEpoch: number;
  bestValidation: number;
  evaluation?: ClassifierEvaluation;
  validationEvaluation?: ClassifierEvaluation;
  /** Milliseconds spent evaluating (timings only). */
  evalMs: number;
}

/** The random streams of a training run that advance while it trains. */
export interface ClassifierStreams {
  shuffle: Generator;
  augment: Generator;
}

/** The generator the model's dropout layers draw their masks from. */
export function dropoutRng(model: Sequential): Generator {
  for (const m of model.layers) if (m instanceof Dropout && m.rng !== undefined) return m.rng;
  return fail('trainClassifier', 'the classifier has no dropout generator to checkpoint');
}

function evaluationToJson(e: ClassifierEvaluation | undefined): unknown {
  return e === undefined ? undefined : { ...e, predictions: Array.from(e.predictions) };
}

function evaluationFromJson(v: unknown): ClassifierEvaluation | undefined {
  if (v === undefined || v === null) return undefined;
  const e = v as ClassifierEvaluation & { predictions: number[] };
  return { ...e, predictions: Int32Array.from(e.predictions) };
}

/** Writes the training state atomically (a kill leaves the previous state or this one). */
export async function saveClassifierState(
  path: string,
  parts: {
    model: Sequential;
    optimizer: Adam;
    streams: ClassifierStreams;
    progress: ClassifierProgress;
    config: object;
    /** The best epoch's weights so far (selection by validation accuracy). */
    best?: HostWeights;
    bestModule: () => Sequential;
  },
): Promise<void> {
  let best: Sequential | undefined;
  if (parts.best !== undefined) {
    best = parts.bestModule();
    const restored: [string, Tensor][] = parts.best.map(([name, values, shape]) => [name, tensor(values, { shape })]);
    best.setParameters(unflattenTree(restored));
  }
  const { progress } = parts;
  try {
    await saveCheckpoint(path, {
      modules: best === undefined ? { model: parts.model } : { model: parts.model, best },
      optimizers: { adam: parts.optimizer },
      rngs: { shuffle: parts.streams.shuffle, augment: parts.streams.augment, dropout: dropoutRng(parts.model) },
      metadata: {
        kind: CLASSIFIER_STATE_KIND,
        config: JSON.stringify(parts.config),
        progress: JSON.stringify({
          ...progress,
          evaluation: evaluationToJson(progress.evaluation),
          validationEvaluation: evaluationToJson(progress.validationEvaluation),
        }),
      },
    });
  } finally {
    best?.dispose();
  }
}

/** The config a state file was written with and the batches it had done (to resume it with the same settings). */
export async function readClassifierState(path: string): Promise<{ config: Record<string, unknown>; done: number }> {
  const { metadata } = await readSafetensors(path);
  if (metadata.kind !== CLASSIFIER_STATE_KIND)
    fail('trainClassifier', `${path} is not a classifier training state (kind '${metadata.kind ?? 'missing'}')`);
  const progress = JSON.parse(metadata.progress ?? '{}') as Partial<ClassifierProgress>;
  return { config: JSON.parse(metadata.config ?? '{}') as Record<string, unknown>, done: progress.done ?? 0 };
}

/** Loads a state written by `saveClassifierState` into the model, optimiser and streams; returns the progress. */
export async function loadClassifierState(
  path: string,
  parts: {
    model: Sequential;
    optimizer: Adam;
    streams: ClassifierStreams;
    bestModule: () => Sequential;
  },
): Promise<{ progress: ClassifierProgress; best?: HostWeights }> {
  const contents = await readSafetensors(path);
  const { metadata } = contents;
  if (metadata.kind !== CLASSIFIER_STATE_KIND)
    fail('trainClassifier', `${path} is not a classifier training state (kind '${metadata.kind ?? 'missing'}')`);
  const hasBest = [...contents.tensors.keys()].some((name) => name.startsWith('best.'));
  const best = hasBest ? parts.bestModule() : undefined;
  try {
    loadCheckpointContents(contents, {
      modules: best === undefined ? { model: parts.model } : { model: parts.model, best },
      optimizers: { adam: parts.optimizer },
      rngs: { shuffle: parts.streams.shuffle, augment: parts.streams.augment, dropout: dropoutRng(parts.model) },
    });
    const raw = JSON.parse(metadata.progress ?? 'null') as ClassifierProgress | null;
    if (raw === null) fail('trainClassifier', `${path} has no training progress`);
    const progress: ClassifierProgress = {
      ...raw,
      evaluation: evaluationFromJson(raw.evaluation),
      validationEvaluation: evaluationFromJson(raw.validationEvaluation),
    } as ClassifierProgress;
    if (best === undefined) return { progress };
    const weights: HostWeights = [];
    for (const [name, t] of best.namedParameters())
      weights.push([name, Float32Array.from(await t.data()), [...t.shape]]);
    return { progress, best: weights };
  } finally {
    best?.dispose();
  }
}
