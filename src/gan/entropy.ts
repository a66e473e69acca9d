// PresGAN's entropy-gradient estimator (Dieng et al. 2019, Section 3.2, Eqs. 11-12): the scalar
// surrogate whose gradient is the estimate, and the HMC run that draws its posterior samples.

import { fail, fmtShape } from '../errors.js';
import { PRESGAN_HMC_DEFAULTS, presganPosterior } from '../hmc/presgan.js';
import { type HmcResult, hmc } from '../hmc/sampler.js';
import type { Generator } from '../random/generator.js';
import { noGrad } from '../tensor/engine.js';
import { add, div, mean, mul, reshape, square, stopGradient, sub, sum } from '../tensor/ops/index.js';
import { Tensor } from '../tensor/tensor.js';

export interface EntropySurrogateOptions {
  /**
   * The generator mean mu(z): latents `[n, d]` -> `[n, ...x]`. Its parameters are implicit in the
   * closure; the surrogate's gradient reaches them through `mean(z)` only (the posterior mean is
   * evaluated without recording).
   */
  mean: (z: Tensor) => Tensor;
  /** The latents that generated the batch, `[B, d]`. */
  z: Tensor;
  /** The noise of x = mu(z) + sigma * eta, `[B, ...x]`. */
  eta: Tensor;
  /** sigma (a number or a tensor broadcasting against `[B, ...x]`); the gradient reaches it. */
  sigma: Tensor | number;
  /** Posterior samples z'_s ~ p(z | x_b), `[S, B, d]` (sample-major, as `hmc` returns them); constants. */
  posteriorSamples: Tensor;
  /**
   * The generated batch x = mean(z) + sigma * eta if the caller already has it (with its graph to
   * the parameters and sigma): saves a forward pass. Default: computed here.
   */
  x?: Tensor;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The entropy surrogate of PresGAN (Dieng et al. 2019, Section 3.2, Eqs. 11-12 and the
 * estimators of the G and sigma gradients after them; ../shared/spec/presgan.md section 3, items 5-7):
 *
 *   x = mu(z) + sigma * eta,   c = stopgrad((x - (1/S) sum_s mu(z'_s)) / sigma^2),
 *   E = (1/B) sum_b sum_i c_{b,i} x_{b,i}.
 *
 * E is not the entropy; its gradient is the estimate of the entropy's gradient: (1/B) sum_b
 * J_mu(z_b)^T c_b for the generator parameters and (1/B) sum_b c_b * eta_b for sigma (summed
 * over the entries that share a sigma). Because c estimates -grad_x log p(x) with S posterior
 * samples (Eq. 12), the estimate is unbiased when the samples are exact draws from p(z | x_b)
 * independent of z_b (../shared/spec/presgan.md 9.2); HMC started at z_b is biased unless it mixes (9.4).
 * A generator loss maximises the entropy by subtracting lambda * E (Eq. 5). The posterior mean
 * is one pass of `mean` over the S * B samples (as the official code does, BatchNorm included).
 *
 * @example
 * const rng = new Generator(0);
 * const W = tensor([[1, 0.5], [-0.3, 0.8], [0.2, -0.4]]);
 * const sigma = tensor([0.5, 0.3, 0.7]);
 * const z = rng.normal([64, 2]);
 * const eta = rng.normal([64, 3]);
 * const samples = rng.normal([2, 64, 2]); // stand-ins: use presganPosteriorSamples(...).samples
 * const [e, g] = valueAndGrad((p: { W: Tensor; sigma: Tensor }) =>
 *   presganEntropySurrogate({ mean: (v) => matmul(v, p.W, { transB: true }), z, eta, sigma: p.sigma, posteriorSamples: samples }),
 * )({ W, sigma });
 * // g.W, g.sigma: the entropy-gradient estimates; e has no meaning of its own
 */
export function presganEntropySurrogate(opts: EntropySurrogateOptions): Tensor {
  const op = 'presganEntropySurrogate';
  if (typeof opts?.mean !== 'function') fail(op, 'mean must be a function z -> mu(z)');
  const { z, eta, posteriorSamples: zs } = opts;
  if (!(z instanceof Tensor) || z.rank < 2) fail(op, 'z must be a tensor [B, ...latent]');
  if (!(eta instanceof Tensor) || eta.rank < 2) fail(op, 'eta must be a tensor [B, ...x]');
  if (!(zs instanceof Tensor) || zs.rank !== z.rank + 1 || !sameShape(zs.shape.slice(1), z.shape)) {
    fail(
      op,
      `posteriorSamples must be [S, ${z.shape.join(', ')}] (S samples of each chain), got ${zs instanceof Tensor ? fmtShape(zs.shape) : typeof zs}`,
    );
  }
  const B = z.shape[0]!;
  const S = zs.shape[0]!;
  if (eta.shape[0] !== B) fail(op, `eta ${fmtShape(eta.shape)} must have the batch size of z, ${B}`);
  const sigma = opts.sigma;
  if (typeof sigma === 'number' && !(sigma > 0)) fail(op, `sigma must be positive, got ${sigma}`);
  const x = opts.x ?? add(opts.mean(z), mul(sigma, eta));
  if (!sameShape(x.shape, eta.shape))
    fail(op, `x ${fmtShape(x.shape)} must have the shape of eta ${fmtShape(eta.shape)}`);
  const c = noGrad(() => {
    const flat = reshape(zs, [S * B, ...z.shape.slice(1)]);
    const mu = opts.mean(flat);
    if (!(mu instanceof Tensor) || mu.shape[0] !== S * B || !sameShape(mu.shape.slice(1), x.shape.slice(1))) {
      fail(op, `mean returned ${mu instanceof Tensor ? fmtShape(mu.shape) : typeof mu} for ${S * B} latents`);
    }
    const mBar = mean(reshape(mu, [S, ...x.shape]), 0);
    const s2 = typeof sigma === 'number' ? sigma * sigma : square(stopGradient(sigma));
    return stopGradient(div(sub(stopGradient(x), mBar), s2));
  });
  return div(sum(mul(c, x)), B);
}

export interface PosteriorSamplesOptions<P = undefined> {
  /** The generator mean mu(z, params): `[chains, d]` -> `[chains, ...x]`. */
  G: (z: Tensor, params: P) => Tensor;
  /** Parameters passed to `G`, detached (no gradient flows to them from the samples). */
  params?: P;
  /** The generated batch, one chain per row, `[B, ...x]` (detached). */
  x: Tensor;
  /** sigma, held fixed (detached): a number or a tensor broadcasting against x. */
  sigma: Tensor | number;
  /** The latents that generated x, `[B, d]`: every chain starts at its own z (Dieng et al., Section 3.2). */
  z: Tensor;
  /** Step size carried in: a number, a scalar tensor or `[B, 1]` per chain (the previous call's `stepSize`). */
  stepSize: number | Tensor;
  /** 'full' (default, the paper: grad log p(z | x)) or 'prior-only' (the official code: -z; ../shared/spec/presgan.md 4). */
  leapfrogGradient?: 'full' | 'prior-only';
  /** Burn-in transitions, during which the step size adapts (default 2). */
  numBurnin?: number;
  /** Samples per chain S (default 2). */
  numSamples?: number;
  /** Leapfrog steps per transition (default 5). */
  numLeapfrogSteps?: number;
  /** Rate of the rule h <- h + rate (a - target) h (default 0.02). */
  adaptRate?: number;
  /** Target acceptance (default 0.67). */
  targetAccept?: number;
  /** One step size per chain instead of one shared (default false, as the official code). */
  perChainStepSize?: boolean;
  /**
   * Randomise each transition's step size uniformly in h (1 +- jitter) (default 0, as the official
   * code): breaks the periodic trajectories a fixed h L can fall into (see `hmc`).
   */
  stepSizeJitter?: number;
  /** Source of momenta and accept draws (default: the default random stream). */
  rng?: Generator;
}

/**
 * Draws the posterior samples the entropy surrogate needs: HMC on log p(z | x_b) (`presganPosterior`),
 * one chain per generated example, started at the z that generated it, with the official
 * schedule by default (2 burn-in + 2 kept transitions of 5 leapfrog steps, the PresGAN step-size
 * rule with rate 0.02 and target 0.67 during burn-in; ../shared/spec/presgan.md section 4). x, sigma and the
 * parameters are constants; the step size comes in and goes out (`result.stepSize`) so a
 * training loop can carry it across iterations. `result.samples` is `[S, B, d]`.
 *
 * @example
 * const rng = new Generator(1);
 * const W = tensor([[1, 0.5], [-0.3, 0.8], [0.2, -0.4]]);
 * const sigma = tensor([0.5, 0.3, 0.7]);
 * const G = (v: Tensor) => matmul(v, W, { transB: true });
 * const z = rng.normal([256, 2]);
 * const eta = rng.normal([256, 3]);
 * const x = G(z).add(eta.mul(sigma));
 * const r = presganPosteriorSamples({ G, x, sigma, z, stepSize: 0.3, rng });
 * const e = presganEntropySurrogate({ mean: G, z, eta, sigma, posteriorSamples: r.samples });
 * // next iteration: stepSize: r.stepSize
 */
export function presganPosteriorSamples<P = undefined>(opts: PosteriorSamplesOptions<P>): HmcResult {
  const op = 'presganPosteriorSamples';
  if (!(opts?.z instanceof Tensor)) fail(op, 'z must be a tensor [B, ...latent]');
  if (!(opts.x instanceof Tensor)) fail(op, 'x must be a tensor [B, ...x]');
  if (opts.z.shape[0] !== opts.x.shape[0]) {
    fail(op, `z ${fmtShape(opts.z.shape)} and x ${fmtShape(opts.x.shape)} must have one row per chain`);
  }
  const target = presganPosterior<P>({
    G: opts.G,
    ...(opts.params !== undefined ? { params: opts.params } : {}),
    x: stopGradient(opts.x),
    sigma: opts.sigma instanceof Tensor ? stopGradient(opts.sigma) : opts.sigma,
  });
  return hmc(target, {
    initial: stopGradient(opts.z),
    numBurnin: opts.numBurnin ?? PRESGAN_HMC_DEFAULTS.numBurnin,
    numSamples: opts.numSamples ?? PRESGAN_HMC_DEFAULTS.numSamples,
    numLeapfrogSteps: opts.numLeapfrogSteps ?? PRESGAN_HMC_DEFAULTS.numLeapfrogSteps,
    adapt: 'presgan',
    adaptRate: opts.adaptRate ?? PRESGAN_HMC_DEFAULTS.adaptRate,
    targetAccept: opts.targetAccept ?? PRESGAN_HMC_DEFAULTS.targetAccept,
    stepSize: opts.stepSize,
    perChainStepSize: opts.perChainStepSize ?? false,
    stepSizeJitter: opts.stepSizeJitter ?? 0,
    leapfrogGradient: opts.leapfrogGradient ?? 'full',
    ...(opts.rng !== undefined ? { rng: opts.rng } : {}),
  });
}
