// Mode-regularised GAN (Che et al. 2017, Eq. 1 and 2): an encoder E, the metric regulariser
// d(x, G(E(x))) and the mode regulariser log D(G(E(x))); helpers shared with MDGAN.

import { fail } from '../../errors.js';
import type { Module } from '../../nn/module.js';
import type { Generator, GeneratorState } from '../../random/generator.js';
import { noGrad } from '../../tensor/engine.js';
import type { Tensor } from '../../tensor/tensor.js';
import { adamSpec } from '../config.js';
import { discriminatorLogisticLoss, generatorNonSaturatingLoss } from '../losses.js';
import { discriminatorNet, encoderNet, generatorNet } from '../networks.js';
import type { BaseHyper, DataInfo, NetworkHyper, Objective, PhaseContext, StepContext } from '../objective.js';
import { DCGAN_IMAGE_PRESET } from './gan.js';

/** The prior p(z): N(0, I), or uniform on [0, 1]^latentDim (Che et al. Appendix C's toy). */
export type LatentDistribution = 'normal' | 'uniform';

/** The sign of the mode regulariser in G's and E's losses (see `regGan`). */
export type ModeRegularizerSign = 'intended' | 'printed';

export interface RegGanHyper extends BaseHyper {
  /** Weight of the metric regulariser d(x, G(E(x))) (Eq. 1 and 2). */
  lambda1: number;
  /** Weight of the mode regulariser log D(G(E(x))) (Eq. 1 and 2). */
  lambda2: number;
  /** 'intended' (default): minimise -lambda2 log D(G(E(x))); 'printed': +lambda2 log D(G(E(x))) as Eq. 1-2 print it. */
  modeRegularizerSign: ModeRegularizerSign;
  /** The prior z is drawn from (Appendix C: uniform on [0, 1]). */
  latentDistribution: LatentDistribution;
  /** 'shared' (default): one real batch and z per iteration for the D, G and E steps; 'fresh': each step draws its own. */
  batch: 'shared' | 'fresh';
  /** Hidden layers of D on vector data (Appendix C: one ReLU layer); image data use the DCGAN discriminator. */
  discriminatorLayers: number;
}

/** `n` latents from the prior: N(0, I) or U[0, 1). */
export function drawLatents(rng: Generator, n: number, dim: number, dist: LatentDistribution): Tensor {
  return dist === 'uniform' ? rng.uniform([n, dim], 0, 1) : rng.normal([n, dim]);
}

/**
 * Pixel-wise squared L2 distance: ||x - y||^2 summed over every element of an example, averaged
 * over the batch (Che et al. section 3.1's d; Appendix A's ||x - G(E(x))||^2).
 */
export function squaredDistance(x: Tensor, y: Tensor): Tensor {
  const sq = x.sub(y).square();
  const axes = sq.shape.map((_, i) => i).slice(1);
  return (axes.length > 0 ? sq.sum(axes) : sq).mean();
}

/**
 * One set of draws shared by consecutive phases of an iteration (a paper's "sample a batch, update
 * D, then update G"). `first` draws with the run's stream and remembers where it stood; `again`
 * replays the identical tensors from that position and leaves the stream where it was, so every
 * iteration consumes the stream exactly once and checkpoints (taken between iterations) resume
 * bit for bit. The trainer gives each phase its own draw; this maps a shared batch onto it.
 */
export function sharedDraw<H>(draw: (ctx: PhaseContext<H>) => Record<string, Tensor>) {
  let at: { step: number; rng: GeneratorState } | undefined;
  return {
    first(ctx: PhaseContext<H>): Record<string, Tensor> {
      at = { step: ctx.step, rng: ctx.rng.getState() };
      return draw(ctx);
    },
    again(ctx: PhaseContext<H>): Record<string, Tensor> {
      if (at === undefined || at.step !== ctx.step)
        return fail('sharedDraw', 'a phase replays a draw that no earlier phase of this iteration made');
      const now = ctx.rng.getState();
      ctx.rng.setState(at.rng);
      try {
        return draw(ctx);
      } finally {
        ctx.rng.setState(now);
      }
    },
  };
}

/**
 * G applied to latents from the prior (`'prior'`, BatchNorm's default statistics stream) or to
 * encoder outputs E(x) (`'encoded'` stream; Appendix B keeps the two kinds of batch statistics
 * apart and shares the affine parameters). `updateStats` is true only in G's own updates, so G's
 * running statistics move once per batch (as when one forward feeds both D's and G's steps).
 */
export function applyG<H>(c: StepContext<H>, input: Tensor, kind: 'prior' | 'encoded', updateStats: boolean): Tensor {
  return c.apply('G', input, { ...(kind === 'encoded' ? { stream: 'encoded' } : {}), updateStats });
}

/**
 * Che et al. Appendix C's 2-D toy: G with two ReLU hidden layers of 128 on 3-D uniform noise on
 * [0, 1], D with one ReLU hidden layer (width unstated: 128), Adam lr 1e-4. beta1 0.5 follows Metz
 * et al. (2016), whose setup Appendix C follows (../shared/spec/objectives.md 5.3); the batch size is unstated (64).
 */
export const CHE_TOY = {
  batchSize: 64,
  latentDim: 3,
  latentDistribution: 'uniform' as LatentDistribution,
  steps: 5000,
  net: { hidden: 128, layers: 2, activation: 'relu', ngf: 64, ndf: 64 } as NetworkHyper,
  discriminatorLayers: 1,
};

/** Checks the settings shared by Reg-GAN and MDGAN. */
export function validateCommon(
  op: string,
  h: { latentDistribution: string; discriminatorLayers: number },
  weights: Record<string, number>,
): void {
  if (h.latentDistribution !== 'normal' && h.latentDistribution !== 'uniform')
    fail(op, `latentDistribution must be 'normal' or 'uniform', got '${h.latentDistribution}'`);
  if (!Number.isInteger(h.discriminatorLayers) || h.discriminatorLayers < 1)
    fail(op, `discriminatorLayers must be a positive integer, got ${h.discriminatorLayers}`);
  for (const [k, v] of Object.entries(weights)) {
    if (!(Number.isFinite(v) && v >= 0)) fail(op, `${k} must be a non-negative number, got ${v}`);
  }
}

/** A discriminator: the DCGAN one on images, an MLP with `discriminatorLayers` hidden layers on vectors. */
export function cheDiscriminator(data: DataInfo, net: NetworkHyper, layers: number, rng: Generator): Module {
  return discriminatorNet(data, { ...net, layers }, rng);
}

/**
 * The mode regulariser's contribution lambda2 * s * log D(G(E(x))) from D's logits on G(E(x)),
 * with log D = -softplus(-l): s = -1 for the intended sign (G(E(x)) should look real), s = +1 as
 * printed in Eq. 1 and 2.
 */
function modeTerm(logits: Tensor, h: RegGanHyper): Tensor {
  const negLogD = generatorNonSaturatingLoss(logits); // mean softplus(-l) = -mean log D
  return h.modeRegularizerSign === 'printed' ? negLogD.mul(-h.lambda2) : negLogD.mul(h.lambda2);
}

/** A real batch and latents from the objective's prior (Reg-GAN's iteration; MDGAN's diffusion step). */
export function realAndPrior<H extends BaseHyper & { latentDistribution: LatentDistribution }>(ctx: PhaseContext<H>) {
  const h = ctx.hyper;
  const real = ctx.sampleReal(h.batchSize);
  return { real, z: drawLatents(ctx.rng, h.batchSize, h.latentDim, h.latentDistribution) };
}

/**
 * Regularised GAN (Che et al. 2017, section 3.1-3.2). Players G, D and an encoder E: x -> z
 * (deterministic). Per iteration, three sequential steps:
 * - D: the standard logistic loss on real x against G(z): BCE(D(x), 1) + BCE(D(sg G(z)), 0).
 * - G: Eq. 1, T_G = -E_z log D(G(z)) + E_x[lambda1 d(x, G(E(x))) + s lambda2 log D(G(E(x)))].
 * - E: Eq. 2, T_E = E_x[lambda1 d(x, G(E(x))) + s lambda2 log D(G(E(x)))].
 * d is the pixel-wise squared L2 distance, summed over an example's elements and averaged over
 * the batch (`squaredDistance`). The sign s: the text asks the mode regulariser to move G(E(x))
 * towards the data (to look real), which minimising +log D does not; Appendix A (MDGAN) ascends
 * log D1(G(E(x))). `modeRegularizerSign: 'intended'` (default) minimises -lambda2 log D(G(E(x)))
 * (s = -1); `'printed'` minimises +lambda2 log D(G(E(x))) as Eq. 1-2 print it (s = +1), as some
 * re-implementations do (../shared/spec/objectives.md 3.1).
 *
 * Draws: the paper does not say; Appendix A samples one batch and updates D and then G on it, and
 * re-implementations use one x and z for all three steps, so `batch: 'shared'` (default) gives the
 * D, G and E steps the same x and z (G and E see D after its step, E sees G after its step);
 * `'fresh'` draws anew for each step. G's BatchNorm running statistics (image data) move only in
 * the G step; G(E(x)) uses the `'encoded'` statistics stream (Appendix B).
 *
 * Vector data (Appendix C): G z(3, U[0,1]) -> 128 -> 128 -> x, ReLU; D x -> 128 -> 1, ReLU; E
 * x -> 128 -> 128 -> z (unstated: the mirror of G); Adam 1e-4 for G, D, E; lambda1 = lambda2 =
 * 0.005. Images: DCGAN G and D (Appendix B), E an MLP on the flattened image (Appendix B's
 * convolutional "inverse of G" is not built yet), z ~ N(0, I) of 100 (Table 3's Reg-GAN(100)),
 * Adam 2e-4, and the MNIST grid search's lambda1 = 0.2, lambda2 = 0.4 (section 4.1.1).
 */
export const regGan: Objective<RegGanHyper> = {
  name: 'reg-gan',
  title: 'Reg-GAN',
  paper: 'Che et al. 2017, Mode Regularized Generative Adversarial Networks (Eq. 1 and 2; Appendix C)',
  players: ['G', 'D', 'E'],
  defaults: {
    ...CHE_TOY,
    optimizers: { G: adamSpec(1e-4), D: adamSpec(1e-4), E: adamSpec(1e-4) },
    lambda1: 0.005,
    lambda2: 0.005,
    modeRegularizerSign: 'intended',
    batch: 'shared',
  },
  presets: {
    image: {
      ...DCGAN_IMAGE_PRESET,
      latentDistribution: 'normal',
      optimizers: { G: adamSpec(2e-4), D: adamSpec(2e-4), E: adamSpec(2e-4) },
      lambda1: 0.2,
      lambda2: 0.4,
    },
  },
  validate(h) {
    validateCommon('reg-gan', h, { lambda1: h.lambda1, lambda2: h.lambda2 });
    if (h.modeRegularizerSign !== 'intended' && h.modeRegularizerSign !== 'printed')
      fail('reg-gan', `modeRegularizerSign must be 'intended' or 'printed', got '${h.modeRegularizerSign}'`);
    if (h.batch !== 'shared' && h.batch !== 'fresh')
      fail('reg-gan', `batch must be 'shared' or 'fresh', got '${h.batch}'`);
  },
  build(data, h, rng) {
    // Appendix B separates G's batch statistics for z and E(x); the toy G has no BatchNorm.
    const G = generatorNet(data, h.latentDim, h.net, rng, data.kind === 'image' ? { bnStreams: ['encoded'] } : {});
    return {
      G,
      D: cheDiscriminator(data, h.net, h.discriminatorLayers, rng),
      E: encoderNet(data, h.latentDim, h.net, rng),
    };
  },
  phases(h) {
    const shared = sharedDraw(realAndPrior<RegGanHyper>);
    const later = h.batch === 'shared' ? shared.again : realAndPrior<RegGanHyper>;
    // G(E(x)) and D's logits on it, with G's statistics updated only when G is the player.
    const reconstruct = (c: StepContext<RegGanHyper>, gUpdates: boolean) => {
      const rec = applyG(c, c.apply('E', c.draws.real!), 'encoded', gUpdates);
      return { d: squaredDistance(c.draws.real!, rec), logits: c.apply('D', rec) };
    };
    return [
      {
        name: 'D',
        draw: shared.first,
        updates: [
          {
            name: 'D',
            players: ['D'],
            loss: (c) => {
              const fake = noGrad(() => applyG(c, c.draws.z!, 'prior', false));
              return discriminatorLogisticLoss(c.apply('D', c.draws.real!), c.apply('D', fake));
            },
          },
        ],
      },
      {
        name: 'G',
        draw: later,
        updates: [
          {
            name: 'G',
            players: ['G'],
            loss: (c) => {
              const adv = generatorNonSaturatingLoss(c.apply('D', applyG(c, c.draws.z!, 'prior', true)));
              const r = reconstruct(c, true);
              const metric = r.d.mul(h.lambda1);
              const mode = modeTerm(r.logits, h);
              return { loss: adv.add(metric).add(mode), logs: { adv, metric, mode } };
            },
          },
        ],
      },
      {
        name: 'E',
        draw: later,
        updates: [
          {
            name: 'E',
            players: ['E'],
            loss: (c) => {
              const r = reconstruct(c, false);
              const metric = r.d.mul(h.lambda1);
              const mode = modeTerm(r.logits, h);
              return { loss: metric.add(mode), logs: { metric, mode } };
            },
          },
        ],
      },
    ];
  },
  sample: (ctx, z, rng) => {
    const h = ctx.hyper;
    const zz = h.latentDistribution === 'uniform' ? drawLatents(rng, z.shape[0]!, h.latentDim, 'uniform') : z;
    return ctx.nets.G!.forward(zz, { updateStats: false });
  },
};
