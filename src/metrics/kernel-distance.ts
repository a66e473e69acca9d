// Kernel (KID-style) distance: the unbiased MMD^2 estimate with the cubic polynomial kernel,
// averaged over seeded random subsets (Binkowski et al. 2018, as torch-fidelity and clean-fid run it).
import { fail } from '../errors.js';
import type { Generator } from '../random/generator.js';
import { checkMatrix, type Matrix } from './matrix.js';
import { metricRng, subsetsWithoutReplacement } from './sampling.js';

export interface KernelDistanceOptions {
  /** Random subsets averaged over (default 100, as torch-fidelity's kid_subsets). */
  subsets?: number;
  /** Rows per subset (default 1000; min(rows of x, rows of y) when either has fewer). */
  subsetSize?: number;
  /** Generator for the subsets (default: a fresh Generator(2020), so results are reproducible). */
  rng?: Generator;
}

export interface KernelDistanceResult {
  /** Mean over subsets of the unbiased MMD^2 (can be slightly negative when the samples agree). */
  mean: number;
  /** Population standard deviation over subsets (numpy's default, as torch-fidelity reports it). */
  std: number;
  subsets: number;
  subsetSize: number;
}

/**
 * Sum over the pairs (i, j) of rows of the cubic kernel (a_i . b_j / d + 1)^3; `skipDiagonal` sums
 * i < j of a symmetric pair (a = b) and doubles it. Four b rows per pass over a_i (each a_i value
 * is loaded once for four dot products: about 1.7x the plain loop's speed).
 */
function kernelSum(a: Float64Array, b: Float64Array, m: number, d: number, skipDiagonal: boolean): number {
  let total = 0;
  for (let i = 0; i < m; i++) {
    const oi = i * d;
    let j = skipDiagonal ? i + 1 : 0;
    for (; j + 3 < m; j += 4) {
      const o0 = j * d;
      const o1 = o0 + d;
      const o2 = o1 + d;
      const o3 = o2 + d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < d; k++) {
        const x = a[oi + k]!;
        s0 += x * b[o0 + k]!;
        s1 += x * b[o1 + k]!;
        s2 += x * b[o2 + k]!;
        s3 += x * b[o3 + k]!;
      }
      const t0 = s0 / d + 1;
      const t1 = s1 / d + 1;
      const t2 = s2 / d + 1;
      const t3 = s3 / d + 1;
      total += t0 * t0 * t0 + t1 * t1 * t1 + t2 * t2 * t2 + t3 * t3 * t3;
    }
    for (; j < m; j++) {
      const oj = j * d;
      let dot = 0;
      for (let k = 0; k < d; k++) dot += a[oi + k]! * b[oj + k]!;
      const t = dot / d + 1;
      total += t * t * t;
    }
  }
  return skipDiagonal ? 2 * total : total;
}

function gather(src: Matrix, idx: Int32Array, offset: number, m: number): Float64Array {
  const d = src.cols;
  const out = new Float64Array(m * d);
  for (let r = 0; r < m; r++) {
    const s = idx[offset + r]! * d;
    for (let k = 0; k < d; k++) out[r * d + k] = src.data[s + k]!;
  }
  return out;
}

/**
 * Kernel Inception Distance with a classifier's (or any) features: for each of `subsets` random
 * subsets of m rows of x and m rows of y (drawn without replacement, seeded), the unbiased estimate
 *
 *   MMD^2_u = sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (m (m - 1))
 *             - 2 sum_{i, j} k(x_i, y_j) / m^2,   k(a, b) = (a . b / d + 1)^3
 *
 * (Binkowski et al. 2018, Eq. 3 with the kernel of their Section 3; the cross term over all m^2
 * pairs exactly as the KID reference code, torch-fidelity and clean-fid compute it), then the mean
 * and standard deviation over subsets. Unlike clean-fid, whose subsets come from an unseeded
 * np.random.choice, the subsets come from `rng` (default seed 2020), so the value is reproducible.
 * Cost: 3 m^2 d / 2 multiply-adds a subset, in float64 on the host.
 *
 * @example
 * ```ts
 * const { mean, std } = kernelDistance(realFeatures, fakeFeatures, { rng: new Generator(1) });
 * ```
 */
export function kernelDistance(x: Matrix, y: Matrix, opts: KernelDistanceOptions = {}): KernelDistanceResult {
  const op = 'kernelDistance';
  checkMatrix(op, 'x', x, { minRows: 2 });
  checkMatrix(op, 'y', y, { minRows: 2, cols: x.cols });
  const subsets = opts.subsets ?? 100;
  if (!Number.isInteger(subsets) || subsets < 1) fail(op, `subsets must be a positive integer, got ${subsets}`);
  const requested = opts.subsetSize ?? 1000;
  if (!Number.isInteger(requested) || requested < 2) fail(op, `subsetSize must be an integer >= 2, got ${requested}`);
  const m = Math.min(requested, x.rows, y.rows);
  const rng = metricRng(op, opts.rng);
  const ix = subsetsWithoutReplacement(op, rng, x.rows, m, subsets);
  const iy = subsetsWithoutReplacement(op, rng, y.rows, m, subsets);
  const d = x.cols;
  const values = new Float64Array(subsets);
  for (let s = 0; s < subsets; s++) {
    const a = gather(x, ix, s * m, m);
    const b = gather(y, iy, s * m, m);
    const kxx = kernelSum(a, a, m, d, true);
    const kyy = kernelSum(b, b, m, d, true);
    const kxy = kernelSum(a, b, m, d, false);
    values[s] = (kxx + kyy) / (m * (m - 1)) - (2 * kxy) / (m * m);
  }
  let mean = 0;
  for (const v of values) mean += v;
  mean /= subsets;
  let v2 = 0;
  for (const v of values) v2 += (v - mean) * (v - mean);
  return { mean, std: Math.sqrt(v2 / subsets), subsets, subsetSize: m };
}
