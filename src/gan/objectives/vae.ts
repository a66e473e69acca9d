// The variational autoencoder (Kingma and Welling 2014): Gaussian encoder E, the GAN generator as
// decoder G, trained on the negative ELBO with the closed-form KL; the likelihood baseline of PresGAN.

import { fail } from '../../errors.js';
import { DCGANGenerator } from '../../nn/builders.js';
import type { Module } from '../../nn/module.js';
import { clamp, sigmoid, softplus } from '../../tensor/ops/elementwise.js';
import { gaussianLogDensity } from '../../tensor/ops/losses.js';
import { split } from '../../tensor/ops/movement.js';
import type { Tensor } from '../../tensor/tensor.js';
import { adamSpec } from '../config.js';
import { encoderNet, generatorNet } from '../networks.js';
import type { BaseHyper, Objective, PhaseContext, StepContext } from '../objective.js';
import { DCGAN_IMAGE_PRESET, TOY_NET } from './gan.js';

/** The decoder's observation model p(x | z). */
export type VaeLikelihood = 'gaussian' | 'bernoulli';

export interface VaeHyper extends BaseHyper {
  /**
   * p(x | z): 'gaussian' (default) = N(x; G(z), observationStd^2 I); 'bernoulli' on (x + 1) / 2,
   * for data in [-1, 1] (images): an MLP decoder's linear output is read as logits, the DCGAN
   * decoder's tanh output y as the [-1, 1]-scaled mean, p = (y + 1) / 2 (= sigmoid of logits 2 atanh y).
   */
  likelihood: VaeLikelihood;
  /**
   * The Gaussian likelihood's fixed observation std (every dimension). Default 0.1, our choice: on
   * the ring (radius 2, mode std 0.02) a unit std lets the KL term wash the modes out. A learned std
   * is not offered (see the objective's TSDoc).
   */
  observationStd: number;
}

/** Flattens `[n, ...]` to `[n, size]`. */
function rows(x: Tensor): Tensor {
  return x.reshape([x.shape[0]!, -1]);
}

/** E's output `[n, 2k]` split into the posterior mean and log-variance `[n, k]` each. */
export function encodeGaussian(c: StepContext<BaseHyper>, x: Tensor): { mu: Tensor; logVar: Tensor } {
  const [mu, logVar] = split(c.apply('E', x), 2, 1);
  return { mu: mu!, logVar: logVar! };
}

/** The reparameterised draw z = mu + sigma * eps, sigma = exp(logVar / 2) (Kingma and Welling 2014, Eq. 10 / section 2.4). */
export function reparameterize(mu: Tensor, logVar: Tensor, eps: Tensor): Tensor {
  return mu.add(logVar.mul(0.5).exp().mul(eps));
}

/**
 * KL(N(mu, diag exp logVar) || N(0, I)) in closed form, summed over dimensions and averaged over
 * the batch: mean_i 1/2 sum_j (mu_ij^2 + exp(logVar_ij) - 1 - logVar_ij) (Kingma and Welling 2014, Appendix B / Eq. 10).
 */
export function gaussianKlToStandard(mu: Tensor, logVar: Tensor): Tensor {
  return mu.square().add(logVar.exp()).sub(1).sub(logVar).sum(1).mul(0.5).mean();
}

/** -log N(x; mean, std^2 I), summed over every non-batch axis, averaged over the batch. */
export function gaussianNll(x: Tensor, mean: Tensor, std: number): Tensor {
  return gaussianLogDensity(rows(x), rows(mean), std).mean().neg();
}

/**
 * -log Bernoulli((x + 1) / 2; p) summed over dimensions, averaged over the batch, with the
 * decoder output read as logits (`'logits'`: MLPs) or as the [-1, 1]-scaled mean (`'tanh'`: DCGAN; p
 * clamped to [1e-6, 1 - 1e-6]).
 */
export function bernoulliNll(x: Tensor, out: Tensor, read: 'logits' | 'tanh'): Tensor {
  const t = rows(x).add(1).mul(0.5);
  const o = rows(out);
  if (read === 'logits') return softplus(o).sub(t.mul(o)).sum(1).mean();
  const p = clamp(o.add(1).mul(0.5), 1e-6, 1 - 1e-6);
  return t
    .mul(p.log())
    .add(t.neg().add(1).mul(p.neg().add(1).log()))
    .sum(1)
    .mean()
    .neg();
}

/** How a decoder's output is read under the Bernoulli likelihood: the DCGAN generator ends in tanh. */
export function decoderOutputForm(G: Module): 'logits' | 'tanh' {
  return G instanceof DCGANGenerator ? 'tanh' : 'logits';
}

/** -log p(x | z) of the decoder `G`'s output `out`, in the configured likelihood. */
export function vaeReconstruction(h: VaeHyper, G: Module, x: Tensor, out: Tensor): Tensor {
  return h.likelihood === 'bernoulli'
    ? bernoulliNll(x, out, decoderOutputForm(G))
    : gaussianNll(x, out, h.observationStd);
}

/** A real batch and the reparameterisation noise eps ~ N(0, I). */
export function realAndEps(ctx: PhaseContext<BaseHyper>): Record<string, Tensor> {
  const real = ctx.sampleReal(ctx.hyper.batchSize);
  return { real, eps: ctx.rng.normal([ctx.hyper.batchSize, ctx.hyper.latentDim]) };
}

/**
 * VAE (Kingma and Welling 2014, the AEVB estimator of Eq. 10 with the closed-form KL of Appendix B).
 * Encoder E: x -> [mu, log sigma^2] (one network with 2 * latentDim outputs: `encoderNet`, an MLP,
 * on flattened images for image data); z = mu + sigma * eps, eps ~ N(0, I) (one draw per example,
 * their L = 1); decoder G = the GAN generator (`generatorNet`: the MLP for vectors, the DCGAN
 * generator for images), so it matches PresGAN's generator (spec presgan.md 10.5). One update `EG`
 * with players E and G per iteration on the negative ELBO, averaged over the batch and summed over
 * dimensions: loss = -log p(x | z) + KL(q(z | x) || N(0, I)); logs `EG/kl` and `EG/reconstruction`.
 * Likelihood: Gaussian with a fixed std (default 0.1; `observationStd`) or Bernoulli on (x + 1) / 2
 * (`likelihood`). `sample` = the decoder mean G(z) (Bernoulli: 2 sigmoid(G(z)) - 1 for MLPs; the
 * DCGAN's tanh output as it is), on the data's scale.
 * Our choices: Adam 1e-3 with the usual betas (0.9, 0.999) rather than the paper's Adagrad (Adam is
 * the standard VAE optimiser since; Kingma and Welling's Adagrad step sizes were tuned per data set);
 * batch 64 (their M = 100), latent 10 on vectors (the GAN toy setting), DCGAN's 100 on images. A
 * learned observation std is not offered: it would be a third player, and an objective's player list
 * is fixed, so the fixed-std default would carry a player that never trains (wanted core change:
 * players as a function of the hyperparameters).
 */
export const vae: Objective<VaeHyper> = {
  name: 'vae',
  title: 'VAE',
  paper: 'Kingma and Welling 2014, Auto-Encoding Variational Bayes (Eq. 10; closed-form KL of Appendix B)',
  players: ['E', 'G'],
  defaults: {
    batchSize: 64,
    latentDim: 10,
    steps: 2000,
    optimizers: { E: adamSpec(1e-3, 0.9), G: adamSpec(1e-3, 0.9) },
    net: { ...TOY_NET },
    likelihood: 'gaussian',
    observationStd: 0.1,
  },
  presets: {
    image: { ...DCGAN_IMAGE_PRESET, steps: 5000 },
  },
  validate(h) {
    const op = 'train vae';
    if (h.likelihood !== 'gaussian' && h.likelihood !== 'bernoulli')
      fail(op, `likelihood must be 'gaussian' or 'bernoulli', got '${String(h.likelihood)}'`);
    if (!(Number.isFinite(h.observationStd) && h.observationStd > 0))
      fail(op, `observationStd must be a positive number, got ${h.observationStd}`);
  },
  build(data, h, rng) {
    return { E: encoderNet(data, 2 * h.latentDim, h.net, rng), G: generatorNet(data, h.latentDim, h.net, rng) };
  },
  phases(h) {
    return [
      {
        name: 'EG',
        draw: realAndEps,
        updates: [
          {
            name: 'EG',
            players: ['E', 'G'],
            loss: (c) => {
              const x = c.draws.real!;
              const { mu, logVar } = encodeGaussian(c, x);
              const kl = gaussianKlToStandard(mu, logVar);
              const out = c.apply('G', reparameterize(mu, logVar, c.draws.eps!));
              const reconstruction = vaeReconstruction(h, c.nets.G!, x, out);
              return { loss: reconstruction.add(kl), logs: { kl, reconstruction } };
            },
          },
        ],
      },
    ];
  },
  sample: (ctx, z) => {
    const out = ctx.nets.G!.forward(z);
    if (ctx.hyper.likelihood !== 'bernoulli' || decoderOutputForm(ctx.nets.G!) === 'tanh') return out;
    return sigmoid(out).mul(2).sub(1);
  },
};
