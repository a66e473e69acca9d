/**
 * Deterministic operands for the CPU kernel tests (cpu-kernels, cpu-threads, cpu-rounding): seeded
 * values rounded to the dtype, tensors made from them, matmul operand shapes, byte comparison.
 */
import { type Tensor, tensor } from '../../src/index.js';

export type Dt = 'float32' | 'float64';

/** Deterministic values in [-1, 1) rounded to the dtype (so the reference sees what the kernel sees). */
export function values(size: number, seed: number, dtype: Dt): Float64Array {
  const out = new Float64Array(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return dtype === 'float32' ? new Float64Array(new Float32Array(out)) : out;
}

/** A tensor of these values in the dtype. */
export function make(vals: Float64Array, shape: number[], dtype: Dt): Tensor {
  return tensor(dtype === 'float32' ? new Float32Array(vals) : new Float64Array(vals), { shape, dtype });
}

/** Operand shapes for op(A) [batch.., m, k] and op(B) [batch.., k, n]. */
export function operands(
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  aBatch: number[],
  bBatch: number[],
) {
  return {
    aShape: [...aBatch, ...(transA ? [k, m] : [m, k])],
    bShape: [...bBatch, ...(transB ? [n, k] : [k, n])],
    transA,
    transB,
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function bitsOf(t: Tensor): Uint8Array {
  const d = t.dataSync();
  return new Uint8Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength));
}

/** Index of the first differing byte, or -1 (vitest's deep equality is slow on large arrays). */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
