// Unrolled GAN (Metz et al. 2017): G minimises minus D's loss at D's parameters after K
// differentiable Adam steps on the same batch; D takes one ordinary step; both in one phase.

import { fail } from '../../errors.js';
import { initWeights } from '../../nn/builders.js';
import { orthogonal, zeros } from '../../nn/init.js';
import { functionalCall, type Module } from '../../nn/module.js';
import type { Generator } from '../../random/generator.js';
import { noGrad } from '../../tensor/engine.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ParamTree } from '../../tensor/tree.js';
import { adamSpec } from '../config.js';
import { discriminatorLogisticLoss } from '../losses.js';
import { discriminatorNet, generatorNet } from '../networks.js';
import type { BaseHyper, Objective, StepContext } from '../objective.js';
import { unrollOptimizer } from '../unroll.js';
import { DCGAN_IMAGE_PRESET, realAndLatents } from './gan.js';

export interface UnrolledHyper extends BaseHyper {
  /** K, the number of unrolled D steps in G's loss (Metz et al. 2017, Eq. 6; the notebook: 5). 0 = a plain saturating GAN. */
  unrollSteps: number;
  /**
   * Differentiate through the inner gradients (default true, the notebook and Eq. 12); `false` is
   * the paper's cheaper first-order variant (section 2.3): each inner gradient is a stop-gradient.
   */
  secondOrder: boolean;
  /**
   * Weight initialisation: 'orthogonal' (default, the notebook: orthogonal weights with gain
   * `initGain`, zero biases) or 'torch' (PyTorch's Linear defaults, and the DCGAN init on images).
   */
  init: 'orthogonal' | 'torch';
  /** Gain of the orthogonal initialiser (the notebook: 1.4). */
  initGain: number;
}

/** D's loss L = mean softplus(-D(x)) + mean softplus(D(G(z))) with D's parameters `d` (spec 5.1). */
function discriminatorLoss(c: StepContext<UnrolledHyper>, d: ParamTree, real: Tensor, fake: Tensor): Tensor {
  const D = c.nets.D!;
  return discriminatorLogisticLoss(functionalCall(D, d, real), functionalCall(D, d, fake));
}

/**
 * G's unrolled loss -L_K = -L(theta_D^K, G(z), x), theta_D^K after K steps of D's Adam from its
 * current state on this batch (see `unrollOptimizer`); second-order terms per `secondOrder`.
 */
export function unrolledGeneratorLoss(c: StepContext<UnrolledHyper>): Tensor {
  const opt = c.optimizers?.D;
  if (opt === undefined) return fail('unrolled', "G's loss needs D's optimiser in the context (ctx.optimizers.D)");
  const real = c.draws.real!;
  const fake = c.apply('G', c.draws.z!);
  const h = c.hyper;
  const thetaK = unrollOptimizer(c.params.D!, (d) => discriminatorLoss(c, d, real, fake), opt, h.unrollSteps, {
    secondOrder: h.secondOrder,
  });
  return discriminatorLoss(c, thetaK, real, fake).neg();
}

/**
 * Unrolled GAN (Metz et al. 2017; spec 5). One phase per iteration on one batch (x, z), with two
 * simultaneous updates (the notebook runs both train ops in one `sess.run`):
 * - `D`: D minimises L = mean softplus(-D(x)) + mean softplus(D(G(z))) (the BCE of Eq. 1) with one
 *   ordinary Adam step: the real D update is the first unrolled step only (spec 5.2).
 * - `G`: G minimises -L_K, L_K = L at theta_D^K = K steps of D's Adam from its current (m, v, t) on
 *   the same batch (Eq. 4-6): the saturating minimax objective (G maximises D's loss; spec 15.1).
 *   G's gradient runs through all K steps, Hessian-vector products included (Eq. 12), or through
 *   none of the inner gradients with `secondOrder: false`.
 * Defaults from the reference notebook (spec 5.1): K = 5; z in R^256, batch 512; G z -> 128 -> 128
 * -> x and D x -> 128 -> 128 -> 1, tanh, orthogonal init gain 1.4, zero biases; Adam D lr 1e-4, G
 * lr 1e-3, beta1 0.5, beta2 0.999, eps 1e-8. Our changes: Adam puts eps as PyTorch does
 * (sqrt(v_hat) + eps rather than TF's sqrt(v) + eps with the bias correction in the step size: a
 * difference of order eps); `steps` 5,000 rather than the notebook's 25,000 (override `steps`).
 * The notebook's ring has only 7 distinct modes (spec 5.1 quirk): train on our 'ring' or
 * 'ring-pacgan'. Images: the DCGAN nets, Adam 2e-4 / 2e-4 (spec 5.4 uses 2e-4 / 1e-4 without
 * unrolling), z 100, batch 64.
 */
export const unrolled: Objective<UnrolledHyper> = {
  name: 'unrolled',
  title: 'Unrolled GAN',
  paper: 'Metz et al. 2017, Unrolled Generative Adversarial Networks (Eq. 4-6 and 12; spec 5)',
  players: ['G', 'D'],
  defaults: {
    batchSize: 512,
    latentDim: 256,
    steps: 5000,
    optimizers: { G: adamSpec(1e-3), D: adamSpec(1e-4) },
    net: { hidden: 128, layers: 2, activation: 'tanh', ngf: 64, ndf: 64 },
    unrollSteps: 5,
    secondOrder: true,
    init: 'orthogonal',
    initGain: 1.4,
  },
  presets: {
    image: { ...DCGAN_IMAGE_PRESET, steps: 5000, init: 'torch', optimizers: { G: adamSpec(2e-4), D: adamSpec(2e-4) } },
  },
  validate(h) {
    const op = 'train unrolled';
    if (!Number.isInteger(h.unrollSteps) || h.unrollSteps < 0)
      fail(op, `unrollSteps must be a non-negative integer, got ${h.unrollSteps}`);
    if (typeof h.secondOrder !== 'boolean') fail(op, `secondOrder must be true or false, got ${String(h.secondOrder)}`);
    if (h.init !== 'orthogonal' && h.init !== 'torch')
      fail(op, `init must be 'orthogonal' or 'torch', got '${h.init}'`);
    if (!(h.initGain > 0)) fail(op, `initGain must be positive, got ${h.initGain}`);
  },
  build(data, h, rng) {
    const nets = { G: generatorNet(data, h.latentDim, h.net, rng), D: discriminatorNet(data, h.net, rng) };
    if (h.init === 'orthogonal' && data.kind === 'vector')
      for (const n of Object.values(nets)) orthogonalInit(n, h.initGain, rng);
    return nets;
  },
  phases() {
    return [
      {
        name: 'DG',
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
          { name: 'G', players: ['G'], loss: unrolledGeneratorLoss },
        ],
      },
    ];
  },
  sample: (ctx, z) => ctx.nets.G!.forward(z),
};

/** The notebook's init: orthogonal weights with gain `gain`, zero biases (Keras `Orthogonal(1.4)`). */
function orthogonalInit(net: Module, gain: number, rng: Generator): Module {
  return initWeights(net, { weight: (s) => orthogonal(s, gain, { rng }), bias: (s) => zeros(s) });
}
