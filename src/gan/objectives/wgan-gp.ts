// WGAN-GP (Gulrajani et al. 2017): the WGAN critic loss plus the gradient penalty at random
// interpolates of real and generated examples, Adam, n_critic critic steps per G step.

import { fail } from '../../errors.js';
import { BatchNormBase, Flatten, Sequential } from '../../nn/layers.js';
import type { Module } from '../../nn/module.js';
import type { Generator } from '../../random/generator.js';
import type { Tensor } from '../../tensor/tensor.js';
import { adamSpec } from '../config.js';
import { discriminatorNet, generatorNet } from '../networks.js';
import type { DataInfo, NetworkHyper, Objective, PhaseContext } from '../objective.js';
import { gradientPenalty } from '../penalties.js';
import { DCGAN_IMAGE_PRESET } from './gan.js';
import {
  criticDraws,
  criticScores,
  criticWassersteinLoss,
  validateWganBase,
  WGAN_TOY,
  type WganBaseHyper,
  wganPhases,
} from './wgan.js';

export interface WganGpHyper extends WganBaseHyper {
  /** Gradient penalty coefficient lambda (Eq. 3): 10 for images (Algorithm 1), 0.1 in the toy script. */
  lambda: number;
}

/** Real batch, latents and the interpolation weights alpha ~ U[0, 1] `[n, 1, ...]`, one per example. */
export function criticDrawsWithAlpha(ctx: PhaseContext<WganGpHyper>): Record<string, Tensor> {
  const d = criticDraws(ctx);
  const alpha = ctx.rng.uniform([ctx.hyper.batchSize, ...ctx.data.shape.map(() => 1)]);
  return { ...d, alpha };
}

/**
 * The critic for WGAN-GP: the shared MLP for vector data; for images the DCGAN discriminator with
 * its BatchNorm layers removed (section 4 of the paper: batch normalisation makes each output
 * depend on the whole batch, which the per-example penalty does not allow, so the critic has
 * none), output `[n, 1]`.
 */
export function wganGpCritic(data: DataInfo, net: NetworkHyper, rng: Generator): Module {
  const d = discriminatorNet(data, net, rng);
  if (data.kind !== 'image') return d;
  const main = (d as Module & { main?: Sequential }).main;
  if (!(main instanceof Sequential))
    return fail('wgan-gp', 'expected the DCGAN discriminator to hold a Sequential `main`');
  const kept = main.layers.filter((m) => !(m instanceof BatchNormBase));
  const critic = new Sequential(...kept, new Flatten());
  // The dropped BatchNorm layers' tensors are freed; the kept layers now belong to `critic`.
  for (const m of main.layers) if (m instanceof BatchNormBase) m.dispose();
  return critic;
}

/**
 * WGAN-GP (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", Eq. 3 and Algorithm 1).
 * The critic minimises mean f(G(z)) - mean f(x) + lambda mean_i (||grad_xhat f(xhat_i)||_2 - 1)^2
 * with xhat = alpha x + (1 - alpha) G(z), alpha ~ U[0, 1] per example and G(z) detached (Eq. 3,
 * Algorithm 1 lines 4-7; the penalty through second-order autodiff, `gradientPenalty`); after
 * n_critic = 5 critic steps, one G step on -mean f(G(z)) with fresh z (line 11). No weight
 * clipping; no BatchNorm in the critic (section 4). Defaults: the toy script `gan_toy.py` (spec 13):
 * G and D 3x512 ReLU MLPs, z 2-D, batch 256, lambda 0.1, Adam 1e-4 with betas (0.5, 0.9) as both
 * official scripts we follow use (`gan_toy.py`, `gan_mnist.py`; Algorithm 1 lists beta1 = 0, the
 * CIFAR ResNet script's value: set `optimizers.D.betas`), 100k G iterations. The toy script runs
 * the G step first (skipped at iteration 0): `order: 'generator-first'`; the default is Algorithm
 * 1's critic-first. Images: lambda 10 (Algorithm 1), the DCGAN nets without critic BatchNorm,
 * z 100, batch 64 (Algorithm 1's m).
 */
export const wganGp: Objective<WganGpHyper> = {
  name: 'wgan-gp',
  title: 'WGAN-GP',
  paper:
    'Gulrajani, Ahmed, Arjovsky, Dumoulin and Courville 2017, Improved Training of Wasserstein GANs (Eq. 3, Algorithm 1)',
  players: ['G', 'D'],
  defaults: {
    ...WGAN_TOY,
    net: { ...WGAN_TOY.net },
    steps: 100000,
    optimizers: { G: adamSpec(1e-4, 0.5, 0.9), D: adamSpec(1e-4, 0.5, 0.9) },
    nCritic: 5,
    order: 'critic-first',
    lambda: 0.1,
  },
  presets: {
    image: { ...DCGAN_IMAGE_PRESET, net: { ...DCGAN_IMAGE_PRESET.net }, steps: 100000, lambda: 10 },
  },
  validate(h) {
    validateWganBase('train wgan-gp', h);
    if (!(Number.isFinite(h.lambda) && h.lambda >= 0))
      fail('train wgan-gp', `lambda must be a non-negative number, got ${h.lambda}`);
  },
  build(data, h, rng) {
    return { G: generatorNet(data, h.latentDim, h.net, rng), D: wganGpCritic(data, h.net, rng) };
  },
  phases(h) {
    return wganPhases(h, {
      repeat: () => h.nCritic,
      draw: criticDrawsWithAlpha,
      loss: (c) => {
        const [real, fakeScores, fake] = criticScores(c);
        const wasserstein = criticWassersteinLoss(real, fakeScores);
        const { penalty } = gradientPenalty((x) => c.apply('D', x), c.draws.real!, fake, c.draws.alpha!);
        return { loss: wasserstein.add(penalty.mul(h.lambda)), logs: { wasserstein, penalty } };
      },
    });
  },
  sample: (ctx, z) => ctx.nets.G!.forward(z),
};
