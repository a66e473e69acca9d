// Losses: binary cross-entropy with logits, cross-entropy, mean squared error and the Gaussian
// log-density.
import { fail, fmtShape } from '../../errors.js';
import type { Tensor } from '../tensor.js';
import { div, log, mul, neg, softplus, square, sub } from './elementwise.js';
import { gather } from './indexing.js';
import { reshape, squeeze } from './movement.js';
import { logSoftmax, mean, sum } from './reduce.js';

export type Reduction = 'mean' | 'sum' | 'none';

function reduceLoss(x: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'mean') return mean(x);
  if (reduction === 'sum') return sum(x);
  return x;
}

/**
 * Binary cross-entropy on logits, stable for large |logits|:
 * softplus(x) - x * t = max(x, 0) - x t + log(1 + exp(-|x|)).
 */
export function binaryCrossEntropyWithLogits(
  logits: Tensor,
  targets: Tensor | number,
  reduction: Reduction = 'mean',
): Tensor {
  return reduceLoss(sub(softplus(logits), mul(logits, targets)), reduction);
}

/** Cross-entropy of logits [N, C] against int32 class labels [N] (log-softmax then negative log-likelihood). */
export function crossEntropy(logits: Tensor, labels: Tensor, reduction: Reduction = 'mean'): Tensor {
  const op = 'crossEntropy';
  if (logits.rank !== 2) fail(op, `logits must be [N, C], got ${fmtShape(logits.shape)}`);
  if (labels.dtype !== 'int32' || labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) {
    fail(op, `labels must be int32 of shape [${logits.shape[0]}], got ${labels.dtype} ${fmtShape(labels.shape)}`);
  }
  const lp = logSoftmax(logits, 1);
  const picked = squeeze(gather(lp, reshape(labels, [labels.shape[0]!, 1]), 1), 1);
  return reduceLoss(neg(picked), reduction);
}

export function mseLoss(pred: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  return reduceLoss(square(sub(pred, target)), reduction);
}

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * log N(x; mu, diag(sigma^2)) summed over `axes` (default: every axis but the first, giving one
 * value per batch row). `sigma` broadcasts (per-dimension or scalar).
 */
export function gaussianLogDensity(
  x: Tensor,
  mu: Tensor | number,
  sigma: Tensor | number,
  axes?: number | number[],
): Tensor {
  const z = typeof sigma === 'number' ? mul(sub(x, mu), 1 / sigma) : mul(sub(x, mu), div(1, sigma));
  const logSigma = typeof sigma === 'number' ? Math.log(sigma) : log(sigma);
  const elem = sub(sub(mul(square(z), -0.5), logSigma), HALF_LOG_2PI);
  const ax = axes ?? Array.from({ length: Math.max(0, elem.rank - 1) }, (_, i) => i + 1);
  return sum(elem, ax);
}
