/**
 * The CPU backend's fused Adam update (the `fusedAdam` hook of src/optim/fused.ts): one pass per
 * parameter instead of about 13 elementwise kernels, each allocating a result. It performs the
 * op path's float32 operations in the same order, rounding after each one as storing it in a
 * Float32Array would (a double operation on float32 inputs, rounded once, is the correctly
 * rounded float32 operation for + - * / and sqrt), so results are bit-identical to the op path
 * (test/optim/fused-cpu.test.ts). The formulas: src/kernels/wgsl/optim.ts.
 */
import type { AdamKernelParams } from '../wgsl/optim.js';
import { alloc } from './util.js';

const f = Math.fround;

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
  // Constants as the op path uploads them: float64 values rounded to float32.
  const b1 = f(h.beta1);
  const omb1 = f(1 - h.beta1);
  const b2 = f(h.beta2);
  const omb2 = f(1 - h.beta2);
  const eps = f(h.eps);
  const sqrtBc2 = f(Math.sqrt(h.bc2));
  const step = f(h.epsMode === 'torch' ? h.lr / h.bc1 : (h.lr * Math.sqrt(h.bc2)) / h.bc1);
  const lr = f(h.lr);
  const wd = f(h.weightDecay);
  const l2 = h.weightDecay !== 0 && !h.decoupled;
  const decoupled = h.weightDecay !== 0 && h.decoupled;
  const torch = h.epsMode === 'torch';
  for (let i = 0; i < size; i++) {
    let p = pIn[i]!;
    let g = gIn[i]!;
    if (l2) g = f(g + f(p * wd));
    if (decoupled) p = f(p - f(f(p * lr) * wd));
    const m = f(f(mIn[i]! * b1) + f(g * omb1));
    const v = f(f(vIn[i]! * b2) + f(f(g * g) * omb2));
    let vv = v;
    if (vmaxOut !== undefined) {
      const old = vmaxIn![i]!;
      // maximum propagates NaN, like the op path's Math.max.
      vv = Math.max(old, v);
      vmaxOut[i] = vv;
    }
    const root = f(Math.sqrt(vv));
    const denom = torch ? f(f(root / sqrtBc2) + eps) : f(root + eps);
    const ratio = f(m / denom);
    pOut[i] = f(p - f(ratio * step));
    mOut[i] = m;
    vOut[i] = v;
  }
  return vmaxOut === undefined ? [pOut, mOut, vOut] : [pOut, mOut, vOut, vmaxOut];
}
