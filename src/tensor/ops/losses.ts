// Losses: binary cross-entropy with logits, cross-entropy, mean squared error and the Gaussian
// log-density.
import { fail, fmtShape } from '../../errors.js';
import { Tensor } from '../tensor.js';
import { checkTensor, describeValue, publicOp } from './args.js';
import { assertFloat } from './convert.js';
import { div, log, mul, neg, softplus, square, sub } from './elementwise.js';
import { gather } from './indexing.js';
import { reshape, squeeze } from './movement.js';
import { logSoftmax, mean, sum } from './reduce.js';

export type Reduction = 'mean' | 'sum' | 'none';

const REDUCTIONS: readonly Reduction[] = ['mean', 'sum', 'none'];

function checkReduction(op: string, reduction: unknown): void {
  if (!REDUCTIONS.includes(reduction as Reduction)) {
    fail(op, `reduction must be one of ${REDUCTIONS.join(', ')}, got ${describeValue(reduction)}`);
  }
}

/**
 * The target must broadcast to the prediction's shape without changing it: [1, 1] or [] against
 * [4, 1] is fine, but [4] against [4, 1] (which would silently give a [4, 4] loss) is an error
 * naming both shapes. PyTorch warns (mse_loss) or raises (binary_cross_entropy_with_logits) here.
 */
function checkTargetShape(op: string, a: Tensor, b: Tensor, aName: string, bName: string): void {
  const fits = b.rank <= a.rank && b.shape.every((d, i) => d === 1 || d === a.shape[a.rank - b.rank + i]);
  if (!fits) {
    fail(
      op,
      `${bName} ${fmtShape(b.shape)} must have the shape of ${aName} ${fmtShape(a.shape)} (or broadcast to it without changing it); reshape one`,
    );
  }
  if (a.dtype !== b.dtype) fail(op, `${aName} is ${a.dtype} but ${bName} is ${b.dtype}; cast one first`);
}

function reduceLoss(x: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'mean') return mean(x);
  if (reduction === 'sum') return sum(x);
  return x;
}

/**
 * Binary cross-entropy on logits, stable for large |logits|:
 * softplus(x) - x * t = max(x, 0) - x t + log(1 + exp(-|x|)). `targets` is a number or a tensor
 * of the logits' dtype whose shape broadcasts to the logits' without changing it ([4] against
 * logits [4, 1] is an error, not a [4, 4] loss).
 *
 * @example
 * ```ts
 * binaryCrossEntropyWithLogits(tensor([0, 0]), tensor([1, 0]));   // log 2
 * ```
 */
export function binaryCrossEntropyWithLogits(
  logits: Tensor,
  targets: Tensor | number,
  reduction: Reduction = 'mean',
): Tensor {
  const op = 'binaryCrossEntropyWithLogits';
  assertFloat(op, logits);
  if (targets instanceof Tensor) checkTargetShape(op, logits, targets, 'logits', 'targets');
  else if (typeof targets !== 'number' || Number.isNaN(targets)) {
    fail(op, `targets must be a tensor or a number, got ${describeValue(targets)}`);
  }
  checkReduction(op, reduction);
  return publicOp(op, () => reduceLoss(sub(softplus(logits), mul(logits, targets)), reduction));
}

/** Cross-entropy of logits [N, C] against int32 class labels [N] (log-softmax then negative log-likelihood). */
export function crossEntropy(logits: Tensor, labels: Tensor, reduction: Reduction = 'mean'): Tensor {
  const op = 'crossEntropy';
  assertFloat(op, logits);
  checkTensor(op, labels, 'labels');
  checkReduction(op, reduction);
  if (logits.rank !== 2) fail(op, `logits must be [N, C], got ${fmtShape(logits.shape)}`);
  if (labels.dtype !== 'int32' || labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) {
    fail(op, `labels must be int32 of shape [${logits.shape[0]}], got ${labels.dtype} ${fmtShape(labels.shape)}`);
  }
  const classes = logits.shape[1]!;
  const readSync = labels.backend.readSync;
  if (readSync !== undefined) {
    // The CPU reads the labels at once; on WebGPU the gather reports a bad one at the next read-back.
    const values = readSync.call(labels.backend, labels.storageRef().data, 'int32', labels.size);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v < 0 || v >= classes)
        fail(op, `label ${v} of row ${i} is out of range [0, ${classes}) (logits ${fmtShape(logits.shape)})`);
    }
  }
  return publicOp(op, () => {
    const lp = logSoftmax(logits, 1);
    const picked = squeeze(gather(lp, reshape(labels, [labels.shape[0]!, 1]), 1), 1);
    return reduceLoss(neg(picked), reduction);
  });
}

/**
 * Mean squared error (pred - target)^2, reduced. `target` must have pred's shape (or broadcast to
 * it without changing it): PyTorch warns and broadcasts [4, 1] against [4] to [4, 4]; here that is
 * an error naming both shapes.
 *
 * @example
 * ```ts
 * mseLoss(tensor([1, 2]), tensor([1, 4]));   // 2
 * ```
 */
export function mseLoss(pred: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  const op = 'mseLoss';
  assertFloat(op, pred);
  checkTensor(op, target, 'target');
  checkTargetShape(op, pred, target, 'pred', 'target');
  checkReduction(op, reduction);
  return publicOp(op, () => reduceLoss(square(sub(pred, target)), reduction));
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
  const op = 'gaussianLogDensity';
  assertFloat(op, x);
  if (!(mu instanceof Tensor) && typeof mu !== 'number')
    fail(op, `mu must be a tensor or a number, got ${describeValue(mu)}`);
  if (!(sigma instanceof Tensor) && typeof sigma !== 'number') {
    fail(op, `sigma must be a tensor or a number, got ${describeValue(sigma)}`);
  }
  return publicOp(op, () => gaussianBody(x, mu, sigma, axes));
}

function gaussianBody(x: Tensor, mu: Tensor | number, sigma: Tensor | number, axes?: number | number[]): Tensor {
  const z = typeof sigma === 'number' ? mul(sub(x, mu), 1 / sigma) : mul(sub(x, mu), div(1, sigma));
  const logSigma = typeof sigma === 'number' ? Math.log(sigma) : log(sigma);
  const elem = sub(sub(mul(square(z), -0.5), logSigma), HALF_LOG_2PI);
  const ax = axes ?? Array.from({ length: Math.max(0, elem.rank - 1) }, (_, i) => i + 1);
  return sum(elem, ax);
}
