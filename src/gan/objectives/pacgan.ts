// PacGAN (Lin et al. 2018): D judges packs of m samples (all real or all generated) concatenated
// along the feature or channel axis; maxout D and BatchNorm G of the paper's 2-D experiments.

import { fail } from '../../errors.js';
import { dcganDiscriminator, initWeights, mlp } from '../../nn/builders.js';
import { normal, zeros } from '../../nn/init.js';
import { Linear, Maxout, Sequential } from '../../nn/layers.js';
import type { Module } from '../../nn/module.js';
import type { Generator } from '../../random/generator.js';
import { noGrad } from '../../tensor/engine.js';
import type { Tensor } from '../../tensor/tensor.js';
import { adamSpec } from '../config.js';
import { discriminatorLogisticLoss, generatorNonSaturatingLoss } from '../losses.js';
import { exampleSize, generatorNet } from '../networks.js';
import type { BaseHyper, DataInfo, Objective, PhaseContext, StepContext } from '../objective.js';
import { fixedSetPlaceholder, fixedSetState, pack, packedInfo, realPacks } from '../pack.js';
import { DCGAN_IMAGE_PRESET } from './gan.js';

/** The maxout discriminator of PacGAN's and ALI's 2-D experiments (spec 6.2). */
export interface MaxoutHyper {
  /** Maxout layers (3). */
  layers: number;
  /** Units per layer (200). */
  units: number;
  /** Pieces per unit (5). */
  pieces: number;
}

export interface PacganHyper extends BaseHyper {
  /** m, the pack size: D sees m samples at once (Lin et al. 2018, section 3; default 2, the paper tries 2-4). 1 = a plain GAN. */
  pack: number;
  /**
   * N, the size of the fixed training set real packs are resampled from with replacement (spec
   * 6.2 and 15.4: 100,000), drawn once from the data source in the first iteration and kept as
   * checkpointed state. 0 = draw real examples fresh from the data source (the image preset: the
   * image sources are finite sets already).
   */
  fixedSetSize: number;
  /** D on vector data (maxout, spec 6.2). */
  maxout: MaxoutHyper;
  /**
   * Weight initialisation: 'normal' (default, spec 6.2: weights N(0, initStd^2), zero biases) or
   * 'torch' (PyTorch's layer defaults; on images the DCGAN init).
   */
  init: 'normal' | 'torch';
  initStd: number;
  /** Weight of the new batch in BatchNorm's running statistics (spec 6.2: 0.05). */
  bnMomentum: number;
}

/** Maxout layers of `units` x `pieces` on `[n, inputs]`, then a linear logit (spec 6.2; Goodfellow et al. 2013). */
export function maxoutDiscriminator(inputs: number, h: MaxoutHyper, rng: Generator): Module {
  const layers: Module[] = [];
  let width = inputs;
  for (let i = 0; i < h.layers; i++) {
    layers.push(new Maxout(width, h.units, h.pieces, { rng }));
    width = h.units;
  }
  layers.push(new Linear(width, 1, { rng }));
  return new Sequential(...layers);
}

/** Spec 6.2's init: every Linear weight N(0, std^2), zero biases. */
export function normalInit(net: Module, std: number, rng: Generator): Module {
  return initWeights(net, { weight: (s) => normal(s, 0, std, { rng }), bias: (s) => zeros(s), layers: ['linear'] });
}

/** The BatchNorm MLP generator of spec 6.2: `layers` x (FC without bias, BatchNorm, ReLU), then FC with bias. */
export function batchNormMlp(sizes: readonly number[], bnMomentum: number, rng: Generator): Module {
  return mlp(sizes, { activation: 'relu', batchNorm: true, batchNormOptions: { momentum: bnMomentum }, rng });
}

export function checkMaxout(op: string, m: MaxoutHyper): void {
  for (const k of ['layers', 'units', 'pieces'] as const) {
    const v = m[k];
    if (!Number.isInteger(v) || v < (k === 'layers' ? 0 : 1))
      fail(op, `maxout.${k} must be a positive integer, got ${v}`);
  }
}

/** m generated samples packed: G applied to each of the m latent batches, then `pack`. */
function fakePacks(c: StepContext<PacganHyper>, updateStats: boolean): Tensor {
  const parts = Array.from({ length: c.hyper.pack }, (_, j) => c.apply('G', c.draws[`z${j}`]!, { updateStats }));
  return pack(parts);
}

function draw(ctx: PhaseContext<PacganHyper>): Record<string, Tensor> {
  const h = ctx.hyper;
  const draws = realPacks(ctx, h.pack, h.fixedSetSize);
  for (let j = 0; j < h.pack; j++) draws[`z${j}`] = ctx.rng.normal([h.batchSize, h.latentDim]);
  return draws;
}

function buildDiscriminator(data: DataInfo, h: PacganHyper, rng: Generator): Module {
  const packed = packedInfo(data, h.pack);
  if (data.kind === 'image') {
    const [c, side] = packed.shape;
    if (side !== 28 && side !== 32 && side !== 64)
      fail('train pacgan', `DCGAN nets need 28, 32 or 64 images, got ${side}`);
    return dcganDiscriminator({ imageSize: side, nc: c!, ndf: h.net.ndf, rng });
  }
  return maxoutDiscriminator(exampleSize(packed), h.maxout, rng);
}

/**
 * PacGAN (Lin et al. 2018, section 3; spec 6). Per iteration one batch: n real packs (each m real
 * examples resampled with replacement from the fixed set of N, concatenated along axis 1) and n
 * generated packs (m independent latent batches through G, concatenated the same way). Two
 * simultaneous updates (spec 6.1: the ALI trainer `ali_algorithm` takes both gradients at the same
 * parameters, then steps both):
 * - `D`: the logistic loss on packs, mean softplus(-D(real pack)) + mean softplus(D(fake pack)).
 * - `G`: non-saturating, mean softplus(-D(fake pack)) (spec 15.1; the ALI trainer's G loss adds
 *   mean softplus(D(real pack)), which does not depend on G and is left out of the logged value).
 * Vector defaults (spec 6.2): z in R^2; G z -> 4 x (400, no-bias FC, BatchNorm, ReLU) -> x; D: 3
 * maxout layers of 200 units x 5 pieces on [n, m d], then a linear logit; weights N(0, 0.02^2), zero
 * biases; BatchNorm running statistics weight 0.05 on the new batch; Adam lr 1e-4, beta1 0.8;
 * batch 100 packs; N = 100,000. Our changes: `steps` 20,000 rather than 400 epochs (400,000
 * updates); G's running statistics are updated once per pack part in G's update (the D update
 * leaves them); samples use the running statistics (spec 6.2, inferred).
 * Images (the Stacked MNIST setting of spec 6.4): the DCGAN nets with D on m C channels, Adam 2e-4,
 * beta1 0.5, batch 64, z 100, real examples fresh from the source (N = 0); the spec's 1 D step then
 * 2 G steps is replaced by the simultaneous update.
 */
export const pacgan: Objective<PacganHyper> = {
  name: 'pacgan',
  title: 'PacGAN',
  paper: 'Lin et al. 2018, PacGAN: The power of two samples in generative adversarial networks (section 3; spec 6)',
  players: ['G', 'D'],
  defaults: {
    batchSize: 100,
    latentDim: 2,
    steps: 20000,
    optimizers: { G: adamSpec(1e-4, 0.8), D: adamSpec(1e-4, 0.8) },
    net: { hidden: 400, layers: 4, activation: 'relu', ngf: 64, ndf: 64 },
    pack: 2,
    fixedSetSize: 100000,
    maxout: { layers: 3, units: 200, pieces: 5 },
    init: 'normal',
    initStd: 0.02,
    bnMomentum: 0.05,
  },
  presets: {
    image: {
      ...DCGAN_IMAGE_PRESET,
      steps: 5000,
      fixedSetSize: 0,
      init: 'torch',
      optimizers: { G: adamSpec(2e-4, 0.5), D: adamSpec(2e-4, 0.5) },
    },
  },
  validate(h) {
    const op = 'train pacgan';
    if (!Number.isInteger(h.pack) || h.pack < 1) fail(op, `pack must be a positive integer, got ${h.pack}`);
    if (!Number.isInteger(h.fixedSetSize) || h.fixedSetSize < 0 || h.fixedSetSize > 2 ** 24)
      fail(op, `fixedSetSize must be an integer in [0, 2^24], got ${h.fixedSetSize}`);
    checkMaxout(op, h.maxout);
    if (h.init !== 'normal' && h.init !== 'torch') fail(op, `init must be 'normal' or 'torch', got '${h.init}'`);
    if (!(h.initStd >= 0)) fail(op, `initStd must be non-negative, got ${h.initStd}`);
    if (!(h.bnMomentum >= 0 && h.bnMomentum <= 1)) fail(op, `bnMomentum must be in [0, 1], got ${h.bnMomentum}`);
  },
  build(data, h, rng) {
    const G =
      data.kind === 'image'
        ? generatorNet(data, h.latentDim, h.net, rng)
        : batchNormMlp(
            [h.latentDim, ...new Array<number>(h.net.layers).fill(h.net.hidden), exampleSize(data)],
            h.bnMomentum,
            rng,
          );
    const nets = { G, D: buildDiscriminator(data, h, rng) };
    if (h.init === 'normal' && data.kind === 'vector')
      for (const n of Object.values(nets)) normalInit(n, h.initStd, rng);
    return nets;
  },
  initState: (h, data) => fixedSetPlaceholder(h.fixedSetSize, data),
  phases() {
    return [
      {
        name: 'DG',
        draw,
        updates: [
          {
            name: 'D',
            players: ['D'],
            loss: (c) => {
              const fake = noGrad(() => fakePacks(c, false));
              const loss = discriminatorLogisticLoss(c.apply('D', c.draws.real!), c.apply('D', fake));
              return { loss, state: fixedSetState(c.draws) };
            },
          },
          { name: 'G', players: ['G'], loss: (c) => generatorNonSaturatingLoss(c.apply('D', fakePacks(c, true))) },
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
