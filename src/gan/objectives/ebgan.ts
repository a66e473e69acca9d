// EBGAN (Zhao et al. 2017): an autoencoder discriminator (encoder D, decoder Dec) whose energy is
// the reconstruction error; the hinge on generated energies and the pull-away term on G's codes.

import { fail } from '../../errors.js';
import { noGrad } from '../../tensor/engine.js';
import type { Tensor } from '../../tensor/tensor.js';
import { adamSpec } from '../config.js';
import { encoderNet, generatorNet } from '../networks.js';
import type { BaseHyper, LossOutput, Objective, StepContext } from '../objective.js';
import { DCGAN_IMAGE_PRESET, latents, realAndLatents, TOY_NET } from './gan.js';

export interface EbganHyper extends BaseHyper {
  /** Dimension of the encoder's codes S (the representation the pull-away term acts on). */
  codeDim: number;
  /** The margin m of D's hinge [m - D(G(z))]^+ (Eq. 1). In the energy's units: mean squared error per example. */
  margin: number;
  /** Weight of the pull-away term in G's loss (EBGAN-PT, section 2.4: 0.1). 0 = plain EBGAN. */
  lambdaPT: number;
}

/** Energy per example: the mean squared reconstruction error over each example's elements, `[n]`. */
export function reconstructionEnergy(x: Tensor, rec: Tensor): Tensor {
  if (x.rank < 2 || x.shape.length !== rec.shape.length || x.shape.some((d, i) => d !== rec.shape[i]))
    fail('reconstructionEnergy', `needs two batches of the same shape, got [${x.shape}] and [${rec.shape}]`);
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i + 1);
  return rec.sub(x).square().mean(axes);
}

/**
 * The pull-away term (Eq. 7): f_PT(S) = 1/(N(N-1)) sum_{i != j} (S_i . S_j / (|S_i| |S_j|))^2 over the
 * rows of the codes S `[N, k]` (N >= 2). The diagonal is removed exactly (its cosines are 1 up to
 * rounding).
 */
export function pullAwayTerm(s: Tensor): Tensor {
  if (s.rank !== 2 || s.shape[0]! < 2) fail('pullAwayTerm', `needs codes [N >= 2, k], got [${s.shape}]`);
  const n = s.shape[0]!;
  const unit = s.div(s.square().sum(1, { keepdims: true }).sqrt());
  const cos2 = unit.matmul(unit.transpose()).square();
  const diag = unit.square().sum(1).square();
  return cos2
    .sum()
    .sub(diag.sum())
    .div(n * (n - 1));
}

/** The energy D(x) = mean squared error of Dec(D(x)) against x, per example (section 2.3), and the codes. */
function energy(c: StepContext<EbganHyper>, x: Tensor): { e: Tensor; codes: Tensor } {
  const codes = c.apply('D', x);
  return { e: reconstructionEnergy(x, c.apply('Dec', codes)), codes };
}

/**
 * EBGAN (Zhao, Mathieu & LeCun 2017, "Energy-based Generative Adversarial Network"). Players: G, the
 * encoder `D` and the decoder `Dec` of the autoencoder discriminator, whose energy is
 * D(x) = ||Dec(Enc(x)) - x|| (section 2.3), taken as the mean squared reconstruction error of each
 * example (as the paper's experiments and the usual implementations compute it). Per iteration:
 * - a D+Dec step: L_D = mean D(x) + mean [m - D(G(z))]^+ (Eq. 1), G(z) a constant;
 * - a G step with fresh z: L_G = mean D(G(z)) (Eq. 2) + lambdaPT f_PT(S) (EBGAN-PT, Eq. 7), S the
 *   encoder's codes of G(z); D and Dec are held fixed (not G's players).
 * Defaults, as far as we can check them (the paper's text is not in the shared corpus; recalled):
 * lambdaPT = 0.1 (section 2.4 / experiments); margin m = 10 on MNIST (the grid-search setting; m = 20
 * CelebA, 80 LSUN), used by the image preset; Adam lr 1e-3, beta1 0.5 (the paper's image
 * experiments). Vector data (our choice): margin 1, of the order of the untrained autoencoder's
 * energy on the ring; G 10-128-128-2, encoder 2-128-128-8, decoder 8-128-128-2, tanh MLPs. Images:
 * an MLP encoder on the flattened image to 64 codes and the DCGAN generator as decoder (the paper
 * uses a conv autoencoder, which our builders do not make yet).
 */
export const ebgan: Objective<EbganHyper> = {
  name: 'ebgan',
  title: 'EBGAN',
  paper: 'Zhao, Mathieu & LeCun 2017, Energy-based Generative Adversarial Network (Eqs. 1, 2, 7; section 2.3)',
  players: ['G', 'D', 'Dec'],
  defaults: {
    batchSize: 64,
    latentDim: 10,
    steps: 2000,
    optimizers: { G: adamSpec(1e-3), D: adamSpec(1e-3), Dec: adamSpec(1e-3) },
    net: { ...TOY_NET },
    codeDim: 8,
    margin: 1,
    lambdaPT: 0.1,
  },
  presets: {
    image: { ...DCGAN_IMAGE_PRESET, steps: 5000, codeDim: 64, margin: 10 },
  },
  validate(h) {
    if (!(Number.isInteger(h.codeDim) && h.codeDim >= 1))
      fail('ebgan', `codeDim must be a positive integer, got ${h.codeDim}`);
    if (!(Number.isFinite(h.margin) && h.margin >= 0)) fail('ebgan', `margin must be non-negative, got ${h.margin}`);
    if (!(Number.isFinite(h.lambdaPT) && h.lambdaPT >= 0))
      fail('ebgan', `lambdaPT must be non-negative, got ${h.lambdaPT}`);
    if (h.lambdaPT > 0 && h.batchSize < 2) fail('ebgan', 'the pull-away term needs batchSize >= 2');
  },
  build(data, h, rng) {
    return {
      G: generatorNet(data, h.latentDim, h.net, rng),
      D: encoderNet(data, h.codeDim, h.net, rng),
      Dec: generatorNet(data, h.codeDim, h.net, rng),
    };
  },
  phases(h) {
    return [
      {
        name: 'D',
        draw: realAndLatents,
        updates: [
          {
            name: 'D',
            players: ['D', 'Dec'],
            loss: (c) => {
              const fake = noGrad(() => c.apply('G', c.draws.z!));
              const real = energy(c, c.draws.real!).e.mean();
              const hinge = energy(c, fake).e.neg().add(h.margin).relu().mean();
              return { loss: real.add(hinge), logs: { energyReal: real, hinge } };
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
            loss: (c): LossOutput => {
              const { e, codes } = energy(c, c.apply('G', c.draws.z!));
              const energyFake = e.mean();
              if (h.lambdaPT === 0) return { loss: energyFake, logs: { energyFake } };
              const pt = pullAwayTerm(codes);
              return { loss: energyFake.add(pt.mul(h.lambdaPT)), logs: { energyFake, pullAway: pt } };
            },
          },
        ],
      },
    ];
  },
  sample: (ctx, z) => ctx.nets.G!.forward(z),
};
