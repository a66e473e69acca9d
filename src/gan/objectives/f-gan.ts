// f-GAN (Nowozin, Cseke & Tomioka 2016): variational divergence minimisation with the output
// activations and conjugates of their Table 2 (KL, reverse KL, Jensen-Shannon, Pearson chi^2).

import { fail } from '../../errors.js';
import { noGrad } from '../../tensor/engine.js';
import { softplus } from '../../tensor/ops/elementwise.js';
import type { Tensor } from '../../tensor/tensor.js';
import { adamSpec } from '../config.js';
import { discriminatorNet, generatorNet } from '../networks.js';
import type { BaseHyper, Objective, StepContext } from '../objective.js';
import { DCGAN_GD_PRESET, realAndLatents, TOY_NET } from './gan.js';

/**
 * The f-divergences offered, with D_f(P || Q) = E_Q[f(p/q)] (Eq. 1) and f of Table 1:
 * - 'kl': f(u) = u log u, KL(P || Q);
 * - 'reverse-kl': f(u) = -log u, KL(Q || P);
 * - 'js': f(u) = -(u + 1) log((1 + u)/2) + u log u, i.e. D_f = int p log(2p/(p+q)) + q log(2q/(p+q))
 *   = 2 JSD(P, Q) with JSD the usual Jensen-Shannon divergence (range [0, 2 log 2]; Table 1 prints a
 *   1/2 in front of the integral that this f does not give; the (g_f, f*) pair of Table 2 bounds
 *   this f's D_f, which the tests check);
 * - 'pearson': f(u) = (u - 1)^2, Pearson chi^2(P || Q).
 */
export type FDivergence = 'kl' | 'reverse-kl' | 'js' | 'pearson';

/** The generator's objective: 'minimax' = F itself (Eq. 6, Algorithm 1), 'alternative' = -E_Q[g_f(V(x))] (section 3.2). */
export type FganGeneratorLoss = 'minimax' | 'alternative';

export interface FganHyper extends BaseHyper {
  /** The f-divergence minimised (default 'kl', see the objective's TSDoc). */
  divergence: FDivergence;
  /**
   * G's loss: 'minimax' (default) minimises F(theta, omega) itself, the saddle point of Eq. 6 by
   * Algorithm 1's single-step gradient method; 'alternative' maximises E_{x ~ Q_theta}[g_f(V(x))]
   * instead, the "log D trick" generalised in section 3.2 ("practical considerations").
   */
  generatorLoss: FganGeneratorLoss;
}

const DIVERGENCES: readonly FDivergence[] = ['kl', 'reverse-kl', 'js', 'pearson'];

/**
 * The output activation T = g_f(v) of Table 2, mapping the critic's raw output v into the domain of
 * f*: KL v; reverse KL -exp(-v); JS log 2 - log(1 + exp(-v)); Pearson v.
 */
export function fganActivation(div: FDivergence, v: Tensor): Tensor {
  switch (div) {
    case 'kl':
    case 'pearson':
      return v;
    case 'reverse-kl':
      return v.neg().exp().neg();
    case 'js':
      return softplus(v.neg()).neg().add(Math.LN2);
    default:
      return fail('f-gan', `unknown divergence '${String(div)}'`);
  }
}

/**
 * f*(g_f(v)), the conjugate of Table 2 at the activated output, in a form that is exact and stable
 * for every v: KL f*(t) = exp(t - 1) -> exp(v - 1); reverse KL f*(t) = -1 - log(-t) -> v - 1;
 * JS f*(t) = -log(2 - exp(t)) -> softplus(v) - log 2 (as 2 - exp(g_f(v)) = 2 sigmoid(-v));
 * Pearson f*(t) = t^2/4 + t -> v^2/4 + v.
 */
export function fganConjugate(div: FDivergence, v: Tensor): Tensor {
  switch (div) {
    case 'kl':
      return v.sub(1).exp();
    case 'reverse-kl':
      return v.sub(1);
    case 'js':
      return softplus(v).sub(Math.LN2);
    case 'pearson':
      return v.square().mul(0.25).add(v);
    default:
      return fail('f-gan', `unknown divergence '${String(div)}'`);
  }
}

/**
 * The variational lower bound F = E_P[g_f(V(x))] - E_Q[f*(g_f(V(x)))] (Eq. 6 with T = g_f(V), section
 * 3.1) estimated from the critic's raw outputs on real (`vReal`, from P) and model (`vFake`, from Q)
 * examples. With the optimal critic T*(x) = f'(p(x)/q(x)) it equals D_f(P || Q) (Eq. 5).
 */
export function fganBound(div: FDivergence, vReal: Tensor, vFake: Tensor): Tensor {
  return fganActivation(div, vReal).mean().sub(fganConjugate(div, vFake).mean());
}

/** D's and G's losses on one batch: D minimises -F; G minimises F (or the alternative). */
function criticLoss(c: StepContext<FganHyper>) {
  const fake = noGrad(() => c.apply('G', c.draws.z!));
  const bound = fganBound(c.hyper.divergence, c.apply('D', c.draws.real!), c.apply('D', fake));
  return { loss: bound.neg(), logs: { bound } };
}

function generatorLoss(c: StepContext<FganHyper>) {
  const h = c.hyper;
  const vFake = c.apply('D', c.apply('G', c.draws.z!));
  if (h.generatorLoss === 'alternative') return fganActivation(h.divergence, vFake).mean().neg();
  return fganBound(h.divergence, c.apply('D', c.draws.real!), vFake);
}

/**
 * f-GAN (Nowozin, Cseke & Tomioka 2016, "f-GAN: Training Generative Neural Samplers using
 * Variational Divergence Minimization"). Players G and the variational function's network D, which
 * outputs V(x); T(x) = g_f(V(x)). Objective F(theta, omega) = E_P[g_f(V(x))] - E_{Q_theta}[f*(g_f(V(x)))]
 * (Eq. 6 with the parametrisation of section 3.1 and Table 2). One phase per iteration, Algorithm 1's
 * single-step gradient method: on one real batch and one z, the D update (ascending F, loss -F, G(z)
 * a constant) and the G update (descending F) are evaluated at the same parameters and then both
 * optimisers step: simultaneous updates (the trainer's several-updates-per-phase semantics).
 * Default divergence 'kl': of the four offered it is the one the paper trains in every experiment of
 * section 4 (the Gaussian-mixture fit, MNIST and LSUN natural images, where the comparison is GAN,
 * KL and squared Hellinger; recalled, the paper text is not in the shared corpus). Default G loss
 * 'minimax' (Algorithm 1 as stated); 'alternative' is section 3.2's. Vector data: the toy MLPs
 * (G 10-128-128-2, D 2-128-128-1, tanh), Adam 1e-3, betas (0.5, 0.999), batch 64 (our choice, as
 * the GAN objective). Images: the DCGAN nets, Adam 2e-4, beta1 0.5.
 */
export const fGan: Objective<FganHyper> = {
  name: 'f-gan',
  title: 'f-GAN',
  paper:
    'Nowozin, Cseke & Tomioka 2016, f-GAN: Training Generative Neural Samplers using Variational Divergence Minimization (Eq. 6, Table 2, Algorithm 1)',
  players: ['G', 'D'],
  defaults: {
    batchSize: 64,
    latentDim: 10,
    steps: 2000,
    optimizers: { G: adamSpec(1e-3), D: adamSpec(1e-3) },
    net: { ...TOY_NET },
    divergence: 'kl',
    generatorLoss: 'minimax',
  },
  presets: {
    image: DCGAN_GD_PRESET,
  },
  validate(h) {
    if (!DIVERGENCES.includes(h.divergence))
      fail('f-gan', `divergence must be one of ${DIVERGENCES.join(', ')}, got '${String(h.divergence)}'`);
    if (h.generatorLoss !== 'minimax' && h.generatorLoss !== 'alternative')
      fail('f-gan', `generatorLoss must be 'minimax' or 'alternative', got '${String(h.generatorLoss)}'`);
  },
  build(data, h, rng) {
    return { G: generatorNet(data, h.latentDim, h.net, rng), D: discriminatorNet(data, h.net, rng) };
  },
  phases() {
    return [
      {
        name: 'DG',
        draw: realAndLatents,
        updates: [
          { name: 'D', players: ['D'], loss: criticLoss },
          { name: 'G', players: ['G'], loss: generatorLoss },
        ],
      },
    ];
  },
  sample: (ctx, z) => ctx.nets.G!.forward(z),
};
