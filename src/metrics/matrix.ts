// Row-major sample / feature matrices for the metric functions: construction, validation (shape,
// finiteness, row counts) and conversion from tensors.
import { fail } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

/** `rows` samples of `cols` features each, row-major: sample i is data[i * cols .. (i + 1) * cols). */
export interface Matrix {
  data: Float64Array | Float32Array;
  rows: number;
  cols: number;
}

/**
 * A validated {@link Matrix}. A Float32Array or Float64Array is kept as is (no copy); any other
 * array-like is copied into a Float64Array.
 *
 * @example
 * ```ts
 * const m = matrix([1, 2, 3, 4, 5, 6], 3, 2); // three 2-D samples
 * ```
 */
export function matrix(data: ArrayLike<number>, rows: number, cols: number): Matrix {
  if (!Number.isInteger(rows) || rows < 0) fail('matrix', `rows must be a non-negative integer, got ${rows}`);
  if (!Number.isInteger(cols) || cols < 1) fail('matrix', `cols must be a positive integer, got ${cols}`);
  if (data.length !== rows * cols)
    fail('matrix', `${data.length} values for a ${rows} x ${cols} matrix (expected ${rows * cols})`);
  const d = data instanceof Float64Array || data instanceof Float32Array ? data : Float64Array.from(data);
  return { data: d, rows, cols };
}

/**
 * Reads a rank-2 tensor [rows, cols] (or rank >= 2: [rows, ...] flattened per row) into a Matrix.
 *
 * @example
 * ```ts
 * const m = await matrixFromTensor(tensor([[1, 2], [3, 4]])); // 2 x 2
 * ```
 */
export async function matrixFromTensor(t: Tensor): Promise<Matrix> {
  if (t.rank < 2)
    fail('matrixFromTensor', `needs a tensor of rank >= 2 ([rows, ...]), got shape [${t.shape.join(', ')}]`);
  const rows = t.shape[0]!;
  const cols = rows === 0 ? t.shape.slice(1).reduce((a, b) => a * b, 1) : t.size / rows;
  const raw = await t.data();
  const data = raw instanceof Float64Array || raw instanceof Float32Array ? raw : Float64Array.from(raw);
  return matrix(data, rows, cols);
}

export interface CheckMatrixOptions {
  /** Fewest rows accepted (default 1). */
  minRows?: number;
  /** Required column count. */
  cols?: number;
}

/**
 * Checks that `m` is a well-formed matrix with finite values, enough rows and (optionally) a given
 * width; failures name `op` (the function the user called) and `what` (the argument).
 *
 * @example
 * ```ts
 * checkMatrix('myMetric', 'fake', fake, { minRows: 2, cols: real.cols }); // throws a TesseraError naming myMetric
 * ```
 */
export function checkMatrix(op: string, what: string, m: Matrix, opts: CheckMatrixOptions = {}): void {
  if (m === null || typeof m !== 'object' || !(m.data instanceof Float64Array || m.data instanceof Float32Array))
    fail(op, `${what} must be a Matrix { data: Float64Array | Float32Array, rows, cols } (see matrix())`);
  if (!Number.isInteger(m.rows) || m.rows < 0 || !Number.isInteger(m.cols) || m.cols < 1)
    fail(op, `${what} has invalid dimensions ${m.rows} x ${m.cols}`);
  if (m.data.length !== m.rows * m.cols) fail(op, `${what} holds ${m.data.length} values for ${m.rows} x ${m.cols}`);
  const minRows = opts.minRows ?? 1;
  if (m.rows < minRows) fail(op, `${what} has ${m.rows} rows, needs at least ${minRows}`);
  if (opts.cols !== undefined && m.cols !== opts.cols)
    fail(op, `${what} has ${m.cols} columns, expected ${opts.cols} (the other argument's width)`);
  const d = m.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i]!)) {
      fail(op, `${what} has a non-finite value ${d[i]} at row ${Math.floor(i / m.cols)}, column ${i % m.cols}`);
    }
  }
}

/** Squared Euclidean distance between row i of `a` and row j of `b` (same width). */
export function rowDistance2(a: Matrix, i: number, b: Matrix, j: number): number {
  const c = a.cols;
  const x = a.data;
  const y = b.data;
  const oi = i * c;
  const oj = j * c;
  let s = 0;
  for (let d = 0; d < c; d++) {
    const t = x[oi + d]! - y[oj + d]!;
    s += t * t;
  }
  return s;
}
