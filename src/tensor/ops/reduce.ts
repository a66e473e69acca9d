// Reductions: sum, max, min, mean, variance, std, norm, logsumexp, (log-)softmax, argmax and
// argmin.
import { fail, fmtShape } from '../../errors.js';
import { isFloat } from '../dtype.js';
import { runPrimitive } from '../engine.js';
import type { ArgReduceOp, ReduceOp } from '../primitives.js';
import { normalizeAxes, normalizeAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
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
  if (!isFloat(x.dtype)) fail('mean', `expected a float tensor, got ${x.dtype}; cast it first`);
  const n = countOf(x, axis, 'mean');
  return mul(sum(x, axis, opts), 1 / n);
}

/** Variance with `correction` (0: population, default; 1: Bessel's). */
export function variance(
  x: Tensor,
  axis?: number | readonly number[],
  opts: ReduceOptions & { correction?: number } = {},
): Tensor {
  const n = countOf(x, axis, 'variance');
  const mu = mean(x, axis, { keepdims: true });
  const ss = sum(square(sub(x, mu)), axis, opts);
  return mul(ss, 1 / Math.max(n - (opts.correction ?? 0), 0));
}

export function std(
  x: Tensor,
  axis?: number | readonly number[],
  opts: ReduceOptions & { correction?: number } = {},
): Tensor {
  return sqrt(variance(x, axis, opts));
}

/** p-norm over axes (default p = 2, all axes). */
export function norm(x: Tensor, p = 2, axis?: number | readonly number[], opts?: ReduceOptions): Tensor {
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
 * autodiff, which leaves the gradient softmax(x) exact). Rows that are all -inf give -inf.
 */
export function logsumexp(x: Tensor, axis?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const axes = normalizeAxes('logsumexp', axis, x.rank);
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

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  normalizeAxis('logSoftmax', axis, x.rank);
  return sub(x, logsumexp(x, axis, { keepdims: true }));
}

export function softmax(x: Tensor, axis = -1): Tensor {
  normalizeAxis('softmax', axis, x.rank);
  return exp(logSoftmax(x, axis));
}

function argReduce(op: ArgReduceOp, x: Tensor, axis: number | undefined, opts: ReduceOptions = {}): Tensor {
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
