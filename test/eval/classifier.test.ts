// The evaluation classifier: output shapes and per-channel classification, the feature layout,
// the float16 asset writer, and the cached asset's sha256 and recorded accuracy.
import '../../src/index.js'; // registers the CPU backend
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  classifierOutputs,
  defaultClassifierPath,
  imageFeatures,
  loadEvalClassifier,
  writeHalfClassifier,
} from '../../src/eval/classifier-features.js';
import { Generator, loadMnist, tensor } from '../../src/index.js';
import { mnistClassifier } from '../../src/models/classifier.js';
import { loadClassifier, MnistClassifier, saveClassifier } from '../../src/models/classifier-checkpoint.js';

function randomClassifier(seed: number): MnistClassifier {
  const model = mnistClassifier({ rng: new Generator(seed) });
  model.eval();
  return new MnistClassifier(model, {});
}

describe('classifierOutputs', () => {
  it('classifies each channel on its own, in batches, with the right shapes', async () => {
    const clf = randomClassifier(1);
    const images = new Generator(2).uniform([5, 3, 28, 28], -1, 1);
    const out = await classifierOutputs(clf, images, { batchSize: 2 });
    expect(out.count).toBe(5);
    expect(out.channels).toBe(3);
    expect([out.probs.rows, out.probs.cols]).toEqual([15, 10]);
    expect([out.features.rows, out.features.cols]).toEqual([15, 128]);
    expect(out.labels.length).toBe(15);
    // Reference: the channel images one by one, mapped to [0, 1], through MnistClassifier.probabilities.
    const host = Array.from(await images.data());
    for (let i = 0; i < 5; i++) {
      for (let c = 0; c < 3; c++) {
        const start = (i * 3 + c) * 784;
        const one = tensor(
          host.slice(start, start + 784).map((v) => (v + 1) / 2),
          { shape: [1, 1, 28, 28] },
        );
        const p = Array.from(await clf.probabilities(one).data());
        const row = Array.from(out.probs.data.subarray((i * 3 + c) * 10, (i * 3 + c + 1) * 10));
        for (let k = 0; k < 10; k++) expect(row[k]).toBeCloseTo(p[k]!, 5);
        expect(out.labels[i * 3 + c]).toBe(p.indexOf(Math.max(...p)));
        one.dispose();
      }
    }
    for (let r = 0; r < 15; r++) {
      let s = 0;
      for (let k = 0; k < 10; k++) s += out.probs.data[r * 10 + k]!;
      expect(s).toBeCloseTo(1, 5);
    }
    expect(out.features.data.every((v) => v >= 0)).toBe(true); // after the ReLU
    const feats = imageFeatures(out);
    expect([feats.rows, feats.cols]).toEqual([5, 384]);
    // Image 1's features are its three channels' rows side by side.
    expect(feats.data[384 + 128 + 7]).toBe(out.features.data[(1 * 3 + 1) * 128 + 7]);
    images.dispose();
    clf.dispose();
  });

  it('maps the [0, 1] range when told so and rejects bad shapes', async () => {
    const clf = randomClassifier(3);
    const x01 = new Generator(4).uniform([2, 1, 28, 28]);
    const xpm = x01.mul(2).sub(1);
    const a = await classifierOutputs(clf, x01, { range: [0, 1] });
    const b = await classifierOutputs(clf, xpm);
    for (let i = 0; i < 20; i++) expect(a.probs.data[i]).toBeCloseTo(b.probs.data[i]!, 5);
    await expect(classifierOutputs(clf, tensor([[1, 2]]))).rejects.toThrow(
      /classifierOutputs: images must be \[N, C, 28, 28\], got \[1,2\]/,
    );
    for (const t of [x01, xpm]) t.dispose();
    clf.dispose();
  });
});

describe('writeHalfClassifier', () => {
  it('stores float16 weights within half-precision rounding, loadable as a classifier', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-half-'));
    const model = mnistClassifier({ rng: new Generator(5) });
    await saveClassifier(join(dir, 'full.safetensors'), model, { testAccuracy: 0.5 });
    await writeHalfClassifier(join(dir, 'full.safetensors'), join(dir, 'half.safetensors'), { note: 'test' });
    const full = readFileSync(join(dir, 'full.safetensors')).length;
    const half = readFileSync(join(dir, 'half.safetensors')).length;
    expect(half).toBeLessThan(0.51 * full);
    const loaded = await loadClassifier(join(dir, 'half.safetensors'));
    expect(loaded.metadata).toMatchObject({ weights: 'float16', note: 'test', testAccuracy: '0.5' });
    const original = new Map(model.namedParameters());
    for (const [name, t] of loaded.model.namedParameters()) {
      const a = await original.get(name)!.data();
      const b = await t.data();
      for (let i = 0; i < a.length; i += 97) {
        const v = a[i]!;
        // float16 keeps 11 significant bits: relative error <= 2^-11 for normal values, absolute 2^-25 below 2^-14.
        expect(Math.abs(b[i]! - v)).toBeLessThanOrEqual(Math.max(Math.abs(v) * 2 ** -11, 2 ** -25));
      }
    }
    loaded.dispose();
    model.dispose();
  });
});

const ASSET = fileURLToPath(new URL('../../assets/mnist-classifier.safetensors', import.meta.url));
const README = fileURLToPath(new URL('../../assets/README.md', import.meta.url));

describe('the cached classifier (assets/mnist-classifier.safetensors)', () => {
  it('is the file the README records, and has the recorded accuracy on the first 500 test digits', async () => {
    expect(existsSync(ASSET)).toBe(true);
    expect(defaultClassifierPath()).toBe(process.env.TESSERA_CLASSIFIER || ASSET);
    const readme = readFileSync(README, 'utf8');
    const sha = /sha256 `([0-9a-f]{64})`/.exec(readme)?.[1];
    const recorded = /first 500 test digits: (\d+) \/ 500/.exec(readme)?.[1];
    expect(sha).toBeDefined();
    expect(recorded).toBeDefined();
    const { classifier, sha256 } = await loadEvalClassifier(ASSET);
    expect(sha256).toBe(createHash('sha256').update(readFileSync(ASSET)).digest('hex'));
    expect(sha256).toBe(sha);
    const test = loadMnist({ split: 'test' });
    const images = tensor(test.images.subarray(0, 500 * 784), { shape: [500, 1, 28, 28] });
    const out = await classifierOutputs(classifier, images, { range: [0, 1] });
    let correct = 0;
    for (let i = 0; i < 500; i++) if (out.labels[i] === test.labels[i]) correct++;
    expect(correct).toBe(Number(recorded));
    images.dispose();
    classifier.dispose();
  }, 120_000);

  it('fails with how to make one when the file is missing', async () => {
    await expect(loadEvalClassifier('/nonexistent/c.safetensors')).rejects.toThrow(
      /loadEvalClassifier: no classifier checkpoint at \/nonexistent\/c\.safetensors; train one with 'tessera train-classifier'/,
    );
  });
});
