import type { Kernel, KernelInput } from '../../backend/backend.js';
import type { BinaryOp, CompareOp, UnaryOp } from '../../tensor/primitives.js';
import { shapesEqual } from '../../tensor/shape.js';
import { type Arr, alloc, broadcastStrides, roundHalfEven, stridedOffsets } from './util.js';

type F1 = (x: number) => number;
type F2 = (a: number, b: number) => number;

const unaryFns: { readonly [U in UnaryOp]: F1 } = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  expm1: Math.expm1,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : x),
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid: (x) => {
    if (x >= 0) return 1 / (1 + Math.exp(-x));
    const e = Math.exp(x);
    return e / (1 + e);
  },
  relu: (x) => (x > 0 ? x : x === x ? 0 : x),
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundHalfEven,
};

const binaryFns: { readonly [B in BinaryOp]: F2 } = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  // Math.max/min propagate NaN, as the primitive requires.
  maximum: Math.max,
  minimum: Math.min,
  atan2: Math.atan2,
};

/** int32 arithmetic wraps like two's complement; division truncates (x / 0 gives 0). */
const intBinaryFns: Partial<Record<BinaryOp, F2>> = {
  add: (a, b) => (a + b) | 0,
  sub: (a, b) => (a - b) | 0,
  mul: Math.imul,
  div: (a, b) => (b === 0 ? 0 : (a / b) | 0),
};

const compareFns: { readonly [C in CompareOp]: F2 } = {
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
};

export const unary: Kernel<'unary'> = (inputs, { op }, out) => {
  const x = inputs[0]!.data as Arr;
  const y = alloc(out.dtype, out.shape);
  const f = unaryFns[op];
  for (let i = 0; i < y.length; i++) y[i] = f(x[i]!);
  if (out.dtype === 'int32') for (let i = 0; i < y.length; i++) y[i] = y[i]! | 0;
  return y;
};

/** out[i] = f(a[offA[i]], b[offB[i]]) with fast paths for equal shapes and scalars. */
function broadcast2(a: KernelInput, b: KernelInput, out: Arr, shape: readonly number[], f: F2): void {
  const x = a.data as Arr;
  const y = b.data as Arr;
  const n = out.length;
  if (shapesEqual(a.shape, shape) && shapesEqual(b.shape, shape)) {
    for (let i = 0; i < n; i++) out[i] = f(x[i]!, y[i]!);
  } else if (y.length === 1 && shapesEqual(a.shape, shape)) {
    const s = y[0]!;
    for (let i = 0; i < n; i++) out[i] = f(x[i]!, s);
  } else if (x.length === 1 && shapesEqual(b.shape, shape)) {
    const s = x[0]!;
    for (let i = 0; i < n; i++) out[i] = f(s, y[i]!);
  } else {
    const oa = stridedOffsets(shape, broadcastStrides(a.shape, shape));
    const ob = stridedOffsets(shape, broadcastStrides(b.shape, shape));
    for (let i = 0; i < n; i++) out[i] = f(x[oa[i]!]!, y[ob[i]!]!);
  }
}

export const binary: Kernel<'binary'> = (inputs, { op }, out) => {
  const z = alloc(out.dtype, out.shape);
  const f = out.dtype === 'int32' ? (intBinaryFns[op] ?? binaryFns[op]) : binaryFns[op];
  broadcast2(inputs[0]!, inputs[1]!, z, out.shape, f);
  return z;
};

export const compare: Kernel<'compare'> = (inputs, { op }, out) => {
  const z = alloc('bool', out.shape);
  broadcast2(inputs[0]!, inputs[1]!, z, out.shape, compareFns[op]);
  return z;
};

export const where: Kernel<'where'> = (inputs, _p, out) => {
  const [c, a, b] = inputs as [KernelInput, KernelInput, KernelInput];
  const z = alloc(out.dtype, out.shape);
  const cd = c.data as Arr;
  const ad = a.data as Arr;
  const bd = b.data as Arr;
  const oc = stridedOffsets(out.shape, broadcastStrides(c.shape, out.shape));
  const oa = stridedOffsets(out.shape, broadcastStrides(a.shape, out.shape));
  const ob = stridedOffsets(out.shape, broadcastStrides(b.shape, out.shape));
  for (let i = 0; i < z.length; i++) z[i] = cd[oc[i]!] ? ad[oa[i]!]! : bd[ob[i]!]!;
  return z;
};

export const cast: Kernel<'cast'> = (inputs, _p, out) => {
  const x = inputs[0]!.data as Arr;
  const y = alloc(out.dtype, out.shape);
  if (out.dtype === 'bool') for (let i = 0; i < y.length; i++) y[i] = x[i] !== 0 ? 1 : 0;
  else if (out.dtype === 'int32') for (let i = 0; i < y.length; i++) y[i] = Math.trunc(x[i]!);
  else y.set(x);
  return y;
};
