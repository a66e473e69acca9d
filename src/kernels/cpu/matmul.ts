// The CPU matmul kernel: batched, broadcasting, with transpose flags, on gemm.ts.
import type { Kernel } from '../../tensor/backend.js';
import { sizeOf } from '../../tensor/shape.js';
import { gemm } from './gemm.js';
import { type FloatArr, rowMajor } from './gemm-types.js';
import { type Arr, alloc, broadcastStrides, stridedOffsets } from './util.js';

/** True when offsets[t] === t for every t: the operand has its own contiguous matrix per batch item. */
function isIdentity(offsets: Int32Array): boolean {
  for (let t = 0; t < offsets.length; t++) if (offsets[t] !== t) return false;
  return true;
}

function isConstant(offsets: Int32Array): boolean {
  for (let t = 1; t < offsets.length; t++) if (offsets[t] !== offsets[0]) return false;
  return true;
}

/**
 * Batched matmul [..., m, k] x [..., k, n] with broadcast batch axes and transpose flags, on the
 * blocked GEMM (src/kernels/cpu/gemm.ts). One GEMM per batch item, except that a batch of A
 * against a shared B (the usual `x @ W`) is folded into a single GEMM with batch * m rows.
 */
export const matmul: Kernel<'matmul'> = (inputs, { transA, transB }, out) => {
  const [A, B] = inputs as [(typeof inputs)[0], (typeof inputs)[0]];
  const r = out.shape.length;
  const m = out.shape[r - 2]!;
  const n = out.shape[r - 1]!;
  const k = A.shape[A.shape.length - (transA ? 2 : 1)]!;
  const batch = out.shape.slice(0, -2);
  const aOff = stridedOffsets(batch, broadcastStrides(A.shape.slice(0, -2), batch));
  const bOff = stridedOffsets(batch, broadcastStrides(B.shape.slice(0, -2), batch));
  const c = alloc(out.dtype, out.shape, false) as FloatArr; // the GEMM writes every element
  const ad = A.data as Arr;
  const bd = B.data as Arr;
  const nb = sizeOf(batch);
  if (nb > 1 && !transA && isIdentity(aOff) && isConstant(bOff)) {
    gemm(nb * m, n, k, rowMajor(ad, 0, k), rowMajor(bd, bOff[0]! * k * n, transB ? k : n, transB), c, 0, n, false);
    return c;
  }
  for (let t = 0; t < nb; t++) {
    const a = rowMajor(ad, aOff[t]! * m * k, transA ? m : k, transA);
    const b = rowMajor(bd, bOff[t]! * k * n, transB ? k : n, transB);
    gemm(m, n, k, a, b, c, t * m * n, n, false);
  }
  return c;
};
