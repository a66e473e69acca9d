// LDMGAN (ICLR 2020 submission): a GAN whose generator doubles as the decoder of a regularised
// autoencoder, with the latent distribution matching term KL(q(E(G(z))) || N(0, I)) on G.

import { fail } from '../../errors.js';
import { noGrad } from '../../tensor/engine.js';
import { binaryCrossEntropyWithLogits } from '../../tensor/ops/losses.js';
import type { Tensor } from '../../tensor/tensor.js';
import { adamSpec } from '../config.js';
import { applyFixed, batchGaussianKL, meanSquaredError, squaredL2 } from '../latent.js';
import { type GeneratorLossForm, generatorLoss } from '../losses.js';
import { discriminatorNet, encoderNet, generatorNet } from '../networks.js';
import type { BaseHyper, Objective } from '../objective.js';
import { DCGAN_IMAGE_PRESET, realAndLatents } from './gan.js';

/** The data-space distance d(X, Xrec). */
export type LdmganDistance = 'squared-l2' | 'mse';

export interface LdmganHyper extends BaseHyper {
  /** Weight of the reconstruction d(X, G(E(X))) in G's loss (Eq. 9; paper default 1). */
  lambda1: number;
  /** Weight of the latent distribution matching KL(q(E(G(Z))) || N(0, I)) in G's loss (Eq. 9; paper default 1). */
  lambda2: number;
  /**
   * G's two adversarial terms: 'saturating' (default) = log(1 - D(Xhat)) + log(1 - D(Xrec)), as
   * Algorithm 1 line 14 prints them; 'non-saturating' = -log D(Xhat) - log D(Xrec) (Eq. 7's form).
   */
  adversarialLoss: GeneratorLossForm;
  /**
   * d = L2 (section 5: "d = L2"): 'squared-l2' (default) = ||x - x_rec||^2 summed over the features
   * and averaged over the batch; 'mse' = the same divided by the features per example.
   */
  distance: LdmganDistance;
  /** Hidden layers of D's MLP on vector data (section 5.1: one; `net.layers` sizes E and G). */
  discriminatorLayers: number;
  /** Added to each fitted variance inside the log of Eq. 10 (ours: keeps a collapsed batch finite). */
  klEps: number;
}

function distance(x: Tensor, xRec: Tensor, form: LdmganDistance): Tensor {
  return form === 'mse' ? meanSquaredError(x, xRec) : squaredL2(x, xRec);
}

/**
 * LDMGAN (ICLR 2020 submission, Algorithm 1; Eq. 7-10; spec section 4). Per iteration, one real
 * batch X and Z ~ N(0, I); Zhat = E(X), Xhat = G(Z), Xrec = G(Zhat), Zrec = E(Xhat). Three
 * updates computed at the same parameters and then applied together (Algorithm 1 lines 9-16: the
 * three gradients, then one SGD line for omega, theta, gamma), i.e. one simultaneous phase:
 * - `D` (line 10) descends -[log D(X) + log(1 - D(Xhat)) + log(1 - D(Xrec))] =
 *   BCE(D(X), 1) + BCE(D(Xhat), 0) + BCE(D(Xrec), 0), each a batch mean.
 * - `E` (line 12) descends d(X, Xrec) + KL(q(Zhat) || N(0, I)) (no lambdas, no adversarial term).
 * - `G` (line 14) descends log(1 - D(Xhat)) + log(1 - D(Xrec)) + lambda1 d(X, Xrec)
 *   + lambda2 KL(q(Zrec) || N(0, I)), with E's parameters held fixed inside the last term (section
 *   4.3: "the parameters of the encoder E are fixed during backpropagating the LDM term"; applied
 *   as an explicit stop-gradient, so it holds even if E were differentiated with G).
 * KL(q || N(0, I)) is Eq. 10 on the diagonal Gaussian fitted to the batch of codes (`batchGaussianKL`).
 *
 * Vector data (section 5.1): E and G with two hidden layers, D with one, all 64 units; prior
 * dimension 2. Not stated in the paper, our choices: ReLU activations; Adam lr 1e-3, betas
 * (0.5, 0.999) (Algorithm 1 only says "SGD"); batch 64; 20,000 iterations. Images (section 5.3):
 * DCGAN G and D, encoder a "simple two layer MLP" (read as one hidden layer, of 128 units: ours),
 * prior dimension 64 (Stacked MNIST; the paper uses 100 for CIFAR-10 and CelebA); Adam 2e-4,
 * beta1 0.5, batch 64 (DCGAN's, the paper gives none).
 */
export const ldmgan: Objective<LdmganHyper> = {
  name: 'ldmgan',
  title: 'LDMGAN',
  paper:
    'LDMGAN: Reducing Mode Collapse in GANs with Latent Distribution Matching, ICLR 2020 submission (Algorithm 1; Eq. 7-10)',
  players: ['G', 'E', 'D'],
  defaults: {
    batchSize: 64,
    latentDim: 2,
    steps: 20000,
    optimizers: { G: adamSpec(1e-3), E: adamSpec(1e-3), D: adamSpec(1e-3) },
    net: { hidden: 64, layers: 2, activation: 'relu', ngf: 64, ndf: 64 },
    lambda1: 1,
    lambda2: 1,
    adversarialLoss: 'saturating',
    distance: 'squared-l2',
    discriminatorLayers: 1,
    klEps: 1e-8,
  },
  presets: {
    image: {
      ...DCGAN_IMAGE_PRESET,
      latentDim: 64,
      steps: 5000,
      net: { ...DCGAN_IMAGE_PRESET.net, layers: 1 },
      optimizers: { G: adamSpec(2e-4), E: adamSpec(2e-4), D: adamSpec(2e-4) },
    },
  },
  validate(h) {
    const op = 'train ldmgan';
    for (const k of ['lambda1', 'lambda2', 'klEps'] as const) {
      if (!(Number.isFinite(h[k]) && h[k] >= 0)) fail(op, `${k} must be a non-negative number, got ${h[k]}`);
    }
    if (h.batchSize < 2)
      fail(op, `batchSize must be at least 2 (the KL fits a Gaussian to the batch), got ${h.batchSize}`);
    if (h.adversarialLoss !== 'saturating' && h.adversarialLoss !== 'non-saturating')
      fail(op, `adversarialLoss must be 'saturating' or 'non-saturating', got '${h.adversarialLoss}'`);
    if (h.distance !== 'squared-l2' && h.distance !== 'mse')
      fail(op, `distance must be 'squared-l2' or 'mse', got '${h.distance}'`);
    if (!(Number.isInteger(h.discriminatorLayers) && h.discriminatorLayers >= 0))
      fail(op, `discriminatorLayers must be a non-negative integer, got ${h.discriminatorLayers}`);
  },
  build(data, h, rng) {
    return {
      G: generatorNet(data, h.latentDim, h.net, rng),
      E: encoderNet(data, h.latentDim, h.net, rng),
      D: discriminatorNet(data, { ...h.net, layers: h.discriminatorLayers }, rng),
    };
  },
  phases(h) {
    return [
      {
        name: 'DEG',
        draw: realAndLatents,
        updates: [
          {
            name: 'D',
            players: ['D'],
            loss: (c) => {
              const { real, z } = c.draws;
              const [xHat, xRec] = noGrad(() => [c.apply('G', z!), c.apply('G', c.apply('E', real!))]);
              return binaryCrossEntropyWithLogits(c.apply('D', real!), 1)
                .add(binaryCrossEntropyWithLogits(c.apply('D', xHat!), 0))
                .add(binaryCrossEntropyWithLogits(c.apply('D', xRec!), 0));
            },
          },
          {
            name: 'E',
            players: ['E'],
            loss: (c) => {
              const real = c.draws.real!;
              const zHat = c.apply('E', real);
              const reconstruction = distance(real, c.apply('G', zHat), h.distance);
              const kl = batchGaussianKL(zHat, h.klEps);
              return { loss: reconstruction.add(kl), logs: { reconstruction, kl } };
            },
          },
          {
            name: 'G',
            players: ['G'],
            loss: (c) => {
              const { real, z } = c.draws;
              const xHat = c.apply('G', z!);
              const xRec = c.apply('G', c.apply('E', real!));
              const adversarial = generatorLoss(c.apply('D', xHat), h.adversarialLoss).add(
                generatorLoss(c.apply('D', xRec), h.adversarialLoss),
              );
              const reconstruction = distance(real!, xRec, h.distance);
              const ldm = batchGaussianKL(applyFixed(c, 'E', xHat), h.klEps);
              const loss = adversarial.add(reconstruction.mul(h.lambda1)).add(ldm.mul(h.lambda2));
              return { loss, logs: { adversarial, reconstruction, ldm } };
            },
          },
        ],
      },
    ];
  },
  sample: (ctx, z) => ctx.nets.G!.forward(z),
};
