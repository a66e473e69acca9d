// Packing (PacGAN, Lin et al. 2018, section 3): m samples concatenated along the feature axis
// (vectors) or the channel axis (images); real examples resampled from a fixed data set kept as state.
import { fail } from '../errors.js';
import { zeros } from '../nn/init.js';
import type { Generator } from '../random/generator.js';
import { take } from '../tensor/ops/indexing.js';
import { concat } from '../tensor/ops/movement.js';
import type { Tensor } from '../tensor/tensor.js';
import type { DataInfo, PhaseContext } from './objective.js';

/** Name of the objective state tensor holding the fixed data set `[N, ...data shape]`. */
export const FIXED_SET = 'fixedSet';

/** The shape D sees for packs of `m`: `[m d]` for vectors, `[m C, H, W]` for images. */
export function packedInfo(data: DataInfo, m: number): DataInfo {
  if (!Number.isInteger(m) || m < 1) fail('packedInfo', `pack size must be a positive integer, got ${m}`);
  const [first, ...rest] = data.shape;
  return { kind: data.kind, shape: [first! * m, ...rest] };
}

/**
 * Packs `parts` (m tensors `[n, ...shape]`, each a batch of independent samples) into `[n, m
 * shape[0], ...]`: row i is the i-th sample of every part, concatenated along axis 1, the feature
 * axis of vectors `[n, d]` and the channel axis of images `[n, C, H, W]` (PacGAN section 3).
 */
export function pack(parts: readonly Tensor[]): Tensor {
  if (parts.length === 0) fail('pack', 'needs at least one part');
  return parts.length === 1 ? parts[0]!.add(0) : concat([...parts], 1);
}

/**
 * n real packs of m from the fixed set `[N, ...]`: m independent index draws with replacement
 * (uniform over the N rows, drawn in order with `rng`), then `pack` (spec 6.1).
 */
export function resamplePacks(fixed: Tensor, n: number, m: number, rng: Generator): Tensor {
  const N = fixed.shape[0]!;
  const parts: Tensor[] = [];
  for (let j = 0; j < m; j++) {
    const idx = rng.randint(0, N, [n]);
    parts.push(take(fixed, idx, 0));
    idx.dispose();
  }
  const out = pack(parts);
  for (const p of parts) if (p !== out) p.dispose();
  return out;
}

/** Placeholder for the fixed set before its draw (`initState`): zeros `[N, ...data shape]`, or nothing for N = 0. */
export function fixedSetPlaceholder(N: number, data: DataInfo): Record<string, Tensor> {
  return N > 0 ? { [FIXED_SET]: zeros([N, ...data.shape]) } : {};
}

/**
 * n real packs of m for a phase. With N > 0 they are resampled from the fixed set of N examples
 * (spec 6.1 and 15.4); the set itself is drawn from the data source with the run's `rng` in the
 * first iteration (the trainer has no data hook at init) and returned as `fixedSet` for the phase's
 * loss to commit as state (`state: { fixedSet }`); later iterations read it from the state. With
 * N = 0 the m parts are fresh draws from the data source (for data sets that are finite already).
 */
export function realPacks(ctx: PhaseContext<{ batchSize: number }>, m: number, N: number): Record<string, Tensor> {
  const n = ctx.hyper.batchSize;
  if (N === 0) {
    const parts = Array.from({ length: m }, () => ctx.sampleReal(n));
    return { real: pack(parts) };
  }
  if (ctx.step === 0) {
    const fixedSet = ctx.sampleReal(N);
    return { real: resamplePacks(fixedSet, n, m, ctx.rng), fixedSet };
  }
  const fixedSet = ctx.state[FIXED_SET];
  if (fixedSet === undefined) return fail('realPacks', `no '${FIXED_SET}' in the objective state`);
  return { real: resamplePacks(fixedSet, n, m, ctx.rng) };
}

/** The state a phase's loss commits: the fixed set in the iteration it was drawn, else nothing. */
export function fixedSetState(draws: Readonly<Record<string, Tensor>>): Record<string, Tensor> {
  const f = draws[FIXED_SET];
  return f === undefined ? {} : { [FIXED_SET]: f };
}
