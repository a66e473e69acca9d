// Seeded host-side draws for the metrics (subset indices for KID and the birthday test), taken from
// a tessera Generator through the CPU backend so they are synchronous and reproducible.
import { fail } from '../errors.js';
import { Generator } from '../random/generator.js';

/** Seed of the generator a metric uses when no `rng` is passed (torch-fidelity's default seed). */
export const DEFAULT_METRIC_SEED = 2020;

/** `count` uniform draws in [0, 1) from `rng`, read on the host (one Philox stream). */
export function hostUniform(rng: Generator, count: number): Float64Array {
  if (count === 0) return new Float64Array(0);
  const t = rng.uniform([count], 0, 1, { dtype: 'float64', backend: 'cpu' });
  const out = Float64Array.from(t.dataSync());
  t.dispose();
  return out;
}

/**
 * `trials` independent subsets of `m` distinct indices from 0..n-1 (partial Fisher-Yates), as one
 * Int32Array of trials * m indices (subset t at [t * m, (t + 1) * m)).
 */
export function subsetsWithoutReplacement(
  op: string,
  rng: Generator,
  n: number,
  m: number,
  trials: number,
): Int32Array {
  if (!Number.isInteger(m) || m < 0 || m > n) fail(op, `cannot draw ${m} distinct indices from ${n}`);
  const u = hostUniform(rng, trials * m);
  const out = new Int32Array(trials * m);
  const perm = new Int32Array(n);
  for (let t = 0; t < trials; t++) {
    for (let i = 0; i < n; i++) perm[i] = i;
    for (let i = 0; i < m; i++) {
      const j = i + Math.min(n - i - 1, Math.floor(u[t * m + i]! * (n - i)));
      const tmp = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = tmp;
      out[t * m + i] = perm[i]!;
    }
  }
  return out;
}

/** `rng` when given (checked), else a fresh Generator(DEFAULT_METRIC_SEED). */
export function metricRng(op: string, rng: Generator | undefined): Generator {
  if (rng === undefined) return new Generator(DEFAULT_METRIC_SEED);
  if (!(rng instanceof Generator)) fail(op, 'rng must be a tessera Generator');
  return rng;
}
