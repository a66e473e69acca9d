// The birthday-paradox support estimate (Arora and Zhang 2017), automated: near-duplicate rates
// among s samples as s is swept, the support estimate s^2, and the nearest pairs for an image grid.
import { fail } from '../errors.js';
import type { Generator } from '../random/generator.js';
import { checkMatrix, type Matrix, rowDistance2 } from './matrix.js';
import { metricRng, subsetsWithoutReplacement } from './sampling.js';

export interface BirthdayOptions {
  /** Two samples are duplicates when their Euclidean distance is at most this. */
  threshold: number;
  /** Batch sizes s to sweep, ascending, each <= samples.rows (default: 2, then x1.1 steps up to rows). */
  sizes?: number[];
  /** Random batches drawn per size (default 100). */
  trials?: number;
  /** Nearest pairs of the whole pool to return (default 20, the number Arora and Zhang inspect). */
  pairs?: number;
  /** Generator for the batches (default: a fresh Generator(2020)). */
  rng?: Generator;
}

export interface BirthdayResult {
  sizes: number[];
  /** Per size: the fraction of the `trials` batches holding at least one duplicate pair. */
  duplicateRate: number[];
  /**
   * firstSizeWithDuplicate^2 (Arora and Zhang's rule: duplicates in at least half the batches of
   * size s mean a support of about s^2); the largest size squared, a lower bound, when no size reaches 50%.
   */
  estimatedSupport: number;
  /** True when no size reached a 50% duplicate rate, so estimatedSupport is only a lower bound. */
  supportIsLowerBound: boolean;
  /** Smallest swept size whose duplicate rate is >= 0.5, or null. */
  firstSizeWithDuplicate: number | null;
  /** The closest pairs among all rows (row indices i < j, Euclidean distance), closest first. */
  nearestPairs: { i: number; j: number; distance: number }[];
  threshold: number;
  trials: number;
}

/**
 * Default sweep: 2, then sizes growing by a factor 1.1 (at least +1) up to n.
 *
 * @example
 * ```ts
 * birthdaySizes(12); // [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
 * ```
 */
export function birthdaySizes(n: number): number[] {
  const out: number[] = [];
  for (let s = 2; s <= n; s = Math.max(s + 1, Math.round(s * 1.1))) out.push(s);
  if (out[out.length - 1] !== n && n >= 2) out.push(n);
  return out;
}

/**
 * Birthday-paradox support estimate (Arora and Zhang, arXiv 1706.08224, Section 2; protocol in
 * ../shared/spec/objectives.md 12): if a distribution has support N, a batch of s ~ sqrt(N) samples
 * holds a duplicate with probability about 1/2 (for a uniform one 1 - exp(-s^2 / 2N)). The rows of
 * `samples` are a pool of generated samples; for each size s, `trials` random batches of s distinct
 * rows are drawn (seeded) and a batch counts as a collision when two of its rows are within
 * `threshold` (Euclidean); the estimate is s^2 for the smallest s with a collision rate >= 50%.
 * A random batch of an i.i.d. pool is itself i.i.d., so each trial is an exact draw of s samples.
 * The paper inspects the closest pairs by eye; `nearestPairs` lists the closest pairs of the whole
 * pool (for an image grid). One pass over all pairs of the pool: O(rows^2 cols).
 *
 * For a uniform distribution the 50% point is s^2 = 2 ln 2 N ~ 1.39 N, so the rule overestimates a
 * uniform support by about 1.39 (Arora and Zhang state it as an order-of-magnitude test).
 *
 * @example
 * ```ts
 * const r = birthdayEstimate(matrix(pixels, 2000, 784), { threshold: 2, rng: new Generator(1) });
 * r.estimatedSupport; r.nearestPairs; // pairs to show side by side
 * ```
 */
export function birthdayEstimate(samples: Matrix, opts: BirthdayOptions): BirthdayResult {
  const op = 'birthdayEstimate';
  checkMatrix(op, 'samples', samples, { minRows: 2 });
  const threshold = opts?.threshold;
  if (typeof threshold !== 'number' || !(threshold >= 0) || !Number.isFinite(threshold))
    fail(op, `threshold must be a finite number >= 0, got ${threshold}`);
  const n = samples.rows;
  const sizes = opts.sizes ?? birthdaySizes(n);
  if (sizes.length === 0) fail(op, 'sizes is empty');
  sizes.forEach((s, i) => {
    if (!Number.isInteger(s) || s < 2 || s > n)
      fail(op, `sizes[${i}] = ${s}: sizes must be integers in [2, ${n}] (the pool has ${n} rows)`);
    if (i > 0 && s <= sizes[i - 1]!) fail(op, `sizes must increase, got ${sizes[i - 1]} then ${s}`);
  });
  const trials = opts.trials ?? 100;
  if (!Number.isInteger(trials) || trials < 1) fail(op, `trials must be a positive integer, got ${trials}`);
  const numPairs = opts.pairs ?? 20;
  if (!Number.isInteger(numPairs) || numPairs < 0) fail(op, `pairs must be a non-negative integer, got ${numPairs}`);
  const rng = metricRng(op, opts.rng);

  // One pass over the pool: the duplicate graph (pairs within threshold) and the closest pairs.
  const t2 = threshold * threshold;
  const neighbours: number[][] = Array.from({ length: n }, () => []);
  const best: { i: number; j: number; d2: number }[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const d2 = rowDistance2(samples, i, samples, j);
      if (d2 <= t2) {
        neighbours[i]!.push(j);
        neighbours[j]!.push(i);
      }
      if (numPairs > 0 && (best.length < numPairs || d2 < best[best.length - 1]!.d2)) {
        let p = best.length < numPairs ? best.length : numPairs - 1;
        if (best.length < numPairs) best.push({ i, j, d2 });
        while (p > 0 && best[p - 1]!.d2 > d2) {
          best[p] = best[p - 1]!;
          p--;
        }
        best[p] = { i, j, d2 };
      }
    }
  }

  const chosen = new Uint8Array(n);
  const duplicateRate = sizes.map((s) => {
    const idx = subsetsWithoutReplacement(op, rng, n, s, trials);
    let hits = 0;
    for (let t = 0; t < trials; t++) {
      const batch = idx.subarray(t * s, (t + 1) * s);
      for (const r of batch) chosen[r] = 1;
      let dup = false;
      for (const r of batch) {
        for (const q of neighbours[r]!) {
          if (chosen[q] === 1) {
            dup = true;
            break;
          }
        }
        if (dup) break;
      }
      for (const r of batch) chosen[r] = 0;
      if (dup) hits++;
    }
    return hits / trials;
  });
  const k = duplicateRate.findIndex((r) => r >= 0.5);
  const first = k >= 0 ? sizes[k]! : null;
  const last = sizes[sizes.length - 1]!;
  return {
    sizes: [...sizes],
    duplicateRate,
    estimatedSupport: first !== null ? first * first : last * last,
    supportIsLowerBound: first === null,
    firstSizeWithDuplicate: first,
    nearestPairs: best.map((b) => ({ i: b.i, j: b.j, distance: Math.sqrt(b.d2) })),
    threshold,
    trials,
  };
}
