// The kernel maximum mean discrepancy of MMD-GAN (Li et al. 2017): the biased MMD^2 estimate with
// a mixture of RBF kernels, as the reference code's mix_rbf_mmd2 (../shared/spec/objectives.md 13).
import { fail } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

/** The bandwidths of the reference code's kernel mixture: s in {1, 2, 4, 8, 16}. */
export const MMD_SIGMAS: readonly number[] = [1, 2, 4, 8, 16];

/** ||a_i - b_j||^2 for every pair of rows: `[n, k]` and `[m, k]` -> `[n, m]`. */
export function pairwiseSquaredDistances(a: Tensor, b: Tensor): Tensor {
  if (a.rank !== 2 || b.rank !== 2 || a.shape[1] !== b.shape[1])
    fail('pairwiseSquaredDistances', `needs [n, k] and [m, k], got [${a.shape}] and [${b.shape}]`);
  return a.unsqueeze(1).sub(b.unsqueeze(0)).square().sum(2);
}

/** k(a_i, b_j) = sum_s exp(-||a_i - b_j||^2 / (2 s^2)) for every pair of rows, `[n, m]`. */
export function rbfMixtureKernel(a: Tensor, b: Tensor, sigmas: readonly number[] = MMD_SIGMAS): Tensor {
  if (sigmas.length === 0 || sigmas.some((s) => !(s > 0)))
    fail('rbfMixtureKernel', `sigmas must be positive numbers, got ${JSON.stringify(sigmas)}`);
  const d = pairwiseSquaredDistances(a, b);
  let k = d.mul(-1 / (2 * sigmas[0]! ** 2)).exp();
  for (const s of sigmas.slice(1)) k = k.add(d.mul(-1 / (2 * s * s)).exp());
  return k;
}

/**
 * The biased estimate of MMD^2 between the rows of `x` `[n, k]` and `y` `[m, k]`:
 * mean k(x, x') + mean k(y, y') - 2 mean k(x, y), every mean over all pairs including i = j
 * (Gretton et al. 2012's V-statistic; the reference code's `biased=True`). May be slightly
 * negative only through rounding; MMD-GAN takes ReLU before the square root.
 */
export function mixRbfMmd2(x: Tensor, y: Tensor, sigmas: readonly number[] = MMD_SIGMAS): Tensor {
  return rbfMixtureKernel(x, x, sigmas)
    .mean()
    .add(rbfMixtureKernel(y, y, sigmas).mean())
    .sub(rbfMixtureKernel(x, y, sigmas).mean().mul(2));
}
