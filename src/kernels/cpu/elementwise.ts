// CPU kernels for the elementwise primitives: unary, binary, compare, where and cast.
import { fail } from '../../errors.js';
import type { Kernel, KernelInput } from '../../tensor/backend.js';
import type { BinaryOp, CompareOp, UnaryOp } from '../../tensor/primitives.js';
import { tanhFloat32 } from './fastmath.js';
import { broadcastMap, type ScalarFn } from './loops.js';
import { type Arr, alloc, roundHalfEven, wordsOf } from './util.js';

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
  // (1 - y)(1 + y), not 1 - y^2: no cancellation as |y| nears 1, where the gradient is smallest.
  tanhBackward: (y, g) => g * ((1 - y) * (1 + y)),
};

/** int32 arithmetic wraps like two's complement; division truncates; x / 0 is an error (as in PyTorch), raised in `binary`. */
const intBinaryFns: Partial<Record<BinaryOp, F2>> = {
  add: (a, b) => (a + b) | 0,
  sub: (a, b) => (a - b) | 0,
  mul: Math.imul,
  div: (a, b) => (b === 0 ? 0 : (a / b) | 0), // a zero divisor is rejected in `binary` first
};

// `+(a > b)`, not `a > b ? 1 : 0`: V8 compiles the conversion without a branch, and on data
// whose signs are random (an activation mask) a mispredicted branch per element made the
// comparison 4-5x slower.
const compareFns: { readonly [C in CompareOp]: F2 } = {
  eq: (a, b) => +(a === b),
  ne: (a, b) => +(a !== b),
  lt: (a, b) => +(a < b),
  le: (a, b) => +(a <= b),
  gt: (a, b) => +(a > b),
  ge: (a, b) => +(a >= b),
};

/** Functions worker threads may compile from their source text (no free variables but globals). */
const SELF_CONTAINED = new Set<F1 | F2>([
  ...(['neg', 'exp', 'log', 'log1p', 'expm1', 'sqrt', 'rsqrt', 'abs', 'sign', 'sin', 'cos', 'tanh'] as const).map(
    (u) => unaryFns[u],
  ),
  unaryFns.sigmoid,
  unaryFns.relu,
  unaryFns.floor,
  unaryFns.ceil,
  tanhFloat32,
  ...Object.values(binaryFns),
  ...Object.values(intBinaryFns),
]);

/**
 * `f` as source text a worker can compile, for the threaded maps of src/kernels/cpu/loops.ts:
 * Math's own functions by name, the listed self-contained ones by their text; else undefined.
 */
function workerSource(f: F1 | F2): string | undefined {
  if ((Math as unknown as Record<string, unknown>)[f.name] === f) return `Math.${f.name}`;
  return SELF_CONTAINED.has(f) ? f.toString() : undefined;
}

/**
 * ReLU on a float32's bits: kept when the sign bit is clear or the value is NaN, else +0; the
 * same values as `relu` above without its data-dependent branch (3-7x slower on random signs).
 */
const reluBits = (b: number) => b & (~(b >> 31) | -+((b & 0x7fffffff) > 0x7f800000));

export const unary: Kernel<'unary'> = (inputs, { op }, out) => {
  const x = inputs[0]!;
  const y = alloc(out.dtype, out.shape, false);
  if (op === 'relu' && out.dtype === 'float32') {
    const xw = { data: wordsOf(x.data as Arr), shape: x.shape };
    broadcastMap('u:relu-bits', reluBits, [xw], out.shape, wordsOf(y), reluBits.toString());
    return y;
  }
  // float32 results take the float32-accurate tanh (<= 3 ulp, about 9x faster than Math.tanh).
  const f32 = out.dtype === 'float32' && op === 'tanh';
  const f = f32 ? tanhFloat32 : unaryFns[op];
  broadcastMap(f32 ? 'u:tanhFloat32' : `u:${op}`, f, [x], out.shape, y, workerSource(f));
  if (out.dtype === 'int32') for (let i = 0; i < y.length; i++) y[i] = y[i]! | 0;
  return y;
};

export const binary: Kernel<'binary'> = (inputs, { op }, out) => {
  const z = alloc(out.dtype, out.shape, false);
  const int = out.dtype === 'int32' && intBinaryFns[op] !== undefined;
  if (int && op === 'div') {
    const d = inputs[1]!.data as Arr;
    for (let i = 0; i < d.length; i++) {
      if (d[i] === 0) {
        fail(
          'div',
          `integer division by zero: the int32 divisor of shape [${inputs[1]!.shape.join(',')}] holds 0 at flat index ${i} (PyTorch raises here too; cast to float for IEEE inf/NaN)`,
        );
      }
    }
  }
  const f = int ? intBinaryFns[op]! : binaryFns[op];
  broadcastMap(`b:${int ? 'int-' : ''}${op}`, f, inputs, out.shape, z, workerSource(f));
  return z;
};

export const compare: Kernel<'compare'> = (inputs, { op }, out) => {
  const z = alloc('bool', out.shape, false);
  broadcastMap(`c:${op}`, compareFns[op], inputs, out.shape, z);
  return z;
};

const select = (c: number, a: number, b: number) => (c ? a : b);

/** a where c != 0, else b, on the 32-bit words of the values: a mask, no branch. */
const selectBits = (c: number, a: number, b: number) => {
  const m = -(c !== 0);
  return (a & m) | (b & ~m);
};

/**
 * Numeric outputs select whole 32-bit words with a mask (float64 values as two words, through a
 * trailing axis of 2 that the condition broadcasts over): the same bits as `c ? a : b`, NaN
 * payloads included, without the branch that a random mask (ReLU, LeakyReLU and their gradients)
 * mispredicts on every other element (2-3x slower).
 */
export const where: Kernel<'where'> = (inputs, _p, out) => {
  const z = alloc(out.dtype, out.shape, false);
  const [c, a, b] = inputs as [KernelInput, KernelInput, KernelInput];
  if (out.dtype === 'bool' || !(c.data instanceof Uint8Array)) {
    broadcastMap('where', select as ScalarFn, inputs, out.shape, z);
    return z;
  }
  const pair = out.dtype === 'float64';
  const wide = (shape: readonly number[]) => (pair ? [...shape, 2] : shape);
  broadcastMap(
    'where-bits',
    selectBits as ScalarFn,
    [
      { data: c.data, shape: pair ? [...c.shape, 1] : c.shape },
      { data: wordsOf(a.data as Arr), shape: wide(a.shape) },
      { data: wordsOf(b.data as Arr), shape: wide(b.shape) },
    ],
    wide(out.shape),
    wordsOf(z),
  );
  return z;
};

export const cast: Kernel<'cast'> = (inputs, _p, out) => {
  const x = inputs[0]!.data as Arr;
  const y = alloc(out.dtype, out.shape, false);
  if (out.dtype === 'bool') for (let i = 0; i < y.length; i++) y[i] = x[i] !== 0 ? 1 : 0;
  else if (out.dtype === 'int32') for (let i = 0; i < y.length; i++) y[i] = Math.trunc(x[i]!);
  else y.set(x);
  return y;
};
