// The classifier two-sample test (rejects shifted Gaussians, accepts equal ones at its level,
// deterministic), its exact binomial p-value, and the noisy third-party discriminator.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import {
  binomialTailHalf,
  classifierTwoSampleTest,
  noisyDiscriminatorMissingModes,
} from '../../src/eval/two-sample.js';
import { concat, Generator, mlp, tensor } from '../../src/index.js';

/** P(X >= k), X ~ Binomial(n, 1/2), by direct summation of exact binomial coefficients (small n). */
function tailReference(k: number, n: number): number {
  let c = 1; // C(n, 0)
  let s = 0;
  for (let j = 0; j <= n; j++) {
    if (j >= k) s += c;
    c = (c * (n - j)) / (j + 1);
  }
  return s / 2 ** n;
}

describe('binomialTailHalf', () => {
  it('matches direct summation and the edge cases', () => {
    for (const [k, n] of [
      [0, 10],
      [5, 10],
      [8, 10],
      [10, 10],
      [30, 40],
      [21, 40],
    ] as const) {
      expect(binomialTailHalf(k, n)).toBeCloseTo(tailReference(k, n), 12);
    }
    expect(binomialTailHalf(11, 10)).toBe(0);
    expect(binomialTailHalf(-3, 10)).toBe(1);
    // Large n: the normal approximation P(Z >= (k - n/2) / (sqrt(n) / 2)) with continuity correction.
    const n = 10000;
    const k = 5100;
    const z = (k - 0.5 - n / 2) / (Math.sqrt(n) / 2); // 1.99
    const normalTail = 0.5 * (1 - erf(z / Math.SQRT2));
    expect(binomialTailHalf(k, n)).toBeCloseTo(normalTail, 3);
  });
});

/** Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7). */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

describe('classifierTwoSampleTest', () => {
  const opts = { epochs: 15, hidden: [16], lr: 3e-3 };

  it('rejects for shifted Gaussians', async () => {
    const rng = new Generator(11);
    const a = rng.normal([400, 2]);
    const b = rng.normal([400, 2], 1);
    const r = await classifierTwoSampleTest(a, b, { ...opts, rng: new Generator(1) });
    expect(r.nTest).toBe(400);
    expect(r.nTrain).toBe(400);
    // Bayes accuracy for unit shift along one axis is Phi(0.5) = 0.69.
    expect(r.accuracy).toBeGreaterThan(0.6);
    expect(r.pValue).toBeLessThan(1e-4);
    expect(r.reject).toBe(true);
    expect(r.pValue).toBeCloseTo(binomialTailHalf(Math.round(r.accuracy * r.nTest), r.nTest), 12);
    a.dispose();
    b.dispose();
  });

  it('accepts equal distributions at its level, and is deterministic for a seed', async () => {
    let rejections = 0;
    const runs = 6;
    for (let s = 0; s < runs; s++) {
      const rng = new Generator(100 + s);
      const a = rng.normal([300, 2]);
      const b = rng.normal([300, 2]);
      const r = await classifierTwoSampleTest(a, b, { ...opts, rng: new Generator(s) });
      expect(Math.abs(r.accuracy - 0.5)).toBeLessThan(0.1);
      if (r.reject) rejections++;
      if (s === 0) {
        const again = await classifierTwoSampleTest(a, b, { ...opts, rng: new Generator(s) });
        expect(again).toEqual(r);
      }
      a.dispose();
      b.dispose();
    }
    // At level 0.05, 6 runs reject at most once with probability 0.97.
    expect(rejections).toBeLessThanOrEqual(1);
  });

  it('fails clearly on mismatched inputs and bad options', async () => {
    const a = tensor([
      [1, 2],
      [3, 4],
    ]);
    const b = tensor([[1, 2, 3]]);
    await expect(classifierTwoSampleTest(a, b)).rejects.toThrow(/classifierTwoSampleTest: real and fake must be/);
    await expect(classifierTwoSampleTest(a, a, { trainFraction: 1 })).rejects.toThrow(
      /trainFraction must be in \(0, 1\)/,
    );
    a.dispose();
    b.dispose();
  });
});

describe('noisyDiscriminatorMissingModes', () => {
  it('flags the test examples of a mode the generator misses, and only those', async () => {
    // Real data: two clusters at -2 and +2; the "generator" covers only +2. Test: 20 of each.
    const rng = new Generator(21);
    const real = concat([rng.normal([200, 2], -2, 0.3), rng.normal([200, 2], 2, 0.3)], 0);
    const fake = rng.normal([400, 2], 2, 0.3);
    const test = concat([rng.normal([20, 2], -2, 0.3), rng.normal([20, 2], 2, 0.3)], 0);
    const r = await noisyDiscriminatorMissingModes((g) => mlp([2, 32, 1], { rng: g }), real, fake, test, {
      noiseStd: 0.1,
      epochs: 30,
      lr: 3e-3,
      threshold: 0.9,
      rng: new Generator(4),
    });
    expect(r.testExamples).toBe(40);
    // The missed cluster's 20 test points score near 1; the covered cluster's near 1/3 (one real per 2 fakes).
    expect(r.missing).toBeGreaterThanOrEqual(18);
    expect(r.missing).toBeLessThanOrEqual(20);
    expect(r.topIndices.slice(0, 10).every((i) => i < 20)).toBe(true);
    expect(r.missingFraction).toBeCloseTo(r.missing / 40, 12);
    for (const t of [real, fake, test]) t.dispose();
  });
});
