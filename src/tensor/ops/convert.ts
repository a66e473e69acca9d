// Creating tensors (tensor, zeros, ones, full, arange, linspace, eye, ...), nested arrays, and
// moving tensors between backends.
import { fail, fmtShape } from '../../errors.js';
import { allocArray, castArray, checkDType, type DType, isFloat, type TypedArray } from '../dtype.js';
import { backendNamed, getBackend, keep, tensorFromArray } from '../engine.js';
import { checkShape, sizeOf } from '../shape.js';
import { type NestedArray, Tensor, type TensorLike } from '../tensor.js';

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
    out.push(typeof x === 'boolean' ? (x ? 1 : 0) : (x as number));
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

/**
 * Creates a tensor from a number, boolean, nested array or typed array, on the current backend.
 * The default dtype is float32 for numbers, bool for booleans, and the array's own type for typed arrays.
 */
export function tensor(values: NestedArray | TypedArray, opts: CreateOptions = {}): Tensor {
  const op = 'tensor';
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
    if (dtype === 'int32' && typeof x === 'number' && !Number.isInteger(x)) {
      fail(op, `cannot combine the non-integer ${x} with an int32 tensor; cast the tensor first`);
    }
    return { t: tensorFromArray(castArray([Number(x)], dtype), [], dtype, backend), temp: true };
  }
  if (Array.isArray(x) || ArrayBuffer.isView(x)) {
    const t = tensor(x as NestedArray | TypedArray, like && !ArrayBuffer.isView(x) ? { dtype: like.dtype } : {});
    if (t.backend !== backend) fail(op, 'array argument created on a different backend than the tensor it meets');
    return { t, temp: true };
  }
  return fail(op, `expected a tensor, number or array, got ${typeof x}`);
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
  const data = allocArray(checkDType(op, dtype), sizeOf(s), op);
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
  return tensorFromArray(allocArray(x.dtype, x.size), x.shape, x.dtype, x.backend);
}
export function onesLike(x: Tensor): Tensor {
  return fullLike(x, 1);
}
export function fullLike(x: Tensor, value: number): Tensor {
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
  if (step === 0 || !Number.isFinite(step)) fail('arange', `step must be a non-zero finite number, got ${step}`);
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const data = allocArray(checkDType('arange', dtype), n, 'arange');
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return tensorFromArray(data, [n], dtype);
}

/** `num` evenly spaced values from start to stop inclusive. */
export function linspace(start: number, stop: number, num: number, dtype: DType = 'float32'): Tensor {
  if (!Number.isInteger(num) || num < 0) fail('linspace', `num must be a non-negative integer, got ${num}`);
  const data = allocArray(checkDType('linspace', dtype), num, 'linspace');
  const step = num > 1 ? (stop - start) / (num - 1) : 0;
  for (let i = 0; i < num; i++) data[i] = i === num - 1 && num > 1 ? stop : start + i * step;
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
  const backend = backendNamed('to', name);
  const data = await x.data();
  return tensorFromArray(data, x.shape, x.dtype, backend);
}

export function keepTensor<T extends Tensor>(t: T): T {
  return keep(t);
}

export function assertFloat(op: string, x: Tensor): void {
  if (!isFloat(x.dtype)) fail(op, `expected a float32 or float64 tensor, got ${x.dtype} of shape ${fmtShape(x.shape)}`);
}
