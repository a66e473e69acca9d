// The original GAN (Goodfellow et al. 2014): the logistic discriminator and the minimax
// (saturating) or non-saturating generator loss; MLPs for vector data, DCGAN nets for images.

import { noGrad } from '../../tensor/engine.js';
import { adamSpec } from '../config.js';
import { discriminatorLogisticLoss, type GeneratorLossForm, generatorLoss } from '../losses.js';
import { discriminatorNet, generatorNet } from '../networks.js';
import type { BaseHyper, Objective, PhaseContext } from '../objective.js';

export interface GanHyper extends BaseHyper {
  /** Goodfellow et al. Eq. 1 as a game ('saturating') or the non-saturating G loss of their section 3 (default). */
  generatorLoss: GeneratorLossForm;
}

/** Vector-data settings shared by the toy experiments (../shared/spec/presgan.md 10.7: tanh MLPs, latent 10, Adam beta1 0.5). */
export const TOY_NET = { hidden: 128, layers: 2, activation: 'tanh', ngf: 64, ndf: 64 } as const;

/** DCGAN settings for image data (Radford et al. 2016: Adam 2e-4, beta1 0.5, batch 64, z 100). */
export const DCGAN_IMAGE_PRESET = {
  latentDim: 100,
  batchSize: 64,
  net: { hidden: 128, layers: 2, activation: 'relu', ngf: 64, ndf: 64 },
} as const;

/** A G-and-D objective's image preset: the DCGAN nets and Adam 2e-4, beta1 0.5, for 5,000 iterations. */
export const DCGAN_GD_PRESET = {
  ...DCGAN_IMAGE_PRESET,
  steps: 5000,
  optimizers: { G: adamSpec(2e-4), D: adamSpec(2e-4) },
};

/** Real batch and latents for a D step (the real batch is drawn first). */
export function realAndLatents(ctx: PhaseContext<BaseHyper>) {
  const real = ctx.sampleReal(ctx.hyper.batchSize);
  return { real, z: ctx.rng.normal([ctx.hyper.batchSize, ctx.hyper.latentDim]) };
}

/** Latents for a G step. */
export function latents(ctx: PhaseContext<BaseHyper>) {
  return { z: ctx.rng.normal([ctx.hyper.batchSize, ctx.hyper.latentDim]) };
}

/**
 * GAN. Per iteration: a D step on BCE(D(x), 1) + BCE(D(G(z)), 0) (Goodfellow et al. 2014, Eq. 1,
 * D ascending V), then a G step with fresh z against the updated D, on the non-saturating loss
 * -log D(G(z)) (their section 3) or the saturating log(1 - D(G(z))). One D step per G step (their
 * k = 1). Vector data: G z -> 128 -> 128 -> x and D x -> 128 -> 128 -> 1, tanh (../shared/spec/presgan.md 10.7);
 * Adam 1e-3, betas (0.5, 0.999), batch 64, latent 10 (our choice: the PresGAN paper's toy numbers
 * were lost). Images: the DCGAN generator and discriminator, Adam 2e-4.
 */
export const gan: Objective<GanHyper> = {
  name: 'gan',
  title: 'GAN',
  paper: 'Goodfellow et al. 2014, Generative Adversarial Nets (Eq. 1; non-saturating loss of section 3)',
  players: ['G', 'D'],
  defaults: {
    batchSize: 64,
    latentDim: 10,
    steps: 2000,
    optimizers: { G: adamSpec(1e-3), D: adamSpec(1e-3) },
    net: { ...TOY_NET },
    generatorLoss: 'non-saturating',
  },
  presets: {
    image: DCGAN_GD_PRESET,
  },
  build(data, h, rng) {
    return { G: generatorNet(data, h.latentDim, h.net, rng), D: discriminatorNet(data, h.net, rng) };
  },
  phases(h) {
    return [
      {
        name: 'D',
        draw: realAndLatents,
        updates: [
          {
            name: 'D',
            players: ['D'],
            loss: (c) => {
              const fake = noGrad(() => c.apply('G', c.draws.z!));
              return discriminatorLogisticLoss(c.apply('D', c.draws.real!), c.apply('D', fake));
            },
          },
        ],
      },
      {
        name: 'G',
        draw: latents,
        updates: [
          {
            name: 'G',
            players: ['G'],
            loss: (c) => generatorLoss(c.apply('D', c.apply('G', c.draws.z!)), h.generatorLoss),
          },
        ],
      },
    ];
  },
  sample: (ctx, z) => ctx.nets.G!.forward(z),
};
