// VAE/GAN (Larsen et al. 2016): a VAE whose reconstruction error is measured on the discriminator's
// features, a GAN on the decoder, and the official code's balancing rule gating the D and G steps.

import { fail } from '../../errors.js';
import { DCGANDiscriminator } from '../../nn/builders.js';
import { Conv2d, Linear, Sequential } from '../../nn/layers.js';
import { type Module, withParameters } from '../../nn/module.js';
import { noGrad } from '../../tensor/engine.js';
import { logSigmoid } from '../../tensor/ops/elementwise.js';
import { concat, split } from '../../tensor/ops/movement.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ParamTree } from '../../tensor/tree.js';
import { constantParams } from '../latent.js';
import { discriminatorNet, encoderNet, generatorNet } from '../networks.js';
import type { BaseHyper, Objective, OptimizerSpec, StepContext } from '../objective.js';
import { TOY_NET } from './gan.js';
import { encodeGaussian, gaussianKlToStandard, gaussianNll, realAndEps, reparameterize } from './vae.js';

export interface VaeGanHyper extends BaseHyper {
  /** w: the decoder minimises w * reconstruction + (1 - w) * GAN term (code `recon_vs_gan_weight`; 1e-6 for CelebA, spec 13). */
  reconVsGanWeight: number;
  /** D's weight on the real cost; the fake cost gets 1 - it (code `real_vs_gen_weight`, 0.5). */
  realVsGenWeight: number;
  /** Also show D the reconstructions G(z_enc) as fakes, besides the prior samples G(z) (code `discriminate_ae_recon`; off in the CelebA script). */
  discriminateReconstructions: boolean;
  /** The balancing rule (code `aegan.GradientDescent`): on by default; false steps D and G every iteration. */
  balance: boolean;
  /** The rule's equilibrium cost (0.68, about log 2) and margin (0.35). */
  equilibrium: number;
  margin: number;
  /** eps in D's costs -log(D(x) + eps), -log(1 - D(G(z)) + eps) (code 1e-3); 0 = the exact log-sigmoid forms. */
  logEps: number;
}

/** Flattens `[n, ...]` to `[n, size]`. */
function rows(x: Tensor): Tensor {
  return x.reshape([x.shape[0]!, -1]);
}

/** The layers of D up to (not including) its last Linear or Conv2d: the feature extractor. */
function featureLayers(D: Module): readonly Module[] {
  const seq = D instanceof Sequential ? D : D instanceof DCGANDiscriminator ? D.main : undefined;
  if (seq === undefined)
    return fail('discriminatorFeatures', `needs an MLP (Sequential) or DCGAN discriminator, got ${D.name}`);
  let last = seq.layers.length - 1;
  while (last >= 0 && !(seq.layers[last] instanceof Linear || seq.layers[last] instanceof Conv2d)) last--;
  if (last < 0) return fail('discriminatorFeatures', 'the discriminator has no Linear or Conv2d layer');
  return seq.layers.slice(0, last);
}

/**
 * D's layer-l features Dis_l(x) `[n, features]` with D's parameters `params`: every layer before
 * D's last Linear (MLP: the last hidden layer's activations; with no hidden layer, x itself) or
 * last convolution (DCGAN: the LeakyReLU output before the final 4x4 conv), flattened.
 */
export function discriminatorFeatures(D: Module, params: ParamTree, x: Tensor): Tensor {
  const layers = featureLayers(D);
  return withParameters(D, params, () => rows(layers.reduce((y, m) => m.forward(y), x)));
}

/** log D and log(1 - D) of logits, with the code's eps inside the log (eps = 0: exact log-sigmoids). */
function logProbs(logits: Tensor, eps: number): { logD: Tensor; log1mD: Tensor } {
  if (eps === 0) return { logD: logSigmoid(logits), log1mD: logSigmoid(logits.neg()) };
  const p = logits.sigmoid();
  return {
    logD: p.add(eps).log(),
    log1mD: p
      .neg()
      .add(1 + eps)
      .log(),
  };
}

/**
 * The balancing rule of the official code (spec 13): skip the D step if the real or the fake cost
 * is below equilibrium - margin; skip the decoder step if either is above equilibrium + margin; if
 * both would be skipped, step both. Returns which step.
 */
export function vaeGanBalance(
  realCost: number,
  fakeCost: number,
  h: Pick<VaeGanHyper, 'equilibrium' | 'margin'>,
): { D: boolean; G: boolean } {
  const lo = h.equilibrium - h.margin;
  const hi = h.equilibrium + h.margin;
  const D = !(realCost < lo || fakeCost < lo);
  const G = !(realCost > hi || fakeCost > hi);
  return D || G ? { D, G } : { D: true, G: true };
}

/** Encoder pass: the KL term and the code z = mu + sigma * eps. */
function encode(c: StepContext<VaeGanHyper>) {
  const { mu, logVar } = encodeGaussian(c, c.draws.real!);
  return { kl: gaussianKlToStandard(mu, logVar), z: reparameterize(mu, logVar, c.draws.eps!) };
}

/**
 * The Gaussian NLL (unit std) of D's features of x under those of the reconstruction G(z), summed
 * over features, averaged over the batch; D's parameters are constants (the recon path gives D
 * zero gradient). Reconstructions and reals pass D together, as in the code (BatchNorm statistics).
 */
function featureReconstruction(c: StepContext<VaeGanHyper>, z: Tensor): Tensor {
  const real = c.draws.real!;
  const f = discriminatorFeatures(c.nets.D!, constantParams(c.params.D!), concat([c.apply('G', z), real], 0));
  const [fTilde, fReal] = split(f, 2, 0);
  return gaussianNll(fReal!, fTilde!, 1);
}

/** The fakes: G(z_prior), or G([z_enc; z_prior]) with z_enc a constant (no GAN gradient to E) when enabled. */
function fakes(c: StepContext<VaeGanHyper>, zEnc: () => Tensor): Tensor {
  const zPrior = c.draws.zPrior!;
  return c.apply('G', c.hyper.discriminateReconstructions ? concat([zEnc().detach(), zPrior], 0) : zPrior);
}

/** D's log-probabilities on the reals and on the fakes, one D pass over [reals; fakes] as in the code. */
function discriminate(c: StepContext<VaeGanHyper>, fake: Tensor) {
  const n = c.draws.real!.shape[0]!;
  const logits = c.apply('D', concat([c.draws.real!, fake], 0)).reshape([-1]);
  const [lr, lf] = split(logits, [n, logits.shape[0]! - n], 0);
  return { real: logProbs(lr!, c.hyper.logEps), fake: logProbs(lf!, c.hyper.logEps), n };
}

const rmsprop = (lr: number): OptimizerSpec => ({ kind: 'rmsprop', lr, alpha: 0.9 });

/** The code's learning rate 0.025 per batch of 64 (spec 13), held constant. */
const LR = 0.025 / 64;

/**
 * VAE/GAN (Larsen et al. 2016, Eq. 9 and Algorithm 1; the official code's details, spec 13). One
 * simultaneous phase per iteration on a real batch x, eps and prior latents z_p ~ N(0, I); with
 * z = mu(x) + sigma(x) * eps, x~ = G(z), Dis_l = D's features before its last layer, and D's costs
 * real = mean -log(D(x) + eps_log), fake = mean over the fakes -log(1 - D(G(z_p)) + eps_log):
 * - `E`: L_prior + L_llike^Dis_l = KL(q(z|x) || N(0, I)) + -log N(Dis_l(x); Dis_l(x~), I) (Eq. 9's
 *   encoder; sums over dimensions, means over the batch). The GAN term never reaches E.
 * - `G`: w * L_llike^Dis_l + (1 - w) * sum over fakes log(1 - D(G(.)) + eps_log) / batch (the
 *   saturating GAN term; the code scales the decoder's two gradients by w and 1 - w), w = 1e-6.
 * - `D`: realVsGenWeight * real + (1 - realVsGenWeight) * fake (GAN loss only; logs `D/real`, `D/fake`).
 * The recon path holds D's parameters constant (D gets zero gradient from it, as in the code). Fakes
 * are the prior samples; with `discriminateReconstructions` also G(z) with z a constant.
 * The gate applies the balancing rule (`vaeGanBalance`) to D/real and D/fake; E always steps. Gated
 * phases read the costs back before stepping: `trainer.step()` on the CPU backend, `await
 * trainer.stepAsync()` on any backend (`runTrainer` does).
 * Optimiser: RMSprop, lr 0.025 / 64 (the code's 0.025 per batch of 64), smoothing 0.9 (deeppy's
 * RMSProp decay, as we recall it). Our changes: the code anneals lr per epoch from its start toward
 * 1e-5 with gamma 0.75 over 250 epochs; with data drawn fresh each batch we have no epochs and keep
 * lr constant (override `optimizers.<P>.lr`). Losses are batch means where the code sums over the
 * batch (RMSprop's step does not depend on the loss scale; the ratios between the terms are kept).
 * The encoder is `encoderNet` (an MLP; on flattened images) rather than the paper's conv encoder.
 * Vector data: MLPs of `net` (tanh, 2 x 128), latent 10, batch 64 (the GAN toy settings, our choice);
 * images: DCGAN G and D, batch 64, z 128 (spec 13).
 */
export const vaeGan: Objective<VaeGanHyper> = {
  name: 'vae-gan',
  title: 'VAE/GAN',
  paper:
    'Larsen et al. 2016, Autoencoding beyond pixels using a learned similarity metric (Eq. 9, Algorithm 1; code andersbll/autoencoding_beyond_pixels)',
  players: ['E', 'G', 'D'],
  defaults: {
    batchSize: 64,
    latentDim: 10,
    steps: 2000,
    optimizers: { E: rmsprop(LR), G: rmsprop(LR), D: rmsprop(LR) },
    net: { ...TOY_NET },
    reconVsGanWeight: 1e-6,
    realVsGenWeight: 0.5,
    discriminateReconstructions: false,
    balance: true,
    equilibrium: 0.68,
    margin: 0.35,
    logEps: 1e-3,
  },
  presets: {
    image: {
      batchSize: 64,
      latentDim: 128,
      steps: 5000,
      net: { hidden: 128, layers: 2, activation: 'relu', ngf: 64, ndf: 64 },
    },
  },
  validate(h) {
    const op = 'train vae-gan';
    const unit = (k: 'reconVsGanWeight' | 'realVsGenWeight') => {
      if (!(h[k] >= 0 && h[k] <= 1)) fail(op, `${k} must be in [0, 1], got ${h[k]}`);
    };
    unit('reconVsGanWeight');
    unit('realVsGenWeight');
    if (!(Number.isFinite(h.margin) && h.margin >= 0))
      fail(op, `margin must be a non-negative number, got ${h.margin}`);
    if (!Number.isFinite(h.equilibrium)) fail(op, `equilibrium must be a number, got ${h.equilibrium}`);
    if (!(Number.isFinite(h.logEps) && h.logEps >= 0))
      fail(op, `logEps must be a non-negative number, got ${h.logEps}`);
  },
  build(data, h, rng) {
    return {
      E: encoderNet(data, 2 * h.latentDim, h.net, rng),
      G: generatorNet(data, h.latentDim, h.net, rng),
      D: discriminatorNet(data, h.net, rng),
    };
  },
  phases(h) {
    return [
      {
        name: 'EGD',
        draw: (ctx) => ({ ...realAndEps(ctx), zPrior: ctx.rng.normal([ctx.hyper.batchSize, ctx.hyper.latentDim]) }),
        updates: [
          {
            name: 'E',
            players: ['E'],
            loss: (c) => {
              const { kl, z } = encode(c);
              const reconstruction = featureReconstruction(c, z);
              return { loss: kl.add(reconstruction), logs: { kl, reconstruction } };
            },
          },
          {
            name: 'G',
            players: ['G'],
            loss: (c) => {
              const { z } = encode(c);
              const reconstruction = featureReconstruction(c, z);
              const d = discriminate(
                c,
                fakes(c, () => z),
              );
              const gan = d.fake.log1mD.sum().div(d.n);
              const w = h.reconVsGanWeight;
              return { loss: reconstruction.mul(w).add(gan.mul(1 - w)), logs: { reconstruction, gan } };
            },
          },
          {
            name: 'D',
            players: ['D'],
            loss: (c) => {
              const fake = noGrad(() => fakes(c, () => encode(c).z));
              const d = discriminate(c, fake);
              const real = d.real.logD.mean().neg();
              const fakeCost = d.fake.log1mD.mean().neg();
              const r = h.realVsGenWeight;
              return { loss: real.mul(r).add(fakeCost.mul(1 - r)), logs: { real, fake: fakeCost } };
            },
          },
        ],
        gate: (v) => (h.balance ? vaeGanBalance(v['D/real']!, v['D/fake']!, h) : {}),
      },
    ];
  },
  sample: (ctx, z) => ctx.nets.G!.forward(z),
};
