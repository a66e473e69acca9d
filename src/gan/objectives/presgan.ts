// PresGAN (Dieng et al. 2019): a noisy generator x = G(z) + sigma * eta trained on the
// non-saturating GAN loss minus lambda times an HMC estimate of its entropy's gradient.

import { fail } from '../../errors.js';
import type { Module } from '../../nn/module.js';
import { functionalCall } from '../../nn/module.js';
import { noGrad, tidy } from '../../tensor/engine.js';
import { add, clamp, exp, full, mean, mul, softplus, stopGradient, sub } from '../../tensor/ops/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ParamTree } from '../../tensor/tree.js';
import { adamSpec } from '../config.js';
import { presganEntropySurrogate, presganPosteriorSamples } from '../entropy.js';
import { discriminatorLogisticLoss, generatorNonSaturatingLoss } from '../losses.js';
import { discriminatorNet, generatorNet } from '../networks.js';
import type { BaseHyper, DataInfo, LossOutput, Objective, PhaseContext, StepContext } from '../objective.js';
import { ParameterGroup } from '../players.js';
import { DCGAN_IMAGE_PRESET, TOY_NET } from './gan.js';

/** How sigma is computed from the trained raw parameter rho. */
export type SigmaParam = 'softplus' | 'exp';

/** Which entries share one sigma. */
export type SigmaShape = 'per-dimension' | 'per-pixel' | 'scalar';

/** The HMC that draws the posterior samples of the entropy estimator (../shared/spec/presgan.md section 4). */
export interface PresganHmcHyper {
  /** Burn-in transitions per G step, during which the step size adapts (official `burn_in` 2). */
  burnin: number;
  /** Posterior samples S per generated example (official `num_samples_posterior` 2). */
  samples: number;
  /** Leapfrog steps L per transition (official `leapfrog_steps` 5). */
  leapfrogSteps: number;
  /** Initial step size h0 = stepSizeNum / latentDim (official `stepsize_num` 1: h0 = 1/nz). */
  stepSizeNum: number;
  /** Rate of h <- h + rate (acceptRate - target) h (official `hmc_learning_rate` 0.02). */
  adaptRate: number;
  /** Target acceptance (official `hmc_opt_accept` 0.67). */
  targetAccept: number;
  /**
   * 'full' (default; the paper, Section 3.2 and Eq. 12: grad log p(z | x)) or 'prior-only' (the
   * official code's leapfrog, grad = -z, which mixes badly and biases the estimate; ../shared/spec/presgan.md 4, 9.4).
   */
  leapfrogGradient: 'full' | 'prior-only';
  /** One step size per chain (our option) instead of the official shared scalar. */
  perChainStepSize: boolean;
  /**
   * Randomise each transition's step size uniformly in h (1 +- jitter) (our option; 0 = the
   * official fixed h). A fixed h L can make 2 + 2 short chains return near their start and bias
   * the estimate (docs/presgan.md, bias table).
   */
  stepSizeJitter: number;
  /**
   * Mode of the generator in the HMC and posterior-mean passes: 'train' (default, the official
   * code: BatchNorm normalises across the chains and updates its running statistics) or 'eval'
   * (../shared/spec/presgan.md 10.4). Irrelevant for the MLPs of vector data, which have no BatchNorm.
   */
  generatorMode: 'train' | 'eval';
}

export interface PresganHyper extends BaseHyper {
  /** Entropy weight lambda of Eq. 5 (official `lambda_` 0.01). 0: the paper's "GAN" row; no HMC runs. */
  lambda: number;
  /** sigma = softplus(rho) (default, official code) or exp(rho) (the paper's "log" wording). */
  sigmaParam: SigmaParam;
  /**
   * 'per-dimension' (one sigma per data entry; default for vectors), 'per-pixel' (one per spatial
   * location shared across channels; the official code, default for images) or 'scalar'.
   */
  sigmaShape: SigmaShape;
  /** Initial raw parameter rho (official `logsigma_init` -1: softplus gives sigma 0.3133, exp 0.3679). */
  rhoInit: number;
  /**
   * Clamp sigma to [sigmaMin, sigmaMax] after every G/sigma step (Algorithm 1; clamped in rho space).
   * On by default for vector data (../shared/spec/presgan.md 10.2), off for images (official `restrict_sigma` 0).
   */
  truncateSigma: boolean;
  /** Lower truncation bound (official flag `sigma_min` 0.01; the paper's ring value was lost). */
  sigmaMin: number;
  /** Upper truncation bound (official flag `sigma_max` 0.3; the paper's ring value was lost). */
  sigmaMax: number;
  /**
   * The official code's quirk (../shared/spec/presgan.md 2.4, 8.4): the fake batch for D reuses the noise eta of
   * the real batch. Default false: fresh noise for each (Algorithm 1 draws them separately).
   */
  sharedDiscriminatorNoise: boolean;
  /**
   * `sample` returns G(z) + sigma * eta (true) or the mean G(z) (default false: what the paper's
   * image figures show, Section 7.3, and what the ring's 3-std quality metric should score: the
   * noise scale sigma stays far above the ring's std 0.02 under the default sigma learning rate).
   */
  sampleNoise: boolean;
  hmc: PresganHmcHyper;
}

/** sigma from the raw parameter: softplus(rho) (official code) or exp(rho). */
export function sigmaFromRho(rho: Tensor, param: SigmaParam): Tensor {
  return param === 'exp' ? exp(rho) : softplus(rho);
}

/** The raw parameter of a sigma value: softplus^-1(s) = log(e^s - 1) or log(s). */
export function rhoFromSigma(s: number, param: SigmaParam): number {
  if (!(s > 0)) fail('rhoFromSigma', `sigma must be positive, got ${s}`);
  return param === 'exp' ? Math.log(s) : Math.log(Math.expm1(s));
}

/** The shape of rho for the data: `[...data.shape]`, `[1, H, W]` (per pixel) or `[]` (scalar). */
export function sigmaShapeOf(data: DataInfo, shape: SigmaShape): number[] {
  if (shape === 'scalar') return [];
  if (shape === 'per-pixel') {
    if (data.kind !== 'image' || data.shape.length !== 3)
      fail('presgan', `sigmaShape 'per-pixel' needs image data [C, H, W], got ${data.kind} [${data.shape}]`);
    return [1, data.shape[1]!, data.shape[2]!];
  }
  return [...data.shape];
}

/** The current sigma of a trainer's `sigma` player (a ParameterGroup holding `rho`). */
function sigmaOfNet(nets: Readonly<Record<string, Module>>, h: PresganHyper): Tensor {
  return sigmaFromRho(nets.sigma!.getParameter('rho'), h.sigmaParam);
}

/** Runs f with `net` in eval mode when asked (restoring its mode after). */
function inMode<T>(net: Module, mode: 'train' | 'eval', f: () => T): T {
  if (mode === 'train' || !net.training) return f();
  net.eval();
  try {
    return f();
  } finally {
    net.train(true);
  }
}

/** Clamps rho so that sigma lies in [sigmaMin, sigmaMax] (Algorithm 1's truncation; ../shared/spec/presgan.md 1). */
function truncate(ctx: PhaseContext<PresganHyper>): void {
  const h = ctx.hyper;
  const lo = rhoFromSigma(h.sigmaMin, h.sigmaParam);
  const hi = rhoFromSigma(h.sigmaMax, h.sigmaParam);
  const group = ctx.nets.sigma!;
  const rho = noGrad(() => tidy(() => clamp(group.getParameter('rho'), lo, hi)));
  group.setParameters({ rho });
}

/** The G/sigma update's loss: L_adv - lambda * E (Eq. 5 with the estimator of Eqs. 11-12; ../shared/spec/presgan.md 3). */
function generatorLoss(c: StepContext<PresganHyper>): LossOutput {
  const h = c.hyper;
  const sigma = sigmaFromRho((c.params.sigma as ParamTree).rho as Tensor, h.sigmaParam);
  const z = c.draws.z!;
  const mu = c.apply('G', z);
  const eta = c.draws.eta!;
  const x = add(mu, mul(sigma, eta));
  const adversarial = generatorNonSaturatingLoss(c.apply('D', x));
  const sigmaMean = mean(stopGradient(sigma));
  if (h.lambda === 0) return { loss: adversarial, logs: { adversarial, sigma: sigmaMean } };
  const net = c.nets.G!;
  const mode = h.hmc.generatorMode;
  const r = presganPosteriorSamples({
    G: (v: Tensor, p: ParamTree) => inMode(net, mode, () => functionalCall(net, p, v)),
    params: c.params.G!,
    x,
    sigma,
    z,
    stepSize: c.state.stepSize!,
    leapfrogGradient: h.hmc.leapfrogGradient,
    numBurnin: h.hmc.burnin,
    numSamples: h.hmc.samples,
    numLeapfrogSteps: h.hmc.leapfrogSteps,
    adaptRate: h.hmc.adaptRate,
    targetAccept: h.hmc.targetAccept,
    perChainStepSize: h.hmc.perChainStepSize,
    stepSizeJitter: h.hmc.stepSizeJitter,
    rng: c.rng,
  });
  const entropy = presganEntropySurrogate({
    mean: (v) => inMode(net, mode, () => c.apply('G', v)),
    z,
    eta,
    sigma,
    posteriorSamples: r.samples,
    x,
  });
  return {
    loss: sub(adversarial, mul(entropy, h.lambda)),
    logs: {
      adversarial,
      entropySurrogate: entropy,
      acceptRate: mean(r.accepted),
      stepSize: mean(r.stepSize),
      sigma: sigmaMean,
    },
    state: { stepSize: r.stepSize },
  };
}

function checkChoice(key: string, v: unknown, options: readonly string[]): void {
  if (!options.includes(v as string))
    fail('presgan', `${key} must be one of ${options.map((o) => `'${o}'`).join(', ')}, got ${JSON.stringify(v)}`);
}

function checkInt(key: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) fail('presgan', `${key} must be an integer >= ${min}, got ${v}`);
}

/**
 * PresGAN (Dieng et al. 2019). The model is x = G(z) + sigma * eta, z ~ N(0, I), eta ~ N(0, I)
 * (Eqs. 4 and 8), sigma = softplus(rho) (official code; `sigmaParam: 'exp'` for exp(rho)). One
 * iteration (Algorithm 1):
 * - D step on BCE(D(x_r + sg(sigma) eta), 1) + BCE(D(sg(G(z) + sigma eta')), 0) (Eq. 16): real data
 *   noised with the same sigma (Eq. 17, instance noise), fake with fresh eta' (the official code
 *   reuses eta: `sharedDiscriminatorNoise`);
 * - one G-and-sigma step (players ['G', 'sigma'], simultaneous) on loss_G = L_adv - lambda E, where
 *   L_adv = -mean log D(x~) on x~ = G(z) + sigma eta (Eqs. 9-10, non-saturating) and E is the entropy
 *   surrogate (`presganEntropySurrogate`, Eqs. 11-12 and the G and sigma estimators after them) with S = 2 HMC samples of p(z | x~) per
 *   example, started at the generating z (2 burn-in + 2 samples, 5 leapfrog steps, full gradient;
 *   `hmc.leapfrogGradient: 'prior-only'` is the official code's). The HMC step size is objective
 *   state (h0 = 1/latentDim), adapted during burn-in, carried across iterations and checkpointed;
 * - then rho is clamped so that sigma is in [sigmaMin, sigmaMax] (Algorithm 1; `truncateSigma`).
 *
 * Vector data: the `gan` objective's settings (G 10 -> 128 -> 128 -> 2, D 2 -> 128 -> 128 -> 1,
 * tanh; Adam 1e-3, betas (0.5, 0.999), batch 64), so that Fig. 1 compares like with like, sigma per
 * dimension truncated to [0.01, 0.3] (the official flags; the paper's ring values were lost).
 * Images: DCGAN (official main.py: nz 100, Adam 2e-4, batch 64), sigma per pixel shared across
 * channels, no truncation (official `restrict_sigma` 0). Both: lambda 0.01, rho0 = -1, sigma
 * optimiser Adam 2e-4 with betas (0.5, 0.999) (official `sigma_lr`). `sample` returns G(z) unless
 * `sampleNoise`.
 */
export const presgan: Objective<PresganHyper> = {
  name: 'presgan',
  title: 'PresGAN',
  paper:
    'Dieng, Ruiz, Blei, Titsias 2019, Prescribed Generative Adversarial Networks (Eqs. 5, 8-12, 16-17; Algorithm 1)',
  players: ['G', 'D', 'sigma'],
  defaults: {
    batchSize: 64,
    latentDim: 10,
    steps: 2000,
    optimizers: { G: adamSpec(1e-3), D: adamSpec(1e-3), sigma: adamSpec(2e-4) },
    net: { ...TOY_NET },
    lambda: 0.01,
    sigmaParam: 'softplus',
    sigmaShape: 'per-dimension',
    rhoInit: -1,
    truncateSigma: true,
    sigmaMin: 0.01,
    sigmaMax: 0.3,
    sharedDiscriminatorNoise: false,
    sampleNoise: false,
    hmc: {
      burnin: 2,
      samples: 2,
      leapfrogSteps: 5,
      stepSizeNum: 1,
      adaptRate: 0.02,
      targetAccept: 0.67,
      leapfrogGradient: 'full',
      perChainStepSize: false,
      stepSizeJitter: 0,
      generatorMode: 'train',
    },
  },
  presets: {
    image: {
      ...DCGAN_IMAGE_PRESET,
      net: { ...DCGAN_IMAGE_PRESET.net },
      steps: 5000,
      optimizers: { G: adamSpec(2e-4), D: adamSpec(2e-4), sigma: adamSpec(2e-4) },
      sigmaShape: 'per-pixel',
      truncateSigma: false,
    },
  },
  validate(h, data) {
    if (!(Number.isFinite(h.lambda) && h.lambda >= 0)) fail('presgan', `lambda must be >= 0, got ${h.lambda}`);
    checkChoice('sigmaParam', h.sigmaParam, ['softplus', 'exp']);
    checkChoice('sigmaShape', h.sigmaShape, ['per-dimension', 'per-pixel', 'scalar']);
    sigmaShapeOf(data, h.sigmaShape);
    if (!Number.isFinite(h.rhoInit)) fail('presgan', `rhoInit must be finite, got ${h.rhoInit}`);
    if (!(h.sigmaMin > 0 && h.sigmaMax > h.sigmaMin && Number.isFinite(h.sigmaMax)))
      fail('presgan', `need 0 < sigmaMin < sigmaMax, got sigmaMin ${h.sigmaMin}, sigmaMax ${h.sigmaMax}`);
    checkInt('hmc.burnin', h.hmc.burnin, 0);
    checkInt('hmc.samples', h.hmc.samples, 1);
    checkInt('hmc.leapfrogSteps', h.hmc.leapfrogSteps, 1);
    if (!(h.hmc.stepSizeNum > 0 && Number.isFinite(h.hmc.stepSizeNum)))
      fail('presgan', `hmc.stepSizeNum must be positive, got ${h.hmc.stepSizeNum}`);
    if (!(h.hmc.adaptRate > 0)) fail('presgan', `hmc.adaptRate must be positive, got ${h.hmc.adaptRate}`);
    if (!(h.hmc.targetAccept > 0 && h.hmc.targetAccept < 1))
      fail('presgan', `hmc.targetAccept must be in (0, 1), got ${h.hmc.targetAccept}`);
    if (!(h.hmc.stepSizeJitter >= 0 && h.hmc.stepSizeJitter < 1))
      fail('presgan', `hmc.stepSizeJitter must be in [0, 1), got ${h.hmc.stepSizeJitter}`);
    checkChoice('hmc.leapfrogGradient', h.hmc.leapfrogGradient, ['full', 'prior-only']);
    checkChoice('hmc.generatorMode', h.hmc.generatorMode, ['train', 'eval']);
  },
  build(data, h, rng) {
    return {
      G: generatorNet(data, h.latentDim, h.net, rng),
      D: discriminatorNet(data, h.net, rng),
      sigma: new ParameterGroup({ rho: full(sigmaShapeOf(data, h.sigmaShape), h.rhoInit) }),
    };
  },
  initState(h) {
    const h0 = h.hmc.stepSizeNum / h.latentDim;
    return { stepSize: full(h.hmc.perChainStepSize ? [h.batchSize, 1] : [], h0) };
  },
  phases(h) {
    return [
      {
        name: 'D',
        draw: (ctx): Record<string, Tensor> => {
          const real = ctx.sampleReal(ctx.hyper.batchSize);
          const eta = ctx.rng.normal(real.shape);
          const z = ctx.rng.normal([ctx.hyper.batchSize, ctx.hyper.latentDim]);
          if (ctx.hyper.sharedDiscriminatorNoise) return { real, eta, z };
          return { real, eta, z, etaFake: ctx.rng.normal(real.shape) };
        },
        updates: [
          {
            name: 'D',
            players: ['D'],
            loss: (c) => {
              const sigma = stopGradient(sigmaFromRho((c.params.sigma as ParamTree).rho as Tensor, h.sigmaParam));
              const noisyReal = add(c.draws.real!, mul(sigma, c.draws.eta!));
              const etaFake = h.sharedDiscriminatorNoise ? c.draws.eta! : c.draws.etaFake!;
              const fake = noGrad(() => add(c.apply('G', c.draws.z!), mul(sigma, etaFake)));
              return discriminatorLogisticLoss(c.apply('D', noisyReal), c.apply('D', fake));
            },
          },
        ],
      },
      {
        name: 'G',
        draw: (ctx) => {
          const z = ctx.rng.normal([ctx.hyper.batchSize, ctx.hyper.latentDim]);
          return { z, eta: ctx.rng.normal([ctx.hyper.batchSize, ...ctx.data.shape]) };
        },
        updates: [{ name: 'G', players: ['G', 'sigma'], loss: generatorLoss }],
        ...(h.truncateSigma ? { after: truncate } : {}),
      },
    ];
  },
  sample(ctx, z, rng) {
    const mu = ctx.nets.G!.forward(z);
    if (!ctx.hyper.sampleNoise) return mu;
    return add(mu, mul(sigmaOfNet(ctx.nets, ctx.hyper), rng.normal(mu.shape)));
  },
};
