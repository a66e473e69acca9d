// Kernel (KID-style) distance and improved precision / recall: plain-JS reference values, known
// answers (same distribution, shifted, identical, disjoint, collapsed), order invariance, bad input.
import '../../src/index.js'; // registers the CPU backend
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TesseraError } from '../../src/errors.js';
import { kernelDistance, type Matrix, matrix, precisionRecall } from '../../src/metrics/index.js';
import { Generator } from '../../src/random/generator.js';

/** n x d standard normal draws (+ shift), float64, from a seeded generator. */
function gaussian(n: number, d: number, seed: number, shift = 0): Matrix {
  const t = new Generator(seed).normal([n, d], shift, 1, { dtype: 'float64', backend: 'cpu' });
  const m = matrix(Float64Array.from(t.dataSync()), n, d);
  t.dispose();
  return m;
}

const row = (m: Matrix, i: number) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols));
const dist = (a: number[], b: number[]) => Math.sqrt(a.reduce((s, v, k) => s + (v - b[k]!) ** 2, 0));

/** Unbiased MMD^2 with k(a, b) = (a.b/d + 1)^3 over all rows, written out directly. */
function referenceMmd(x: Matrix, y: Matrix): number {
  const d = x.cols;
  const k = (a: number[], b: number[]) => (a.reduce((s, v, i) => s + v * b[i]!, 0) / d + 1) ** 3;
  const m = x.rows;
  let xx = 0;
  let yy = 0;
  let xy = 0;
  for (let i = 0; i < m; i++)
    for (let j = 0; j < m; j++) {
      if (i !== j) {
        xx += k(row(x, i), row(x, j));
        yy += k(row(y, i), row(y, j));
      }
      xy += k(row(x, i), row(y, j));
    }
  return xx / (m * (m - 1)) + yy / (m * (m - 1)) - (2 * xy) / (m * m);
}

describe('kernelDistance', () => {
  it('equals the written-out unbiased MMD^2 when one subset covers all rows', () => {
    const x = gaussian(30, 4, 1);
    const y = gaussian(30, 4, 2, 0.5);
    const r = kernelDistance(x, y, { subsets: 1, subsetSize: 30 });
    expect(r.mean).toBeCloseTo(referenceMmd(x, y), 10);
    expect(r.std).toBe(0);
    expect(r.subsetSize).toBe(30);
  });

  it('is near 0 for two samples of one distribution and clearly positive for a shifted one', () => {
    const x = gaussian(400, 8, 3);
    const same = kernelDistance(x, gaussian(400, 8, 4), { subsets: 20, subsetSize: 200 });
    const shifted = kernelDistance(x, gaussian(400, 8, 5, 0.5), { subsets: 20, subsetSize: 200 });
    expect(Math.abs(same.mean)).toBeLessThan(3 * same.std + 0.02);
    expect(shifted.mean).toBeGreaterThan(10 * Math.abs(same.mean));
    expect(shifted.mean - 4 * shifted.std).toBeGreaterThan(0);
  });

  it('is reproducible from its seed (default 2020) and uses min(rows) when the sets are small', () => {
    const x = gaussian(50, 3, 6);
    const y = gaussian(40, 3, 7);
    const a = kernelDistance(x, y, { subsets: 5 });
    const b = kernelDistance(x, y, { subsets: 5 });
    expect(a).toEqual(b);
    expect(a.subsetSize).toBe(40);
    const c = kernelDistance(x, y, { subsets: 5, subsetSize: 20, rng: new Generator(1) });
    const d = kernelDistance(x, y, { subsets: 5, subsetSize: 20, rng: new Generator(1) });
    expect(c.mean).toBe(d.mean);
  });

  it('is invariant to the order of the rows when a subset covers all of them', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10000 }), fc.integer({ min: 1, max: 9 }), (seed, shiftBy) => {
        const x = gaussian(12, 3, seed);
        const y = gaussian(12, 3, seed + 1, 0.3);
        const rolled = new Float64Array(x.data.length);
        for (let i = 0; i < 12; i++) rolled.set(x.data.subarray(i * 3, i * 3 + 3), ((i + shiftBy) % 12) * 3);
        const a = kernelDistance(x, y, { subsets: 1 }).mean;
        const b = kernelDistance(matrix(rolled, 12, 3), y, { subsets: 1 }).mean;
        expect(b).toBeCloseTo(a, 10);
      }),
      { numRuns: 30 },
    );
  });

  it('rejects NaN, mismatched widths, too few rows and bad options, naming kernelDistance', () => {
    const x = gaussian(10, 3, 8);
    expect(() => kernelDistance(x, gaussian(10, 4, 9))).toThrow(/kernelDistance.*4 columns, expected 3/);
    const bad = matrix(Float64Array.from(x.data), 10, 3);
    bad.data[4] = Number.NaN;
    expect(() => kernelDistance(bad, x)).toThrow(/kernelDistance.*non-finite/);
    expect(() => kernelDistance(matrix([1, 2, 3], 1, 3), x)).toThrow(/kernelDistance.*at least 2/);
    expect(() => kernelDistance(x, x, { subsets: 0 })).toThrow(TesseraError);
    expect(() => kernelDistance(x, x, { subsetSize: 1 })).toThrow(/subsetSize/);
  });
});

/** Improved precision / recall written out with sorted distance lists. */
function referencePR(real: Matrix, fake: Matrix, k: number): { precision: number; recall: number } {
  const radii = (m: Matrix) =>
    Array.from({ length: m.rows }, (_, i) => {
      const ds = Array.from({ length: m.rows }, (_, j) => j)
        .filter((j) => j !== i)
        .map((j) => dist(row(m, i), row(m, j)))
        .sort((a, b) => a - b);
      return ds[k - 1]!;
    });
  const cover = (q: Matrix, ref: Matrix, r: number[]) => {
    let n = 0;
    for (let i = 0; i < q.rows; i++) if (r.some((rj, j) => dist(row(q, i), row(ref, j)) <= rj)) n++;
    return n / q.rows;
  };
  return { precision: cover(fake, real, radii(real)), recall: cover(real, fake, radii(fake)) };
}

describe('precisionRecall (Kynkaanniemi et al. 2019)', () => {
  it('matches the written-out definition on random sets', () => {
    for (const [seed, k] of [
      [1, 3],
      [2, 1],
      [3, 5],
    ] as const) {
      const real = gaussian(40, 3, seed);
      const fake = gaussian(35, 3, seed + 100, 0.7);
      const r = precisionRecall(real, fake, { k });
      const ref = referencePR(real, fake, k);
      expect(r.precision).toBe(ref.precision);
      expect(r.recall).toBe(ref.recall);
    }
  });

  it('is 1 and 1 for identical sets, 0 and 0 for disjoint supports', () => {
    const x = gaussian(60, 4, 11);
    expect(precisionRecall(x, x)).toMatchObject({ precision: 1, recall: 1, k: 3 });
    const far = matrix(
      x.data.map((v) => v + 100),
      60,
      4,
    );
    expect(precisionRecall(x, far)).toMatchObject({ precision: 0, recall: 0 });
  });

  it('a collapsed generator has high precision and low recall (not swapped, cf. torch-fidelity #58)', () => {
    const real = gaussian(200, 2, 12);
    // Every fake sample sits near the first real sample.
    const fake = matrix(
      Float64Array.from({ length: 100 }, (_, i) => real.data[i % 2]! + 1e-3 * Math.sin(i)),
      50,
      2,
    );
    const r = precisionRecall(real, fake);
    expect(r.precision).toBe(1);
    expect(r.recall).toBeLessThan(0.1);
  });

  it('is invariant to the order of either set', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10000 }), (seed) => {
        const real = gaussian(15, 2, seed);
        const fake = gaussian(15, 2, seed + 1, 0.5);
        const rev = (m: Matrix) => {
          const out = new Float64Array(m.data.length);
          for (let i = 0; i < m.rows; i++)
            out.set(m.data.subarray(i * m.cols, (i + 1) * m.cols), (m.rows - 1 - i) * m.cols);
          return matrix(out, m.rows, m.cols);
        };
        expect(precisionRecall(rev(real), rev(fake))).toEqual(precisionRecall(real, fake));
      }),
      { numRuns: 30 },
    );
  });

  it('rejects NaN, mismatched widths, too few rows and bad k, naming precisionRecall', () => {
    const x = gaussian(10, 2, 13);
    expect(() => precisionRecall(x, gaussian(10, 3, 14))).toThrow(/precisionRecall.*3 columns, expected 2/);
    expect(() => precisionRecall(x, matrix([Number.NaN, 1, 2, 3, 4, 5, 6, 7], 4, 2))).toThrow(
      /precisionRecall.*non-finite/,
    );
    expect(() => precisionRecall(x, matrix([1, 2, 3, 4, 5, 6], 3, 2))).toThrow(/precisionRecall.*at least 4/);
    expect(() => precisionRecall(x, matrix([], 0, 2))).toThrow(TesseraError);
    expect(() => precisionRecall(x, x, { k: 0 })).toThrow(/precisionRecall.*k must/);
  });
});
