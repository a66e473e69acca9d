import { describe, expect, it } from 'vitest';
import type { ImageDataset } from '../../src/data/index.js';
import { type Tensor, tensor } from '../../src/index.js';
import { accuracy, argmaxRows, confusionMatrix, evaluateClassifier } from '../../src/metrics/index.js';

describe('classifier accuracy', () => {
  it('argmax rows, accuracy and confusion matrix on hand-made scores', () => {
    const pred = argmaxRows([0.1, 0.7, 0.2, 0.9, 0.05, 0.05, 0.2, 0.3, 0.5], 3);
    expect(Array.from(pred)).toEqual([1, 0, 2]);
    expect(accuracy(pred, [1, 0, 0])).toBeCloseTo(2 / 3, 12);
    expect(confusionMatrix(pred, [1, 0, 0], 3)).toEqual([
      [1, 0, 1],
      [0, 1, 0],
      [0, 0, 0],
    ]);
    expect(() => accuracy([1], [1, 2])).toThrow(/1 predictions for 2 labels/);
  });

  it('evaluates a model over a dataset in batches', async () => {
    // Images of 1x1x2 pixels; the "model" scores class 0 by pixel 0 and class 1 by pixel 1.
    const ds: ImageDataset = {
      name: 't',
      images: Float32Array.from([1, 0, 0, 1, 0.2, 0.8, 0.9, 0.1, 0.3, 0.7]),
      labels: Int32Array.from([0, 1, 1, 1, 1]),
      count: 5,
      channels: 1,
      height: 1,
      width: 2,
      numClasses: 2,
    };
    const model = (x: Tensor) => x.reshape([x.shape[0]!, 2]);
    const r = await evaluateClassifier(model, ds, { batchSize: 2 });
    expect(Array.from(r.predictions)).toEqual([0, 1, 1, 0, 1]);
    expect(r.correct).toBe(4);
    expect(r.accuracy).toBeCloseTo(0.8, 12);
    expect(r.perClass).toEqual([1, 0.75]);
    await expect(evaluateClassifier(() => tensor([1, 2]), ds)).rejects.toThrow(/returned shape/);
  });
});
