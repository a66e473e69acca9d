import { cpuThreads, type JobSource, parallelChunks } from './threads.js';
import type { Arr } from './util.js';

/**
 * A blocked, register-tiled GEMM in plain TypeScript (the GotoBLAS loop nest):
 *
 *   for each KC-deep slice of k:        pack B[pc.., jc..] into 4-wide panels (f64)
 *     for each MC-row block of A:       pack A[ic.., pc..] into 4-tall panels (f64)
 *       for each B panel, A panel:      a 4x4 micro-kernel with 16 scalar accumulators
 *
 * Packing makes the micro-kernel's loads unit-stride, avoids float32->float64 conversions in the
 * inner loop and turns transposes and arbitrary strides into a packing detail. Panels are plain
 * double arrays, not Float64Array: once any ArrayBuffer in the process has been detached (tfjs,
 * WebGPU buffer unmapping and transfers all do it), V8 adds a detach check to every typed-array
 * access in optimized code, which costs this loop ~16%; JS double arrays never pay it.
 * JS arithmetic is float64, so every product and partial sum is float64, and C is accumulated in
 * float64: float32 outputs go through a float64 scratch and are rounded once at the end.
 *
 * Each output element's arithmetic depends only on k and KC (a float64 sum over each KC slice in
 * order, added to C slice after slice), never on which rows, tile or thread it lands in: the
 * threaded path and any row split give bitwise-identical results.
 */

/** A strided matrix operand: element (r, c) is data[offset + r * rowStride + c * colStride]. */
export interface MatView {
  readonly data: Arr;
  readonly offset: number;
  readonly rowStride: number;
  readonly colStride: number;
}

/** Float outputs the GEMM writes (the row stride is `ldc`, columns are contiguous). */
export type FloatArr = Float32Array | Float64Array;

const MR = 4;
const NR = 4;
/** Depth of one packed slice: a 4 x KC A panel plus a KC x 4 B panel stay in L1. */
const KC = 256;
/** Rows of A packed at once (MC x KC f64 = 128 KiB, L2-resident). */
const MC = 64;
/** Columns of B packed at once (KC x NC f64 = 2 MiB). */
const NC = 1024;
/** Below this many multiply-adds, packing costs more than it saves: use the plain loop. */
const SMALL_WORK = 4096;
/** From this many multiply-adds (about a quarter of a millisecond), a GEMM is split across threads. */
const PARALLEL_WORK = 1 << 20;
/** The threaded path packs whole operands (f64): at most this many elements of A, B and C together. */
const PARALLEL_MAX_ELEMENTS = 1 << 24;

/**
 * A view of the row-major `rows` x `cols` matrix stored at `offset`, or of its transpose.
 * Transposing only swaps the strides; packing absorbs the difference.
 */
export function rowMajor(data: Arr, offset: number, cols: number, transposed = false): MatView {
  return transposed ? { data, offset, rowStride: 1, colStride: cols } : { data, offset, rowStride: cols, colStride: 1 };
}

/** Scratch buffers up to this many elements (16 MiB) are kept for reuse; larger ones are per call. */
export const RETAIN_MAX = 1 << 21;

/** A packed operand: 4-wide panels of doubles. */
type Panels = number[] | Float64Array;

// Scratch, grown on demand and reused across calls (fresh large arrays cost page faults).
let accScratch = new Float64Array(0);
const packScratch: Record<'a' | 'b', number[]> = { a: [], b: [] };
const tile = new Float64Array(MR * NR);

function scratchF64(size: number): Float64Array {
  if (accScratch.length >= size) return accScratch;
  const fresh = new Float64Array(size);
  if (size <= RETAIN_MAX) accScratch = fresh;
  return fresh;
}

/** A double array (elements kind PACKED_DOUBLE) of at least `size` elements. */
function packBuffer(which: 'a' | 'b', size: number): number[] {
  const kept = packScratch[which];
  if (kept.length >= size) return kept;
  const grown = size <= RETAIN_MAX ? kept : [];
  while (grown.length < size) grown.push(0.5);
  return grown;
}

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
  if (m === 0 || n === 0) return;
  if (k === 0) {
    if (!accumulate) for (let i = 0; i < m; i++) c.fill(0, cOffset + i * ldc, cOffset + i * ldc + n);
    return;
  }
  if (m * n * k <= SMALL_WORK) {
    smallGemm(m, n, k, a, b, c, cOffset, ldc, accumulate);
    return;
  }
  if (m * n * k >= PARALLEL_WORK && m > MR && cpuThreads() > 1) {
    const mp = Math.ceil(m / MR) * MR;
    const np = Math.ceil(n / NR) * NR;
    if (mp * k + k * np + mp * np <= PARALLEL_MAX_ELEMENTS) {
      parallelGemm(m, n, k, a, b, c, cOffset, ldc, accumulate);
      return;
    }
  }
  if (c instanceof Float64Array) {
    blocked(m, n, k, a, b, c, cOffset, ldc, accumulate);
    return;
  }
  // float32 C: accumulate in a float64 copy, round once.
  const acc = scratchF64(m * n);
  if (accumulate) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) acc[i * n + j] = c[cOffset + i * ldc + j]!;
  blocked(m, n, k, a, b, acc, 0, n, accumulate);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) c[cOffset + i * ldc + j] = acc[i * n + j]!;
}

function blocked(
  m: number,
  n: number,
  k: number,
  a: MatView,
  b: MatView,
  c: Float64Array,
  cOffset: number,
  ldc: number,
  accumulate: boolean,
): void {
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    const nPanels = Math.ceil(nc / NR);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      const bp = packBuffer('b', nPanels * kc * NR);
      packPanels(b, pc, jc, kc, nc, NR, bp, true);
      const add = accumulate || pc > 0;
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        const mPanels = Math.ceil(mc / MR);
        const ap = packBuffer('a', mPanels * kc * MR);
        packPanels(a, ic, pc, mc, kc, MR, ap, false);
        for (let jr = 0; jr < nPanels; jr++) {
          const j0 = jc + jr * NR;
          const nr = Math.min(NR, n - j0);
          for (let ir = 0; ir < mPanels; ir++) {
            const i0 = ic + ir * MR;
            const mr = Math.min(MR, m - i0);
            if (mr === MR && nr === NR) {
              kernel4x4(ap, ir * kc * MR, bp, jr * kc * NR, kc, c, cOffset + i0 * ldc + j0, ldc, add);
            } else {
              kernel4x4(ap, ir * kc * MR, bp, jr * kc * NR, kc, tile, 0, NR, false);
              storeEdge(c, cOffset + i0 * ldc + j0, ldc, mr, nr, add);
            }
          }
        }
      }
    }
  }
}

/** Writes (or adds) the valid mr x nr corner of `tile` into C, as kernel4x4 would. */
function storeEdge(c: Float64Array, co: number, ldc: number, mr: number, nr: number, add: boolean): void {
  for (let ii = 0; ii < mr; ii++) {
    for (let jj = 0; jj < nr; jj++) {
      const o = co + ii * ldc + jj;
      c[o] = add ? c[o]! + tile[ii * NR + jj]! : tile[ii * NR + jj]!;
    }
  }
}

/**
 * The 4x4 micro-kernel: C[4x4 tile at co, row stride ldc] (+)= Apanel (4 x kc) * Bpanel (kc x 4).
 * Sixteen scalar accumulators live in registers; each k step is 8 loads and 32 flops.
 *
 * Self-contained on purpose: the threaded path compiles its own copy from this source (on every
 * thread), so this instance only ever sees double arrays and its loads stay monomorphic.
 */
// biome-ignore format: one line per row of the 4x4 tile reads better than 48 single-statement lines.
export function kernel4x4(
  ap: Panels, aStart: number, bp: Panels, bStart: number, kc: number,
  c: Float64Array, co: number, ldc: number, add: boolean,
): void {
  // Local copies: V8 optimizes this loop ~10% worse when it mutates the parameters themselves.
  let ai = aStart, bi = bStart;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let p = 0; p < kc; p++, ai += 4, bi += 4) {
    const a0 = ap[ai]!, a1 = ap[ai + 1]!, a2 = ap[ai + 2]!, a3 = ap[ai + 3]!;
    const b0 = bp[bi]!, b1 = bp[bi + 1]!, b2 = bp[bi + 2]!, b3 = bp[bi + 3]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  const o1 = co + ldc, o2 = o1 + ldc, o3 = o2 + ldc;
  if (add) {
    c[co] += c00; c[co + 1] += c01; c[co + 2] += c02; c[co + 3] += c03;
    c[o1] += c10; c[o1 + 1] += c11; c[o1 + 2] += c12; c[o1 + 3] += c13;
    c[o2] += c20; c[o2 + 1] += c21; c[o2 + 2] += c22; c[o2 + 3] += c23;
    c[o3] += c30; c[o3 + 1] += c31; c[o3 + 2] += c32; c[o3 + 3] += c33;
  } else {
    c[co] = c00; c[co + 1] = c01; c[co + 2] = c02; c[co + 3] = c03;
    c[o1] = c10; c[o1 + 1] = c11; c[o1 + 2] = c12; c[o1 + 3] = c13;
    c[o2] = c20; c[o2 + 1] = c21; c[o2 + 2] = c22; c[o2 + 3] = c23;
    c[o3] = c30; c[o3 + 1] = c31; c[o3 + 2] = c32; c[o3 + 3] = c33;
  }
}

// ---------------------------------------------------------------- threaded path

interface GemmJob {
  ap: Float64Array;
  bp: Float64Array;
  c: Float64Array;
  ldc: number;
  k: number;
  mPanels: number;
  nPanels: number;
  /** A chunk is a block of `rowPanels` x `colPanels` 4x4 tiles; chunks are numbered row block first. */
  rowPanels: number;
  colPanels: number;
  rowBlocks: number;
  accumulate: boolean;
}

/**
 * One block of tiles of the padded float64 C from fully packed operands (A and B as KC-deep slices
 * of 4-row / 4-column panels): the same kernel4x4 calls, per element, as blocked().
 * Self-contained except for kernel4x4: every thread compiles both from source text.
 */
export function gemmChunk(job: GemmJob, chunk: number, kcMax: number): void {
  const { ap, bp, c, ldc, k, mPanels, nPanels, accumulate } = job;
  const ir0 = (chunk % job.rowBlocks) * job.rowPanels;
  const ir1 = Math.min(mPanels, ir0 + job.rowPanels);
  const jr0 = Math.floor(chunk / job.rowBlocks) * job.colPanels;
  const jr1 = Math.min(nPanels, jr0 + job.colPanels);
  for (let pc = 0; pc < k; pc += kcMax) {
    const kc = Math.min(kcMax, k - pc);
    const aSlice = pc * mPanels * 4;
    const bSlice = pc * nPanels * 4;
    const add = accumulate || pc > 0;
    for (let jr = jr0; jr < jr1; jr++) {
      for (let ir = ir0; ir < ir1; ir++) {
        kernel4x4(ap, aSlice + ir * kc * 4, bp, bSlice + jr * kc * 4, kc, c, ir * 4 * ldc + jr * 4, ldc, add);
      }
    }
  }
}

const GEMM_SOURCE: JobSource = {
  name: 'gemm',
  source: [
    kernel4x4.toString(),
    gemmChunk.toString(),
    `function runChunk(job, chunk) { ${gemmChunk.name}(job, chunk, ${KC}); }`,
  ].join('\n'),
};

// Shared scratch for the threaded path, grown on demand (workers see it through each job message).
const shared: Record<'a' | 'b' | 'c', Float64Array> = {
  a: new Float64Array(0),
  b: new Float64Array(0),
  c: new Float64Array(0),
};

function sharedF64(which: 'a' | 'b' | 'c', size: number): Float64Array {
  if (shared[which].length >= size) return shared[which];
  const fresh = new Float64Array(new SharedArrayBuffer(size * 8));
  if (size <= RETAIN_MAX) shared[which] = fresh;
  return fresh;
}

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
): void {
  const mPanels = Math.ceil(m / MR);
  const nPanels = Math.ceil(n / NR);
  const ap = sharedF64('a', mPanels * MR * k);
  const bp = sharedF64('b', nPanels * NR * k);
  for (let pc = 0; pc < k; pc += KC) {
    const kc = Math.min(KC, k - pc);
    packPanels(a, 0, pc, m, kc, MR, ap.subarray(pc * mPanels * MR), false);
    packPanels(b, pc, 0, kc, n, NR, bp.subarray(pc * nPanels * NR), true);
  }
  const cl = nPanels * NR;
  const cp = sharedF64('c', mPanels * MR * cl);
  if (accumulate) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) cp[i * cl + j] = c[cOffset + i * ldc + j]!;
  // Blocks of MC rows (each B panel feeds 16 tiles, as in blocked()), with the columns split too
  // when that leaves fewer than about four blocks per thread.
  const rowPanels = Math.min(mPanels, MC / MR);
  const rowBlocks = Math.ceil(mPanels / rowPanels);
  const colPanels = Math.ceil(nPanels / Math.max(1, Math.ceil((4 * cpuThreads()) / rowBlocks)));
  const colBlocks = Math.ceil(nPanels / colPanels);
  const job: GemmJob = { ap, bp, c: cp, ldc: cl, k, mPanels, nPanels, rowPanels, colPanels, rowBlocks, accumulate };
  parallelChunks(GEMM_SOURCE, job, rowBlocks * colBlocks);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) c[cOffset + i * ldc + j] = cp[i * cl + j]!;
}

/**
 * Packs a `rows` x `cols` block of `v` starting at (r0, c0) into panels of `w` lanes, zero-padded.
 * For A (`bySlice` false) lanes are rows: dst[(panel * cols + p) * w + lane] = v(r0 + panel*w + lane, c0 + p).
 * For B (`bySlice` true) lanes are columns: dst[(panel * rows + p) * w + lane] = v(r0 + p, c0 + panel*w + lane).
 */
function packPanels(
  v: MatView,
  r0: number,
  c0: number,
  rows: number,
  cols: number,
  w: number,
  dst: Panels,
  bySlice: boolean,
): void {
  const src = v.data;
  const rs = v.rowStride;
  const cs = v.colStride;
  // depth = the packed panel's length (k extent); lanes run across the other dimension.
  const depth = bySlice ? rows : cols;
  const extent = bySlice ? cols : rows;
  // Stride (in src) between successive lanes and between successive depth steps.
  const laneStride = bySlice ? cs : rs;
  const depthStride = bySlice ? rs : cs;
  const base = v.offset + r0 * rs + c0 * cs;
  const panels = Math.ceil(extent / w);
  for (let pnl = 0; pnl < panels; pnl++) {
    const lanes = Math.min(w, extent - pnl * w);
    const pbase = base + pnl * w * laneStride;
    let d = pnl * depth * w;
    if (lanes === w && w === 4) {
      const s1 = laneStride;
      const s2 = 2 * laneStride;
      const s3 = 3 * laneStride;
      for (let p = 0, s = pbase; p < depth; p++, s += depthStride, d += 4) {
        dst[d] = src[s]!;
        dst[d + 1] = src[s + s1]!;
        dst[d + 2] = src[s + s2]!;
        dst[d + 3] = src[s + s3]!;
      }
    } else {
      for (let p = 0, s = pbase; p < depth; p++, s += depthStride, d += w) {
        for (let l = 0; l < w; l++) dst[d + l] = l < lanes ? src[s + l * laneStride]! : 0;
      }
    }
  }
}

/** Tiny products: a plain i-p-j loop with a float64 row accumulator (no packing). */
function smallGemm(
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
  const row = new Float64Array(n);
  const { data: ad, rowStride: ars, colStride: acs } = a;
  const { data: bd, rowStride: brs, colStride: bcs } = b;
  for (let i = 0; i < m; i++) {
    const co = cOffset + i * ldc;
    if (accumulate) for (let j = 0; j < n; j++) row[j] = c[co + j]!;
    else row.fill(0);
    const aBase = a.offset + i * ars;
    for (let p = 0; p < k; p++) {
      const av = ad[aBase + p * acs]!;
      const bBase = b.offset + p * brs;
      for (let j = 0; j < n; j++) row[j]! += av * bd[bBase + j * bcs]!;
    }
    for (let j = 0; j < n; j++) c[co + j] = row[j]!;
  }
}
