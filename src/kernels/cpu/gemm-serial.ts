// The CPU backend's serial GEMM (blocked and register-tiled: packed panels, a 4x4 micro-kernel;
// plain loops for shapes that tile badly) and the block runner of the threaded path, all
// self-contained: worker threads compile this module's functions from their source.
import type { FloatArr, GemmJob, MatView } from './gemm-types.js';

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

export const MR = 4;
export const NR = 4;
/** Depth of one packed slice: a 4 x KC A panel plus a KC x 4 B panel stay in L1. */
export const KC = 256;
/** Rows of A packed at once (MC x KC f64 = 128 KiB, L2-resident). */
const MC = 64;
/** Columns of B packed at once (KC x NC f64 = 2 MiB). */
const NC = 1024;
/** Below this many multiply-adds, packing costs more than it saves: use the plain loop. */
const SMALL_WORK = 4096;
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

/** gemm() on the calling thread. Self-contained with blocked() and its helpers: workers compile it from source. */
export function serialGemm(
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
  if (m === 1 || n === 1) {
    dotGemm(m, n, k, a, b, c, cOffset, ldc, accumulate);
    return;
  }
  if (k === 1) {
    outerGemm(m, n, a, b, c, cOffset, ldc, accumulate);
    return;
  }
  if (m * n * k <= SMALL_WORK) {
    smallGemm(m, n, k, a, b, c, cOffset, ldc, accumulate);
    return;
  }
  // A float32 C takes the products straight when nothing is added to it (one KC slice, no accumulate).
  if (c instanceof Float64Array || (k <= KC && !accumulate)) {
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
  c: FloatArr,
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
              const co = cOffset + i0 * ldc + j0;
              // C is float64 whenever anything is added to it (serialGemm).
              if (add) kernel4x4Add(ap, ir * kc * MR, bp, jr * kc * NR, kc, c as Float64Array, co, ldc);
              else if (c instanceof Float32Array) kernel4x4StoreF32(ap, ir * kc * MR, bp, jr * kc * NR, kc, c, co, ldc);
              else kernel4x4Store(ap, ir * kc * MR, bp, jr * kc * NR, kc, c, co, ldc);
            } else {
              kernel4x4Store(ap, ir * kc * MR, bp, jr * kc * NR, kc, tile, 0, NR);
              storeEdge(c, cOffset + i0 * ldc + j0, ldc, mr, nr, add);
            }
          }
        }
      }
    }
  }
}

/** Writes (or adds) the valid mr x nr corner of `tile` into C, as the micro-kernels would. */
function storeEdge(c: FloatArr, co: number, ldc: number, mr: number, nr: number, add: boolean): void {
  for (let ii = 0; ii < mr; ii++) {
    for (let jj = 0; jj < nr; jj++) {
      const o = co + ii * ldc + jj;
      c[o] = add ? c[o]! + tile[ii * NR + jj]! : tile[ii * NR + jj]!;
    }
  }
}

/**
 * The 4x4 micro-kernels: C[4x4 tile at co, row stride ldc] += (kernel4x4Add) or = (kernel4x4Store)
 * Apanel (4 x kc) * Bpanel (kc x 4). Sixteen scalar accumulators live in registers; each k step is
 * 8 loads and 32 flops. Two functions, not one with a mode: V8 optimised a one-function kernel
 * after seeing one mode and deoptimised at the other's unseen accesses on every call, for good (a
 * 64x64 layer's gradients ran at half speed); a store-only kernel also skips reading C (5% faster
 * at k = 16). C is float64 whenever it is added to; a store may go straight to a float32 C (one
 * rounding of the float64 sum, as through a scratch): kernel4x4StoreF32, the same code seeing only
 * float32 C, so that neither store kernel's stores are polymorphic (a K = 16 conv's forward, run
 * between its gradients as in training: 8.4 -> 6.3-6.9 ms; 3-4% when run alone).
 *
 * Self-contained on purpose: the threaded path compiles its own copy from this source (on every
 * thread), so these instances only ever see double arrays and their loads stay monomorphic.
 */
// biome-ignore format: one line per row of the 4x4 tile reads better than 48 single-statement lines.
function kernel4x4Add(
  ap: Panels, aStart: number, bp: Panels, bStart: number, kc: number,
  c: Float64Array, co: number, ldc: number,
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
  c[co] += c00; c[co + 1] += c01; c[co + 2] += c02; c[co + 3] += c03;
  c[o1] += c10; c[o1 + 1] += c11; c[o1 + 2] += c12; c[o1 + 3] += c13;
  c[o2] += c20; c[o2 + 1] += c21; c[o2 + 2] += c22; c[o2 + 3] += c23;
  c[o3] += c30; c[o3 + 1] += c31; c[o3 + 2] += c32; c[o3 + 3] += c33;
}

// biome-ignore format: one line per row of the 4x4 tile reads better than 48 single-statement lines.
function kernel4x4Store(
  ap: Panels, aStart: number, bp: Panels, bStart: number, kc: number,
  c: Float64Array, co: number, ldc: number,
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
  // s sums from +0, so it is never -0 (as a sum through a zeroed scratch).
  const o1 = co + ldc, o2 = o1 + ldc, o3 = o2 + ldc;
  c[co] = c00; c[co + 1] = c01; c[co + 2] = c02; c[co + 3] = c03;
  c[o1] = c10; c[o1 + 1] = c11; c[o1 + 2] = c12; c[o1 + 3] = c13;
  c[o2] = c20; c[o2 + 1] = c21; c[o2 + 2] = c22; c[o2 + 3] = c23;
  c[o3] = c30; c[o3 + 1] = c31; c[o3 + 2] = c32; c[o3 + 3] = c33;
}

// biome-ignore format: one line per row of the 4x4 tile reads better than 48 single-statement lines.
function kernel4x4StoreF32(
  ap: Panels, aStart: number, bp: Panels, bStart: number, kc: number,
  c: Float32Array, co: number, ldc: number,
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
  // s sums from +0, so it is never -0 (as a sum through a zeroed scratch).
  const o1 = co + ldc, o2 = o1 + ldc, o3 = o2 + ldc;
  c[co] = c00; c[co + 1] = c01; c[co + 2] = c02; c[co + 3] = c03;
  c[o1] = c10; c[o1 + 1] = c11; c[o1 + 2] = c12; c[o1 + 3] = c13;
  c[o2] = c20; c[o2 + 1] = c21; c[o2 + 2] = c22; c[o2 + 3] = c23;
  c[o3] = c30; c[o3 + 1] = c31; c[o3 + 2] = c32; c[o3 + 3] = c33;
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
  let pnl = 0;
  if (w === 4 && laneStride === 1) {
    // Lanes adjacent in src: four panels per sweep, 16 adjacent reads a step (a K = 16 conv's input
    // gradient packing its 64 x 196 dY per image: 6.33 -> 6.04 ms for the 28x28 D1 layer's).
    const e = depth * 4;
    // biome-ignore format: the four panels side by side.
    for (; pnl + 4 <= panels && (pnl + 4) * w <= extent; pnl += 4) {
      for (let p = 0, s = base + pnl * w, d = pnl * e; p < depth; p++, s += depthStride, d += 4) {
        dst[d] = src[s]!; dst[d + 1] = src[s + 1]!; dst[d + 2] = src[s + 2]!; dst[d + 3] = src[s + 3]!;
        dst[d + e] = src[s + 4]!; dst[d + e + 1] = src[s + 5]!; dst[d + e + 2] = src[s + 6]!; dst[d + e + 3] = src[s + 7]!;
        dst[d + 2 * e] = src[s + 8]!; dst[d + 2 * e + 1] = src[s + 9]!; dst[d + 2 * e + 2] = src[s + 10]!; dst[d + 2 * e + 3] = src[s + 11]!;
        dst[d + 3 * e] = src[s + 12]!; dst[d + 3 * e + 1] = src[s + 13]!; dst[d + 3 * e + 2] = src[s + 14]!; dst[d + 3 * e + 3] = src[s + 15]!;
      }
    }
  }
  for (; pnl < panels; pnl++) {
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

/**
 * Tiny products: a plain i-p-j loop with float64 row sums, no packing. Each element gets blocked()'s arithmetic: a
 * sum from zero over each KC slice of k in order, stored (first slice, no accumulate) or added to C.
 */
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
  const acc = new Float64Array(n);
  const part = new Float64Array(n);
  const { data: ad, rowStride: ars, colStride: acs } = a;
  const { data: bd, rowStride: brs, colStride: bcs } = b;
  for (let i = 0; i < m; i++) {
    const co = cOffset + i * ldc;
    const aBase = a.offset + i * ars;
    for (let pc = 0; pc < k; pc += KC) {
      const pEnd = Math.min(k, pc + KC);
      part.fill(0);
      for (let p = pc; p < pEnd; p++) {
        const av = ad[aBase + p * acs]!;
        const bBase = b.offset + p * brs;
        for (let j = 0; j < n; j++) part[j]! += av * bd[bBase + j * bcs]!;
      }
      if (pc === 0 && !accumulate) acc.set(part);
      else if (pc === 0) for (let j = 0; j < n; j++) acc[j] = c[co + j]! + part[j]!;
      else for (let j = 0; j < n; j++) acc[j]! += part[j]!;
    }
    for (let j = 0; j < n; j++) c[co + j] = acc[j]!;
  }
}

/**
 * Outer products (k = 1: the input gradient of a conv to one channel, 64 x 6272 x 1 in the DCGAN's
 * discriminator): one pass writing C, where blocked() would pack, tile and copy through a float64
 * scratch (8x slower). Each element is blocked()'s sum: +0 plus the product (so never -0), stored
 * or added to C.
 */
function outerGemm(
  m: number,
  n: number,
  a: MatView,
  b: MatView,
  c: FloatArr,
  cOffset: number,
  ldc: number,
  accumulate: boolean,
): void {
  const { data: ad, offset: aBase, rowStride: ars } = a;
  const { data: bd, offset: bBase, colStride: bcs } = b;
  // Two rows, four columns a step (B's elements loaded once for both): 64 x 6272, 0.45 -> 0.33 ms.
  const n4 = n - (n % 4);
  let i = 0;
  // biome-ignore format: the lanes side by side.
  for (; i + 1 < m; i += 2) {
    const av = ad[aBase + i * ars]!, aw = ad[aBase + (i + 1) * ars]!;
    const co = cOffset + i * ldc, cw = co + ldc;
    let j = 0;
    if (accumulate) {
      for (let bi = bBase; j < n4; j += 4, bi += 4 * bcs) {
        const b0 = bd[bi]!, b1 = bd[bi + bcs]!, b2 = bd[bi + 2 * bcs]!, b3 = bd[bi + 3 * bcs]!;
        const o = co + j, q = cw + j;
        c[o] = c[o]! + (0 + av * b0); c[o + 1] = c[o + 1]! + (0 + av * b1);
        c[o + 2] = c[o + 2]! + (0 + av * b2); c[o + 3] = c[o + 3]! + (0 + av * b3);
        c[q] = c[q]! + (0 + aw * b0); c[q + 1] = c[q + 1]! + (0 + aw * b1);
        c[q + 2] = c[q + 2]! + (0 + aw * b2); c[q + 3] = c[q + 3]! + (0 + aw * b3);
      }
      for (; j < n; j++) {
        const bv = bd[bBase + j * bcs]!;
        c[co + j] = c[co + j]! + (0 + av * bv);
        c[cw + j] = c[cw + j]! + (0 + aw * bv);
      }
    } else {
      for (let bi = bBase; j < n4; j += 4, bi += 4 * bcs) {
        const b0 = bd[bi]!, b1 = bd[bi + bcs]!, b2 = bd[bi + 2 * bcs]!, b3 = bd[bi + 3 * bcs]!;
        const o = co + j, q = cw + j;
        c[o] = 0 + av * b0; c[o + 1] = 0 + av * b1; c[o + 2] = 0 + av * b2; c[o + 3] = 0 + av * b3;
        c[q] = 0 + aw * b0; c[q + 1] = 0 + aw * b1; c[q + 2] = 0 + aw * b2; c[q + 3] = 0 + aw * b3;
      }
      for (; j < n; j++) {
        const bv = bd[bBase + j * bcs]!;
        c[co + j] = 0 + av * bv;
        c[cw + j] = 0 + aw * bv;
      }
    }
  }
  if (i === m) return;
  // The last row of an odd m.
  const av = ad[aBase + i * ars]!;
  const co = cOffset + i * ldc;
  for (let j = 0; j < n; j++) {
    const product = 0 + av * bd[bBase + j * bcs]!;
    c[co + j] = accumulate ? c[co + j]! + product : product;
  }
}

/**
 * Matrix-vector products (m or n is 1, where 4x4 tiles would be three-quarters padding; twice as
 * fast as blocked() at 64 x 128): one float64 dot product per element, with blocked()'s
 * arithmetic (a sum from zero over each KC slice of k in order, stored for the first slice
 * without accumulate, otherwise added to C). Where the k-walk is strided (the 7x7 conv to one
 * channel) the loop runs k-outer, an axpy per p: the same sums in the same order, read contiguously.
 */
function dotGemm(
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
  const { data: ad, rowStride: ars, colStride: acs } = a;
  const { data: bd, rowStride: brs, colStride: bcs } = b;
  // One output row (column) whose B rows (A columns) are contiguous but whose k-walk is strided.
  const rowAxpy = m === 1 && n > 1 && bcs === 1 && brs !== 1;
  const colAxpy = n === 1 && m > 1 && ars === 1 && acs !== 1;
  if (rowAxpy || colAxpy) {
    // v: the vector side (A's row or B's column); mat: the matrix side, walked contiguously per p.
    const [v, mat] = rowAxpy ? [a, b] : [b, a];
    const [len, outStride, vStride, mStride] = rowAxpy ? [n, 1, acs, brs] : [m, ldc, brs, acs];
    const { data: vd, offset: vBase } = v;
    const { data: md, offset: mBase } = mat;
    const part = new Float64Array(len);
    const acc = new Float64Array(len);
    for (let pc = 0; pc < k; pc += KC) {
      const pEnd = Math.min(k, pc + KC);
      part.fill(0);
      let p = pc;
      // Eight rows per pass, added to each partial sum in order (the same sums; an eighth of the
      // passes over `part`: the 64 x 6272 filter gradient 0.36 -> 0.31 ms against four rows).
      // biome-ignore format: the eight rows side by side.
      for (; p + 8 <= pEnd; p += 8) {
        const vp = vBase + p * vStride;
        const v0 = vd[vp]!, v1 = vd[vp + vStride]!, v2 = vd[vp + 2 * vStride]!, v3 = vd[vp + 3 * vStride]!;
        const v4 = vd[vp + 4 * vStride]!, v5 = vd[vp + 5 * vStride]!, v6 = vd[vp + 6 * vStride]!, v7 = vd[vp + 7 * vStride]!;
        const r0 = mBase + p * mStride, r1 = r0 + mStride, r2 = r1 + mStride, r3 = r2 + mStride;
        const r4 = r3 + mStride, r5 = r4 + mStride, r6 = r5 + mStride, r7 = r6 + mStride;
        for (let j = 0; j < len; j++) {
          part[j] = part[j]! + v0 * md[r0 + j]! + v1 * md[r1 + j]! + v2 * md[r2 + j]! + v3 * md[r3 + j]!
            + v4 * md[r4 + j]! + v5 * md[r5 + j]! + v6 * md[r6 + j]! + v7 * md[r7 + j]!;
        }
      }
      for (; p < pEnd; p++) {
        const v = vd[vBase + p * vStride]!;
        const row = mBase + p * mStride;
        for (let j = 0; j < len; j++) part[j]! += v * md[row + j]!;
      }
      if (pc === 0 && !accumulate) acc.set(part);
      else if (pc === 0) for (let j = 0; j < len; j++) acc[j] = c[cOffset + j * outStride]! + part[j]!;
      else for (let j = 0; j < len; j++) acc[j]! += part[j]!;
    }
    for (let j = 0; j < len; j++) c[cOffset + j * outStride] = acc[j]!;
    return;
  }
  // m or n is 1: the dot products go four at a time (four rows, or four columns), each summed as
  // above, so that no single chain of dependent adds paces the loop (3x faster at 64 x 6272 x 1).
  const lanes = n === 1 ? m : n;
  const [aLane, bLane, cLane] = n === 1 ? [ars, 0, ldc] : [0, bcs, 1];
  // biome-ignore format: the four lanes side by side.
  for (let t = 0; t < lanes; t += 4) {
    const w = Math.min(4, lanes - t);
    const a0 = a.offset + t * aLane, b0 = b.offset + t * bLane, c0 = cOffset + t * cLane;
    // Lanes past the edge re-read lane 0 (and are never stored).
    const a1 = w > 1 ? aLane : 0, a2 = w > 2 ? 2 * aLane : 0, a3 = w > 3 ? 3 * aLane : 0;
    const b1 = w > 1 ? bLane : 0, b2 = w > 2 ? 2 * bLane : 0, b3 = w > 3 ? 3 * bLane : 0;
    let acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
    for (let pc = 0; pc < k; pc += KC) {
      const pEnd = Math.min(k, pc + KC);
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      if (n === 1) {
        // One column: the four lanes share B's element (loaded once).
        for (let p = pc, ai = a0 + pc * acs, bi = b0 + pc * brs; p < pEnd; p++, ai += acs, bi += brs) {
          const bv = bd[bi]!;
          s0 += ad[ai]! * bv; s1 += ad[ai + a1]! * bv; s2 += ad[ai + a2]! * bv; s3 += ad[ai + a3]! * bv;
        }
      } else {
        for (let p = pc, ai = a0 + pc * acs, bi = b0 + pc * brs; p < pEnd; p++, ai += acs, bi += brs) {
          s0 += ad[ai]! * bd[bi]!; s1 += ad[ai + a1]! * bd[bi + b1]!;
          s2 += ad[ai + a2]! * bd[bi + b2]!; s3 += ad[ai + a3]! * bd[bi + b3]!;
        }
      }
      if (pc === 0 && !accumulate) { acc0 = s0; acc1 = s1; acc2 = s2; acc3 = s3; }
      else if (pc === 0) {
        acc0 = c[c0]! + s0;
        acc1 = w > 1 ? c[c0 + cLane]! + s1 : 0;
        acc2 = w > 2 ? c[c0 + 2 * cLane]! + s2 : 0;
        acc3 = w > 3 ? c[c0 + 3 * cLane]! + s3 : 0;
      } else { acc0 += s0; acc1 += s1; acc2 += s2; acc3 += s3; }
    }
    c[c0] = acc0;
    if (w > 1) c[c0 + cLane] = acc1;
    if (w > 2) c[c0 + 2 * cLane] = acc2;
    if (w > 3) c[c0 + 3 * cLane] = acc3;
  }
}

// ---------------------------------------------------------------- blocks of the threaded path

/** The [lo, hi) rows or columns of a job's block. */
export function blockRange(job: GemmJob, chunk: number): [number, number] {
  const extent = job.splitRows ? job.m : job.n;
  const lo = chunk === 0 ? 0 : job.first + (chunk - 1) * job.block;
  return [lo, Math.min(extent, chunk === 0 ? job.first : lo + job.block)];
}

/** Runs one block of a job whose operands are (views of) `a`, `b` and `c` at these offsets. */
export function gemmBlock(
  job: GemmJob,
  chunk: number,
  a: MatView,
  b: MatView,
  c: FloatArr,
  cOffset: number,
  ldc: number,
): void {
  const [lo, hi] = blockRange(job, chunk);
  const len = hi - lo;
  if (len <= 0) return;
  if (job.splitRows) {
    const av = { data: a.data, offset: a.offset + lo * a.rowStride, rowStride: a.rowStride, colStride: a.colStride };
    serialGemm(len, job.n, job.k, av, b, c, cOffset + lo * ldc, ldc, job.accumulate);
  } else {
    const bv = { data: b.data, offset: b.offset + lo * b.colStride, rowStride: b.rowStride, colStride: b.colStride };
    serialGemm(job.m, len, job.k, a, bv, c, cOffset + lo, ldc, job.accumulate);
  }
}

/** What a worker runs: gemmBlock() on the job's shared arrays. */
function runChunk(job: GemmJob, chunk: number): void {
  const a = { data: job.a, offset: job.aOffset, rowStride: job.aRowStride, colStride: job.aColStride };
  const b = { data: job.b, offset: job.bOffset, rowStride: job.bRowStride, colStride: job.bColStride };
  gemmBlock(job, chunk, a, b, job.c as FloatArr, job.cOffset, job.ldc);
}

/** serialGemm() and its helpers as worker source: for jobs whose chunks run their own GEMMs (conv-jobs.ts). */
export const SERIAL_GEMM_SOURCE = [
  `const MR = ${MR}, NR = ${NR}, KC = ${KC}, MC = ${MC}, NC = ${NC}, SMALL_WORK = ${SMALL_WORK}, RETAIN_MAX = ${RETAIN_MAX};`,
  'let accScratch = new Float64Array(0);',
  'const packScratch = { a: [], b: [] };',
  `const tile = new Float64Array(${MR * NR});`,
  ...[
    scratchF64,
    packBuffer,
    serialGemm,
    smallGemm,
    outerGemm,
    dotGemm,
    blocked,
    storeEdge,
    kernel4x4Add,
    kernel4x4Store,
    kernel4x4StoreF32,
    packPanels,
  ].map(String),
].join('\n');

/** The threaded GEMM's worker source: serialGemm() and the block runner. */
export const GEMM_BLOCK_SOURCE = [SERIAL_GEMM_SOURCE, ...[blockRange, gemmBlock, runChunk].map(String)].join('\n');
