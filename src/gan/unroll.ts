// Unrolling a player's optimiser (Metz et al. 2017, section 2.2): K differentiable replays of its
// pure step from its current state, so gradients flow through every step back to the loss's inputs.
import { grad } from '../autograd/transforms.js';
import { fail } from '../errors.js';
import type { OptimizerState } from '../optim/functional.js';
import { stopGradient } from '../tensor/ops/movement.js';
import type { Tensor } from '../tensor/tensor.js';
import { mapTree, type ParamTree } from '../tensor/tree.js';
import type { OptimizerView } from './objective.js';

export interface UnrollOptions {
  /**
   * Keep the second-order terms (default true): each inner gradient g_k = grad_theta L(theta_k)
   * stays a differentiable function of everything L reads (the generator's samples), so the outer
   * gradient includes the Hessian-vector products through all K steps (Metz et al. 2017, Eq. 12 and
   * section 2.3, recalled: the paper is not in ../shared/papers; the reference notebook). `false`: the first-order variant, g_k = sg(grad_theta L(theta_k)) (Metz
   * et al.,
   * the cheaper variant of section 2.3): theta_K is then a constant for the outer gradient, which
   * sees only L_K's direct dependence on the outer variables.
   */
  secondOrder?: boolean;
}

/**
 * theta_K of K steps of `opt`'s update rule on `loss`, from `params` and the optimiser's current
 * state (its moments and step counter, not zeros): theta_{k+1} = step(theta_k, grad L(theta_k)),
 * with `opt.impl.step(params, grads, state, opt.hyperparameters())` (Metz et al. 2017, Eq. 4-5;
 * spec 5.2). Every step re-uses the same `loss` (the same batch). Nothing is stepped for real: the
 * optimiser is only read. With `steps` = 0 returns `params`.
 *
 * @example
 * const thetaK = unrollOptimizer(ctx.params.D!, (p) => dLoss(p), ctx.optimizers!.D!, 5);
 */
export function unrollOptimizer(
  params: ParamTree,
  loss: (params: ParamTree) => Tensor,
  opt: OptimizerView,
  steps: number,
  opts: UnrollOptions = {},
): ParamTree {
  if (!Number.isInteger(steps) || steps < 0)
    fail('unrollOptimizer', `steps must be a non-negative integer, got ${steps}`);
  const secondOrder = opts.secondOrder ?? true;
  const hyper = opt.hyperparameters() as never;
  let theta = params;
  let state = opt.getState() as OptimizerState<ParamTree>;
  const dLoss = grad(loss);
  for (let k = 0; k < steps; k++) {
    const g0 = dLoss(theta) as ParamTree;
    const g = secondOrder ? g0 : mapTree(g0, (t) => stopGradient(t));
    const next = opt.impl.step(theta, g, state, hyper);
    theta = next.params;
    state = next.state;
  }
  return theta;
}
