// The leapfrog integrator and its pieces: log-density gradients by autodiff, kinetic energy and
// shape checks.
import { vjp } from '../autograd/transforms.js';
import { fail, fmtShape } from '../errors.js';
import { allocArray } from '../tensor/dtype.js';
import { noGrad, tensorFromArray, tidy } from '../tensor/engine.js';
import { add, mul, onesLike, reciprocal, square, stopGradient, sum } from '../tensor/ops/index.js';
import { Tensor } from '../tensor/tensor.js';

/** A log-density over a batch of states: z `[chains, ...event]` -> `[chains]` (one value per chain). */
export type LogProbFn = (z: Tensor) => Tensor;

/** A function returning the gradient of a log-density with respect to z (same shape as z). */
export type GradFn = (z: Tensor) => Tensor;

/** What the leapfrog integrator evaluates at each position: the gradient, and the log-density when it comes free. */
export interface Evaluation {
  grad: Tensor;
  value?: Tensor;
}

/** A constant on `like`'s backend, in its dtype. */
export function constantLike(like: Tensor, value: number, shape: readonly number[] = []): Tensor {
  let n = 1;
  for (const d of shape) n *= d;
  const data = allocArray(like.dtype, n);
  data.fill(value);
  return tensorFromArray(data, shape, like.dtype, like.backend);
}

/** Axes 1..rank-1: the event axes of a `[chains, ...event]` tensor. */
export function eventAxes(rank: number): number[] {
  return Array.from({ length: rank - 1 }, (_, i) => i + 1);
}

/** Checks that a log-density returned one value per chain. */
export function checkLogProbShape(op: string, lp: Tensor, chains: number, what = 'logProb', dtype?: string): void {
  if (!(lp instanceof Tensor)) fail(op, `${what} must return a tensor, got ${typeof lp}`);
  if (lp.rank !== 1 || lp.shape[0] !== chains) {
    fail(op, `${what} must return one value per chain, shape [${chains}], got ${fmtShape(lp.shape)}`);
  }
  if (dtype !== undefined && lp.dtype !== dtype) fail(op, `${what} returned ${lp.dtype} for a ${dtype} state`);
}

/**
 * The value and gradient of `logProb` at z by reverse mode (one forward and one backward pass).
 * Chains are independent rows, so the vector-Jacobian product with a vector of ones gives every
 * chain's own gradient at once.
 */
export function valueAndGradLogProb(op: string, logProb: LogProbFn, z: Tensor, what = 'logProb'): Evaluation {
  const [value, pullback] = vjp((x: Tensor) => logProb(x), z);
  checkLogProbShape(op, value, z.shape[0]!, what);
  const [grad] = pullback(onesLike(value));
  // The value as a constant: its recorded graph (freed by the caller's tidy) is not needed.
  return { grad: grad!, value: stopGradient(value) };
}

/** Kinetic energy 1/2 p^T M^-1 p per chain, for a diagonal inverse mass (undefined: identity). */
export function kineticEnergy(p: Tensor, invMass?: Tensor): Tensor {
  const q = invMass === undefined ? square(p) : mul(square(p), invMass);
  return mul(sum(q, eventAxes(p.rank)), 0.5);
}

/**
 * `numSteps` leapfrog steps of size h for the Hamiltonian H(z, p) = -log pi(z) + 1/2 p^T M^-1 p,
 * starting from the gradient `grad0` of log pi at z (so it is not recomputed):
 *   p <- p + h/2 grad(z); then numSteps times { z <- z + h M^-1 p; p <- p + h grad(z) }, the last
 *   momentum step being a half step.
 * `h` is a number or a tensor that broadcasts against z (a scalar, or `[chains, 1, ...]`).
 * Returns the end point, its momentum (not negated) and the evaluation at the end point.
 */
export function integrate(
  evaluate: (z: Tensor) => Evaluation,
  z: Tensor,
  p: Tensor,
  grad0: Tensor,
  h: Tensor | number,
  numSteps: number,
  invMass?: Tensor,
): { z: Tensor; p: Tensor; end: Evaluation } {
  const halfH = typeof h === 'number' ? h / 2 : mul(h, 0.5);
  let pos = z;
  let mom = add(p, mul(grad0, halfH));
  let end: Evaluation = { grad: grad0 };
  for (let l = 0; l < numSteps; l++) {
    const v = invMass === undefined ? mom : mul(mom, invMass);
    pos = add(pos, mul(v, h));
    end = evaluate(pos);
    mom = add(mom, mul(end.grad, l === numSteps - 1 ? halfH : h));
  }
  return { z: pos, p: mom, end };
}

export interface LeapfrogOptions {
  /** Diagonal of the mass matrix M (broadcasts against one chain's state); default identity. */
  massDiag?: Tensor;
  /** Gradient of log pi; default: reverse-mode autodiff of `logProb`. */
  gradLogProb?: GradFn;
}

/**
 * Runs the leapfrog integrator from (z, p) for `numSteps` steps of size `stepSize` on the
 * Hamiltonian of `logProb` (see `integrate`), outside any gradient recording. Returns the new
 * position and momentum; negating the momentum makes the map an involution.
 *
 * @example
 * const { z: z1, p: p1 } = leapfrog((z) => z.square().sum(1).mul(-0.5), z0, p0, 0.1, 10);
 */
export function leapfrog(
  logProb: LogProbFn,
  z: Tensor,
  p: Tensor,
  stepSize: number | Tensor,
  numSteps: number,
  opts: LeapfrogOptions = {},
): { z: Tensor; p: Tensor } {
  const op = 'leapfrog';
  if (z.rank < 2) fail(op, `z must be [chains, ...event], got ${fmtShape(z.shape)}`);
  if (p.shape.length !== z.shape.length || p.shape.some((d, i) => d !== z.shape[i])) {
    fail(op, `momentum ${fmtShape(p.shape)} must have the shape of z ${fmtShape(z.shape)}`);
  }
  if (!Number.isInteger(numSteps) || numSteps < 1) fail(op, `numSteps must be a positive integer, got ${numSteps}`);
  if (typeof stepSize === 'number' && !Number.isFinite(stepSize)) fail(op, `stepSize must be finite, got ${stepSize}`);
  return noGrad(() =>
    tidy(() => {
      const evaluate = (x: Tensor): Evaluation =>
        opts.gradLogProb ? { grad: opts.gradLogProb(x) } : valueAndGradLogProb(op, logProb, x);
      const invMass = opts.massDiag === undefined ? undefined : reciprocal(opts.massDiag);
      const r = integrate(evaluate, z, p, evaluate(z).grad, stepSize, numSteps, invMass);
      return { z: r.z, p: r.p };
    }),
  );
}
