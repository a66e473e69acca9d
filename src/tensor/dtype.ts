// Dtypes (float32, float64, int32, bool): their typed arrays, sizes, checks and casts.
import { fail } from '../errors.js';
/** Element types a tensor can hold. `bool` is stored one byte per element on the CPU. */
export type DType = 'float32' | 'float64' | 'int32' | 'bool';

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

export function bytesPerElement(dtype: DType): number {
  switch (dtype) {
    case 'float64':
      return 8;
    case 'bool':
      return 1;
    default:
      return 4;
  }
}

/** Throws a clear error unless `dtype` is one of DTYPES (JavaScript callers can pass anything). */
export function checkDType(op: string, dtype: unknown): DType {
  if (!DTYPES.includes(dtype as DType)) {
    const shown =
      typeof dtype === 'string'
        ? JSON.stringify(dtype)
        : typeof dtype === 'object' && dtype !== null
          ? Array.isArray(dtype)
            ? 'an array'
            : 'an object'
          : String(dtype);
    fail(op, `unknown dtype ${shown}; expected one of ${DTYPES.join(', ')}`);
  }
  return dtype as DType;
}

/** A zeroed typed array of `size` elements; an allocation the machine refuses is a TesseraError naming `op`. */
export function allocArray(dtype: DType, size: number, op = 'tensor'): TypedArray {
  try {
    return allocUnchecked(dtype, size, op);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return fail(op, `cannot allocate ${size} ${dtype} elements (${size * bytesPerElement(dtype)} bytes): ${e.message}`);
  }
}

function allocUnchecked(dtype: DType, size: number, op: string): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size);
    case 'float64':
      return new Float64Array(size);
    case 'int32':
      return new Int32Array(size);
    case 'bool':
      return new Uint8Array(size);
    default:
      return checkDType(op, dtype) as never;
  }
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

/** Converts `src` into a new typed array of `dtype` (truncating towards zero for int32, like a C cast). */
export function castArray(src: ArrayLike<number>, dtype: DType): TypedArray {
  const out = allocArray(dtype, src.length);
  if (dtype === 'bool') {
    for (let i = 0; i < src.length; i++) out[i] = src[i] !== 0 ? 1 : 0;
  } else if (dtype === 'int32') {
    for (let i = 0; i < src.length; i++) out[i] = Math.trunc(src[i]!);
  } else {
    (out as Float32Array | Float64Array).set(src);
  }
  return out;
}
