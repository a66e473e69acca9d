// BiGAN / ALI (Donahue et al. 2017; Dumoulin et al. 2017): a joint discriminator on (x, z) pairs
// tells data pairs (x, E(x)) from sample pairs (G(z), z); E and G are trained jointly against it.

import { fail } from '../../errors.js';
import type { Generator } from '../../random/generator.js';
import { noGrad } from '../../tensor/engine.js';
import { binaryCrossEntropyWithLogits } from '../../tensor/ops/losses.js';
import { concat } from '../../tensor/ops/movement.js';
import type { Tensor } from '../../tensor/tensor.js';
import { adamSpec } from '../config.js';
import { discriminatorNet, exampleSize } from '../networks.js';
import type { BaseHyper, Objective, PhaseContext, StepContext } from '../objective.js';
import { fixedSetPlaceholder, fixedSetState, realPacks } from '../pack.js';
import { batchNormMlp, checkMaxout, type MaxoutHyper, maxoutDiscriminator, normalInit } from './pacgan.js';

export interface BiganHyper extends BaseHyper {
  /**
   * 'stochastic' (default; spec 6.3 and 13: the 2-D ALI encoder takes [x; eps], eps ~ N(0, I))
   * or 'deterministic' (BiGAN's E(x), Donahue et al. 2017 section 3).
   */
  encoder: 'deterministic' | 'stochastic';
  /** Dimension of the stochastic encoder's noise eps (spec 6.3: 2). */
  encoderNoiseDim: number;
  /** Hidden layers of the encoder's MLP (spec 6.3: 2 x FC400 with BatchNorm and ReLU); `net` sizes G. */
  encoderLayers: number;
  /** The joint D: 'maxout' (default, spec 6.3: [x; z] -> 3 maxout layers -> logit) or 'mlp' (`net`-sized, `discriminatorNet`). */
  discriminator: 'maxout' | 'mlp';
  maxout: MaxoutHyper;
  /** N of the fixed training set (spec 6.3: the data of spec 6.2, 100,000); 0 = fresh draws from the source. */
  fixedSetSize: number;
  /** 'normal' (default, spec 6.2: weights N(0, initStd^2), zero biases) or 'torch'. */
  init: 'normal' | 'torch';
  initStd: number;
  /** Weight of the new batch in BatchNorm's running statistics (spec 6.2: 0.05). */
  bnMomentum: number;
}

/** E's input: x, or [x; eps] for the stochastic encoder. */
function encoderInput(x: Tensor, eps: Tensor | undefined): Tensor {
  return eps === undefined ? x : concat([x, eps], 1);
}

/** The joint discriminator's logits on pairs [x; z] (spec 6.3's input order), one per row. */
function jointLogits(c: StepContext<BiganHyper>, x: Tensor, z: Tensor): Tensor {
  return c.apply('D', concat([x, z], 1));
}

/** Data pair logits l_data = D(x, E(x)) and sample pair logits l_sample = D(G(z), z), E and G traced or not. */
function pairLogits(c: StepContext<BiganHyper>, traced: boolean): { lData: Tensor; lSample: Tensor } {
  const { real, z, eps } = c.draws;
  const run = () => ({
    ez: c.apply('E', encoderInput(real!, eps), { updateStats: traced }),
    gz: c.apply('G', z!, { updateStats: traced }),
  });
  const { ez, gz } = traced ? run() : noGrad(run);
  return { lData: jointLogits(c, real!, ez), lSample: jointLogits(c, gz, z!) };
}

function draw(ctx: PhaseContext<BiganHyper>): Record<string, Tensor> {
  const h = ctx.hyper;
  const draws = realPacks(ctx, 1, h.fixedSetSize);
  draws.z = ctx.rng.normal([h.batchSize, h.latentDim]);
  if (h.encoder === 'stochastic') draws.eps = ctx.rng.normal([h.batchSize, h.encoderNoiseDim]);
  return draws;
}

const hidden = (n: number, w: number) => new Array<number>(n).fill(w);

/**
 * BiGAN / ALI (Donahue et al. 2017, Eq. 3; Dumoulin et al. 2017, Eq. 1-2; spec 13 and 6.3). Per
 * iteration one batch: real x, z ~ N(0, I) and (stochastic E) eps ~ N(0, I). D scores data pairs
 * (x, E(x)) as label 1 and sample pairs (G(z), z) as label 0. Two simultaneous updates (the ALI
 * trainer takes both gradients at the same parameters, then steps both; spec 13):
 * - `D`: L_D = mean softplus(-l_data) + mean softplus(l_sample).
 * - `EG` (E and G jointly): the labels swapped (non-saturating; spec 13, Dumoulin et al. section
 *   3): L_EG = mean softplus(l_data) + mean softplus(-l_sample).
 * 2-D defaults of PacGAN's ALI baseline (spec 6.3, with the training of 6.2): z in R^2; E [x; eps]
 * (eps in R^2) -> 2 x (400, no-bias FC, BatchNorm, ReLU) -> z; G as PacGAN's 2-D generator; D on [x;
 * z] -> 3 maxout layers of 200 x 5 -> logit; weights N(0, 0.02^2), zero biases; Adam lr 1e-4,
 * beta1 0.8; batch 100; real batches resampled from a fixed set of N = 100,000. Our changes:
 * `steps` 20,000 rather than 400,000. Image data are not supported (no joint image discriminator yet).
 */
export const bigan: Objective<BiganHyper> = {
  name: 'bigan',
  title: 'BiGAN / ALI',
  paper:
    'Donahue et al. 2017, Adversarial Feature Learning (Eq. 3); Dumoulin et al. 2017, Adversarially Learned Inference (Eq. 1-2; spec 13, 6.3)',
  players: ['G', 'E', 'D'],
  defaults: {
    batchSize: 100,
    latentDim: 2,
    steps: 20000,
    optimizers: { G: adamSpec(1e-4, 0.8), E: adamSpec(1e-4, 0.8), D: adamSpec(1e-4, 0.8) },
    net: { hidden: 400, layers: 4, activation: 'relu', ngf: 64, ndf: 64 },
    encoder: 'stochastic',
    encoderNoiseDim: 2,
    encoderLayers: 2,
    discriminator: 'maxout',
    maxout: { layers: 3, units: 200, pieces: 5 },
    fixedSetSize: 100000,
    init: 'normal',
    initStd: 0.02,
    bnMomentum: 0.05,
  },
  validate(h, data) {
    const op = 'train bigan';
    if (data.kind === 'image') fail(op, 'image data need a joint (x, z) image discriminator, which is not built yet');
    if (h.encoder !== 'deterministic' && h.encoder !== 'stochastic')
      fail(op, `encoder must be 'deterministic' or 'stochastic', got '${h.encoder}'`);
    if (!Number.isInteger(h.encoderNoiseDim) || h.encoderNoiseDim < 1)
      fail(op, `encoderNoiseDim must be a positive integer, got ${h.encoderNoiseDim}`);
    if (!Number.isInteger(h.encoderLayers) || h.encoderLayers < 0)
      fail(op, `encoderLayers must be a non-negative integer, got ${h.encoderLayers}`);
    if (h.discriminator !== 'maxout' && h.discriminator !== 'mlp')
      fail(op, `discriminator must be 'maxout' or 'mlp', got '${h.discriminator}'`);
    checkMaxout(op, h.maxout);
    if (!Number.isInteger(h.fixedSetSize) || h.fixedSetSize < 0 || h.fixedSetSize > 2 ** 24)
      fail(op, `fixedSetSize must be an integer in [0, 2^24], got ${h.fixedSetSize}`);
    if (h.init !== 'normal' && h.init !== 'torch') fail(op, `init must be 'normal' or 'torch', got '${h.init}'`);
    if (!(h.initStd >= 0)) fail(op, `initStd must be non-negative, got ${h.initStd}`);
    if (!(h.bnMomentum >= 0 && h.bnMomentum <= 1)) fail(op, `bnMomentum must be in [0, 1], got ${h.bnMomentum}`);
  },
  build(data, h, rng: Generator) {
    const d = exampleSize(data);
    const noise = h.encoder === 'stochastic' ? h.encoderNoiseDim : 0;
    const nets = {
      G: batchNormMlp([h.latentDim, ...hidden(h.net.layers, h.net.hidden), d], h.bnMomentum, rng),
      E: batchNormMlp([d + noise, ...hidden(h.encoderLayers, h.net.hidden), h.latentDim], h.bnMomentum, rng),
      D:
        h.discriminator === 'maxout'
          ? maxoutDiscriminator(d + h.latentDim, h.maxout, rng)
          : discriminatorNet(data, h.net, rng, { extraInputs: h.latentDim }),
    };
    if (h.init === 'normal') for (const n of Object.values(nets)) normalInit(n, h.initStd, rng);
    return nets;
  },
  initState: (h, data) => fixedSetPlaceholder(h.fixedSetSize, data),
  phases() {
    return [
      {
        name: 'D-EG',
        draw,
        updates: [
          {
            name: 'D',
            players: ['D'],
            loss: (c) => {
              const { lData, lSample } = pairLogits(c, false);
              const loss = binaryCrossEntropyWithLogits(lData, 1).add(binaryCrossEntropyWithLogits(lSample, 0));
              return { loss, state: fixedSetState(c.draws) };
            },
          },
          {
            name: 'EG',
            players: ['E', 'G'],
            loss: (c) => {
              const { lData, lSample } = pairLogits(c, true);
              return binaryCrossEntropyWithLogits(lData, 0).add(binaryCrossEntropyWithLogits(lSample, 1));
            },
          },
        ],
      },
    ];
  },
  sample: (ctx, z) => {
    const G = ctx.nets.G!;
    G.eval();
    try {
      return G.forward(z);
    } finally {
      G.train();
    }
  },
};
