// The CPU backend's GEMM entry point: serial (gemm-serial.ts) or split across the worker threads.
import { blockRange, GEMM_BLOCK_SOURCE, gemmBlock, MR, NR, RETAIN_MAX, serialGemm } from './gemm-serial.js';
import type { FloatArr, GemmJob, MatView } from './gemm-types.js';
import {
  cpuThreads,
  isSharedBuffer,
  type JobSource,
  parallelChunks,
  type SharedArr,
  sharedArrayLike,
} from './threads.js';
import type { Arr } from './util.js';

/** From this many multiply-adds (about 60 microseconds of work), a GEMM is split across threads. */
const PARALLEL_WORK = 1 << 18;
/** The threaded path copies whole operand spans to shared memory: at most this many elements of A, B and C. */
const PARALLEL_MAX_ELEMENTS = 1 << 24;

/**
 * C[i, j] (+)= sum_p A[i, p] B[p, j] for i < m, j < n, p < k. C is row-major at `cOffset` with row
 * stride `ldc`. With `accumulate` the product is added to C, otherwise it replaces C.
 */
export function gemm(
  m: number,
  n: number,
  k: number,
  a: MatView,
  b: MatView,
  c: FloatArr,
  cOffset: number,
  ldc: number,
  accumulate: boolean,
): void {
  const threads = cpuThreads();
  if (threads > 1 && m * n * k >= PARALLEL_WORK && Math.max(m, n) >= 2 * MR) {
    if (span(m, k, a) + span(k, n, b) + m * n <= PARALLEL_MAX_ELEMENTS) {
      parallelGemm(m, n, k, a, b, c, cOffset, ldc, accumulate, threads);
      return;
    }
  }
  serialGemm(m, n, k, a, b, c, cOffset, ldc, accumulate);
}

/** Elements from a view's first to its last element of a rows x cols matrix (strides are >= 0). */
function span(rows: number, cols: number, v: MatView): number {
  return (rows - 1) * v.rowStride + (cols - 1) * v.colStride + 1;
}

const GEMM_SOURCE: JobSource = {
  name: 'gemm',
  numbers:
    'm n k aOffset aRowStride aColStride bOffset bRowStride bColStride cOffset ldc accumulate splitRows first block'.split(
      ' ',
    ),
  arrays: ['a', 'b', 'c'],
  source: GEMM_BLOCK_SOURCE,
};

// Shared copies of operands that are not in shared memory, one growable buffer per slot and type.
const shared = new Map<string, SharedArr>();

function sharedCopy(slot: 'a' | 'b' | 'c', like: Arr, size: number): SharedArr {
  const key = `${slot}:${like.constructor.name}`;
  const kept = shared.get(key);
  if (kept !== undefined && kept.length >= size) return kept.length === size ? kept : kept.subarray(0, size);
  const fresh = sharedArrayLike(like, size);
  if (size <= RETAIN_MAX) shared.set(key, fresh);
  return fresh;
}

/** True when workers can read `x` where it is (a float or int32 array over a SharedArrayBuffer). */
const isShared = (x: Arr): boolean => isSharedBuffer(x.buffer) && !(x instanceof Uint8Array);

/** An operand view's data as workers can read it: itself when shared, else a shared copy of its span. */
function sharedOperand(slot: 'a' | 'b', v: MatView, rows: number, cols: number): [SharedArr, number] {
  if (isShared(v.data)) return [v.data as SharedArr, v.offset];
  const n = span(rows, cols, v);
  const copy = sharedCopy(slot, v.data, n);
  copy.set(v.data.subarray(v.offset, v.offset + n) as never);
  return [copy, 0];
}

/**
 * A threaded GEMM: C is cut into `threads` blocks of whole 4-row panels (when m >= n) or 4-column
 * panels, each computed by serialGemm() on its sub-problem. This thread runs its blocks on the
 * caller's own arrays; workers read A, B and C where they already live in SharedArrayBuffers (the
 * CPU backend allocates its outputs there while threads are on), else in shared copies (C's copy is
 * copied back). Each element's arithmetic is serialGemm()'s whatever the block (a float64 sum over
 * each KC slice in order), so every split gives bitwise-identical results.
 */
function parallelGemm(
  m: number,
  n: number,
  k: number,
  a: MatView,
  b: MatView,
  c: FloatArr,
  cOffset: number,
  ldc: number,
  accumulate: boolean,
  threads: number,
): void {
  const splitRows = m >= n ? 1 : 0;
  const lanes = splitRows ? MR : NR;
  const extent = splitRows ? m : n;
  // One block per thread (more blocks balance better but repack the shared operand per block),
  // the first 6% larger: workers start about 10 us after this thread (measured on the ring GAN).
  const panels = Math.ceil(extent / lanes);
  const first = Math.min(extent, Math.ceil((panels / threads) * 1.06) * lanes);
  const block = Math.ceil((panels - first / lanes) / (threads - 1)) * lanes;
  const total = first >= extent || block === 0 ? 1 : 1 + Math.ceil((extent - first) / block);
  const [as, aOffset] = sharedOperand('a', a, m, k);
  const [bs, bOffset] = sharedOperand('b', b, k, n);
  const cShared = isShared(c);
  const cs = cShared ? (c as SharedArr) : sharedCopy('c', c, m * n);
  if (!cShared && accumulate) {
    for (let i = 0; i < m; i++) cs.set(c.subarray(cOffset + i * ldc, cOffset + i * ldc + n) as never, i * n);
  }
  const job: GemmJob = {
    m,
    n,
    k,
    a: as,
    aOffset,
    aRowStride: a.rowStride,
    aColStride: a.colStride,
    b: bs,
    bOffset,
    bRowStride: b.rowStride,
    bColStride: b.colStride,
    c: cs,
    cOffset: cShared ? cOffset : 0,
    ldc: cShared ? ldc : n,
    accumulate,
    splitRows,
    first,
    block,
  };
  const onWorkers = parallelChunks(GEMM_SOURCE, job, total, (chunk) => gemmBlock(job, chunk, a, b, c, cOffset, ldc));
  if (cShared) return;
  // Copy the workers' blocks back into C.
  for (const chunk of onWorkers) {
    const [lo, hi] = blockRange(job, chunk);
    const [r0, r1, c0, c1] = splitRows ? [lo, hi, 0, n] : [0, m, lo, hi];
    for (let i = r0; i < r1; i++) {
      c.set(cs.subarray(i * n + c0, i * n + c1) as never, cOffset + i * ldc + c0);
    }
  }
}
