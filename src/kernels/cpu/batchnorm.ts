// CPU kernels of the fused training-mode batch normalisation (statistics, normalise, the two
// backward reductions) and of LeakyReLU and its gradient.
import type { Kernel, KernelInput } from '../../tensor/backend.js';
import type { DType } from '../../tensor/dtype.js';
import { type Arr, alloc, wordsOf } from './util.js';

/** x [N, C, ...] as N x C x S (S = the product of the trailing axes; 1 for [N, C]). */
function geometry(x: KernelInput): { n: number; c: number; s: number } {
  const n = x.shape[0]!;
  const c = x.shape[1]!;
  let s = 1;
  for (let d = 2; d < x.shape.length; d++) s *= x.shape[d]!;
  return { n, c, s };
}

/** Rounding to the output dtype: each composite op stores its float64 result into the tensor's dtype. */
const rounder = (dtype: DType): ((v: number) => number) => (dtype === 'float32' ? Math.fround : (v) => v);

// Row helpers: each kernel walks x as N x C rows of S contiguous values and calls one helper per
// row. Why helpers, and one per dtype: V8 optimises a small function called thousands of times
// within the first kernel call, where a kernel-sized loop waits for on-stack replacement (the
// fused kernels measured 5-10x slower for the first training steps), and a helper that only ever
// sees float32 (Math.fround inline) or float64 arrays stays monomorphic.

function sumRow(xd: Arr, base: number, s: number, t: number): number {
  for (let k = 0; k < s; k++) t += xd[base + k]!;
  return t;
}

function sqRow32(xd: Arr, base: number, s: number, mu: number, t: number): number {
  for (let k = 0; k < s; k++) {
    const d = Math.fround(xd[base + k]! - mu);
    t += Math.fround(d * d);
  }
  return t;
}

function sqRow64(xd: Arr, base: number, s: number, mu: number, t: number): number {
  for (let k = 0; k < s; k++) {
    const d = xd[base + k]! - mu;
    t += d * d;
  }
  return t;
}

function normRow32(xd: Arr, y: Arr, base: number, s: number, mu: number, rc: number, wc: number, bc: number): void {
  for (let k = 0; k < s; k++) {
    y[base + k] = Math.fround(Math.fround(Math.fround(xd[base + k]! - mu) * rc) * wc) + bc;
  }
}

function normRow64(xd: Arr, y: Arr, base: number, s: number, mu: number, rc: number, wc: number, bc: number): void {
  for (let k = 0; k < s; k++) y[base + k] = (xd[base + k]! - mu) * rc * wc + bc;
}

/** Non-affine rows: x * 1 + 0 would be the same value except for -0, which the composite keeps. */
function plainRow32(xd: Arr, y: Arr, base: number, s: number, mu: number, rc: number): void {
  for (let k = 0; k < s; k++) y[base + k] = Math.fround(xd[base + k]! - mu) * rc;
}

function plainRow64(xd: Arr, y: Arr, base: number, s: number, mu: number, rc: number): void {
  for (let k = 0; k < s; k++) y[base + k] = (xd[base + k]! - mu) * rc;
}

/** sums[0] += sum g xhat (xhat rounded as the forward rounds it, each product rounded), sums[1] += sum g. */
function paramRow32(xd: Arr, gd: Arr, base: number, s: number, mu: number, rc: number, sums: Float64Array): void {
  let a = sums[0]!;
  let b = sums[1]!;
  for (let k = 0; k < s; k++) {
    const gv = gd[base + k]!;
    a += Math.fround(gv * Math.fround(Math.fround(xd[base + k]! - mu) * rc));
    b += gv;
  }
  sums[0] = a;
  sums[1] = b;
}

function paramRow64(xd: Arr, gd: Arr, base: number, s: number, mu: number, rc: number, sums: Float64Array): void {
  let a = sums[0]!;
  let b = sums[1]!;
  for (let k = 0; k < s; k++) {
    const gv = gd[base + k]!;
    a += gv * ((xd[base + k]! - mu) * rc);
    b += gv;
  }
  sums[0] = a;
  sums[1] = b;
}

/** sums[o..o+3] += sum d, sum d^2, sum g, sum g d, with d = x - mu in float64. */
function backwardSumsRow(xd: Arr, gd: Arr, base: number, s: number, mu: number, sums: Float64Array, o: number): void {
  let a = sums[o]!;
  let a2 = sums[o + 1]!;
  let b = sums[o + 2]!;
  let b2 = sums[o + 3]!;
  for (let k = 0; k < s; k++) {
    const d = xd[base + k]! - mu;
    const gv = gd[base + k]!;
    a += d;
    a2 += d * d;
    b += gv;
    b2 += gv * d;
  }
  sums[o] = a;
  sums[o + 1] = a2;
  sums[o + 2] = b;
  sums[o + 3] = b2;
}

function backwardRow(
  xd: Arr,
  gd: Arr,
  y: Arr,
  base: number,
  s: number,
  shift: number,
  scale: number,
  mg: number,
  q: number,
): void {
  for (let k = 0; k < s; k++) y[base + k] = scale * (gd[base + k]! - mg - (xd[base + k]! - shift) * q);
}

/**
 * mean and biased variance per channel, with the composite's numerics (src/nn/layers.ts):
 * mean = R(R(sum x) * R(1/m)) and var = R(R(sum R(R(x - mean)^2)) * R(1/m)), m = N S, each sum in
 * float64 in increasing index order as the reduce kernel adds, R = rounding to the dtype: the same
 * bits as mean(x) and mean(square(sub(x, mean))). Two passes over x (the variance needs the mean).
 */
export const batchNormStats: Kernel<'batchNormStats'> = (inputs, _p, out) => {
  const x = inputs[0]!;
  const xd = x.data as Arr;
  const { n, c, s } = geometry(x);
  const R = rounder(out.dtype);
  const sqRow = out.dtype === 'float32' ? sqRow32 : sqRow64;
  const inv = R(1 / (n * s));
  const acc = new Float64Array(c);
  for (let i = 0, base = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++, base += s) acc[ch] = sumRow(xd, base, s, acc[ch]!);
  }
  const mean = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) mean[ch] = R(R(acc[ch]!) * inv);
  acc.fill(0);
  for (let i = 0, base = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++, base += s) acc[ch] = sqRow(xd, base, s, mean[ch]!, acc[ch]!);
  }
  const y = alloc(out.dtype, out.shape, false);
  for (let ch = 0; ch < c; ch++) {
    y[ch] = mean[ch]!;
    y[c + ch] = R(R(acc[ch]!) * inv);
  }
  return y;
};

/** R(1 / sqrt(R(var + R(eps)))) per channel: the composite's rsqrt(add(var, eps)). */
function rstdOf(stats: Arr, c: number, eps: number, R: (v: number) => number): Float64Array {
  const r = new Float64Array(c);
  const e = R(eps);
  for (let ch = 0; ch < c; ch++) r[ch] = R(1 / Math.sqrt(R(stats[c + ch]! + e)));
  return r;
}

/**
 * y = R(R(x - mean) * rstd), then R(R(y * w) + b) when affine: the composite's rounding after
 * every op, so the result has the composite's bits. One pass.
 */
export const batchNorm: Kernel<'batchNorm'> = (inputs, { eps }, out) => {
  const [x, st, w, b] = inputs as [KernelInput, KernelInput, KernelInput | undefined, KernelInput | undefined];
  const xd = x.data as Arr;
  const stats = st.data as Arr;
  const { n, c, s } = geometry(x);
  const f32 = out.dtype === 'float32';
  const r = rstdOf(stats, c, eps, rounder(out.dtype));
  const y = alloc(out.dtype, out.shape, false);
  const wd = w?.data as Arr | undefined;
  const bd = b?.data as Arr | undefined;
  const normRow = f32 ? normRow32 : normRow64;
  const plainRow = f32 ? plainRow32 : plainRow64;
  for (let i = 0, base = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++, base += s) {
      if (wd === undefined || bd === undefined) plainRow(xd, y, base, s, stats[ch]!, r[ch]!);
      else normRow(xd, y, base, s, stats[ch]!, r[ch]!, wd[ch]!, bd[ch]!);
    }
  }
  return y;
};

/**
 * dx = w rstd (g - mean(g) - xhat mean(g xhat)), the closed form of the gradient through the
 * normalisation and both statistics, in float64 and rounded once. The statistics are recomputed
 * here in float64, from d = x - mean (exact in float64 for float32 inputs, and with no cancellation
 * against a large mean): delta = mean(d), var = mean(d^2) - delta^2, in one pass with sum g and
 * sum g d. Why not the float32 stats: where the channel's spread is small against its mean, their
 * rounding moves xhat by many ulp, and dx = the gradient of the exact function then came out ~20
 * ulp (of the terms' scale) from it; now a few ulp. Not bitwise equal to the composite (which
 * rounds after each of its ~15 ops and sums its terms in the order autodiff meets them); tested
 * against the float64 composite. Two passes: the per-channel sums, then dx.
 */
export const batchNormBackward: Kernel<'batchNormBackward'> = (inputs, { eps }, out) => {
  const [x, st, g, w] = inputs as [KernelInput, KernelInput, KernelInput, KernelInput | undefined];
  const xd = x.data as Arr;
  const gd = g.data as Arr;
  const stats = st.data as Arr;
  const { n, c, s } = geometry(x);
  const sums = new Float64Array(4 * c);
  for (let i = 0, base = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++, base += s) backwardSumsRow(xd, gd, base, s, stats[ch]!, sums, 4 * ch);
  }
  const m = n * s;
  const e = rounder(out.dtype)(eps);
  const y = alloc(out.dtype, out.shape, false);
  const wd = w?.data as Arr | undefined;
  const shift = new Float64Array(c);
  const scale = new Float64Array(c);
  const mg = new Float64Array(c);
  const q = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    const [sd, sdd, sg, sgd] = [sums[4 * ch]!, sums[4 * ch + 1]!, sums[4 * ch + 2]!, sums[4 * ch + 3]!];
    const dl = sd / m;
    const r = 1 / Math.sqrt(Math.max(sdd / m - dl * dl, 0) + e);
    shift[ch] = stats[ch]! + dl;
    scale[ch] = r * (wd === undefined ? 1 : wd[ch]!);
    mg[ch] = sg / m;
    // xhat = (d - delta) rstd, and mean(g xhat) = mean(g (d - delta)) rstd: q = mean(g xhat) rstd.
    q[ch] = ((sgd - dl * sg) / m) * r * r;
  }
  for (let i = 0, base = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++, base += s) backwardRow(xd, gd, y, base, s, shift[ch]!, scale[ch]!, mg[ch]!, q[ch]!);
  }
  return y;
};

/**
 * [2, C] = (sum g * xhat, sum g): the composite's weight and bias gradients with its numerics
 * (xhat = R(R(x - mean) rstd) as the forward rounds it, each product rounded, float64 sums in index
 * order): the same bits. One pass.
 */
export const batchNormParamGrad: Kernel<'batchNormParamGrad'> = (inputs, { eps }, out) => {
  const [x, st, g] = inputs as [KernelInput, KernelInput, KernelInput];
  const xd = x.data as Arr;
  const gd = g.data as Arr;
  const stats = st.data as Arr;
  const { n, c, s } = geometry(x);
  const r = rstdOf(stats, c, eps, rounder(out.dtype));
  const paramRow = out.dtype === 'float32' ? paramRow32 : paramRow64;
  const sums = new Float64Array(2 * c);
  const pair = new Float64Array(2);
  for (let i = 0, base = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++, base += s) {
      pair[0] = sums[ch]!;
      pair[1] = sums[c + ch]!;
      paramRow(xd, gd, base, s, stats[ch]!, r[ch]!, pair);
      sums[ch] = pair[0];
      sums[c + ch] = pair[1];
    }
  }
  const y = alloc(out.dtype, out.shape, false);
  y.set(sums);
  return y;
};

/** Elements per call of the LeakyReLU helpers (small functions V8 optimises early; see above). */
const CHUNK = 4096;

/**
 * v * k[+(x > 0)] with k = [slope, 1]: a table load picks the factor, no branch (on activations
 * with random signs a mispredicted branch per element costs 3-5x). v * 1 is v exactly (inf and NaN
 * included), and v * slope rounds once to the dtype as the composite's mul does; NaN x compares
 * false and takes the slope side, as where(gt(x, 0), ...) does.
 */
function leakyChunk(xd: Arr, vd: Arr, y: Arr, i0: number, i1: number, k: Float64Array): void {
  for (let i = i0; i < i1; i++) y[i] = vd[i]! * k[+(xd[i]! > 0)]!;
}

/**
 * The slope-0 gradient must be exactly +0 where x <= 0 (ReLU's where(x > 0, g, 0)), which g * 0 is
 * not for g = inf, NaN or negative: the 32-bit words of g masked by -(x > 0) instead (two words
 * per float64 element).
 */
function maskChunk32(xd: Arr, gw: Int32Array, yw: Int32Array, i0: number, i1: number): void {
  for (let i = i0; i < i1; i++) yw[i] = gw[i]! & -(xd[i]! > 0);
}

function maskChunk64(xd: Arr, gw: Int32Array, yw: Int32Array, i0: number, i1: number): void {
  for (let i = i0; i < i1; i++) {
    const m = -(xd[i]! > 0);
    yw[2 * i] = gw[2 * i]! & m;
    yw[2 * i + 1] = gw[2 * i + 1]! & m;
  }
}

/** y = v where x > 0, else v * slope (v = x forward, v = g backward); `zero`: +0 instead of g * 0. */
function leakyMap(xd: Arr, vd: Arr, y: Arr, slope: number, dtype: DType, zero: boolean): Arr {
  const n = xd.length;
  if (zero) {
    const [gw, yw] = [wordsOf(vd), wordsOf(y)];
    const mask = dtype === 'float32' ? maskChunk32 : maskChunk64;
    for (let i0 = 0; i0 < n; i0 += CHUNK) mask(xd, gw, yw, i0, Math.min(n, i0 + CHUNK));
    return y;
  }
  const k = Float64Array.of(rounder(dtype)(slope), 1);
  for (let i0 = 0; i0 < n; i0 += CHUNK) leakyChunk(xd, vd, y, i0, Math.min(n, i0 + CHUNK), k);
  return y;
}

/** x where x > 0, else x * slope, branch-free (see leakyChunk). */
export const leakyRelu: Kernel<'leakyRelu'> = (inputs, { slope }, out) => {
  const xd = inputs[0]!.data as Arr;
  return leakyMap(xd, xd, alloc(out.dtype, out.shape, false), slope, out.dtype, false);
};

/** g where x > 0, else g * slope; with slope 0 exactly +0 (the ReLU gradient). */
export const leakyReluBackward: Kernel<'leakyReluBackward'> = (inputs, { slope }, out) => {
  const xd = inputs[0]!.data as Arr;
  const gd = inputs[1]!.data as Arr;
  return leakyMap(xd, gd, alloc(out.dtype, out.shape, false), slope, out.dtype, slope === 0);
};
