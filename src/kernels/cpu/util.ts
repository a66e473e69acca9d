import { allocArray, type DType, type TypedArray } from '../../tensor/dtype.js';
import { sizeOf, stridesOf } from '../../tensor/shape.js';

export type Arr = TypedArray;

export function alloc(dtype: DType, shape: readonly number[]): Arr {
  return allocArray(dtype, sizeOf(shape));
}

/** Strides of `inShape` aligned to the rank of `outShape`, 0 on broadcast axes. */
export function broadcastStrides(inShape: readonly number[], outShape: readonly number[]): number[] {
  const s = stridesOf(inShape);
  const lead = outShape.length - inShape.length;
  return outShape.map((_, i) => (i < lead || inShape[i - lead] === 1 ? 0 : s[i - lead]!));
}

/**
 * The input offset of every output element (row-major over `shape`) for per-axis `strides` and
 * `base`: offsets[i] = base + sum_d index_d(i) * strides[d]. Computed by an odometer, no division.
 */
export function stridedOffsets(shape: readonly number[], strides: readonly number[], base = 0): Int32Array {
  const n = sizeOf(shape);
  const out = new Int32Array(n);
  const rank = shape.length;
  if (n === 0) return out;
  if (rank === 0) {
    out[0] = base;
    return out;
  }
  const last = rank - 1;
  const lastN = shape[last]!;
  const lastS = strides[last]!;
  const idx = new Array<number>(rank).fill(0);
  let off = base;
  let i = 0;
  while (i < n) {
    for (let j = 0; j < lastN; j++) out[i++] = off + j * lastS;
    // advance the odometer on axes [0, last)
    let d = last - 1;
    while (d >= 0) {
      idx[d]!++;
      off += strides[d]!;
      if (idx[d]! < shape[d]!) break;
      off -= strides[d]! * shape[d]!;
      idx[d] = 0;
      d--;
    }
  }
  return out;
}

/** Round half to even (NumPy, PyTorch, WGSL's round). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 ? 2 * Math.round(x / 2) : r;
}
