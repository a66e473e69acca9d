// Latent-space and reconstruction pieces shared by the autoencoding objectives (VEEGAN, LDMGAN):
// squared-L2 distances per example, the batch diagonal-Gaussian KL, applying a player as a constant.

import { fail } from '../errors.js';
import { functionalCall } from '../nn/module.js';
import { stopGradient } from '../tensor/ops/movement.js';
import type { Tensor } from '../tensor/tensor.js';
import { mapTree, type ParamTree } from '../tensor/tree.js';
import type { PlayerName, StepContext } from './objective.js';

function featureAxes(op: string, a: Tensor, b: Tensor): number[] {
  if (a.rank < 2 || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i]))
    fail(op, `needs two batches of the same shape [n, ...], got [${a.shape}] and [${b.shape}]`);
  return Array.from({ length: a.rank - 1 }, (_, i) => i + 1);
}

/** mean over the batch of ||a_i - b_i||^2, the squared L2 norm summed over every non-batch axis. */
export function squaredL2(a: Tensor, b: Tensor): Tensor {
  return a
    .sub(b)
    .square()
    .sum(featureAxes('squaredL2', a, b))
    .mean();
}

/** mean over the batch and every feature of (a - b)^2 (squaredL2 divided by the features per example). */
export function meanSquaredError(a: Tensor, b: Tensor): Tensor {
  featureAxes('meanSquaredError', a, b);
  return a.sub(b).square().mean();
}

/**
 * KL(Q || N(0, I)) of the diagonal Gaussian Q fitted to a batch of codes `z` `[n, M]` (LDMGAN
 * Eq. 10, read with the printed form's garbling undone): with per-dimension batch mean mu_i and
 * variance s_i^2 (the maximum-likelihood fit: divided by n),
 * KL = 1/2 sum_i (s_i^2 + mu_i^2 - 1 - log s_i^2). `eps` is added to s_i^2 inside the log only,
 * so a collapsed batch (s_i = 0) gives a large finite value rather than infinity.
 */
export function batchGaussianKL(z: Tensor, eps = 0): Tensor {
  if (z.rank !== 2 || z.shape[0]! < 2) fail('batchGaussianKL', `needs codes [n >= 2, M], got [${z.shape}]`);
  const mu = z.mean(0);
  const v = z.sub(mu).square().mean(0);
  return v
    .add(mu.square())
    .sub(1)
    .sub(eps === 0 ? v.log() : v.add(eps).log())
    .sum()
    .mul(0.5);
}

/** Parameters of a tree as constants: autodiff sees no path from the result back to them. */
export function constantParams(tree: ParamTree): ParamTree {
  return mapTree(tree, (t) => stopGradient(t));
}

/**
 * Applies `player`'s network with its parameters held fixed (stop-gradient on every parameter),
 * while gradients still flow through the input `x`: the "E held fixed" of LDMGAN section 4.3.
 */
export function applyFixed<H>(ctx: StepContext<H>, player: PlayerName, x: Tensor): Tensor {
  const net = ctx.nets[player];
  const params = ctx.params[player];
  if (net === undefined || params === undefined) return fail('applyFixed', `no player '${player}'`);
  return functionalCall(net, constantParams(params), x);
}
