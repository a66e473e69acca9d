// CPU kernels of the fused training-mode batch normalisation (statistics, normalise, the two
// backward reductions) and of LeakyReLU and its gradient, split across the CPU threads.
import type { Kernel, KernelInput } from '../../tensor/backend.js';
import {
  cpuThreads,
  isSharedBuffer,
  type Job,
  type JobSource,
  parallelChunks,
  type SharedArr,
  sharedArrayLike,
} from './threads.js';
import { type Arr, alloc, wordsOf } from './util.js';

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

// ---------------------------------------------------------------- the work, by channel or element range
// Channel ranges keep each channel's sums over the batch in index order, so a split between
// threads never changes a bit. These (with the row helpers) are also the workers' source.

/**
 * mean and biased variance per channel, with the composite's numerics (src/nn/layers.ts):
 * mean = R(R(sum x) * R(1/m)) and var = R(R(sum R(R(x - mean)^2)) * R(1/m)), m = N S, each sum in
 * float64 in increasing index order as the reduce kernel adds, R = rounding to the dtype: the same
 * bits as mean(x) and mean(square(sub(x, mean))). Two passes over x (the variance needs the mean).
 */
function statsChannels(job: NormJob, lo: number, hi: number): void {
  const { x: xd, y, n, c, s, f32 } = job;
  const R = (v: number) => (f32 ? Math.fround(v) : v);
  const sqRow = f32 ? sqRow32 : sqRow64;
  const inv = R(1 / (n * s));
  for (let ch = lo; ch < hi; ch++) {
    let t = 0;
    for (let i = 0; i < n; i++) t = sumRow(xd, (i * c + ch) * s, s, t);
    const mean = R(R(t) * inv);
    t = 0;
    for (let i = 0; i < n; i++) t = sqRow(xd, (i * c + ch) * s, s, mean, t);
    y[ch] = mean;
    y[c + ch] = R(R(t) * inv);
  }
}

/** R(1 / sqrt(R(var + R(eps)))) of channel ch: the composite's rsqrt(add(var, eps)). */
function rstdOf(job: NormJob, ch: number): number {
  const R = (v: number) => (job.f32 ? Math.fround(v) : v);
  return R(1 / Math.sqrt(R(job.st[job.c + ch]! + R(job.eps))));
}

/**
 * y = R(R(x - mean) * rstd), then R(R(y * w) + b) when affine: the composite's rounding after
 * every op, so the result has the composite's bits. One pass.
 */
function normChannels(job: NormJob, lo: number, hi: number): void {
  const { x: xd, st, w, b, y, n, c, s, f32 } = job;
  const normRow = f32 ? normRow32 : normRow64;
  const plainRow = f32 ? plainRow32 : plainRow64;
  for (let ch = lo; ch < hi; ch++) {
    const r = rstdOf(job, ch);
    for (let i = 0; i < n; i++) {
      const base = (i * c + ch) * s;
      if (job.affine) normRow(xd, y, base, s, st[ch]!, r, w[ch]!, b[ch]!);
      else plainRow(xd, y, base, s, st[ch]!, r);
    }
  }
}

/**
 * dx = w rstd (g - mean(g) - xhat mean(g xhat)), the closed form of the gradient through the
 * normalisation and both statistics, in float64 and rounded once. The statistics are recomputed
 * here in float64, from d = x - mean (exact in float64 for float32 inputs, and with no cancellation
 * against a large mean): delta = mean(d), var = mean(d^2) - delta^2, in one pass with sum g and
 * sum g d. Why not the float32 stats: where the channel's spread is small against its mean, their
 * rounding moves xhat by many ulp, and dx = the gradient of the exact function then came out ~20
 * ulp (of the terms' scale) from it; now a few ulp. Not bitwise equal to the composite (which
 * rounds after each of its ~15 ops and sums its terms in the order autodiff meets them); tested
 * against the float64 composite. Two passes: the channel's sums, then its dx.
 */
function backwardChannels(job: NormJob, lo: number, hi: number): void {
  const { x: xd, st, g: gd, w, y, n, c, s } = job;
  const m = n * s;
  const e = job.f32 ? Math.fround(job.eps) : job.eps;
  const sums = new Float64Array(4);
  for (let ch = lo; ch < hi; ch++) {
    sums.fill(0);
    for (let i = 0; i < n; i++) backwardSumsRow(xd, gd, (i * c + ch) * s, s, st[ch]!, sums, 0);
    const dl = sums[0]! / m;
    const r = 1 / Math.sqrt(Math.max(sums[1]! / m - dl * dl, 0) + e);
    const scale = r * (job.affine ? w[ch]! : 1);
    // xhat = (d - delta) rstd, and mean(g xhat) = mean(g (d - delta)) rstd: q = mean(g xhat) rstd.
    const q = ((sums[3]! - dl * sums[2]!) / m) * r * r;
    for (let i = 0; i < n; i++) backwardRow(xd, gd, y, (i * c + ch) * s, s, st[ch]! + dl, scale, sums[2]! / m, q);
  }
}

/**
 * [2, C] = (sum g * xhat, sum g): the composite's weight and bias gradients with its numerics
 * (xhat = R(R(x - mean) rstd) as the forward rounds it, each product rounded, float64 sums in index
 * order): the same bits. One pass.
 */
function paramChannels(job: NormJob, lo: number, hi: number): void {
  const { x: xd, st, g: gd, y, n, c, s } = job;
  const paramRow = job.f32 ? paramRow32 : paramRow64;
  const pair = new Float64Array(2);
  for (let ch = lo; ch < hi; ch++) {
    const r = rstdOf(job, ch);
    pair.fill(0);
    for (let i = 0; i < n; i++) paramRow(xd, gd, (i * c + ch) * s, s, st[ch]!, r, pair);
    y[ch] = pair[0]!;
    y[c + ch] = pair[1]!;
  }
}

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

/** y = v where x > 0, else v * slope (v = x forward, v = g backward) over elements [lo, hi). */
function leakyElements(job: NormJob, lo: number, hi: number): void {
  const k = Float64Array.of(job.f32 ? Math.fround(job.slope) : job.slope, 1);
  for (let i0 = lo; i0 < hi; i0 += CHUNK) leakyChunk(job.x, job.g, job.y, i0, Math.min(hi, i0 + CHUNK), k);
}

/** The slope-0 gradient over elements [lo, hi): g and y are the 32-bit words of the gradient and result. */
function maskElements(job: NormJob, lo: number, hi: number): void {
  const mask = job.f32 ? maskChunk32 : maskChunk64;
  const [gw, yw] = [job.g as Int32Array, job.y as Int32Array];
  for (let i0 = lo; i0 < hi; i0 += CHUNK) mask(job.x, gw, yw, i0, Math.min(hi, i0 + CHUNK));
}

// ---------------------------------------------------------------- the kernels and their thread split

/** What a job computes (a number: worker source has no imports). */
const STATS = 0;
const NORM = 1;
const BACKWARD = 2;
const PARAM_GRAD = 3;
const LEAKY = 4;
const MASK = 5;

/**
 * A job over x [N, C, S] (N x C rows of S values): `extent` channels, or elements for the LeakyReLU
 * modes, cut into `chunks` equal ranges. st: [mean, var] per channel; g: the incoming gradient (or
 * the values LeakyReLU maps); y: the result (32-bit words for MASK, as g then is).
 */
interface NormJob extends Job {
  mode: number;
  n: number;
  c: number;
  s: number;
  f32: number;
  eps: number;
  slope: number;
  affine: number;
  extent: number;
  chunks: number;
  x: SharedArr;
  g: SharedArr;
  st: SharedArr;
  w: SharedArr;
  b: SharedArr;
  y: SharedArr;
}

function runChunk(job: NormJob, chunk: number): void {
  const per = Math.ceil(job.extent / job.chunks);
  const lo = chunk * per;
  const hi = Math.min(job.extent, lo + per);
  if (job.mode === 0) statsChannels(job, lo, hi);
  else if (job.mode === 1) normChannels(job, lo, hi);
  else if (job.mode === 2) backwardChannels(job, lo, hi);
  else if (job.mode === 3) paramChannels(job, lo, hi);
  else if (job.mode === 4) leakyElements(job, lo, hi);
  else maskElements(job, lo, hi);
}

const ARRAYS = ['x', 'g', 'st', 'w', 'b', 'y'] as const;

const NORM_SOURCE: JobSource = {
  name: 'batchnorm',
  numbers: ['mode', 'n', 'c', 's', 'f32', 'eps', 'slope', 'affine', 'extent', 'chunks'],
  arrays: [...ARRAYS],
  source: [
    `const CHUNK = ${CHUNK};`,
    ...[sumRow, sqRow32, sqRow64, normRow32, normRow64, plainRow32, plainRow64, paramRow32, paramRow64],
    ...[backwardSumsRow, backwardRow, leakyChunk, maskChunk32, maskChunk64, statsChannels, rstdOf],
    ...[normChannels, backwardChannels, paramChannels, leakyElements, maskElements, runChunk],
  ]
    .map(String)
    .join('\n'),
};

/** From this many elements of x, a kernel is split across the threads. */
const PARALLEL_ELEMENTS = 1 << 15;

// Shared copies of the small inputs (statistics, weight, bias) and results ([2, C]) workers need.
const copies: SharedArr[] = [];

function sharedCopy(slot: number, a: Arr): SharedArr {
  if (isSharedBuffer(a.buffer)) return a as SharedArr;
  let kept = copies[slot];
  if (kept === undefined || kept.length < a.length || kept.constructor !== a.constructor) {
    kept = copies[slot] = sharedArrayLike(a, Math.max(a.length, 64));
  }
  const view = kept.subarray(0, a.length);
  view.set(a as never);
  return view;
}

/**
 * Runs a job: across the threads (channel or element ranges; the result is the same bits) when x
 * is large and shared, else here. Absent inputs are given as x (never read).
 */
function run(
  mode: number,
  x: Arr,
  out: Arr,
  inputs: Partial<Record<'g' | 'st' | 'w' | 'b', Arr>>,
  p: Partial<NormJob>,
): Arr {
  const [n, c, s] = [p.n ?? 1, p.c ?? 1, p.s ?? x.length];
  const extent = mode >= LEAKY ? x.length : c;
  const threads = cpuThreads();
  const job = { mode, n, c, s, f32: 0, eps: 0, slope: 0, affine: 0, extent, chunks: 1, ...p } as NormJob;
  for (const f of ARRAYS) job[f] = (f === 'x' ? x : f === 'y' ? out : (inputs[f] ?? x)) as SharedArr;
  if (threads > 1 && x.length >= PARALLEL_ELEMENTS && isSharedBuffer(x.buffer) && extent > 1) {
    job.chunks = Math.min(threads, extent);
    ARRAYS.forEach((f, slot) => {
      job[f] = sharedCopy(slot, job[f]);
    });
    parallelChunks(NORM_SOURCE, job, job.chunks, (chunk) => runChunk(job, chunk));
    if (job.y !== out) out.set(job.y as never);
    return out;
  }
  runChunk(job, 0);
  return out;
}

/** x [N, C, ...] as N x C x S (S = the product of the trailing axes; 1 for [N, C]). */
function geometry(x: KernelInput): { n: number; c: number; s: number } {
  const n = x.shape[0]!;
  const c = x.shape[1]!;
  let s = 1;
  for (let d = 2; d < x.shape.length; d++) s *= x.shape[d]!;
  return { n, c, s };
}

const dataOf = (t: KernelInput | undefined): Arr | undefined => t?.data as Arr | undefined;

export const batchNormStats: Kernel<'batchNormStats'> = (inputs, _p, out) => {
  const x = inputs[0]!;
  const p = { ...geometry(x), f32: +(out.dtype === 'float32') };
  return run(STATS, x.data as Arr, alloc(out.dtype, out.shape, false), {}, p);
};

export const batchNorm: Kernel<'batchNorm'> = (inputs, { eps }, out) => {
  const [x, st, w, b] = inputs as [KernelInput, KernelInput, KernelInput | undefined, KernelInput | undefined];
  const affine = +(w !== undefined && b !== undefined);
  const p = { ...geometry(x), f32: +(out.dtype === 'float32'), eps, affine };
  const y = alloc(out.dtype, out.shape, false);
  return run(NORM, x.data as Arr, y, { st: dataOf(st), w: dataOf(w), b: dataOf(b) }, p);
};

export const batchNormBackward: Kernel<'batchNormBackward'> = (inputs, { eps }, out) => {
  const [x, st, g, w] = inputs as [KernelInput, KernelInput, KernelInput, KernelInput | undefined];
  const p = { ...geometry(x), f32: +(out.dtype === 'float32'), eps, affine: +(w !== undefined) };
  const y = alloc(out.dtype, out.shape, false);
  return run(BACKWARD, x.data as Arr, y, { st: dataOf(st), g: dataOf(g), w: dataOf(w) }, p);
};

export const batchNormParamGrad: Kernel<'batchNormParamGrad'> = (inputs, { eps }, out) => {
  const [x, st, g] = inputs as [KernelInput, KernelInput, KernelInput];
  const p = { ...geometry(x), f32: +(out.dtype === 'float32'), eps };
  const y = alloc(out.dtype, out.shape, false);
  return run(PARAM_GRAD, x.data as Arr, y, { st: dataOf(st), g: dataOf(g) }, p);
};

/** x where x > 0, else x * slope, branch-free (see leakyChunk). */
export const leakyRelu: Kernel<'leakyRelu'> = (inputs, { slope }, out) => {
  const xd = inputs[0]!.data as Arr;
  const f32 = +(out.dtype === 'float32');
  return run(LEAKY, xd, alloc(out.dtype, out.shape, false), { g: xd }, { f32, slope });
};

/** g where x > 0, else g * slope; with slope 0 exactly +0 (the ReLU gradient: see maskChunk32). */
export const leakyReluBackward: Kernel<'leakyReluBackward'> = (inputs, { slope }, out) => {
  const xd = inputs[0]!.data as Arr;
  const gd = inputs[1]!.data as Arr;
  const y = alloc(out.dtype, out.shape, false);
  const f32 = +(out.dtype === 'float32');
  if (slope !== 0) return run(LEAKY, xd, y, { g: gd }, { f32, slope });
  run(MASK, xd, wordsOf(y), { g: wordsOf(gd) }, { f32 });
  return y;
};
