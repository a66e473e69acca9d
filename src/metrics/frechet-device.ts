// Gaussian fit of a feature tensor on the active backend: the centred Gram matrix X_c^T X_c by one
// matmul (CPU threads or WebGPU), read back once and finished in float64 on the host.
import { fail } from '../errors.js';
import { noGrad, tidy } from '../tensor/engine.js';
import { sub } from '../tensor/ops/elementwise.js';
import { matmul } from '../tensor/ops/linalg.js';
import { mean } from '../tensor/ops/reduce.js';
import type { Tensor } from '../tensor/tensor.js';
import type { GaussianFit } from './frechet.js';

/**
 * gaussianFit for a [n, d] feature tensor, computed where the tensor lives: the mean, then
 * C = (X - mean)^T (X - mean) by one matmul in the tensor's dtype, read back once and divided by
 * n - 1 in float64. Same definition as gaussianFit (unbiased, two-pass); on float32 tensors (WebGPU)
 * the covariance carries float32 accumulation error (about 1e-6 relative to its largest entries),
 * so use gaussianFit on host data or float64 tensors where a float64-exact value matters.
 *
 * @example
 * ```ts
 * const fit = await gaussianFitTensor(features); // features: Tensor [10000, 128]
 * ```
 */
export async function gaussianFitTensor(x: Tensor): Promise<GaussianFit> {
  const op = 'gaussianFitTensor';
  if (x.rank !== 2) fail(op, `expects a [n, d] tensor, got shape [${x.shape.join(', ')}]`);
  const [n, d] = x.shape as [number, number];
  if (n < 2) fail(op, `needs at least 2 rows, got ${n}`);
  if (x.dtype !== 'float32' && x.dtype !== 'float64') fail(op, `expects a float tensor, got ${x.dtype}`);
  const [mu, gram] = tidy(() =>
    noGrad(() => {
      const m = mean(x, 0, { keepdims: true });
      const c = sub(x, m);
      return [m, matmul(c, c, { transA: true })] as const;
    }),
  );
  const [muData, gramData] = await Promise.all([mu.data(), gram.data()]);
  mu.dispose();
  gram.dispose();
  const meanOut = Float64Array.from(muData);
  const cov = new Float64Array(d * d);
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = (0.5 * (gramData[a * d + b]! + gramData[b * d + a]!)) / (n - 1);
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
  }
  for (const v of meanOut) if (!Number.isFinite(v)) fail(op, `the features hold a non-finite value (mean ${v})`);
  for (const v of cov) if (!Number.isFinite(v)) fail(op, `the features hold a non-finite value (covariance ${v})`);
  return { mean: meanOut, cov, dim: d, count: n };
}
