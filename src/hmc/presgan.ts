// The PresGAN posterior target log p(z | x) for HMC, and the official HMC settings.
import { fail, fmtShape } from '../errors.js';
import { div, mul, neg, reshape, square, stopGradient, sub, sum } from '../tensor/ops/index.js';
import { Tensor } from '../tensor/tensor.js';
import { mapTree, type Tree } from '../tensor/tree.js';
import { eventAxes } from './leapfrog.js';
import type { HmcTarget } from './sampler.js';

export interface PresganPosteriorOptions<P = undefined> {
  /**
   * The generator's mean network mu(z): `[chains, ...latentShape]` -> `[chains, ...outShape]`
   * (vectors or images). Called as `G(z, params)`. Chains must not interact (no BatchNorm in
   * train mode across the batch).
   */
  G: (z: Tensor, params: P) => Tensor;
  /** Parameters passed to `G` (a tree of tensors); they are treated as constants (no gradient flows to them). */
  params?: P;
  /** One observation per chain, `[chains, ...outShape]`; a constant. */
  x: Tensor;
  /** Noise scale sigma, held fixed: a number or a tensor broadcasting against `[chains, ...outShape]`. */
  sigma: Tensor | number;
  /** The shape G expects for one latent, e.g. `[nz, 1, 1]` for a DCGAN; default: z's own event shape. */
  latentShape?: readonly number[];
}

/**
 * The PresGAN posterior target log p(z | x) = log N(x; G(z), diag(sigma^2)) + log N(z; 0, I) up
 * to a constant, one chain per observation:
 *   logProb(z) = -1/2 ||z||^2 - 1/2 sum((x - G(z))^2 / sigma^2)
 * (the official code's l(z); the 2 pi and log sigma terms cancel because sigma is fixed).
 * `priorLogProb` is the N(0, I) term, for `leapfrogGradient: 'prior-only'`.
 *
 * @example
 * const target = presganPosterior({ G: (z) => matmul(z, W).add(b), x, sigma: 0.3 });
 * const r = hmc(target, { initial: zGen, numBurnin: 2, numSamples: 2, numLeapfrogSteps: 5, stepSize: 0.01 });
 */
export function presganPosterior<P = undefined>(
  opts: PresganPosteriorOptions<P>,
): HmcTarget & { logLikelihood: (z: Tensor) => Tensor } {
  const op = 'presganPosterior';
  if (typeof opts?.G !== 'function') fail(op, 'G must be a function (z, params) => mean');
  if (!(opts.x instanceof Tensor)) fail(op, 'x must be a tensor [chains, ...outShape]');
  if (opts.x.rank < 2) fail(op, `x must be [chains, ...outShape], got ${fmtShape(opts.x.shape)}`);
  const sigma = opts.sigma;
  if (typeof sigma === 'number') {
    if (!(sigma > 0) || !Number.isFinite(sigma)) fail(op, `sigma must be positive and finite, got ${sigma}`);
  } else if (!(sigma instanceof Tensor)) {
    fail(op, 'sigma must be a number or a tensor');
  } else if (sigma.rank > opts.x.rank) {
    fail(op, `sigma ${fmtShape(sigma.shape)} has more axes than x ${fmtShape(opts.x.shape)}`);
  }
  const latentShape = opts.latentShape;
  const chains = opts.x.shape[0]!;

  const checkZ = (z: Tensor): void => {
    if (z.rank < 2 || z.shape[0] !== chains) {
      fail(op, `z must be [${chains}, ...latent] (one chain per observation), got ${fmtShape(z.shape)}`);
    }
  };
  const priorLogProb = (z: Tensor): Tensor => {
    checkZ(z);
    return mul(sum(square(z), eventAxes(z.rank)), -0.5);
  };
  const logLikelihood = (z: Tensor): Tensor => {
    checkZ(z);
    const zIn = latentShape === undefined ? z : reshape(z, [chains, ...latentShape]);
    const params = opts.params === undefined ? undefined : mapTree(opts.params as Tree, (t) => stopGradient(t));
    const mu = opts.G(zIn, params as P);
    if (!(mu instanceof Tensor)) fail(op, `G must return a tensor, got ${typeof mu}`);
    const x = stopGradient(opts.x);
    if (mu.rank !== x.rank || mu.shape.some((d, i) => d !== x.shape[i])) {
      fail(op, `G returned ${fmtShape(mu.shape)}, expected the shape of x ${fmtShape(x.shape)}`);
    }
    const s = typeof sigma === 'number' ? sigma : stopGradient(sigma);
    const r = div(sub(x, mu), s);
    if (r.rank !== x.rank || r.shape.some((d, i) => d !== x.shape[i])) {
      fail(op, `sigma ${fmtShape((sigma as Tensor).shape)} does not broadcast to x ${fmtShape(x.shape)}`);
    }
    return mul(sum(square(r), eventAxes(r.rank)), -0.5);
  };
  return {
    logProb: (z) => logLikelihood(z).add(priorLogProb(z)),
    priorLogProb,
    gradPriorLogProb: (z) => {
      checkZ(z);
      return neg(z);
    },
    logLikelihood,
  };
}

/** The official PresGAN HMC settings (main.py defaults; section 4 of the spec): use with `stepSize: 1 / nz`. */
export const PRESGAN_HMC_DEFAULTS = {
  numBurnin: 2,
  numSamples: 2,
  numLeapfrogSteps: 5,
  adapt: 'presgan',
  adaptRate: 0.02,
  targetAccept: 0.67,
} as const;
