// Elementwise ops: unary math, broadcasting binary arithmetic, comparisons, where, cast, clamp and
// the activations.
import { fail, fmtShape } from '../../errors.js';
import { checkDType, type DType, isFloat } from '../dtype.js';
import { runPrimitive } from '../engine.js';
import type { BinaryOp, CompareOp, UnaryOp } from '../primitives.js';
import { broadcastMany, broadcastShapes } from '../shape.js';
import type { Tensor, TensorLike } from '../tensor.js';
import { checkFinite, checkNumber, checkTensor, publicOp } from './args.js';
import { toTensorArg } from './convert.js';

/**
 * Runs `f` on tensor arguments converted from `args`; temporaries made from JS numbers are freed
 * with the result (or at once when the result does not need them for autodiff).
 */
export function withArgs(op: string, args: readonly TensorLike[], f: (ts: Tensor[]) => Tensor): Tensor {
  const like = args.find((a): a is Tensor => typeof a === 'object' && a !== null && 'shape' in a && 'dtype' in a);
  const conv = args.map((a) => toTensorArg(a, op, like));
  const out = f(conv.map((c) => c.t));
  for (const c of conv) {
    if (!c.temp) continue;
    if (out.node?.inputs.includes(c.t)) out.adopt(c.t);
    else if (c.t !== out) c.t.dispose();
  }
  return out;
}

function unary(op: UnaryOp, xLike: TensorLike): Tensor {
  return withArgs(op, [xLike], ([x]) => {
    if (!isFloat(x!.dtype) && !(op === 'neg' || op === 'abs' || op === 'sign')) {
      fail(op, `expected a float tensor, got ${x!.dtype} of shape ${fmtShape(x!.shape)}; cast it first`);
    }
    if (x!.dtype === 'bool') fail(op, `expected a numeric tensor, got bool of shape ${fmtShape(x!.shape)}`);
    return runPrimitive('unary', [x!], { op }, x!.shape, x!.dtype);
  });
}

export const neg = (x: TensorLike): Tensor => unary('neg', x);
export const exp = (x: TensorLike): Tensor => unary('exp', x);
export const log = (x: TensorLike): Tensor => unary('log', x);
export const log1p = (x: TensorLike): Tensor => unary('log1p', x);
export const expm1 = (x: TensorLike): Tensor => unary('expm1', x);
export const sqrt = (x: TensorLike): Tensor => unary('sqrt', x);
export const rsqrt = (x: TensorLike): Tensor => unary('rsqrt', x);
export const abs = (x: TensorLike): Tensor => unary('abs', x);
export const sign = (x: TensorLike): Tensor => unary('sign', x);
export const sin = (x: TensorLike): Tensor => unary('sin', x);
export const cos = (x: TensorLike): Tensor => unary('cos', x);
export const tanh = (x: TensorLike): Tensor => unary('tanh', x);
export const sigmoid = (x: TensorLike): Tensor => unary('sigmoid', x);
export const relu = (x: TensorLike): Tensor => unary('relu', x);
export const floor = (x: TensorLike): Tensor => unary('floor', x);
export const ceil = (x: TensorLike): Tensor => unary('ceil', x);
/** Rounds half to even, like NumPy and PyTorch. */
export const round = (x: TensorLike): Tensor => unary('round', x);

function binary(op: BinaryOp, aLike: TensorLike, bLike: TensorLike): Tensor {
  return withArgs(op, [aLike, bLike], ([a, b]) => {
    if (a!.dtype !== b!.dtype) {
      fail(
        op,
        `dtypes differ: ${a!.dtype} ${fmtShape(a!.shape)} and ${b!.dtype} ${fmtShape(b!.shape)}; cast one first`,
      );
    }
    if (a!.dtype === 'bool') fail(op, `expected numeric tensors, got bool`);
    if (!isFloat(a!.dtype) && (op === 'pow' || op === 'atan2' || op === 'tanhBackward')) {
      fail(op, `expected float tensors, got ${a!.dtype}`);
    }
    const shape = broadcastShapes(op, a!.shape, b!.shape);
    return runPrimitive('binary', [a!, b!], { op }, shape, a!.dtype);
  });
}

export const add = (a: TensorLike, b: TensorLike): Tensor => binary('add', a, b);
export const sub = (a: TensorLike, b: TensorLike): Tensor => binary('sub', a, b);
export const mul = (a: TensorLike, b: TensorLike): Tensor => binary('mul', a, b);
/**
 * True division; on int32 it truncates towards zero (like C), and a zero divisor is an error
 * (PyTorch's choice on the CPU; NumPy gives 0 with a warning): `div: integer division by zero ...`.
 * On WebGPU the error is reported at the next read-back. Cast to float for IEEE inf/NaN.
 *
 * @example
 * ```ts
 * div(tensor([7, -7], { dtype: 'int32' }), 2);   // [3, -3]
 * div(tensor([1], { dtype: 'int32' }), 0);       // throws TesseraError (div: integer division by zero ...)
 * ```
 */
export const div = (a: TensorLike, b: TensorLike): Tensor => binary('div', a, b);
export const pow = (a: TensorLike, b: TensorLike): Tensor => binary('pow', a, b);
/** Elementwise maximum; NaN propagates. */
export const maximum = (a: TensorLike, b: TensorLike): Tensor => binary('maximum', a, b);
/** Elementwise minimum; NaN propagates. */
export const minimum = (a: TensorLike, b: TensorLike): Tensor => binary('minimum', a, b);
export const atan2 = (a: TensorLike, b: TensorLike): Tensor => binary('atan2', a, b);
/**
 * g (1 - y^2): the gradient of `tanh` given its output y and the incoming gradient g, in one pass
 * (what tanh's backward rule runs).
 */
export const tanhBackward = (y: TensorLike, g: TensorLike): Tensor => binary('tanhBackward', y, g);

function compare(op: CompareOp, aLike: TensorLike, bLike: TensorLike): Tensor {
  return withArgs(op, [aLike, bLike], ([a, b]) => {
    if (a!.dtype !== b!.dtype) {
      fail(
        op,
        `dtypes differ: ${a!.dtype} ${fmtShape(a!.shape)} and ${b!.dtype} ${fmtShape(b!.shape)}; cast one first`,
      );
    }
    const shape = broadcastShapes(op, a!.shape, b!.shape);
    return runPrimitive('compare', [a!, b!], { op }, shape, 'bool');
  });
}

export const eq = (a: TensorLike, b: TensorLike): Tensor => compare('eq', a, b);
export const ne = (a: TensorLike, b: TensorLike): Tensor => compare('ne', a, b);
export const lt = (a: TensorLike, b: TensorLike): Tensor => compare('lt', a, b);
export const le = (a: TensorLike, b: TensorLike): Tensor => compare('le', a, b);
export const gt = (a: TensorLike, b: TensorLike): Tensor => compare('gt', a, b);
export const ge = (a: TensorLike, b: TensorLike): Tensor => compare('ge', a, b);

/** Picks `a` where `cond` is true and `b` elsewhere, all three broadcast together. */
export function where(cond: TensorLike, a: TensorLike, b: TensorLike): Tensor {
  return withArgs('where', [a, b], ([x, y]) =>
    withArgs('where', [cond], ([c]) => {
      if (c!.dtype !== 'bool') fail('where', `condition must be bool, got ${c!.dtype} of shape ${fmtShape(c!.shape)}`);
      if (x!.dtype !== y!.dtype) fail('where', `branch dtypes differ: ${x!.dtype} and ${y!.dtype}`);
      const shape = broadcastMany('where', [c!.shape, x!.shape, y!.shape]);
      return runPrimitive('where', [c!, x!, y!], {}, shape, x!.dtype);
    }),
  );
}

/** Converts to another dtype (float -> int32 truncates towards zero; anything -> bool is `!= 0`). */
export function cast(x: Tensor, dtype: DType): Tensor {
  checkTensor('cast', x);
  checkDType('cast', dtype);
  if (x.dtype === dtype) return x;
  return runPrimitive('cast', [x], { dtype }, x.shape, dtype);
}

// ------------------------------------------------------------------ composites

export const square = (x: TensorLike): Tensor =>
  publicOp('square', () => withArgs('square', [x], ([t]) => mul(t!, t!)));
export const reciprocal = (x: TensorLike): Tensor =>
  publicOp('reciprocal', () => withArgs('reciprocal', [x], ([t]) => div(1, t!)));

/**
 * log(1 + exp(x)) computed stably as max(x, 0) + log1p(exp(-|x|)). The branches are picked with
 * `where` (x > 0: x + log1p(exp(-x)); else log1p(exp(x))) so that every derivative is exact at
 * x = 0 too (relu and abs would give the gradient 0 there instead of 1/2).
 */
export function softplus(x: Tensor): Tensor {
  checkTensor('softplus', x);
  return publicOp('softplus', () => {
    const pos = gt(x, 0);
    return add(where(pos, x, 0), log1p(exp(where(pos, neg(x), x))));
  });
}

/** log(sigmoid(x)) = -softplus(-x). */
export function logSigmoid(x: Tensor): Tensor {
  checkTensor('logSigmoid', x);
  return publicOp('logSigmoid', () => neg(softplus(neg(x))));
}

/** Clamps to [min, max]; gradient 1 inside, 0 outside. */
export function clamp(x: Tensor, min?: number, max?: number): Tensor {
  checkTensor('clamp', x);
  if (min !== undefined) checkNumber('clamp', min, 'min');
  if (max !== undefined) checkNumber('clamp', max, 'max');
  if (min !== undefined && max !== undefined && min > max) fail('clamp', `min ${min} is greater than max ${max}`);
  let y = x;
  if (min !== undefined) y = maximum(y, min);
  if (max !== undefined) y = minimum(y, max);
  return y;
}

/**
 * x for x > 0, slope * x otherwise. `slope` must be a finite number (NaN would silently turn every
 * negative input into NaN).
 *
 * @example
 * ```ts
 * leakyRelu(tensor([-2, 3]), 0.1);   // [-0.2, 3]
 * ```
 */
export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  checkTensor('leakyRelu', x);
  checkFinite('leakyRelu', slope, 'slope');
  // Float tensors take the one-pass primitive (same values as the composite below, which other dtypes keep).
  if (isFloat(x.dtype)) {
    return publicOp('leakyRelu', () => runPrimitive('leakyRelu', [x], { slope }, x.shape, x.dtype));
  }
  return publicOp('leakyRelu', () => where(gt(x, 0), x, mul(x, slope)));
}

/** x for x > 0, alpha (exp(x) - 1) otherwise; the gradient at 0 is alpha (the x <= 0 branch). */
export function elu(x: Tensor, alpha = 1): Tensor {
  checkTensor('elu', x);
  checkFinite('elu', alpha, 'alpha');
  return publicOp('elu', () => {
    const pos = gt(x, 0);
    return where(pos, x, mul(expm1(where(pos, 0, x)), alpha));
  });
}
