// Shared pieces of the CPU kernels: the pool of output arrays, broadcast strides and offsets,
// rounding.
import { allocArray, type DType, type TypedArray } from '../../tensor/dtype.js';
import { sizeOf, stridesOf } from '../../tensor/shape.js';
import { cpuThreads, isSharedBuffer } from './threads.js';

export type Arr = TypedArray;

/**
 * Kernel outputs come from a pool of released kernel outputs. Why: a fresh typed array costs a
 * zeroed external allocation and GC pressure, measured at about 20 us for 64 KiB, more than the
 * elementwise op that fills it; training loops release and request the same sizes every step.
 * Only arrays made here are ever pooled (never a user's array passed to `fromArray`), a pooled
 * array is zeroed before reuse (unless the kernel says it writes every element), and a second
 * release of the same array is ignored.
 */
const pool = new Map<string, Arr[]>();
const owned = new WeakSet<Arr>();
const pooled = new WeakSet<Arr>();
let pooledBytes = 0;
/**
 * Largest total of pooled bytes kept. A release beyond it evicts the longest-pooled arrays first:
 * without eviction, sizes a workload has stopped using held the pool full and every output of a
 * new size was a fresh allocation (a 64x64 conv layer measured 1.5x slower after a training step).
 */
const MAX_POOLED_BYTES = 64 * 1024 * 1024;
/** Arrays in the order they were pooled (entries handed out since are skipped, and compacted away). */
let pooledOrder: Arr[] = [];
let orderStart = 0;
let pooledCount = 0;
/** Arrays below this many elements are cheap to allocate and not worth a map lookup. */
const MIN_POOLED_LENGTH = 256;

/**
 * With worker threads on, outputs of at least this many elements live in SharedArrayBuffers, so
 * that a threaded GEMM hands them to workers without copying (src/kernels/cpu/threads.ts).
 */
const MIN_SHARED_LENGTH = 2048;

const poolKey = (dtype: DType, n: number, shared: boolean) => `${shared ? 's' : ''}${dtype}:${n}`;

const SHARED_CTORS = { float32: Float32Array, float64: Float64Array, int32: Int32Array, bool: Uint8Array } as const;

function allocShared(dtype: DType, n: number): Arr {
  const Ctor = SHARED_CTORS[dtype];
  if (Ctor === undefined) return allocArray(dtype, n); // names the op and the valid dtypes
  return new Ctor(new SharedArrayBuffer(n * Ctor.BYTES_PER_ELEMENT) as unknown as ArrayBuffer);
}

function dtypeOf(a: Arr): DType {
  return a instanceof Float32Array
    ? 'float32'
    : a instanceof Float64Array
      ? 'float64'
      : a instanceof Int32Array
        ? 'int32'
        : 'bool';
}

/**
 * A kernel output of `shape`. `zeroed` false is for kernels that write every element themselves:
 * a reused array then keeps its old contents instead of being cleared first.
 */
export function alloc(dtype: DType, shape: readonly number[], zeroed = true): Arr {
  const n = sizeOf(shape);
  if (n < MIN_POOLED_LENGTH) return allocArray(dtype, n);
  const shared = n >= MIN_SHARED_LENGTH && cpuThreads() > 1;
  const free = pool.get(poolKey(dtype, n, shared));
  const reused = free?.pop();
  if (reused !== undefined) {
    pooled.delete(reused);
    pooledBytes -= reused.byteLength;
    pooledCount--;
    return zeroed ? reused.fill(0) : reused;
  }
  const fresh = shared ? allocShared(dtype, n) : allocArray(dtype, n);
  owned.add(fresh);
  return fresh;
}

/** Returns a released kernel output to the pool (a no-op for arrays `alloc` did not make). */
export function recycle(a: Arr): void {
  if (!owned.has(a) || pooled.has(a) || a.byteLength > MAX_POOLED_BYTES) return;
  while (pooledBytes + a.byteLength > MAX_POOLED_BYTES && evictOldest());
  const key = poolKey(dtypeOf(a), a.length, isSharedBuffer(a.buffer));
  // Compact the order now and then: only the last entry of each array still pooled stays.
  const span = pooledOrder.length - orderStart;
  if (orderStart > 1024 || (span > 64 && 2 * span > 3 * pooledCount)) {
    const seen = new Set<Arr>();
    const kept: Arr[] = [];
    for (let i = pooledOrder.length - 1; i >= orderStart; i--) {
      const x = pooledOrder[i]!;
      if (pooled.has(x) && !seen.has(x)) kept.push(x);
      seen.add(x);
    }
    pooledOrder = kept.reverse();
    orderStart = 0;
  }
  pooledOrder.push(a);
  pooledCount++;
  let free = pool.get(key);
  if (free === undefined) {
    free = [];
    pool.set(key, free);
  }
  free.push(a);
  pooled.add(a);
  pooledBytes += a.byteLength;
}

/** Drops the longest-pooled array still in the pool (to the garbage collector); false if none. */
function evictOldest(): boolean {
  while (orderStart < pooledOrder.length) {
    const a = pooledOrder[orderStart]!;
    pooledOrder[orderStart++] = undefined as unknown as Arr;
    if (!pooled.has(a)) continue;
    const free = pool.get(poolKey(dtypeOf(a), a.length, isSharedBuffer(a.buffer)))!;
    free.splice(free.indexOf(a), 1);
    pooled.delete(a);
    pooledBytes -= a.byteLength;
    pooledCount--;
    return true;
  }
  return false;
}

/** Bytes held by the pool of released kernel outputs. */
export function pooledOutputBytes(): number {
  return pooledBytes;
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

/** The 32-bit words of a float32, float64 or int32 array (two per float64), for bit-exact copies and selects. */
export const wordsOf = (a: Arr): Int32Array => new Int32Array(a.buffer, a.byteOffset, a.byteLength >> 2);
