// The CPU GEMM's operand views and threaded job, apart from the kernels (gemm-serial.ts) that
// workers compile from source: types and a view constructor only, nothing a worker runs.
import type { Job, SharedArr } from './threads.js';
import type { Arr } from './util.js';

/** A strided matrix operand: element (r, c) is data[offset + r * rowStride + c * colStride]. */
export interface MatView {
  readonly data: Arr;
  readonly offset: number;
  readonly rowStride: number;
  readonly colStride: number;
}

/** Float outputs the GEMM writes (the row stride is `ldc`, columns are contiguous). */
export type FloatArr = Float32Array | Float64Array;

/**
 * A view of the row-major `rows` x `cols` matrix stored at `offset`, or of its transpose.
 * Transposing only swaps the strides; packing absorbs the difference.
 */
export function rowMajor(data: Arr, offset: number, cols: number, transposed = false): MatView {
  return transposed ? { data, offset, rowStride: 1, colStride: cols } : { data, offset, rowStride: cols, colStride: 1 };
}

/** A threaded GEMM (gemm.ts): its operands in shared memory and how C is cut into blocks. */
export interface GemmJob extends Job {
  m: number;
  n: number;
  k: number;
  a: SharedArr;
  aOffset: number;
  aRowStride: number;
  aColStride: number;
  b: SharedArr;
  bOffset: number;
  bRowStride: number;
  bColStride: number;
  c: SharedArr;
  cOffset: number;
  ldc: number;
  accumulate: boolean;
  /**
   * 1 when blocks are row ranges, 0 when column ranges: the first block has `first` rows or
   * columns (this thread claims it while the workers wake up, so it is a little larger), the
   * others `block` each.
   */
  splitRows: number;
  first: number;
  block: number;
}
