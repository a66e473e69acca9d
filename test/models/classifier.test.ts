import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classCounts, Generator, loadMnist, memory, subset, tensor, tidy } from '../../src/index.js';
import {
  learningRateAt,
  mnistClassifier,
  resolveClassifierConfig,
  trainClassifier,
  validationSplit,
} from '../../src/models/classifier.js';
import { loadClassifier, saveClassifier } from '../../src/models/classifier-checkpoint.js';

describe('Stacked-MNIST protocol classifier', () => {
  it('has the Keras mnist_cnn layers: 1,199,882 parameters, [N, 1, 28, 28] -> [N, 10]', async () => {
    const m = mnistClassifier({ rng: new Generator(0) });
    // conv 1->32 3x3: 320; conv 32->64 3x3: 18,496; dense 9216->128: 1,179,776; dense 128->10: 1,290.
    expect(m.numParameters()).toBe(320 + 18496 + 1179776 + 1290);
    expect(m.namedParameters().map(([n, t]) => `${n}:${t.shape.join('x')}`)).toEqual([
      '0.weight:32x1x3x3',
      '0.bias:32',
      '2.weight:64x32x3x3',
      '2.bias:64',
      '7.weight:128x9216',
      '7.bias:128',
      '10.weight:10x128',
      '10.bias:10',
    ]);
    m.eval();
    const y = tidy(() => m.forward(new Generator(1).uniform([2, 1, 28, 28])));
    expect(y.shape).toEqual([2, 10]);
    y.dispose();
    m.dispose();
  });

  it('trains a few steps (loss goes down on a tiny set), saves and reloads a checkpoint with the same predictions', async () => {
    const before = memory().numTensors;
    const r = await trainClassifier({ epochs: 2, batchSize: 4, limit: 4, testLimit: 4, lr: 2e-3, seed: 3 });
    expect(r.trainCount).toBe(4);
    expect(r.epochs).toHaveLength(2);
    // Two Adam steps on the same 4 images: the second epoch's loss is lower.
    expect(r.epochs[1]!.meanLoss).toBeLessThan(r.epochs[0]!.meanLoss);
    expect(r.evaluation.total).toBe(4);
    const path = join(mkdtempSync(join(tmpdir(), 'tessera-cls-')), 'c.safetensors');
    await saveClassifier(path, r.model, { testAccuracy: r.evaluation.accuracy });
    const x = tensor(r.test.images, { shape: [4, 1, 28, 28] });
    r.model.eval();
    const wantT = tidy(() => r.model.forward(x));
    const want = Array.from(await wantT.data());
    const loaded = await loadClassifier(path);
    expect(loaded.metadata.testAccuracy).toBe(String(r.evaluation.accuracy));
    const outs = [wantT, loaded.logits(x), loaded.predict(x), loaded.probabilities(x)];
    expect(Array.from(await outs[1]!.data())).toEqual(want);
    expect(Array.from(await outs[2]!.data())).toEqual(Array.from(r.evaluation.predictions));
    const p = await outs[3]!.data();
    expect(Array.from(p.slice(0, 10)).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    for (const t of outs) t.dispose();
    await expect(loadClassifier(join(tmpdir(), 'no-such-checkpoint.safetensors'))).rejects.toThrow();
    const wrong = tensor(new Float32Array(4 * 32 * 32), { shape: [4, 1, 32, 32] });
    expect(() => loaded.logits(wrong)).toThrow(/\[N, 1, 28, 28\]/);
    wrong.dispose();
    loaded.dispose();
    // Resuming from the checkpoint with a negligible learning rate keeps the saved predictions.
    const again = await trainClassifier({
      epochs: 1,
      batchSize: 4,
      limit: 4,
      testLimit: 4,
      lr: 1e-12,
      seed: 4,
      resume: path,
    });
    expect(Array.from(again.evaluation.predictions)).toEqual(Array.from(r.evaluation.predictions));
    again.model.dispose();
    await expect(
      trainClassifier({ epochs: 1, limit: 4, resume: join(tmpdir(), 'none.safetensors') }),
    ).rejects.toThrow();
    r.model.dispose();
    x.dispose();
    expect(memory().numTensors).toBe(before);
  });

  it('checks its settings', () => {
    expect(resolveClassifierConfig().batchSize).toBe(128);
    expect(() => resolveClassifierConfig({ epochs: 0 })).toThrow(/epochs must be a positive integer/);
    expect(() => resolveClassifierConfig({ data: 'cifar' as 'mnist' })).toThrow(/data must be 'mnist' or 'fashion'/);
    expect(() => resolveClassifierConfig({ validation: 0 })).toThrow(/validation must be a positive integer/);
    expect(() => resolveClassifierConfig({ validation: 2.5 })).toThrow(/validation must be a positive integer/);
    const sched =
      (lrSchedule: [number, number][], epochs = 16) =>
      () =>
        resolveClassifierConfig({ epochs, lrSchedule });
    expect(sched([[0, 1e-3]])).toThrow(/lrSchedule entry \[0,0.001\]: the epoch must be a positive integer/);
    expect(sched([[1.5, 1e-3]])).toThrow(/the epoch must be a positive integer/);
    expect(
      sched([
        [9, 3e-4],
        [9, 1e-4],
      ]),
    ).toThrow(/epochs must be strictly increasing/);
    expect(
      sched([
        [13, 3e-4],
        [9, 1e-4],
      ]),
    ).toThrow(/epochs must be strictly increasing/);
    expect(sched([[17, 1e-4]])).toThrow(/epoch 17 is after the last epoch \(16\)/);
    expect(sched([[9, 0]])).toThrow(/the lr must be a positive number/);
    expect(sched([[9, Number.NaN]])).toThrow(/the lr must be a positive number/);
    expect(
      sched([
        [9, 3e-4],
        [13, 1e-4],
      ])().lrSchedule,
    ).toEqual([
      [9, 3e-4],
      [13, 1e-4],
    ]);
    const cfg = { lr: 1e-3, lrSchedule: [[9, 3e-4] as [number, number], [13, 1e-4] as [number, number]] };
    expect([1, 8, 9, 12, 13, 16].map((e) => learningRateAt(cfg, e))).toEqual([1e-3, 1e-3, 3e-4, 3e-4, 1e-4, 1e-4]);
    expect(learningRateAt({ lr: 2e-3 }, 5)).toBe(2e-3);
  });

  it('holds out a deterministic, stratified validation set disjoint from the training set', () => {
    const full = loadMnist({ split: 'train' });
    expect(full.count).toBe(8000);
    const { validation, train } = validationSplit(full.count, 1000);
    expect(validation).toHaveLength(1000);
    expect(train).toHaveLength(7000);
    // Disjoint and together every training image exactly once.
    const seen = new Uint8Array(full.count);
    for (const i of [...validation, ...train]) seen[i]!++;
    expect(seen.every((c) => c === 1)).toBe(true);
    expect(new Set(validation).size).toBe(1000);
    // Stratified: each class's share of the validation set is its share of the training set (+-1 image).
    const all = classCounts(full);
    const val = classCounts(subset(full, validation));
    val.forEach((c, k) => {
      expect(Math.abs(c - (all[k]! * 1000) / full.count)).toBeLessThanOrEqual(1);
    });
    // Deterministic: the same indices every time.
    expect(Array.from(validationSplit(full.count, 1000).validation)).toEqual(Array.from(validation));
    expect(() => validationSplit(8000, 8000)).toThrow(/validation must be an integer in \[1, 7999\]/);
    expect(() => validationSplit(8000, 0)).toThrow(/validation must be an integer in \[1, 7999\]/);
  });

  it('with a validation set: keeps the best-validation epoch (ties: the later) and its weights, and applies the lr schedule', async () => {
    const before = memory().numTensors;
    // testLimit 20 evaluates these test images (evenly spaced, as trainClassifier picks them).
    const fullTest = loadMnist({ split: 'test' });
    const testSet = subset(
      fullTest,
      Array.from({ length: 20 }, (_, i) => Math.floor((i * fullTest.count) / 20)),
    );
    const perEpoch: { w: Float32Array; preds: Int32Array }[] = [];
    // Epoch 2 at a negligible lr (the weights must not move), epoch 4 at a destructive one.
    const lrSchedule: [number, number][] = [
      [2, 1e-12],
      [3, 2e-3],
      [4, 5],
    ];
    const r = await trainClassifier(
      { epochs: 4, batchSize: 8, limit: 16, validation: 40, testLimit: 20, lr: 2e-3, seed: 5, lrSchedule },
      {
        onStart: (info) => {
          expect(info.trainCount).toBe(16);
          expect(info.validationCount).toBe(40);
          expect(info.testCount).toBe(20);
        },
        onEpoch: async (_e, _acc, _loss, _s, model) => {
          const w = Float32Array.from(await model.getParameter('10.weight').data());
          model.eval();
          const x = tensor(testSet.images, { shape: [20, 1, 28, 28] });
          const p = tidy(() => model.forward(x).argmax(1));
          perEpoch.push({ w, preds: Int32Array.from(await p.data()) });
          x.dispose();
          p.dispose();
        },
      },
    );
    expect(r.trainCount).toBe(16);
    expect(r.validationCount).toBe(40);
    expect(r.epochs.map((e) => e.lr)).toEqual([2e-3, 1e-12, 2e-3, 5]);
    // The schedule reached Adam: no movement in epoch 2, movement in epochs 1 and 3.
    const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    expect(maxDiff(perEpoch[0]!.w, perEpoch[1]!.w)).toBeLessThan(1e-8);
    expect(maxDiff(perEpoch[1]!.w, perEpoch[2]!.w)).toBeGreaterThan(1e-5);
    // Selection: the best validation accuracy, the later epoch on ties, never the test accuracy.
    const accs = r.epochs.map((e) => e.validationAccuracy!);
    expect(accs.every((a) => a >= 0 && a <= 1)).toBe(true);
    const best = Math.max(...accs);
    const want = accs.lastIndexOf(best) + 1;
    expect(r.selectedEpoch).toBe(want);
    expect(r.validationEvaluation!.accuracy).toBe(best);
    expect(r.validationEvaluation!.total).toBe(40);
    expect(r.evaluation.accuracy).toBe(r.epochs[want - 1]!.testAccuracy);
    // lr 5 wrecks epoch 4, so an earlier epoch is selected and its weights are the result's.
    expect(r.selectedEpoch).toBeLessThan(4);
    const w = await r.model.getParameter('10.weight').data();
    expect(maxDiff(Float32Array.from(w), perEpoch[want - 1]!.w)).toBe(0);
    expect(Array.from(r.evaluation.predictions)).toEqual(Array.from(perEpoch[want - 1]!.preds));
    r.model.dispose();
    expect(memory().numTensors).toBe(before);
  });
});
