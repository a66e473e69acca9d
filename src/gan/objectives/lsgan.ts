// LSGAN (Mao et al. 2017): least-squares losses on the discriminator's raw outputs, with the
// 0-1 coding (their Eq. 9, default) or the a = -1, b = 1, c = 0 coding (their Eq. 8).

import { fail } from '../../errors.js';
import { noGrad } from '../../tensor/engine.js';
import type { Tensor } from '../../tensor/tensor.js';
import { adamSpec } from '../config.js';
import { discriminatorNet, generatorNet } from '../networks.js';
import type { BaseHyper, Objective } from '../objective.js';
import { DCGAN_GD_PRESET, latents, realAndLatents, TOY_NET } from './gan.js';

/** The target coding (a, b, c) of Eq. 2: '0-1' = (0, 1, 1) (Eq. 9), '-1-1-0' = (-1, 1, 0) (Eq. 8). */
export type LsganCoding = '0-1' | '-1-1-0';

export interface LsganHyper extends BaseHyper {
  /** '0-1' (default, Eq. 9: the paper's experiments) or '-1-1-0' (Eq. 8: the Pearson chi^2 choice). */
  coding: LsganCoding;
}

/** The targets (a = fake, b = real, c = what G wants D to say) of a coding. */
export function lsganTargets(coding: LsganCoding): { a: number; b: number; c: number } {
  return coding === '-1-1-0' ? { a: -1, b: 1, c: 0 } : { a: 0, b: 1, c: 1 };
}

/** D's loss 1/2 mean (D(x) - b)^2 + 1/2 mean (D(G(z)) - a)^2 (Eq. 2, first line). */
export function lsganDiscriminatorLoss(realOut: Tensor, fakeOut: Tensor, coding: LsganCoding): Tensor {
  const { a, b } = lsganTargets(coding);
  return realOut.sub(b).square().mean().mul(0.5).add(fakeOut.sub(a).square().mean().mul(0.5));
}

/** G's loss 1/2 mean (D(G(z)) - c)^2 (Eq. 2, second line). */
export function lsganGeneratorLoss(fakeOut: Tensor, coding: LsganCoding): Tensor {
  return fakeOut.sub(lsganTargets(coding).c).square().mean().mul(0.5);
}

/**
 * LSGAN (Mao et al. 2017, "Least Squares Generative Adversarial Networks", Eq. 2 with the 0-1
 * coding of Eq. 9: a = 0, b = 1, c = 1; the a = -1, b = 1, c = 0 coding of Eq. 8 as
 * `coding: '-1-1-0'`). Per iteration a D step on 1/2 mean (D(x) - b)^2 + 1/2 mean (D(G(z)) - a)^2
 * with G(z) detached, then a G step with fresh z on 1/2 mean (D(G(z)) - c)^2, on D's raw (linear)
 * outputs. We average over the batch where the official code sums (`tf.nn.l2_loss`; spec 13: only
 * a rescaling of the learning rate). The official LSUN script reuses the D step's z for the G step;
 * we draw fresh z as the other objectives do. Vector data: the official mixture-of-Gaussians
 * script (`stability_comparison/mixture_gaussian/ls.py`): tanh MLPs 2x128, z 256, batch 512, Adam
 * beta1 0.5 with D lr 1e-4 and G lr 1e-3. Images: the DCGAN nets, Adam 2e-4, beta1 0.5 (section
 * 4.1 of the paper follows DCGAN's beta1 0.5 and uses lr 2e-4 for its handwritten-character
 * experiments; the LSUN script uses 1e-3), z 100, batch 64.
 */
export const lsgan: Objective<LsganHyper> = {
  name: 'lsgan',
  title: 'LSGAN',
  paper: 'Mao, Li, Xie, Lau, Wang and Smolley 2017, Least Squares Generative Adversarial Networks (Eq. 2, 8, 9)',
  players: ['G', 'D'],
  defaults: {
    batchSize: 512,
    latentDim: 256,
    steps: 35000,
    optimizers: { G: adamSpec(1e-3), D: adamSpec(1e-4) },
    net: { ...TOY_NET },
    coding: '0-1',
  },
  presets: {
    image: DCGAN_GD_PRESET,
  },
  validate(h) {
    if (h.coding !== '0-1' && h.coding !== '-1-1-0')
      fail('train lsgan', `coding must be '0-1' or '-1-1-0', got ${String(h.coding)}`);
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
              return lsganDiscriminatorLoss(c.apply('D', c.draws.real!), c.apply('D', fake), h.coding);
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
            loss: (c) => lsganGeneratorLoss(c.apply('D', c.apply('G', c.draws.z!)), h.coding),
          },
        ],
      },
    ];
  },
  sample: (ctx, z) => ctx.nets.G!.forward(z),
};
