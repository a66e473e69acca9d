// CPU kernels for conv2d and its two backward primitives, as GEMMs over im2col matrices.
import type { Kernel, KernelInput } from '../../tensor/backend.js';
import type { Conv2dParams } from '../../tensor/primitives.js';
import {
  type ConvGeometry,
  convScratch,
  FILTER_GRADIENT,
  FORWARD,
  INPUT_GRADIENT,
  runConvChunks,
} from './conv-jobs.js';
import { gemm } from './gemm.js';
import { KC } from './gemm-serial.js';
import { type FloatArr, rowMajor } from './gemm-types.js';
import { type Arr, alloc } from './util.js';

/**
 * The three convolution primitives as GEMMs over im2col matrices. Per group g, with
 * K = (C / groups) kh kw filter taps and P = oh ow output pixels per image:
 *
 *   conv2d:               Y_g  [og x nb P] = W_g [og x K] * cols(X_g) [K x nb P]
 *   conv2dBackwardInput:  dX_g             = col2im(W_g^T [K x og] * dY_g [og x nb P])
 *   conv2dBackwardFilter: dW_g [og x K]   += dY_g [og x nb P] * cols(X_g)^T [nb P x K]
 *
 * where nb images of the batch sit side by side in the column matrix: enough for large GEMMs, few
 * enough that the chunk's matrices stay in cache (COLUMN_BUDGET). conv-jobs.ts runs the chunks,
 * each whole on one thread; the chunking depends only on the shapes, so results never depend on
 * the thread count.
 *
 * A 1x1 filter with stride 1 and no padding needs no im2col: each image is its own [C x H W]
 * column matrix and goes straight to GEMM. Nor does a filter that covers the whole unpadded image
 * (one output pixel: the DCGAN's 7x7 conv to a logit and its 1x1 -> 7x7 transposed conv): each
 * image's column is the image itself in (c, ky, kx) order, so the batch is one [N x K] matrix and
 * all three primitives are single GEMMs (same sums over K as the im2col path).
 */

/** Elements (float64) of one chunk's column and output matrices together: 2^18 = 2 MiB, one L2 cache. */
const COLUMN_BUDGET = 1 << 18;

interface Geometry extends ConvGeometry {
  /** The column matrix is the image itself. */
  pointwise: boolean;
  /** The filter covers the whole unpadded image: one output pixel whose column is the image. */
  dense: boolean;
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
  const og = o / prm.groups;
  // Chunks of the batch: within the budget, and a multiple of 4 where the batch allows (they are
  // spread over the threads whole).
  const perBudget = Math.max(1, Math.floor(COLUMN_BUDGET / Math.max(1, (k + og) * p)));
  const nb = Math.ceil(n / Math.max(1, Math.min(n, Math.ceil(Math.ceil(n / perBudget) / 4) * 4)));
  const g: Geometry = {
    n,
    c,
    o,
    groups: prm.groups,
    og,
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
    nb,
    chunks: nb === 0 ? 0 : Math.ceil(n / nb),
    perImage: +(k < p),
    forwardPerImage: +(k < p && k <= KC),
  };
  return g;
}

const data = (t: KernelInput): Arr => t.data as Arr;

export const conv2d: Kernel<'conv2d'> = (inputs, prm, out) => {
  const [x, w] = inputs as [KernelInput, KernelInput];
  const g = geometry(x.shape, w.shape, out.shape, prm);
  const xd = data(x);
  const wd = data(w);
  const y = alloc(out.dtype, out.shape, false) as FloatArr; // every element is written
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
  runConvChunks(FORWARD, g, xd, wd, y);
  return y;
};

export const conv2dBackwardInput: Kernel<'conv2dBackwardInput'> = (inputs, prm, out) => {
  const [dy, w] = inputs as [KernelInput, KernelInput];
  const g = geometry(prm.inputShape, w.shape, dy.shape, prm);
  const dyd = data(dy);
  const wd = data(w);
  const dx = alloc(out.dtype, out.shape, false) as FloatArr; // every element is written
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
  runConvChunks(INPUT_GRADIENT, g, dx, wd, dyd);
  return dx;
};

export const conv2dBackwardFilter: Kernel<'conv2dBackwardFilter'> = (inputs, prm, out) => {
  const [x, dy] = inputs as [KernelInput, KernelInput];
  const g = geometry(x.shape, prm.filterShape, dy.shape, prm);
  const xd = data(x);
  const dyd = data(dy);
  const dw = alloc(out.dtype, out.shape) as FloatArr;
  if (!g.dense && !g.pointwise) {
    runConvChunks(FILTER_GRADIENT, g, xd, dw, dyd);
    return dw;
  }
  // The batch sum accumulates in float64; float32 results are rounded once at the end.
  const acc = dw instanceof Float64Array ? dw : convScratch(2, dw.length).fill(0, 0, dw.length);
  if (g.dense) {
    // dW_g [og x K] = dY_g^T [og x N] * X_g [N x K].
    for (let gi = 0; gi < g.groups; gi++) {
      const xView = { data: xd, offset: gi * g.channels * g.hw, rowStride: g.c * g.hw, colStride: 1 };
      gemm(g.og, g.k, g.n, rowMajor(dyd, gi * g.og, g.o, true), xView, acc, gi * g.og * g.k, g.k, true);
    }
  } else {
    for (let b = 0; b < g.n; b++) {
      for (let gi = 0; gi < g.groups; gi++) {
        const xT = rowMajor(xd, (b * g.c + gi * g.channels) * g.hw, g.hw, true);
        const dyView = rowMajor(dyd, (b * g.o + gi * g.og) * g.p, g.p);
        gemm(g.og, g.k, g.p, dyView, xT, acc, gi * g.og * g.k, g.k, true);
      }
    }
  }
  if (acc !== dw) dw.set(acc.subarray(0, dw.length));
  return dw;
};
