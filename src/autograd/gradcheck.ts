// gradcheck: compares autodiff gradients with central finite differences, in float64 on the CPU
// backend.
import { fail, fmtShape } from '../errors.js';
import { uniformBits, wordToUniform } from '../random/philox.js';
import type { Backend } from '../tensor/backend.js';
import { backendNamed, keep, tensorFromArray, tidy } from '../tensor/engine.js';
import { mul, sum } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { grad } from './transforms.js';

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Relative tolerance (default 1e-4). */
  rtol?: number;
  /** Seed of the random cotangent used when f is not scalar (default 0). */
  seed?: number;
}

export interface GradcheckResult {
  ok: boolean;
  /** Largest |analytic - numeric| - rtol |numeric| over all entries (<= atol when ok). */
  worst: number;
  /** Per input: analytic and numeric gradients (flat, float64). */
  analytic: Float64Array[];
  numeric: Float64Array[];
  /** Where the worst mismatch is: input index, flat element index. */
  at: [number, number] | null;
}

/** The backend gradcheck computes on. */
const cpu = (): Backend => backendNamed('gradcheck', 'cpu');

function toCpu64(x: Tensor): Tensor {
  return tensorFromArray(Float64Array.from(x.dataSync()), x.shape, 'float64', cpu());
}

/**
 * Compares the gradient of `f` from autodiff with central finite differences, in float64 on the
 * CPU backend. Non-scalar outputs are reduced with a fixed random cotangent: <r, f(x)>.
 * Inputs must be CPU tensors (any float dtype); they are copied to float64.
 *
 * @example
 * const r = gradcheck((x) => x.tanh().sum(), [tensor([0.1, -2, 3])]);
 * r.ok; // true
 */
export function gradcheck(
  f: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  opts: GradcheckOptions = {},
): GradcheckResult {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-4;
  for (const x of inputs) {
    if (x.backend.name !== 'cpu')
      fail('gradcheck', `inputs must live on the CPU backend, got ${x.backend.name} ${fmtShape(x.shape)}`);
  }
  const xs = inputs.map(toCpu64);
  let weights: Tensor | null = null;
  const scalarF = (...args: Tensor[]): Tensor => {
    const y = f(...args);
    if (y.size === 1) return sum(y);
    if (weights === null || weights.size !== y.size) {
      const bits = uniformBits(y.size, [opts.seed ?? 0, 0x5eed], [0, 0]);
      weights = keep(
        tensorFromArray(
          Float64Array.from(bits, (w) => wordToUniform(w) * 2 - 1),
          y.shape,
          'float64',
          cpu(),
        ),
      );
    }
    return sum(mul(y, weights));
  };
  const analytic = tidy(() => {
    const g = grad(scalarF, { argnums: xs.map((_, i) => i) })(...xs) as unknown as Tensor[];
    return g.map((t) => Float64Array.from(t.dataSync()));
  });
  const numeric = xs.map((x, which) => {
    const base = Float64Array.from(x.dataSync());
    const out = new Float64Array(base.length);
    for (let i = 0; i < base.length; i++) {
      const evalAt = (v: number): number =>
        tidy(() => {
          const p = base.slice();
          p[i] = v;
          const args = xs.map((t, j) => (j === which ? tensorFromArray(p, x.shape, 'float64', cpu()) : t));
          return scalarF(...args).dataSync()[0]!;
        });
      out[i] = (evalAt(base[i]! + eps) - evalAt(base[i]! - eps)) / (2 * eps);
    }
    return out;
  });
  let worst = Number.NEGATIVE_INFINITY;
  let at: [number, number] | null = null;
  analytic.forEach((a, k) => {
    const nm = numeric[k]!;
    for (let i = 0; i < a.length; i++) {
      const err = Math.abs(a[i]! - nm[i]!) - rtol * Math.abs(nm[i]!);
      if (!(err <= worst) || Number.isNaN(err)) {
        worst = Number.isNaN(err) ? Number.POSITIVE_INFINITY : err;
        at = [k, i];
      }
    }
  });
  for (const x of xs) x.dispose();
  (weights as Tensor | null)?.dispose();
  return { ok: worst <= atol, worst: Math.max(worst, 0), analytic, numeric, at };
}
