import type { Kernel } from '../../backend/backend.js';
import { sizeOf } from '../../tensor/shape.js';
import { type Arr, alloc, broadcastStrides, stridedOffsets } from './util.js';

/**
 * C[m, n] = op(A)[m, k] op(B)[k, n] for one matrix; `a`/`b` start at `ao`/`bo`. Row-of-C
 * accumulation (i-k-j order) into a float64 buffer keeps the inner loop unit-stride.
 */
export function gemm(
  a: Arr,
  ao: number,
  b: Arr,
  bo: number,
  c: Arr,
  co: number,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
): void {
  const row = new Float64Array(n);
  // Materialise op(B) as k x n row-major once so the inner loop is contiguous.
  let bt = b;
  let bto = bo;
  if (transB) {
    bt = new Float64Array(k * n);
    for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) bt[p * n + j] = b[bo + j * k + p]!;
    bto = 0;
  }
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let p = 0; p < k; p++) {
      const av = transA ? a[ao + p * m + i]! : a[ao + i * k + p]!;
      if (av === 0) continue;
      const boff = bto + p * n;
      for (let j = 0; j < n; j++) row[j]! += av * bt[boff + j]!;
    }
    for (let j = 0; j < n; j++) c[co + i * n + j] = row[j]!;
  }
}

export const matmul: Kernel<'matmul'> = (inputs, { transA, transB }, out) => {
  const [A, B] = inputs as [(typeof inputs)[0], (typeof inputs)[0]];
  const r = out.shape.length;
  const m = out.shape[r - 2]!;
  const n = out.shape[r - 1]!;
  const k = A.shape[A.shape.length - (transA ? 2 : 1)]!;
  const batch = out.shape.slice(0, -2);
  const aBatch = broadcastStrides(A.shape.slice(0, -2), batch);
  const bBatch = broadcastStrides(B.shape.slice(0, -2), batch);
  const aOff = stridedOffsets(batch, aBatch);
  const bOff = stridedOffsets(batch, bBatch);
  const c = alloc(out.dtype, out.shape);
  const nb = sizeOf(batch);
  for (let t = 0; t < nb; t++) {
    gemm(A.data as Arr, aOff[t]! * m * k, B.data as Arr, bOff[t]! * k * n, c, t * m * n, m, n, k, transA, transB);
  }
  return c;
};
