// CPU kernels for conv2d and its two backward primitives, as GEMMs over im2col matrices.
import type { Kernel, KernelInput } from '../../tensor/backend.js';
import type { Conv2dParams } from '../../tensor/primitives.js';
import { type FloatArr, gemm, RETAIN_MAX, rowMajor } from './gemm.js';
import { type ColGeometry, columnsForImages } from './im2col.js';
import { cpuThreads, isSharedBuffer, sharedArrayLike } from './threads.js';
import { type Arr, alloc } from './util.js';

/**
 * The three convolution primitives as GEMMs over im2col matrices. Per group g, with
 * K = (C / groups) kh kw filter taps and P = oh ow output pixels per image:
 *
 *   conv2d:               Y_g  [og x nb P] = W_g [og x K] * cols(X_g) [K x nb P]
 *   conv2dBackwardInput:  dX_g             = col2im(W_g^T [K x og] * dY_g [og x nb P])
 *   conv2dBackwardFilter: dW_g [og x K]   += dY_g [og x nb P] * cols(X_g)^T [nb P x K]
 *
 * where nb images of the batch sit side by side in the column matrix: enough for large GEMMs (and
 * the threaded GEMM path), few enough to bound its memory (COLUMN_BUDGET). The chunking depends
 * only on the shapes, so results never depend on the thread count.
 *
 * A 1x1 filter with stride 1 and no padding needs no im2col: each image is its own [C x H W]
 * column matrix and goes straight to GEMM. Nor does a filter that covers the whole unpadded image
 * (one output pixel: the DCGAN's 7x7 conv to a logit and its 1x1 -> 7x7 transposed conv): each
 * image's column is the image itself in (c, ky, kx) order, so the batch is one [N x K] matrix and
 * all three primitives are single GEMMs (same sums over K as the im2col path).
 */

/** Elements (float64) of one chunk's column matrix: 2^18 = 2 MiB, about one L2 cache. */
const COLUMN_BUDGET = 1 << 18;

// Working buffers, grown on demand and reused across calls (fresh large arrays cost page faults).
const buffers: Record<'cols' | 'out' | 'acc', Float64Array> = {
  cols: new Float64Array(0),
  out: new Float64Array(0),
  acc: new Float64Array(0),
};

// With worker threads on they live in SharedArrayBuffers: the threaded GEMM and im2col / col2im
// then hand them to the workers in place instead of copying them for every chunk.
function buffer(which: 'cols' | 'out' | 'acc', size: number): Float64Array {
  const shared = cpuThreads() > 1;
  const kept = buffers[which];
  if (kept.length >= size && (!shared || isSharedBuffer(kept.buffer))) return kept;
  const fresh = shared ? (sharedArrayLike(kept, size) as Float64Array) : new Float64Array(size);
  if (size <= RETAIN_MAX) buffers[which] = fresh;
  return fresh;
}

interface Geometry extends ColGeometry {
  n: number;
  /** Total input and output channels. */
  c: number;
  o: number;
  groups: number;
  /** Output channels per group. */
  og: number;
  /** Rows of the column matrix (taps per output channel) and its columns per image (output pixels). */
  k: number;
  p: number;
  /** Pixels per input image plane. */
  hw: number;
  /** The column matrix is the image itself. */
  pointwise: boolean;
  /** The filter covers the whole unpadded image: one output pixel whose column is the image. */
  dense: boolean;
  /** Images per chunk. */
  nb: number;
}

function geometry(xShape: readonly number[], wShape: readonly number[], yShape: readonly number[], prm: Conv2dParams) {
  const [n, c, h, w] = xShape as [number, number, number, number];
  const [o, cg, kh, kw] = wShape as [number, number, number, number];
  const oh = yShape[2]!;
  const ow = yShape[3]!;
  const [sh, sw] = prm.stride;
  const [ph, pw] = prm.padding;
  const [dh, dw] = prm.dilation;
  const k = cg * kh * kw;
  const p = oh * ow;
  const g: Geometry = {
    n,
    c,
    o,
    groups: prm.groups,
    og: o / prm.groups,
    channels: cg,
    h,
    w,
    kh,
    kw,
    oh,
    ow,
    sh,
    sw,
    ph,
    pw,
    dh,
    dw,
    k,
    p,
    hw: h * w,
    pointwise: kh === 1 && kw === 1 && sh === 1 && sw === 1 && ph === 0 && pw === 0,
    dense: kh === h && kw === w && oh === 1 && ow === 1 && ph === 0 && pw === 0 && dh === 1 && dw === 1,
    nb: Math.max(1, Math.min(n, Math.floor(COLUMN_BUDGET / Math.max(1, k * p)))),
  };
  return g;
}

const data = (t: KernelInput): Arr => t.data as Arr;

/** cols [K x nb P] for group gi of images b0 .. b0 + nb - 1. */
function fillColumns(xd: Arr, g: Geometry, b0: number, nb: number, gi: number, cols: Float64Array): void {
  columnsForImages(true, xd, (b0 * g.c + gi * g.channels) * g.hw, g.c * g.hw, g, cols, g.p, nb * g.p, nb);
}

/** dY_g [og x nb P] for images b0 .. b0 + nb - 1, gathered from the [N, O, P] gradient. */
function gatherOutput(dyd: Arr, g: Geometry, b0: number, nb: number, gi: number, dst: Float64Array): void {
  const ld = nb * g.p;
  for (let o = 0; o < g.og; o++) {
    for (let i = 0; i < nb; i++) {
      const s = ((b0 + i) * g.o + gi * g.og + o) * g.p;
      dst.set(dyd.subarray(s, s + g.p), o * ld + i * g.p);
    }
  }
}

export const conv2d: Kernel<'conv2d'> = (inputs, prm, out) => {
  const [x, w] = inputs as [KernelInput, KernelInput];
  const g = geometry(x.shape, w.shape, out.shape, prm);
  const xd = data(x);
  const wd = data(w);
  const y = alloc(out.dtype, out.shape) as FloatArr;
  if (g.dense) {
    // Y [N x og] (row stride O) = X_g [N x K] * W_g^T [K x og].
    for (let gi = 0; gi < g.groups; gi++) {
      const xView = { data: xd, offset: gi * g.channels * g.hw, rowStride: g.c * g.hw, colStride: 1 };
      gemm(g.n, g.og, g.k, xView, rowMajor(wd, gi * g.og * g.k, g.k, true), y, gi * g.og, g.o, false);
    }
    return y;
  }
  if (g.pointwise) {
    for (let b = 0; b < g.n; b++) {
      for (let gi = 0; gi < g.groups; gi++) {
        const xView = rowMajor(xd, (b * g.c + gi * g.channels) * g.hw, g.hw);
        const yOff = (b * g.o + gi * g.og) * g.p;
        gemm(g.og, g.p, g.k, rowMajor(wd, gi * g.og * g.k, g.k), xView, y, yOff, g.p, false);
      }
    }
    return y;
  }
  const cols = buffer('cols', g.k * g.nb * g.p);
  const yc = buffer('out', g.og * g.nb * g.p);
  for (let b0 = 0; b0 < g.n; b0 += g.nb) {
    const nb = Math.min(g.nb, g.n - b0);
    const ld = nb * g.p;
    for (let gi = 0; gi < g.groups; gi++) {
      fillColumns(xd, g, b0, nb, gi, cols);
      gemm(g.og, ld, g.k, rowMajor(wd, gi * g.og * g.k, g.k), rowMajor(cols, 0, ld), yc, 0, ld, false);
      // Scatter [og x nb P] into [nb, O, P].
      for (let o = 0; o < g.og; o++) {
        for (let i = 0; i < nb; i++) {
          const s = o * ld + i * g.p;
          y.set(yc.subarray(s, s + g.p), ((b0 + i) * g.o + gi * g.og + o) * g.p);
        }
      }
    }
  }
  return y;
};

export const conv2dBackwardInput: Kernel<'conv2dBackwardInput'> = (inputs, prm, out) => {
  const [dy, w] = inputs as [KernelInput, KernelInput];
  const g = geometry(prm.inputShape, w.shape, dy.shape, prm);
  const dyd = data(dy);
  const wd = data(w);
  const dx = alloc(out.dtype, out.shape) as FloatArr;
  if (g.dense) {
    // dX_g [N x K] (row stride C H W) = dY_g [N x og] * W_g [og x K]; every element is written.
    for (let gi = 0; gi < g.groups; gi++) {
      const dyView = { data: dyd, offset: gi * g.og, rowStride: g.o, colStride: 1 };
      gemm(g.n, g.k, g.og, dyView, rowMajor(wd, gi * g.og * g.k, g.k), dx, gi * g.channels * g.hw, g.c * g.hw, false);
    }
    return dx;
  }
  if (g.pointwise) {
    for (let b = 0; b < g.n; b++) {
      for (let gi = 0; gi < g.groups; gi++) {
        const wT = rowMajor(wd, gi * g.og * g.k, g.k, true);
        const dyView = rowMajor(dyd, (b * g.o + gi * g.og) * g.p, g.p);
        gemm(g.k, g.p, g.og, wT, dyView, dx, (b * g.c + gi * g.channels) * g.hw, g.p, false);
      }
    }
    return dx;
  }
  const chw = g.c * g.hw;
  const cols = buffer('cols', g.k * g.nb * g.p);
  const dyc = buffer('out', g.og * g.nb * g.p);
  // col2im sums several taps into one pixel: do that in float64 even for float32 outputs.
  const acc = dx instanceof Float64Array ? null : buffer('acc', g.nb * chw);
  for (let b0 = 0; b0 < g.n; b0 += g.nb) {
    const nb = Math.min(g.nb, g.n - b0);
    const ld = nb * g.p;
    const target = acc ?? (dx as Float64Array);
    const base = acc === null ? b0 * chw : 0;
    if (acc !== null) acc.fill(0, 0, nb * chw);
    for (let gi = 0; gi < g.groups; gi++) {
      gatherOutput(dyd, g, b0, nb, gi, dyc);
      gemm(g.k, ld, g.og, rowMajor(wd, gi * g.og * g.k, g.k, true), rowMajor(dyc, 0, ld), cols, 0, ld, false);
      columnsForImages(false, target, base + gi * g.channels * g.hw, chw, g, cols, g.p, ld, nb);
    }
    if (acc !== null) dx.set(acc.subarray(0, nb * chw), b0 * chw);
  }
  return dx;
};

export const conv2dBackwardFilter: Kernel<'conv2dBackwardFilter'> = (inputs, prm, out) => {
  const [x, dy] = inputs as [KernelInput, KernelInput];
  const g = geometry(x.shape, prm.filterShape, dy.shape, prm);
  const xd = data(x);
  const dyd = data(dy);
  const dw = alloc(out.dtype, out.shape) as FloatArr;
  // The batch sum accumulates in float64; float32 results are rounded once at the end.
  const acc = dw instanceof Float64Array ? dw : new Float64Array(dw.length);
  if (g.dense) {
    // dW_g [og x K] = dY_g^T [og x N] * X_g [N x K].
    for (let gi = 0; gi < g.groups; gi++) {
      const xView = { data: xd, offset: gi * g.channels * g.hw, rowStride: g.c * g.hw, colStride: 1 };
      gemm(g.og, g.k, g.n, rowMajor(dyd, gi * g.og, g.o, true), xView, acc, gi * g.og * g.k, g.k, true);
    }
  } else if (g.pointwise) {
    for (let b = 0; b < g.n; b++) {
      for (let gi = 0; gi < g.groups; gi++) {
        const xT = rowMajor(xd, (b * g.c + gi * g.channels) * g.hw, g.hw, true);
        const dyView = rowMajor(dyd, (b * g.o + gi * g.og) * g.p, g.p);
        gemm(g.og, g.k, g.p, dyView, xT, acc, gi * g.og * g.k, g.k, true);
      }
    }
  } else {
    const cols = buffer('cols', g.k * g.nb * g.p);
    const dyc = buffer('out', g.og * g.nb * g.p);
    for (let b0 = 0; b0 < g.n; b0 += g.nb) {
      const nb = Math.min(g.nb, g.n - b0);
      const ld = nb * g.p;
      for (let gi = 0; gi < g.groups; gi++) {
        fillColumns(xd, g, b0, nb, gi, cols);
        gatherOutput(dyd, g, b0, nb, gi, dyc);
        gemm(g.og, g.k, ld, rowMajor(dyc, 0, ld), rowMajor(cols, 0, ld, true), acc, gi * g.og * g.k, g.k, true);
      }
    }
  }
  if (acc !== dw) dw.set(acc);
  return dw;
};
