// WGAN (Arjovsky et al. 2017): the critic's Kantorovich-Rubinstein estimate, weight clipping,
// RMSprop and n_critic critic steps per G step; the phases WGAN-GP shares.
import { fail } from '../../errors.js';
import { clipWeights } from '../../optim/clip.js';
import { noGrad } from '../../tensor/engine.js';
import type { Tensor } from '../../tensor/tensor.js';
import { discriminatorNet, generatorNet } from '../networks.js';
import type {
  BaseHyper,
  LossOutput,
  Objective,
  OptimizerSpec,
  Phase,
  PhaseContext,
  StepContext,
} from '../objective.js';
import { DCGAN_IMAGE_PRESET, latents } from './gan.js';

/** Which of the two runs first in an iteration (see `WganHyper.order`). */
export type WganOrder = 'critic-first' | 'generator-first';

/** Settings shared by WGAN and WGAN-GP. */
export interface WganBaseHyper extends BaseHyper {
  /** Critic steps per G step (n_critic; 5 in both papers' Algorithm 1). */
  nCritic: number;
  /**
   * 'critic-first' (default; Algorithm 1 of both papers: n_critic critic steps, then one G step)
   * or 'generator-first' (the WGAN-GP toy script `gan_toy.py`: one G step, skipped at iteration 0,
   * then the critic steps). With the skip the two give the same sequence of updates; only where an
   * iteration ends differs (after the G step, or after the critic steps).
   */
  order: WganOrder;
}

export interface WganHyper extends WganBaseHyper {
  /** Weight clipping bound c: every critic parameter is clamped to [-c, c] (Algorithm 1: 0.01). */
  clip: number;
  /**
   * When the critic is clipped: 'after' each critic step (default; Algorithm 1, line 7) or
   * 'before' each critic step (the reference PyTorch code clamps at the top of its critic loop).
   */
  clipAt: 'after' | 'before';
  /**
   * 'algorithm-1' (default): n_critic critic steps every iteration. 'reference-code': the
   * reference code's schedule (martinarjovsky/WassersteinGAN, `main.py`): 100 critic steps while
   * fewer than 25 G steps have been taken and at every 500th G step, else n_critic. The paper's
   * Algorithm 1 lists only n_critic = 5; the warm-up is not in its text as we know it.
   */
  criticSchedule: 'algorithm-1' | 'reference-code';
}

/** The critic's loss, mean f(G(z)) - mean f(x) (Arjovsky et al. Eq. 3 negated: the critic maximises). */
export function criticWassersteinLoss(realScores: Tensor, fakeScores: Tensor): Tensor {
  return fakeScores.mean().sub(realScores.mean());
}

/** G's loss, -mean f(G(z)) (Arjovsky et al. Algorithm 1, line 10; Gulrajani et al. Algorithm 1, line 11). */
export function generatorWassersteinLoss(fakeScores: Tensor): Tensor {
  return fakeScores.mean().neg();
}

/** Critic steps in iteration `step` under the reference code's schedule (G steps taken so far = `step`). */
export function referenceCriticSteps(step: number, nCritic: number): number {
  return step < 25 || step % 500 === 0 ? 100 : nCritic;
}

/** The WGAN-GP toy script's nets (`gan_toy.py`, spec 13): G 2 -> 512 x3 -> 2 and D 2 -> 512 x3 -> 1, ReLU; z 2-D, batch 256. */
export const WGAN_TOY = {
  batchSize: 256,
  latentDim: 2,
  net: { hidden: 512, layers: 3, activation: 'relu', ngf: 64, ndf: 64 },
} as const;

/** Real batch and latents of a critic step. */
export function criticDraws(ctx: PhaseContext<BaseHyper>): Record<string, Tensor> {
  const real = ctx.sampleReal(ctx.hyper.batchSize);
  return { real, z: ctx.rng.normal([ctx.hyper.batchSize, ctx.hyper.latentDim]) };
}

/** The critic's scores on the real batch and on detached G(z): `[f(x), f(G(z)), G(z)]`. */
export function criticScores(c: StepContext<BaseHyper>): [Tensor, Tensor, Tensor] {
  const fake = noGrad(() => c.apply('G', c.draws.z!));
  return [c.apply('D', c.draws.real!), c.apply('D', fake), fake];
}

/**
 * The two phases of a WGAN iteration: critic phase `D` repeated `repeat(step)` times (with
 * `hooks` around each repetition), and one G step on -mean f(G(z)) with fresh z, in `h.order`.
 */
export function wganPhases<H extends WganBaseHyper>(
  h: H,
  critic: Omit<Phase<H>, 'name' | 'updates'> & { loss(c: StepContext<H>): LossOutput },
): Phase<H>[] {
  const { loss, ...rest } = critic;
  const d: Phase<H> = { name: 'D', ...rest, updates: [{ name: 'D', players: ['D'], loss }] };
  const g: Phase<H> = {
    name: 'G',
    draw: latents,
    ...(h.order === 'generator-first' ? { repeat: (step: number) => (step === 0 ? 0 : 1) } : {}),
    updates: [
      { name: 'G', players: ['G'], loss: (c) => generatorWassersteinLoss(c.apply('D', c.apply('G', c.draws.z!))) },
    ],
  };
  return h.order === 'generator-first' ? [g, d] : [d, g];
}

/** Checks the settings WGAN and WGAN-GP share. */
export function validateWganBase(name: string, h: WganBaseHyper): void {
  if (!Number.isInteger(h.nCritic) || h.nCritic < 1) fail(name, `nCritic must be a positive integer, got ${h.nCritic}`);
  if (h.order !== 'critic-first' && h.order !== 'generator-first')
    fail(name, `order must be 'critic-first' or 'generator-first', got ${String(h.order)}`);
}

/** RMSprop as the reference code's PyTorch default (alpha 0.99, eps 1e-8) at learning rate `lr`. */
const rmsprop = (lr: number): OptimizerSpec => ({ kind: 'rmsprop', lr, alpha: 0.99, eps: 1e-8 });

/**
 * WGAN (Arjovsky et al. 2017, "Wasserstein GAN", Algorithm 1). The critic f maximises
 * mean f(x) - mean f(G(z)) (their Eq. 3, the Kantorovich-Rubinstein dual of Eq. 2), i.e. minimises
 * mean f(G(z)) - mean f(x) on raw outputs with G(z) detached, with RMSprop, and after each critic
 * step every critic parameter is clipped to [-c, c] (line 7); after n_critic = 5 critic steps, one
 * G step on -mean f(G(z)) with fresh z (line 10). Defaults: c = 0.01, RMSprop lr 5e-5 for both
 * players, n_critic = 5, batch m = 64 (Algorithm 1). Options: the reference code's 100-critic-step
 * warm-up (`criticSchedule`), clipping before each critic step (`clipAt`), the G-first order
 * (`order`). Vector data: the WGAN-GP toy script's networks (its `MODE = 'wgan'`: 3x512 ReLU MLPs,
 * z 2-D, batch 256, RMSprop 5e-5, clipping 0.01 after each critic step; spec 13). Images: the DCGAN
 * nets (as in the paper's DCGAN experiments), z 100, batch 64.
 */
export const wgan: Objective<WganHyper> = {
  name: 'wgan',
  title: 'WGAN',
  paper: 'Arjovsky, Chintala and Bottou 2017, Wasserstein GAN (Eq. 3, Algorithm 1)',
  players: ['G', 'D'],
  defaults: {
    ...WGAN_TOY,
    net: { ...WGAN_TOY.net },
    steps: 100000,
    optimizers: { G: rmsprop(5e-5), D: rmsprop(5e-5) },
    nCritic: 5,
    order: 'critic-first',
    clip: 0.01,
    clipAt: 'after',
    criticSchedule: 'algorithm-1',
  },
  presets: {
    image: { ...DCGAN_IMAGE_PRESET, net: { ...DCGAN_IMAGE_PRESET.net }, steps: 100000 },
  },
  validate(h) {
    validateWganBase('train wgan', h);
    if (!(h.clip > 0)) fail('train wgan', `clip must be positive, got ${h.clip}`);
    if (h.clipAt !== 'after' && h.clipAt !== 'before')
      fail('train wgan', `clipAt must be 'after' or 'before', got ${String(h.clipAt)}`);
    if (h.criticSchedule !== 'algorithm-1' && h.criticSchedule !== 'reference-code')
      fail('train wgan', `criticSchedule must be 'algorithm-1' or 'reference-code', got ${h.criticSchedule}`);
  },
  build(data, h, rng) {
    return { G: generatorNet(data, h.latentDim, h.net, rng), D: discriminatorNet(data, h.net, rng) };
  },
  phases(h) {
    const clip = (ctx: PhaseContext<WganHyper>) => clipWeights(ctx.nets.D!, h.clip);
    return wganPhases(h, {
      repeat: (step) => (h.criticSchedule === 'reference-code' ? referenceCriticSteps(step, h.nCritic) : h.nCritic),
      draw: criticDraws,
      ...(h.clipAt === 'before' ? { before: clip } : { after: clip }),
      loss: (c) => {
        const [real, fake] = criticScores(c);
        return criticWassersteinLoss(real, fake);
      },
    });
  },
  sample: (ctx, z) => ctx.nets.G!.forward(z),
};
