/**
 * Gradient-check helpers around the library's exported `gradcheck` (central finite differences in
 * float64 on the CPU): `expectGradcheck` asserts autodiff matches finite differences and reports the
 * worst entry on failure; `expectHvpCheck` does the same for Hessian-vector products
 * (x -> <grad f(x), v>, differentiated again); `runs` sizes fast-check runs.
 */
import type { Parameters as FcParameters } from 'fast-check';
import {
  type GradcheckOptions,
  type GradcheckResult,
  grad,
  gradcheck,
  mul,
  sum,
  type Tensor,
  tensor,
} from '../../src/index.js';
import type { ShapedValues } from './arbitraries.js';

/** fast-check parameters with `n` runs (scaled by the FC_RUNS_SCALE environment variable, default 1). */
export function runs(n: number): FcParameters<unknown> {
  const scale = Number(process.env.FC_RUNS_SCALE ?? '1');
  return { numRuns: Math.max(1, Math.round(n * (Number.isFinite(scale) && scale > 0 ? scale : 1))) };
}

/** A float64 CPU tensor of `shape` holding `values`. */
export function t64(values: ArrayLike<number>, shape: readonly number[]): Tensor {
  return tensor(Float64Array.from(values), { shape, dtype: 'float64' });
}

/** A float64 tensor from shaped values. */
export function fromShaped(s: ShapedValues): Tensor {
  return t64(s.values, s.shape);
}

/** Deterministic values in [min, max) from a small xorshift generator (independent of the library). */
export function seededValues(n: number, seed: number, min = -1, max = 1): Float64Array {
  let s = (seed * 2654435761 + 0x9e3779b9) >>> 0 || 1;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = min + (max - min) * (s / 2 ** 32);
  }
  return out;
}

export interface CheckOptions extends GradcheckOptions {
  /** Prefix for the failure message. */
  label?: string;
}

type Input = Tensor | ShapedValues;

function toTensor(x: Input): { t: Tensor; owned: boolean } {
  return 'values' in x && !('dtype' in x) ? { t: fromShaped(x), owned: true } : { t: x as Tensor, owned: false };
}

/**
 * Runs `gradcheck(f, inputs)` and throws a descriptive error when the autodiff gradient differs from
 * central finite differences (or is not finite). Returns the result for further assertions.
 */
export function expectGradcheck(
  f: (...xs: Tensor[]) => Tensor,
  inputs: readonly Input[],
  opts: CheckOptions = {},
): GradcheckResult {
  const conv = inputs.map(toTensor);
  const shapes = conv.map((c) => `[${c.t.shape.join(',')}]`).join(', ');
  let r: GradcheckResult;
  try {
    r = gradcheck(
      f,
      conv.map((c) => c.t),
      opts,
    );
  } finally {
    for (const c of conv) if (c.owned) c.t.dispose();
  }
  const label = opts.label ? `${opts.label}: ` : '';
  r.analytic.forEach((a, k) => {
    if (a.length !== conv[k]!.t.size)
      throw new Error(`${label}gradient ${k} has ${a.length} entries for an input of ${conv[k]!.t.size}`);
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i]!)) throw new Error(`${label}gradient ${k} entry ${i} is ${a[i]} (inputs ${shapes})`);
    }
  });
  if (!r.ok) {
    const [k, i] = r.at ?? [0, 0];
    throw new Error(
      `${label}autodiff and finite differences differ for inputs ${shapes}: worst excess ${r.worst.toExponential(3)} ` +
        `at input ${k} element ${i}: analytic ${r.analytic[k]?.[i]}, numeric ${r.numeric[k]?.[i]}`,
    );
  }
  return r;
}

/**
 * Hessian-vector check: with fixed random directions v_i (one per input), the gradient of
 * x -> sum_i <grad_i f(x), v_i> (a Hessian-vector product, computed by differentiating autodiff's
 * own gradient) must match finite differences of the first gradient.
 */
export function expectHvpCheck(
  f: (...xs: Tensor[]) => Tensor,
  inputs: readonly Input[],
  opts: CheckOptions & { vSeed?: number } = {},
): GradcheckResult {
  const conv = inputs.map(toTensor);
  const vs = conv.map((c, k) => t64(seededValues(c.t.size, (opts.vSeed ?? 7) + 31 * k), c.t.shape));
  const argnums = conv.map((_, k) => k);
  const g = (...xs: Tensor[]): Tensor => {
    const gs = grad(f, { argnums })(...xs) as unknown as Tensor[];
    let acc: Tensor | null = null;
    gs.forEach((gi, k) => {
      const term = sum(mul(gi, vs[k]!));
      acc = acc === null ? term : acc.add(term);
    });
    return acc!;
  };
  try {
    return expectGradcheck(
      g,
      conv.map((c) => c.t),
      { ...opts, label: `${opts.label ?? 'hvp'} (Hessian-vector product)` },
    );
  } finally {
    for (const v of vs) v.dispose();
    for (const c of conv) if (c.owned) c.t.dispose();
  }
}
