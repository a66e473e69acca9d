// Classification metrics: row argmax, accuracy, the confusion matrix and a classifier's evaluation
// on a dataset.
import { epochBatches, gatherBatch } from '../data/batching.js';
import { checkDataset, type ImageDataset } from '../data/dataset.js';
import { fail } from '../errors.js';
import { noGrad, tidy } from '../tensor/engine.js';
import { argmax } from '../tensor/ops/reduce.js';
import type { Tensor } from '../tensor/tensor.js';

/** Index of the largest value in each row of a row-major [n, classes] array. */
export function argmaxRows(scores: ArrayLike<number>, classes: number): Int32Array {
  if (!Number.isInteger(classes) || classes < 1 || scores.length % classes !== 0) {
    fail('argmaxRows', `${scores.length} scores are not a whole number of rows of ${classes}`);
  }
  const n = scores.length / classes;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < classes; j++) if (scores[i * classes + j]! > scores[i * classes + best]!) best = j;
    out[i] = best;
  }
  return out;
}

/** Fraction of positions where the predicted class equals the label. */
export function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (predicted.length !== labels.length)
    fail('accuracy', `${predicted.length} predictions for ${labels.length} labels`);
  if (labels.length === 0) fail('accuracy', 'needs at least one label');
  let ok = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) ok++;
  return ok / labels.length;
}

/** confusion[t][p] counts samples of true class t predicted as p. */
export function confusionMatrix(predicted: ArrayLike<number>, labels: ArrayLike<number>, classes: number): number[][] {
  if (predicted.length !== labels.length)
    fail('confusionMatrix', `${predicted.length} predictions for ${labels.length} labels`);
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const t = labels[i]!;
    const p = predicted[i]!;
    if (t < 0 || t >= classes || p < 0 || p >= classes)
      fail('confusionMatrix', `class ${t} or ${p} outside [0, ${classes})`);
    m[t]![p]!++;
  }
  return m;
}

export interface ClassifierEvaluation {
  accuracy: number;
  correct: number;
  total: number;
  predictions: Int32Array;
  /** Accuracy per true class. */
  perClass: number[];
}

/**
 * Runs `logitsOf` (images [B, C, H, W] -> scores [B, classes]) over a dataset in batches without
 * recording gradients, and scores the argmax against the labels.
 */
export async function evaluateClassifier(
  logitsOf: (x: Tensor) => Tensor,
  ds: ImageDataset,
  opts: { batchSize?: number } = {},
): Promise<ClassifierEvaluation> {
  checkDataset('evaluateClassifier', ds);
  const predictions = new Int32Array(ds.count);
  let k = 0;
  for (const idx of await epochBatches(ds.count, { batchSize: opts.batchSize ?? 500 })) {
    const pred = tidy(() =>
      noGrad(() => {
        const b = gatherBatch(ds, idx);
        const logits = logitsOf(b.x);
        if (logits.rank !== 2 || logits.shape[0] !== idx.length) {
          fail(
            'evaluateClassifier',
            `the model returned shape [${logits.shape.join(',')}] for a batch of ${idx.length}`,
          );
        }
        return argmax(logits, 1);
      }),
    );
    predictions.set(await pred.data(), k);
    pred.dispose();
    k += idx.length;
  }
  const correct = predictions.reduce((s, p, i) => s + (p === ds.labels[i] ? 1 : 0), 0);
  const perClass = confusionMatrix(predictions, ds.labels, ds.numClasses).map((row, t) => {
    const n = row.reduce((a, b) => a + b, 0);
    return n > 0 ? row[t]! / n : 0;
  });
  return { accuracy: correct / ds.count, correct, total: ds.count, predictions, perClass };
}
