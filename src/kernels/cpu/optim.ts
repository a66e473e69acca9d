/**
 * The CPU backend's fused Adam update (`fusedAdam` of the Backend contract, src/tensor/backend.ts):
 * one pass per parameter instead of about 13 elementwise kernels, each allocating a result. It
 * performs the op path's float32 operations in the same order, rounding after each one as storing
 * it in a Float32Array would (a double operation on float32 inputs, rounded once, is the correctly
 * rounded float32 operation for + - * / and sqrt), so results are bit-identical to the op path
 * (test/optim/fused-cpu.test.ts). The formulas: src/kernels/wgsl/optim.ts.
 *
 * With CPU threads on, large parameters are split into ranges across the threads (elementwise, so
 * the results do not depend on the split).
 */
import type { AdamKernelParams } from '../../tensor/backend.js';
import { cpuThreads, isSharedBuffer, type Job, type JobSource, parallelChunks } from './threads.js';
import { alloc } from './util.js';

/** Parameters of at least this many elements are updated by all threads. */
const PARALLEL_SIZE = 8192;

/** The update's constants, as the op path uploads them (float64 values rounded to float32). */
interface AdamConstants {
  b1: number;
  omb1: number;
  b2: number;
  omb2: number;
  eps: number;
  sqrtBc2: number;
  step: number;
  lr: number;
  wd: number;
  /** 1 / 0: L2 weight decay, decoupled weight decay, PyTorch's eps placement, AMSGrad. */
  l2: number;
  decoupled: number;
  torch: number;
  amsgrad: number;
}

function constants(h: AdamKernelParams): AdamConstants {
  const f = Math.fround;
  return {
    b1: f(h.beta1),
    omb1: f(1 - h.beta1),
    b2: f(h.beta2),
    omb2: f(1 - h.beta2),
    eps: f(h.eps),
    sqrtBc2: f(Math.sqrt(h.bc2)),
    step: f(h.epsMode === 'torch' ? h.lr / h.bc1 : (h.lr * Math.sqrt(h.bc2)) / h.bc1),
    lr: f(h.lr),
    wd: f(h.weightDecay),
    l2: h.weightDecay !== 0 && !h.decoupled ? 1 : 0,
    decoupled: h.weightDecay !== 0 && h.decoupled ? 1 : 0,
    torch: h.epsMode === 'torch' ? 1 : 0,
    amsgrad: h.amsgrad ? 1 : 0,
  };
}

/**
 * Elements [lo, hi) of the update. Self-contained: workers compile it from source. Without
 * AMSGrad, `vmaxIn` and `vmaxOut` are not touched.
 */
function adamRange(
  pIn: Float32Array,
  gIn: Float32Array,
  mIn: Float32Array,
  vIn: Float32Array,
  vmaxIn: Float32Array,
  pOut: Float32Array,
  mOut: Float32Array,
  vOut: Float32Array,
  vmaxOut: Float32Array,
  lo: number,
  hi: number,
  c: AdamConstants,
): void {
  const f = Math.fround;
  const { b1, omb1, b2, omb2, eps, sqrtBc2, step, lr, wd, l2, decoupled, torch, amsgrad } = c;
  for (let i = lo; i < hi; i++) {
    let p = pIn[i]!;
    let g = gIn[i]!;
    if (l2) g = f(g + f(p * wd));
    if (decoupled) p = f(p - f(f(p * lr) * wd));
    const m = f(f(mIn[i]! * b1) + f(g * omb1));
    const v = f(f(vIn[i]! * b2) + f(f(g * g) * omb2));
    let vv = v;
    if (amsgrad) {
      // maximum propagates NaN, like the op path's Math.max.
      vv = Math.max(vmaxIn[i]!, v);
      vmaxOut[i] = vv;
    }
    const root = f(Math.sqrt(vv));
    const denom = torch ? f(f(root / sqrtBc2) + eps) : f(root + eps);
    const ratio = f(m / denom);
    pOut[i] = f(p - f(ratio * step));
    mOut[i] = m;
    vOut[i] = v;
  }
}

interface AdamJob extends Job, AdamConstants {
  size: number;
  chunks: number;
  p: Float32Array;
  g: Float32Array;
  m: Float32Array;
  v: Float32Array;
  vmax: Float32Array;
  pOut: Float32Array;
  mOut: Float32Array;
  vOut: Float32Array;
  vmaxOut: Float32Array;
}

/** Chunk `chunk` of `chunks` equal ranges of the parameter. */
function runChunk(job: AdamJob, chunk: number): void {
  const per = Math.ceil(job.size / job.chunks);
  const lo = chunk * per;
  const hi = Math.min(job.size, lo + per);
  adamRange(job.p, job.g, job.m, job.v, job.vmax, job.pOut, job.mOut, job.vOut, job.vmaxOut, lo, hi, job);
}

const CONSTANT_FIELDS = [
  'b1',
  'omb1',
  'b2',
  'omb2',
  'eps',
  'sqrtBc2',
  'step',
  'lr',
  'wd',
  'l2',
  'decoupled',
  'torch',
  'amsgrad',
] as const;

const ADAM_SOURCE: JobSource = {
  name: 'adam',
  numbers: ['size', 'chunks', ...CONSTANT_FIELDS],
  arrays: ['p', 'g', 'm', 'v', 'vmax', 'pOut', 'mOut', 'vOut', 'vmaxOut'],
  source: [adamRange.toString(), runChunk.toString()].join('\n'),
};

/** [p, g, m, v (, vmax)] float32 arrays of `size` elements -> [p', m', v' (, vmax')]. */
export function cpuFusedAdam(inputs: readonly Float32Array[], size: number, h: AdamKernelParams): Float32Array[] {
  const [pIn, gIn, mIn, vIn, vmaxIn] = inputs as [
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array?,
  ];
  const shape = [size];
  const pOut = alloc('float32', shape, false) as Float32Array;
  const mOut = alloc('float32', shape, false) as Float32Array;
  const vOut = alloc('float32', shape, false) as Float32Array;
  const vmaxOut = h.amsgrad ? (alloc('float32', shape, false) as Float32Array) : undefined;
  const c = constants(h);
  // Without AMSGrad the vmax slots are never read or written; any shared array fills them.
  const vmax = vmaxIn ?? pIn;
  const vmaxDst = vmaxOut ?? pOut;
  const threads = cpuThreads();
  const arrays = [pIn, gIn, mIn, vIn, vmax, pOut, mOut, vOut, vmaxDst];
  if (threads > 1 && size >= PARALLEL_SIZE && arrays.every((a) => isSharedBuffer(a.buffer))) {
    const job: AdamJob = {
      ...c,
      size,
      chunks: threads,
      p: pIn,
      g: gIn,
      m: mIn,
      v: vIn,
      vmax,
      pOut,
      mOut,
      vOut,
      vmaxOut: vmaxDst,
    };
    // Workers write their ranges of the shared outputs in place.
    parallelChunks(ADAM_SOURCE, job, threads, (chunk) => runChunk(job, chunk));
  } else {
    adamRange(pIn, gIn, mIn, vIn, vmax, pOut, mOut, vOut, vmaxDst, 0, size, c);
  }
  return vmaxOut === undefined ? [pOut, mOut, vOut] : [pOut, mOut, vOut, vmaxOut];
}
