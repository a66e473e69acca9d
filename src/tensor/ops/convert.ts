// Creating tensors (tensor, zeros, ones, full, arange, linspace, eye, ...), nested arrays, and
// moving tensors between backends.
import { fail, fmtShape } from '../../errors.js';
import { allocArray, castArray, checkDType, type DType, isFloat, type TypedArray } from '../dtype.js';
import { backendNamed, getBackend, keep, tensorFromArray } from '../engine.js';
import { checkShape, MAX_ELEMENTS, sizeOf } from '../shape.js';
import { type NestedArray, Tensor, type TensorLike } from '../tensor.js';
import { checkFinite, checkInt, checkOptions, checkTensor, describeValue, publicOp } from './args.js';

export interface CreateOptions {
  dtype?: DType;
  /** Required for flat typed arrays of rank > 1; checked against the data's length. */
  shape?: readonly number[];
}

function inferShape(x: NestedArray, op: string): number[] {
  const shape: number[] = [];
  let cur: NestedArray = x;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0]!;
  }
  return checkShape(op, shape);
}

function flatten(x: NestedArray, shape: number[], depth: number, out: number[], op: string): void {
  if (depth === shape.length) {
    if (Array.isArray(x)) fail(op, `ragged nested array: expected a number at depth ${depth}`);
    if (typeof x !== 'number' && typeof x !== 'boolean') {
      fail(op, `expected numbers or booleans, got ${describeValue(x)} at flat index ${out.length}`);
    }
    out.push(typeof x === 'boolean' ? (x ? 1 : 0) : x);
    return;
  }
  if (!Array.isArray(x) || x.length !== shape[depth]) {
    fail(op, `ragged nested array: expected length ${shape[depth]} at depth ${depth} for shape ${fmtShape(shape)}`);
  }
  for (const v of x) flatten(v, shape, depth + 1, out, op);
}

function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint8Array) return 'bool';
  return 'float32';
}

/** INT32_MIN..INT32_MAX, the values an int32 tensor holds. */
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Throws unless every value fits `dtype` exactly: int32 takes integers in [-2^31, 2^31 - 1] (no
 * silent truncation, wrapping or NaN -> 0); the float dtypes and bool take any number.
 */
function checkValuesFit(op: string, values: ArrayLike<number>, dtype: DType): void {
  if (dtype !== 'int32') return;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) {
      fail(
        op,
        `value ${v} at flat index ${i} is not an int32 (expected an integer in [${INT32_MIN}, ${INT32_MAX}]); round or cast explicitly`,
      );
    }
  }
}

/**
 * Creates a tensor from a number, boolean, nested array or typed array, on the current backend.
 * The default dtype is float32 for numbers, bool for booleans, and the array's own type for typed arrays.
 * Anything else (strings, null, undefined, objects) is an error, and so is a value an int32
 * tensor cannot hold exactly (1.5, NaN, Infinity, 3e9).
 *
 * @example
 * ```ts
 * tensor([[1, 2], [3, 4]]);              // float32 [2, 2]
 * tensor([1, 2], { dtype: 'int32' });    // int32 [2]
 * tensor([1.5], { dtype: 'int32' });     // throws: value 1.5 at flat index 0 is not an int32
 * ```
 */
export function tensor(values: NestedArray | TypedArray, opts: CreateOptions = {}): Tensor {
  const op = 'tensor';
  checkOptions(op, opts);
  const v: unknown = values;
  if (!ArrayBuffer.isView(v) && !Array.isArray(v) && typeof v !== 'number' && typeof v !== 'boolean') {
    fail(op, `expected a number, boolean, nested array or typed array, got ${describeValue(v)}`);
  }
  if (ArrayBuffer.isView(v) && v instanceof DataView) fail(op, 'expected a typed array, got a DataView');
  let flat: ArrayLike<number>;
  let shape: number[];
  let dtype: DType;
  if (ArrayBuffer.isView(values)) {
    flat = values;
    shape = opts.shape ? checkShape(op, opts.shape) : [values.length];
    dtype = opts.dtype === undefined ? dtypeOfArray(values) : checkDType(op, opts.dtype);
  } else {
    shape = inferShape(values, op);
    const out: number[] = [];
    flatten(values, shape, 0, out, op);
    flat = out;
    const isBool = typeof values === 'boolean' || (Array.isArray(values) && firstLeaf(values) === 'boolean');
    dtype = opts.dtype === undefined ? (isBool ? 'bool' : 'float32') : checkDType(op, opts.dtype);
    if (opts.shape) {
      const target = checkShape(op, opts.shape);
      if (sizeOf(target) !== flat.length) {
        fail(op, `shape ${fmtShape(target)} needs ${sizeOf(target)} values, got ${flat.length}`);
      }
      shape = target;
    }
  }
  if (sizeOf(shape) !== flat.length)
    fail(op, `shape ${fmtShape(shape)} needs ${sizeOf(shape)} values, got ${flat.length}`);
  checkValuesFit(op, flat, dtype);
  return tensorFromArray(castArray(flat, dtype), shape, dtype);
}

function firstLeaf(x: NestedArray): string {
  let cur = x;
  while (Array.isArray(cur)) {
    if (cur.length === 0) return 'number';
    cur = cur[0]!;
  }
  return typeof cur;
}

/** A rank-0 tensor. */
export function scalar(value: number | boolean, dtype?: DType): Tensor {
  return tensor(value, dtype === undefined ? {} : { dtype });
}

/**
 * Converts an op argument to a tensor. JS numbers are "weakly typed" (as in JAX): they take the
 * dtype and backend of `like`. Returns the tensor and whether the caller created it (a temporary).
 */
export function toTensorArg(x: TensorLike, op: string, like?: Tensor): { t: Tensor; temp: boolean } {
  if (x instanceof Tensor) return { t: x, temp: false };
  const backend = like?.backend ?? getBackend();
  if (typeof x === 'number' || typeof x === 'boolean') {
    const dtype: DType = like ? like.dtype : typeof x === 'boolean' ? 'bool' : 'float32';
    if (dtype === 'int32' && typeof x === 'number' && (!Number.isInteger(x) || x < INT32_MIN || x > INT32_MAX)) {
      fail(op, `cannot combine ${x} (not an int32) with an int32 tensor; cast the tensor first`);
    }
    return { t: tensorFromArray(castArray([Number(x)], dtype), [], dtype, backend), temp: true };
  }
  if (Array.isArray(x) || ArrayBuffer.isView(x)) {
    // Errors in the array (a string, 1.5 for an int32 tensor) name the op it was passed to.
    const t = publicOp(op, () =>
      tensor(x as NestedArray | TypedArray, like && !ArrayBuffer.isView(x) ? { dtype: like.dtype } : {}),
    );
    if (t.backend !== backend) fail(op, 'array argument created on a different backend than the tensor it meets');
    return { t, temp: true };
  }
  return fail(op, `expected a tensor, number or array, got ${describeValue(x)}`);
}

/** Reshapes a flat typed array into nested arrays (booleans for bool). */
export function toNested(data: TypedArray, shape: readonly number[], dtype: DType): NestedArray {
  const conv = (v: number): number | boolean => (dtype === 'bool' ? v !== 0 : v);
  if (shape.length === 0) return conv(data[0]!);
  let idx = 0;
  const build = (d: number): NestedArray => {
    const n = shape[d]!;
    const arr: NestedArray[] = new Array(n);
    if (d === shape.length - 1) {
      for (let i = 0; i < n; i++) arr[i] = conv(data[idx++]!);
    } else {
      for (let i = 0; i < n; i++) arr[i] = build(d + 1);
    }
    return arr;
  };
  return build(0);
}

function filled(shape: readonly number[], value: number, dtype: DType, op: string): Tensor {
  const s = checkShape(op, shape);
  if (typeof value !== 'number' && typeof value !== 'boolean') {
    fail(op, `value must be a number or boolean, got ${describeValue(value)}`);
  }
  checkValuesFit(op, [Number(value)], checkDType(op, dtype));
  const data = allocArray(dtype, sizeOf(s), op);
  if (value !== 0) data.fill(dtype === 'bool' ? (value ? 1 : 0) : value);
  return tensorFromArray(data, s, dtype);
}

export function zeros(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return filled(shape, 0, dtype, 'zeros');
}
export function ones(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return filled(shape, 1, dtype, 'ones');
}
export function full(shape: readonly number[], value: number, dtype: DType = 'float32'): Tensor {
  return filled(shape, value, dtype, 'full');
}
export function zerosLike(x: Tensor): Tensor {
  checkTensor('zerosLike', x);
  return tensorFromArray(allocArray(x.dtype, x.size), x.shape, x.dtype, x.backend);
}
export function onesLike(x: Tensor): Tensor {
  checkTensor('onesLike', x);
  return fullLike(x, 1);
}
export function fullLike(x: Tensor, value: number): Tensor {
  checkTensor('fullLike', x);
  if (typeof value !== 'number' && typeof value !== 'boolean') {
    fail('fullLike', `value must be a number or boolean, got ${describeValue(value)}`);
  }
  checkValuesFit('fullLike', [Number(value)], x.dtype);
  const data = allocArray(x.dtype, x.size);
  data.fill(value);
  return tensorFromArray(data, x.shape, x.dtype, x.backend);
}

/** Values start, start+step, ... below stop (NumPy's arange). */
export function arange(start: number, stop?: number, step = 1, dtype: DType = 'float32'): Tensor {
  if (stop === undefined) {
    stop = start;
    start = 0;
  }
  const op = 'arange';
  checkFinite(op, start, 'start');
  checkFinite(op, stop, 'stop');
  if (typeof step !== 'number' || step === 0 || !Number.isFinite(step)) {
    fail(op, `step must be a non-zero finite number, got ${describeValue(step)}`);
  }
  checkValuesFit(op, [start, step], checkDType(op, dtype));
  const n = Math.max(0, Math.ceil((stop - start) / step));
  if (n > MAX_ELEMENTS) {
    fail(op, `[${start}, ${stop}) with step ${step} has ${n} values, more than the ${MAX_ELEMENTS} a tensor may hold`);
  }
  const data = allocArray(dtype, n, op);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return tensorFromArray(data, [n], dtype);
}

/** `num` evenly spaced values from start to stop inclusive. */
export function linspace(start: number, stop: number, num: number, dtype: DType = 'float32'): Tensor {
  const op = 'linspace';
  checkFinite(op, start, 'start');
  checkFinite(op, stop, 'stop');
  checkInt(op, num, 'num', 0);
  checkShape(op, [num]);
  const data = allocArray(checkDType(op, dtype), num, op);
  const step = num > 1 ? (stop - start) / (num - 1) : 0;
  const values: number[] = [];
  for (let i = 0; i < num; i++) values.push(i === num - 1 && num > 1 ? stop : start + i * step);
  checkValuesFit(op, values, dtype);
  data.set(values);
  return tensorFromArray(data, [num], dtype);
}

/** Identity matrix (n x m). */
export function eye(n: number, m = n, dtype: DType = 'float32'): Tensor {
  checkShape('eye', [n, m]);
  const data = allocArray(checkDType('eye', dtype), n * m, 'eye');
  for (let i = 0; i < Math.min(n, m); i++) data[i * m + i] = 1;
  return tensorFromArray(data, [n, m], dtype);
}

/** Copies a tensor to another backend (by name); the result is a constant for autodiff. */
export async function toBackend(x: Tensor, name: 'cpu' | 'webgpu'): Promise<Tensor> {
  checkTensor('to', x);
  const backend = backendNamed('to', name);
  const data = await x.data();
  return tensorFromArray(data, x.shape, x.dtype, backend);
}

export function keepTensor<T extends Tensor>(t: T): T {
  return keep(t);
}

export function assertFloat(op: string, x: Tensor): void {
  checkTensor(op, x);
  if (!isFloat(x.dtype)) fail(op, `expected a float32 or float64 tensor, got ${x.dtype} of shape ${fmtShape(x.shape)}`);
}
