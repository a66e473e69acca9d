// Fréchet distance and Gaussian fits: closed forms (diagonal, commuting, nearly singular), zero
// between a sample and itself, symmetry and non-negativity, and the symmetric eigensolver.
import '../../src/index.js'; // registers the CPU backend
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TesseraError } from '../../src/errors.js';
import {
  frechetDistance,
  type GaussianFit,
  gaussianFit,
  gaussianFitTensor,
  matrix,
  psdSqrt,
  symmetricEigen,
} from '../../src/metrics/index.js';
import { Generator } from '../../src/random/generator.js';

/** Rotation by angle t in the plane (p, q) of an n x n identity, row-major. */
function givens(n: number, p: number, q: number, t: number): Float64Array {
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) g[i * n + i] = 1;
  g[p * n + p] = Math.cos(t);
  g[q * n + q] = Math.cos(t);
  g[p * n + q] = -Math.sin(t);
  g[q * n + p] = Math.sin(t);
  return g;
}

function mul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) c[i * n + j] += a[i * n + k]! * b[k * n + j]!;
  return c;
}

function transpose(a: Float64Array, n: number): Float64Array {
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = a[i * n + j]!;
  return t;
}

/** An orthogonal matrix: a product of plane rotations with fixed angles. */
function orthogonal(n: number, seed: number): Float64Array {
  let q = givens(n, 0, 1, 0);
  for (let p = 0; p < n; p++)
    for (let r = p + 1; r < n; r++) q = mul(q, givens(n, p, r, 0.3 + 0.7 * Math.sin(seed + 3 * p + r)), n);
  return q;
}

/** Q diag(d) Q^T. */
function withEigen(q: Float64Array, d: number[], n: number): Float64Array {
  const D = new Float64Array(n * n);
  d.forEach((v, i) => {
    D[i * n + i] = v;
  });
  return mul(mul(q, D, n), transpose(q, n), n);
}

const gaussian = (mean: number[], cov: Float64Array): GaussianFit => ({
  mean: Float64Array.from(mean),
  cov,
  dim: mean.length,
  count: 100,
});

describe('symmetricEigen and psdSqrt', () => {
  it('recovers planted eigenvalues and orthonormal eigenvectors', () => {
    const n = 6;
    const q = orthogonal(n, 1);
    const d = [5, -2, 1e-9, 3, 0.5, 0];
    const e = symmetricEigen(withEigen(q, d, n), n);
    const sorted = [...d].sort((a, b) => a - b);
    for (let k = 0; k < n; k++) expect(e.values[k]!).toBeCloseTo(sorted[k]!, 12);
    const vtv = mul(transpose(e.vectors, n), e.vectors, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(vtv[i * n + j]!).toBeCloseTo(i === j ? 1 : 0, 12);
  });

  it('psdSqrt squares back to the matrix', () => {
    const n = 5;
    const a = withEigen(orthogonal(n, 2), [4, 1, 0.25, 9, 1e-12], n);
    const r = psdSqrt(a, n);
    const rr = mul(r, r, n);
    for (let i = 0; i < n * n; i++) expect(rr[i]!).toBeCloseTo(a[i]!, 12);
    expect(() => psdSqrt(withEigen(orthogonal(n, 2), [4, 1, -0.5, 9, 1], n), n)).toThrow(/positive semi-definite/);
  });
});

describe('gaussianFit', () => {
  it('is the sample mean and the unbiased (n - 1) covariance, computed in plain arithmetic', () => {
    const rows = [
      [1, 2, 0],
      [3, -1, 2],
      [0, 0, 5],
      [2, 4, -1],
    ];
    const g = gaussianFit(matrix(rows.flat(), 4, 3));
    const mean = [0, 1, 2].map((j) => rows.reduce((s, r) => s + r[j]!, 0) / 4);
    for (let j = 0; j < 3; j++) expect(g.mean[j]!).toBeCloseTo(mean[j]!, 14);
    for (let a = 0; a < 3; a++)
      for (let b = 0; b < 3; b++) {
        const c = rows.reduce((s, r) => s + (r[a]! - mean[a]!) * (r[b]! - mean[b]!), 0) / 3;
        expect(g.cov[a * 3 + b]!).toBeCloseTo(c, 13);
      }
    expect(g.count).toBe(4);
  });

  it('loses nothing to a large offset in float32 features (two-pass, float64)', () => {
    const data = new Float32Array([1e4 + 1, 1e4 - 1, 1e4 + 1, 1e4 - 1]);
    const g = gaussianFit(matrix(data, 4, 1));
    expect(g.cov[0]!).toBeCloseTo(4 / 3, 12);
  });

  it('rejects NaN, too few rows and a malformed matrix, naming gaussianFit', () => {
    expect(() => gaussianFit(matrix([1, Number.NaN, 2, 3], 2, 2))).toThrow(/gaussianFit.*non-finite/);
    expect(() => gaussianFit(matrix([1, 2], 1, 2))).toThrow(/gaussianFit.*at least 2/);
    expect(() => gaussianFit(matrix([], 0, 2))).toThrow(TesseraError);
    expect(() => gaussianFit({ data: new Float64Array(3), rows: 2, cols: 2 })).toThrow(/gaussianFit/);
    expect(() => matrix([1, 2, 3], 2, 2)).toThrow(/matrix/);
  });
});

describe('frechetDistance: closed forms', () => {
  it('diagonal covariances: ||mu1 - mu2||^2 + sum (sqrt(a_i) - sqrt(b_i))^2', () => {
    const a = [1, 4, 0.25, 2];
    const b = [9, 1, 0.25, 1e-10];
    const mu1 = [0, 1, 2, 3];
    const mu2 = [1, 1, 0, 3];
    const diag = (d: number[]) => {
      const m = new Float64Array(16);
      d.forEach((v, i) => {
        m[i * 4 + i] = v;
      });
      return m;
    };
    const expected = 1 + 4 + a.reduce((s, ai, i) => s + (Math.sqrt(ai) - Math.sqrt(b[i]!)) ** 2, 0);
    expect(frechetDistance(gaussian(mu1, diag(a)), gaussian(mu2, diag(b)))).toBeCloseTo(expected, 12);
  });

  it('commuting covariances (same eigenvectors): sum over eigenvalues (sqrt(a_k) - sqrt(b_k))^2', () => {
    const n = 7;
    const q = orthogonal(n, 5);
    const a = [3, 1e-8, 0.5, 2, 7, 1, 1e-12];
    const b = [1, 2, 0.5, 1e-9, 7, 4, 3];
    const expected = a.reduce((s, ai, i) => s + (Math.sqrt(ai) - Math.sqrt(b[i]!)) ** 2, 0);
    const zero = new Array<number>(n).fill(0);
    // An eigenvalue lambda of S1^1/2 S2 S1^1/2 near 0 (here 3e-12) carries round-off eps ||M||, so its
    // square root is good to about eps ||M|| / sqrt(lambda) ~ 1e-9: the conditioning of sqrt at 0.
    expect(frechetDistance(gaussian(zero, withEigen(q, a, n)), gaussian(zero, withEigen(q, b, n)))).toBeCloseTo(
      expected,
      8,
    );
  });

  it('nearly singular (rank-deficient) covariances: still the closed form, no NaN', () => {
    const n = 5;
    const q = orthogonal(n, 9);
    const a = [1, 0, 0, 2, 1e-14];
    const b = [0, 0, 3, 2, 1e-14];
    const expected = 4 + a.reduce((s, ai, i) => s + (Math.sqrt(ai) - Math.sqrt(b[i]!)) ** 2, 0);
    const d = frechetDistance(
      gaussian([2, 0, 0, 0, 0], withEigen(q, a, n)),
      gaussian([0, 0, 0, 0, 0], withEigen(q, b, n)),
    );
    expect(Number.isFinite(d)).toBe(true);
    expect(d).toBeCloseTo(expected, 6);
  });

  it('non-commuting 2 x 2: matches tr((S1^1/2 S2 S1^1/2)^1/2) from the 2 x 2 formula', () => {
    // For a 2 x 2 PSD M, tr(M^{1/2}) = sqrt(tr M + 2 sqrt(det M)); tr(S1 S2) = tr M and det M = det S1 det S2.
    const s1 = Float64Array.from([2, 0.5, 0.5, 1]);
    const s2 = Float64Array.from([1, -0.3, -0.3, 3]);
    const trM = s1[0]! * s2[0]! + s1[1]! * s2[2]! + s1[2]! * s2[1]! + s1[3]! * s2[3]!;
    const detM = (s1[0]! * s1[3]! - s1[1]! * s1[2]!) * (s2[0]! * s2[3]! - s2[1]! * s2[2]!);
    const expected = 1 + 3 + 4 - 2 * Math.sqrt(trM + 2 * Math.sqrt(detM));
    expect(frechetDistance(gaussian([1, 0], s1), gaussian([0, 0], s2))).toBeCloseTo(expected, 12);
  });

  it('is 0 between a sample and itself (nearly singular features included)', () => {
    const n = 400;
    const d = 16;
    const x = new Float64Array(n * d);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < d; j++)
        x[i * d + j] = j < 12 ? Math.sin(i * (j + 1) * 0.37) + 0.1 * j : 1e-7 * Math.cos(i * 1.3);
    const g = gaussianFit(matrix(x, n, d));
    expect(frechetDistance(g, g)).toBeLessThan(1e-10);
  });

  it('rejects mismatched dimensions and non-finite fits, naming frechetDistance', () => {
    const a = gaussian([0, 0], Float64Array.from([1, 0, 0, 1]));
    const b = gaussian([0, 0, 0], new Float64Array(9));
    expect(() => frechetDistance(a, b)).toThrow(/frechetDistance.*dimensions 2 and 3/);
    expect(() => frechetDistance(a, gaussian([0, Number.NaN], Float64Array.from([1, 0, 0, 1])))).toThrow(
      /frechetDistance/,
    );
    expect(() => frechetDistance(a, gaussian([0, 0], Float64Array.from([1, 0, 0, -1])))).toThrow(
      /positive semi-definite/,
    );
  });
});

describe('frechetDistance: properties', () => {
  const sample = (rows: number, cols: number) =>
    fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: rows * cols, maxLength: rows * cols });

  it('symmetric, non-negative, invariant to row order, 0 against itself', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 1000 }), (d, seed) => {
        const n = 12;
        const gen = (s: number) =>
          Float64Array.from({ length: n * d }, (_, i) => Math.sin((i + 1) * (s + 1.7)) * 2 + (i % d));
        const xa = gen(seed);
        const xb = gen(seed + 0.5);
        const a = gaussianFit(matrix(xa, n, d));
        const b = gaussianFit(matrix(xb, n, d));
        const ab = frechetDistance(a, b);
        // sqrt(eps) times the covariance scale: the conditioning of sqrt at eigenvalues near 0.
        let tol = 1;
        for (let i = 0; i < d; i++) tol += a.cov[i * d + i]! + b.cov[i * d + i]!;
        tol *= 1e-7;
        expect(ab).toBeGreaterThanOrEqual(0);
        expect(Math.abs(frechetDistance(b, a) - ab)).toBeLessThan(tol);
        expect(frechetDistance(a, a)).toBeLessThan(tol);
        const reversed = new Float64Array(n * d);
        for (let i = 0; i < n; i++) reversed.set(xa.subarray((n - 1 - i) * d, (n - i) * d), i * d);
        expect(Math.abs(frechetDistance(gaussianFit(matrix(reversed, n, d)), b) - ab)).toBeLessThan(tol);
      }),
      { numRuns: 60 },
    );
    // Arbitrary data through fast-check arrays as well.
    fc.assert(
      fc.property(sample(6, 2), sample(6, 2), (xa, xb) => {
        const a = gaussianFit(matrix(xa, 6, 2));
        const b = gaussianFit(matrix(xb, 6, 2));
        const ab = frechetDistance(a, b);
        expect(ab).toBeGreaterThanOrEqual(0);
        // Random rows can make a covariance nearly singular; sqrt is ill-conditioned at 0, so the
        // two orders agree to about sqrt(eps) times the covariance scale (see docs/metrics.md).
        const scale = 1 + a.cov[0]! + a.cov[3]! + b.cov[0]! + b.cov[3]!;
        expect(Math.abs(frechetDistance(b, a) - ab)).toBeLessThan(1e-7 * scale);
      }),
      { numRuns: 100 },
    );
  });
});

describe('gaussianFitTensor (matmul on the active backend)', () => {
  it('matches gaussianFit: float64 tensors to round-off, float32 to float32 accuracy', async () => {
    const t64 = new Generator(4).normal([300, 6], 2, 3, { dtype: 'float64' });
    const host = gaussianFit(matrix(Float64Array.from(t64.dataSync()), 300, 6));
    const dev = await gaussianFitTensor(t64);
    for (let i = 0; i < 36; i++) expect(dev.cov[i]!).toBeCloseTo(host.cov[i]!, 11);
    for (let i = 0; i < 6; i++) expect(dev.mean[i]!).toBeCloseTo(host.mean[i]!, 12);
    const t32 = t64.cast('float32');
    const dev32 = await gaussianFitTensor(t32);
    for (let i = 0; i < 36; i++) expect(Math.abs(dev32.cov[i]! - host.cov[i]!)).toBeLessThan(1e-4);
    expect(frechetDistance(dev, host)).toBeLessThan(1e-10);
    t64.dispose();
    t32.dispose();
    await expect(gaussianFitTensor(new Generator(1).normal([1, 3]))).rejects.toThrow(/gaussianFitTensor.*at least 2/);
  });
});
