import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Generator, memory, tensor, tidy } from '../../src/index.js';
import { mnistClassifier, resolveClassifierConfig, trainClassifier } from '../../src/models/classifier.js';
import { loadClassifier, saveClassifier } from '../../src/models/classifier-checkpoint.js';

describe('Stacked-MNIST protocol classifier', () => {
  it('has the Keras mnist_cnn layers: 1,199,882 parameters, [N, 1, 28, 28] -> [N, 10]', async () => {
    const m = mnistClassifier({ generator: new Generator(0) });
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
  });
});
