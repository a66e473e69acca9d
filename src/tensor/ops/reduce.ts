// Reductions: sum, max, min, mean, variance, std, norm, logsumexp, (log-)softmax, argmax and
// argmin.
import { fail, fmtShape } from '../../errors.js';
import { allocArray, isFloat } from '../dtype.js';
import { runPrimitive, tensorFromArray } from '../engine.js';
import type { ArgReduceOp, ReduceOp } from '../primitives.js';
import { normalizeAxes, normalizeAxis, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { checkOptions, checkTensor, describeValue, publicOp } from './args.js';
import { assertFloat, zerosLike } from './convert.js';
import { abs, cast, exp, gt, log, mul, pow, sqrt, square, sub, where } from './elementwise.js';
import { reshape, stopGradient } from './movement.js';
import { isfinite } from './predicates.js';

export interface ReduceOptions {
  /** Keep reduced axes with size 1 (default false). */
  keepdims?: boolean;
}

function reduce(
  op: ReduceOp,
  x: Tensor,
  axis: number | readonly number[] | undefined,
  opts: ReduceOptions = {},
): Tensor {
  checkTensor(op, x);
  checkOptions(op, opts);
  if (x.dtype === 'bool' && op !== 'sum') fail(op, 'expected a numeric tensor, got bool');
  const axes = normalizeAxes(op, axis, x.rank);
  for (const a of axes) {
    if (x.shape[a] === 0 && op !== 'sum') {
      fail(op, `cannot reduce over the empty axis ${a} of shape ${fmtShape(x.shape)} (no identity for ${op})`);
    }
  }
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const input = x.dtype === 'bool' ? cast(x, 'int32') : x;
  const y = runPrimitive('reduce', [input], { op, axes }, kept, input.dtype);
  return opts.keepdims
    ? y
    : reshape(
        y,
        x.shape.filter((_, i) => !axes.includes(i)),
      );
}

/** Sum over `axis` (an axis, a list, or all when omitted). Bool sums count as int32. */
export const sum = (x: Tensor, axis?: number | readonly number[], opts?: ReduceOptions): Tensor =>
  reduce('sum', x, axis, opts);
/** Maximum over axes; NaN propagates; the gradient is split evenly between ties. */
export const max = (x: Tensor, axis?: number | readonly number[], opts?: ReduceOptions): Tensor =>
  reduce('max', x, axis, opts);
/** Minimum over axes; NaN propagates; the gradient is split evenly between ties. */
export const min = (x: Tensor, axis?: number | readonly number[], opts?: ReduceOptions): Tensor =>
  reduce('min', x, axis, opts);

function countOf(x: Tensor, axis: number | readonly number[] | undefined, op: string): number {
  const axes = normalizeAxes(op, axis, x.rank);
  return axes.reduce((n, a) => n * x.shape[a]!, 1);
}

export function mean(x: Tensor, axis?: number | readonly number[], opts?: ReduceOptions): Tensor {
  checkTensor('mean', x);
  if (!isFloat(x.dtype)) fail('mean', `expected a float tensor, got ${x.dtype}; cast it first`);
  const n = countOf(x, axis, 'mean');
  return publicOp('mean', () => mul(sum(x, axis, opts), 1 / n));
}

/** Variance with `correction` (0: population, default; 1: Bessel's). */
export function variance(
  x: Tensor,
  axis?: number | readonly number[],
  opts: ReduceOptions & { correction?: number } = {},
): Tensor {
  assertFloat('variance', x);
  checkOptions('variance', opts);
  const n = countOf(x, axis, 'variance');
  return publicOp('variance', () => {
    const mu = mean(x, axis, { keepdims: true });
    const ss = sum(square(sub(x, mu)), axis, opts);
    return mul(ss, 1 / Math.max(n - (opts.correction ?? 0), 0));
  });
}

export function std(
  x: Tensor,
  axis?: number | readonly number[],
  opts: ReduceOptions & { correction?: number } = {},
): Tensor {
  assertFloat('std', x);
  return publicOp('std', () => sqrt(variance(x, axis, opts)));
}

/** p-norm over axes (default p = 2, all axes). */
export function norm(x: Tensor, p = 2, axis?: number | readonly number[], opts?: ReduceOptions): Tensor {
  assertFloat('norm', x);
  if (typeof p !== 'number' || !(p > 0))
    fail('norm', `p must be a positive number or Infinity, got ${describeValue(p)}`);
  normalizeAxes('norm', axis, x.rank);
  return publicOp('norm', () => normBody(x, p, axis, opts));
}

function normBody(x: Tensor, p: number, axis: number | readonly number[] | undefined, opts?: ReduceOptions): Tensor {
  if (p === Number.POSITIVE_INFINITY) return max(abs(x), axis, opts);
  if (p === 1) return sum(abs(x), axis, opts);
  // s^(1/p) has an infinite slope at s = 0, which times the zero inner gradient gives NaN; the
  // double `where` makes the gradient at a zero vector 0 (PyTorch's subgradient), at any order.
  const s = p === 2 ? sum(square(x), axis, opts) : sum(pow(abs(x), p), axis, opts);
  const nonzero = gt(s, 0);
  const safe = where(nonzero, s, 1);
  return where(nonzero, p === 2 ? sqrt(safe) : pow(safe, 1 / p), 0);
}

/**
 * log(sum(exp(x))) over axes, stable for large |x|: the max is subtracted first (as a constant for
 * autodiff, which leaves the gradient softmax(x) exact). Rows that are all -inf give -inf, and so
 * does a reduction over an empty axis (the log of an empty sum, as in PyTorch).
 *
 * @example
 * ```ts
 * logsumexp(tensor([[0, 0], [1, 1]]), 1);   // [log 2, 1 + log 2]
 * logsumexp(zeros([2, 0]), 1);              // [-Infinity, -Infinity]
 * ```
 */
export function logsumexp(x: Tensor, axis?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  assertFloat('logsumexp', x);
  checkOptions('logsumexp', opts);
  const axes = normalizeAxes('logsumexp', axis, x.rank);
  const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  if (axes.some((a) => x.shape[a] === 0)) {
    const data = allocArray(x.dtype, sizeOf(outShape), 'logsumexp').fill(Number.NEGATIVE_INFINITY);
    const empty = tensorFromArray(data, outShape, x.dtype, x.backend);
    return opts.keepdims
      ? empty
      : reshape(
          empty,
          outShape.filter((_, i) => !axes.includes(i)),
        );
  }
  return publicOp('logsumexp', () => logsumexpBody(x, axis, axes, opts));
}

function logsumexpBody(
  x: Tensor,
  axis: number | readonly number[] | undefined,
  axes: readonly number[],
  opts: ReduceOptions,
): Tensor {
  const m = stopGradient(max(x, axis, { keepdims: true }));
  const mSafe = where(isfinite(m), m, 0);
  const s = log(sum(exp(sub(x, mSafe)), axis, { keepdims: true }));
  const out = s.add(mSafe);
  return opts.keepdims
    ? out
    : reshape(
        out,
        x.shape.filter((_, i) => !axes.includes(i)),
      );
}

/** x - logsumexp(x) along `axis`; over an empty axis the result is empty (as in PyTorch). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  assertFloat('logSoftmax', x);
  normalizeAxis('logSoftmax', axis, x.rank);
  if (x.size === 0) return zerosLike(x);
  return publicOp('logSoftmax', () => sub(x, logsumexp(x, axis, { keepdims: true })));
}

/**
 * exp(x) / sum(exp(x)) along `axis` (default the last), computed as exp(logSoftmax(x)). Float
 * tensors only; over an empty axis the result is an empty tensor of x's shape (as in PyTorch).
 *
 * @example
 * ```ts
 * softmax(tensor([[0, 0], [0, Math.log(3)]]));   // [[0.5, 0.5], [0.25, 0.75]]
 * softmax(zeros([2, 0]));                        // an empty [2, 0] tensor
 * ```
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  assertFloat('softmax', x);
  normalizeAxis('softmax', axis, x.rank);
  if (x.size === 0) return zerosLike(x);
  return publicOp('softmax', () => exp(logSoftmax(x, axis)));
}

function argReduce(op: ArgReduceOp, x: Tensor, axis: number | undefined, opts: ReduceOptions = {}): Tensor {
  checkTensor(op, x);
  checkOptions(op, opts);
  if (x.dtype === 'bool') fail(op, 'expected a numeric tensor, got bool');
  let input = x;
  let ax: number;
  if (axis === undefined) {
    input = reshape(x, [x.size]);
    ax = 0;
  } else {
    ax = normalizeAxis(op, axis, x.rank);
  }
  if (input.shape[ax] === 0) fail(op, `cannot take ${op} over the empty axis ${ax} of shape ${fmtShape(x.shape)}`);
  const kept = input.shape.map((d, i) => (i === ax ? 1 : d));
  const y = runPrimitive('argReduce', [input], { op, axis: ax }, kept, 'int32');
  if (axis === undefined) return reshape(y, opts.keepdims ? x.shape.map(() => 1) : []);
  return opts.keepdims
    ? y
    : reshape(
        y,
        input.shape.filter((_, i) => i !== ax),
      );
}

/** Index of the first maximum along `axis` (flattened when omitted), int32. NaN counts as the maximum. */
export const argmax = (x: Tensor, axis?: number, opts?: ReduceOptions): Tensor => argReduce('argmax', x, axis, opts);
/** Index of the first minimum along `axis` (flattened when omitted), int32. NaN counts as the minimum. */
export const argmin = (x: Tensor, axis?: number, opts?: ReduceOptions): Tensor => argReduce('argmin', x, axis, opts);
