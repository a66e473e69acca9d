// Float64 dense linear algebra for the metrics: the symmetric eigendecomposition (cyclic Jacobi)
// and square roots of positive semi-definite matrices built from it.
import { fail } from '../errors.js';

/** Eigenvalues (ascending) and eigenvectors (column k of the row-major `vectors` is eigenvector k). */
export interface SymmetricEigen {
  values: Float64Array;
  /** Row-major n x n; column k is the unit eigenvector of values[k]. */
  vectors: Float64Array;
  n: number;
  /** Jacobi sweeps used. */
  sweeps: number;
}

/**
 * Eigendecomposition of a symmetric n x n matrix (row-major, float64) by the cyclic Jacobi method
 * with the Rutishauser rotation formulas (Golub and Van Loan, Matrix Computations, 4th ed., 8.5):
 * every step is an exact orthogonal rotation, so eigenvalues come out with absolute error of order
 * eps * ||A||, small ones included (no complex arithmetic anywhere). Cost is about 4 n^3 flops a
 * sweep and typically 6-10 sweeps: fine for n up to a few hundred (128-D features: milliseconds).
 * The input is read, not modified; its upper triangle is used (the matrix is symmetrised first).
 *
 * @example
 * ```ts
 * const { values } = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2); // [1, 3]
 * ```
 */
export function symmetricEigen(a: ArrayLike<number>, n: number, opts: { maxSweeps?: number } = {}): SymmetricEigen {
  const op = 'symmetricEigen';
  if (!Number.isInteger(n) || n < 1) fail(op, `n must be a positive integer, got ${n}`);
  if (a.length !== n * n) fail(op, `${a.length} values for a ${n} x ${n} matrix`);
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = a[i * n + j]!;
      if (!Number.isFinite(v)) fail(op, `non-finite entry ${v} at (${i}, ${j})`);
      m[i * n + j] = v;
      m[j * n + i] = v;
    }
  }
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  const maxSweeps = opts.maxSweeps ?? 100;
  let sweeps = 0;
  for (; sweeps < maxSweeps; sweeps++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += m[i * n + i]! * m[i * n + i]!;
      for (let j = i + 1; j < n; j++) off += m[i * n + j]! * m[i * n + j]!;
    }
    if (off === 0 || off <= 1e-30 * diag) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]!;
        if (apq === 0) continue;
        const app = m[p * n + p]!;
        const aqq = m[q * n + q]!;
        // Skip rotations below round-off of both diagonal entries (Numerical Recipes 11.1 rule).
        if (Math.abs(apq) < 1e-18 * Math.abs(app) && Math.abs(apq) < 1e-18 * Math.abs(aqq)) {
          m[p * n + q] = 0;
          m[q * n + p] = 0;
          continue;
        }
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        const tau = s / (1 + c);
        m[p * n + p] = app - t * apq;
        m[q * n + q] = aqq + t * apq;
        m[p * n + q] = 0;
        m[q * n + p] = 0;
        for (let r = 0; r < n; r++) {
          if (r === p || r === q) continue;
          const arp = m[r * n + p]!;
          const arq = m[r * n + q]!;
          const nrp = arp - s * (arq + tau * arp);
          const nrq = arq + s * (arp - tau * arq);
          m[r * n + p] = nrp;
          m[p * n + r] = nrp;
          m[r * n + q] = nrq;
          m[q * n + r] = nrq;
        }
        for (let r = 0; r < n; r++) {
          const vrp = v[r * n + p]!;
          const vrq = v[r * n + q]!;
          v[r * n + p] = vrp - s * (vrq + tau * vrp);
          v[r * n + q] = vrq + s * (vrp - tau * vrq);
        }
      }
    }
  }
  if (sweeps === maxSweeps) fail(op, `Jacobi did not converge in ${maxSweeps} sweeps`);
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => m[x * n + x]! - m[y * n + y]!);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, k) => {
    values[k] = m[src * n + src]!;
    for (let r = 0; r < n; r++) vectors[r * n + k] = v[r * n + src]!;
  });
  return { values, vectors, n, sweeps };
}

/**
 * Relative size below which a negative eigenvalue of a matrix that should be positive semi-definite
 * is taken as round-off and clamped to 0: |lambda| <= PSD_TOLERANCE * max |eigenvalue|.
 */
export const PSD_TOLERANCE = 1e-8;

/**
 * Clamps the eigenvalues of a matrix that must be PSD: values in [-tol * max|lambda|, 0) become 0;
 * more negative ones fail (the matrix is not a covariance). Values below n * eps * max|lambda| (the
 * eigensolver's round-off, numpy's default rank cut-off) are also set to 0, so that a singular
 * covariance contributes no sqrt(round-off) ~ 1e-8 terms to a square root. Returns a new array.
 */
export function clampPsdEigenvalues(op: string, what: string, values: Float64Array): Float64Array {
  let scale = 0;
  for (const x of values) scale = Math.max(scale, Math.abs(x));
  const out = new Float64Array(values.length);
  const floor = values.length * Number.EPSILON * scale;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (x < -PSD_TOLERANCE * scale) {
      fail(op, `${what} is not positive semi-definite: eigenvalue ${x} (largest magnitude ${scale})`);
    }
    out[i] = x > floor ? x : 0;
  }
  return out;
}

/**
 * The PSD square root R = V diag(sqrt(max(lambda, 0))) V^T of a symmetric PSD n x n matrix, so that
 * R R = A and R is symmetric PSD. Fails when A has a clearly negative eigenvalue (see PSD_TOLERANCE).
 *
 * @example
 * ```ts
 * psdSqrt(Float64Array.from([4, 0, 0, 9]), 2); // [2, 0, 0, 3]
 * ```
 */
export function psdSqrt(a: ArrayLike<number>, n: number, op = 'psdSqrt', what = 'the matrix'): Float64Array {
  const e = symmetricEigen(a, n);
  const lam = clampPsdEigenvalues(op, what, e.values);
  const r = new Float64Array(n * n);
  const w = new Float64Array(n);
  for (let k = 0; k < n; k++) w[k] = Math.sqrt(lam[k]!);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += e.vectors[i * n + k]! * w[k]! * e.vectors[j * n + k]!;
      r[i * n + j] = s;
      r[j * n + i] = s;
    }
  }
  return r;
}

/** Row-major product of n x n matrices. */
export function matmulSquare(a: ArrayLike<number>, b: ArrayLike<number>, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j]!;
    }
  }
  return c;
}
