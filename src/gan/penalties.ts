// The WGAN-GP gradient penalty (Gulrajani et al. 2017, Eq. 3): the critic's input gradient at
// random interpolates, through second-order autodiff (`grad` inside the loss).
import { grad } from '../autograd/transforms.js';
import { fail, fmtShape } from '../errors.js';
import { safeSqrt } from '../optim/functional.js';
import type { Tensor } from '../tensor/tensor.js';

/** What `gradientPenalty` returns: the penalty and the per-example gradient norms. */
export interface GradientPenalty {
  /** mean over the batch of (||grad_xhat f(xhat)||_2 - target)^2, a scalar. */
  penalty: Tensor;
  /** ||grad_xhat f(xhat)||_2 per example, `[n]`. */
  slopes: Tensor;
}

/**
 * The two-sided gradient penalty of WGAN-GP (Gulrajani et al. 2017, Eq. 3 and Algorithm 1,
 * lines 6-7): xhat = alpha x + (1 - alpha) x~ with alpha ~ U[0, 1] per example, and
 * mean_i (||grad_xhat f(xhat_i)||_2 - 1)^2. The input gradient is taken with `grad` of
 * sum_i f(xhat_i) (each output depends only on its own input, so its rows are the per-example
 * gradients: the critic must not mix examples, e.g. through BatchNorm, section 4 of the paper),
 * inside the caller's differentiation, so the penalty's gradient reaches the critic's parameters
 * (a gradient of a gradient). `real` and `fake` are constants here (the caller detaches G(z)).
 * The norm uses a sqrt whose derivative is 0 (not NaN) where the gradient is exactly 0.
 *
 * @param critic f: `[n, ...]` -> `[n]` or `[n, 1]`, applied with the parameters being differentiated.
 * @param alpha `[n, 1, ...]` (broadcast over each example), values in [0, 1].
 * @param target the wanted norm (1 in the paper).
 */
export function gradientPenalty(
  critic: (x: Tensor) => Tensor,
  real: Tensor,
  fake: Tensor,
  alpha: Tensor,
  target = 1,
): GradientPenalty {
  const op = 'gradientPenalty';
  if (real.shape.join() !== fake.shape.join())
    fail(op, `real and fake must have one shape, got ${fmtShape(real.shape)} and ${fmtShape(fake.shape)}`);
  if (alpha.rank !== real.rank || alpha.shape[0] !== real.shape[0] || alpha.size !== real.shape[0])
    fail(op, `alpha must be [n, 1, ...] for examples ${fmtShape(real.shape)}, got ${fmtShape(alpha.shape)}`);
  const xhat = alpha.mul(real).add(alpha.neg().add(1).mul(fake));
  const g = grad((x: Tensor) => critic(x).sum())(xhat);
  const axes = Array.from({ length: g.rank - 1 }, (_, i) => i + 1);
  const slopes = safeSqrt(g.square().sum(axes));
  return { penalty: slopes.sub(target).square().mean(), slopes };
}
