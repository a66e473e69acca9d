// Birthday-paradox support estimate: recovers the support of uniform distributions within a factor
// 2, collision rates against 1 - prod(1 - i/N), nearest pairs against brute force, bad input.
import '../../src/index.js'; // registers the CPU backend
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TesseraError } from '../../src/errors.js';
import { birthdayEstimate, birthdaySizes, type Matrix, matrix } from '../../src/metrics/index.js';
import { Generator } from '../../src/random/generator.js';

/** `count` i.i.d. draws, uniform over N points on a 2-D lattice of spacing 1 (plus a tiny jitter). */
function uniformSupport(n: number, count: number, seed: number): Matrix {
  const t = new Generator(seed).uniform([count], 0, 1, { dtype: 'float64', backend: 'cpu' });
  const u = t.dataSync();
  t.dispose();
  const side = Math.ceil(Math.sqrt(n));
  const out = new Float64Array(count * 2);
  for (let i = 0; i < count; i++) {
    const p = Math.min(n - 1, Math.floor(u[i]! * n));
    out[2 * i] = (p % side) + 1e-3 * Math.sin(i);
    out[2 * i + 1] = Math.floor(p / side) + 1e-3 * Math.cos(i);
  }
  return matrix(out, count, 2);
}

describe('birthdayEstimate (Arora and Zhang 2017)', () => {
  for (const n of [200, 1000]) {
    it(`recovers a uniform support of ${n} points within a factor 2`, () => {
      const pool = uniformSupport(n, 3000, n);
      const r = birthdayEstimate(pool, {
        threshold: 0.1,
        sizes: birthdaySizes(200),
        trials: 200,
        rng: new Generator(7),
      });
      expect(r.supportIsLowerBound).toBe(false);
      expect(r.firstSizeWithDuplicate).not.toBeNull();
      expect(r.estimatedSupport).toBeGreaterThan(n / 2);
      expect(r.estimatedSupport).toBeLessThan(2 * n);
      // Collision rate of s uniform draws over N: 1 - prod_{i<s} (1 - i/N), within 4 binomial sd.
      r.sizes.forEach((s, k) => {
        let none = 1;
        for (let i = 1; i < s; i++) none *= 1 - i / n;
        const p = 1 - none;
        expect(Math.abs(r.duplicateRate[k]! - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / r.trials) + 0.01);
      });
    });
  }

  it('reports a lower bound when no size reaches a 50% duplicate rate', () => {
    const pool = uniformSupport(1e6, 100, 3);
    const r = birthdayEstimate(pool, { threshold: 1e-6, trials: 20 });
    expect(r.supportIsLowerBound).toBe(true);
    expect(r.firstSizeWithDuplicate).toBeNull();
    expect(r.estimatedSupport).toBe(100 * 100);
    expect(r.sizes[0]).toBe(2);
    expect(r.sizes[r.sizes.length - 1]).toBe(100);
  });

  it('lists the closest pairs of the pool, closest first, as brute force finds them', () => {
    const pool = uniformSupport(50, 60, 5);
    const r = birthdayEstimate(pool, { threshold: 0.1, pairs: 10, trials: 5 });
    const all: { i: number; j: number; d: number }[] = [];
    for (let i = 0; i < 60; i++)
      for (let j = i + 1; j < 60; j++)
        all.push({
          i,
          j,
          d: Math.hypot(pool.data[2 * i]! - pool.data[2 * j]!, pool.data[2 * i + 1]! - pool.data[2 * j + 1]!),
        });
    all.sort((a, b) => a.d - b.d);
    expect(r.nearestPairs).toHaveLength(10);
    r.nearestPairs.forEach((p, k) => {
      expect(p.distance).toBeCloseTo(all[k]!.d, 12);
      expect(p.i).toBeLessThan(p.j);
    });
  });

  it('is reproducible from its seed', () => {
    const pool = uniformSupport(300, 500, 9);
    const a = birthdayEstimate(pool, { threshold: 0.1, trials: 30, rng: new Generator(3) });
    const b = birthdayEstimate(pool, { threshold: 0.1, trials: 30, rng: new Generator(3) });
    expect(a).toEqual(b);
  });

  it('pair distances and the whole-pool duplicate rate do not depend on the order of the pool', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 5, max: 40 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 1, max: 39 }),
        (n, seed, roll) => {
          const pool = uniformSupport(n, 40, seed);
          const rolled = new Float64Array(80);
          for (let i = 0; i < 40; i++) rolled.set(pool.data.subarray(2 * i, 2 * i + 2), ((i + roll) % 40) * 2);
          const opts = { threshold: 0.1, sizes: [40], trials: 3, pairs: 8 };
          const a = birthdayEstimate(pool, opts);
          const b = birthdayEstimate(matrix(rolled, 40, 2), opts);
          expect(b.duplicateRate).toEqual(a.duplicateRate);
          for (let k = 0; k < 8; k++) expect(b.nearestPairs[k]!.distance).toBeCloseTo(a.nearestPairs[k]!.distance, 12);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('rejects NaN samples, bad sizes and a missing threshold, naming birthdayEstimate', () => {
    const pool = uniformSupport(10, 20, 1);
    expect(() => birthdayEstimate(matrix([0, Number.NaN, 1, 1], 2, 2), { threshold: 1 })).toThrow(
      /birthdayEstimate.*non-finite/,
    );
    expect(() => birthdayEstimate(pool, { threshold: 1, sizes: [5, 30] })).toThrow(/birthdayEstimate.*sizes\[1\]/);
    expect(() => birthdayEstimate(pool, { threshold: 1, sizes: [5, 4] })).toThrow(/must increase/);
    expect(() => birthdayEstimate(pool, { threshold: -1 })).toThrow(TesseraError);
    expect(() => birthdayEstimate(matrix([1, 2], 1, 2), { threshold: 1 })).toThrow(/birthdayEstimate.*at least 2/);
  });
});
