/**
 * Initialises the WebGPU backend once per test file (process) for the WebGPU tests.
 *
 *   const gpu = await initWebGPU();            // top level of the test file
 *   afterAll(releaseWebGPU);
 *   describe.skipIf(gpu === undefined)('...', () => { ... gpu! ... });
 *
 * No adapter: with CI set this throws (the suite fails); on a developer machine it prints a loud
 * banner and returns undefined so the WebGPU suites skip. That is the only allowed skip.
 * After init the current backend is WebGPU; tests that compare with the CPU backend create CPU
 * tensors explicitly (`onCpu`) or copy (`toCpu`).
 */
import fc from 'fast-check';
import { cpuBackend } from '../../src/backend/cpu.js';
import { setBackend } from '../../src/backend/select.js';
import type { WebGPUBackend } from '../../src/backend/webgpu/device.js';
import type { DType, TypedArray } from '../../src/tensor/dtype.js';
import { getBackend, tensorFromArray, useBackend } from '../../src/tensor/engine.js';
import { sizeOf } from '../../src/tensor/shape.js';
import type { Tensor } from '../../src/tensor/tensor.js';

let pending: Promise<WebGPUBackend | undefined> | null = null;
let current: WebGPUBackend | undefined;

function banner(reason: string): void {
  const line = '!'.repeat(78);
  console.warn(
    `\n${line}\n!! WebGPU TESTS SKIPPED: no WebGPU adapter could be created.\n!! ${reason}\n` +
      '!! On Linux without a GPU: apt-get install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri\n' +
      `!! (set CI=1 to make this a failure)\n${line}\n`,
  );
}

/** The WebGPU backend (now the current backend), or undefined (skip) when no adapter exists and CI is unset. */
export function initWebGPU(): Promise<WebGPUBackend | undefined> {
  pending ??= (async () => {
    try {
      await setBackend('webgpu');
      current = getBackend() as WebGPUBackend;
      return current;
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      if (process.env.CI) throw new Error(`WebGPU is required when CI is set: ${reason}`);
      banner(reason);
      return undefined;
    }
  })();
  return pending;
}

/** Switches back to the CPU backend and destroys the WebGPU device (so the test process can exit). */
export function releaseWebGPU(): void {
  useBackend(cpuBackend);
  current?.destroy();
  current = undefined;
  pending = null;
}

/** A tensor on the CPU backend (the data is copied). */
export function onCpu(data: TypedArray, shape: readonly number[], dtype: DType): Tensor {
  return tensorFromArray(data.slice(), shape, dtype, cpuBackend);
}

/** A tensor on the WebGPU backend (the data is copied). */
export function onGpu(gpu: WebGPUBackend, data: TypedArray, shape: readonly number[], dtype: DType): Tensor {
  return tensorFromArray(data.slice(), shape, dtype, gpu);
}

/** Reads a tensor back and recreates it on the CPU backend. */
export async function toCpu(t: Tensor): Promise<Tensor> {
  return tensorFromArray(await t.data(), t.shape, t.dtype, cpuBackend);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Distance in float32 units in the last place (NaN vs NaN = 0, +0 vs -0 = 0). */
export function ulpDiff(a: number, b: number): number {
  if (Number.isNaN(a) && Number.isNaN(b)) return 0;
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.POSITIVE_INFINITY;
  if (a === b) return 0;
  const ord = (x: number): number => {
    f32[0] = x;
    const u = u32[0]!;
    return u & 0x80000000 ? -(u & 0x7fffffff) : u;
  };
  return Math.abs(ord(a) - ord(b));
}

export interface Tolerance {
  /** Largest allowed distance in float32 ulp (default 0). */
  ulp?: number;
  /** Relative tolerance (default 0). */
  rtol?: number;
  /** Absolute tolerance (default: the float32 subnormal range, which GPUs may flush to zero). */
  atol?: number;
}

/**
 * The index and description of the first element where `got` and `want` differ beyond the
 * tolerance (NaN matches NaN, infinities must match exactly), or null when all match.
 */
export function firstMismatch(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance = {}): string | null {
  if (got.length !== want.length) return `length ${got.length} vs ${want.length}`;
  const atol = tol.atol ?? 1.1754943508222875e-38;
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Number.isNaN(w) || Number.isNaN(g)) {
      if (Number.isNaN(w) && Number.isNaN(g)) continue;
      return `element ${i}: got ${g}, want ${w}`;
    }
    if (!Number.isFinite(w) || !Number.isFinite(g)) {
      if (g === w) continue;
      return `element ${i}: got ${g}, want ${w}`;
    }
    const d = Math.abs(g - w);
    if (d <= atol || d <= (tol.rtol ?? 0) * Math.abs(w) || ulpDiff(g, w) <= (tol.ulp ?? 0)) continue;
    return `element ${i}: got ${g}, want ${w} (${ulpDiff(g, w)} ulp, rel ${(d / Math.abs(w)).toExponential(2)})`;
  }
  return null;
}

// ------------------------------------------------------------------ random test data

/** Small deterministic PRNG (mulberry32) so fast-check only has to shrink a seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic float32 values in [-1, 1) from a seed (xorshift32). */
export function xorshiftValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

export const SPECIALS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0];

/** float32 values from `gen` with a sprinkle of NaN, +-Inf and +-0. */
export function floats(n: number, seed: number, gen: (r: () => number) => number, special = 0.08): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r() < special ? SPECIALS[Math.floor(r() * SPECIALS.length)]! : gen(r);
  return a;
}

export function ints(n: number, seed: number): Int32Array {
  const r = rng(seed);
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = r();
    a[i] = k < 0.15 ? 0 : k < 0.6 ? Math.floor(r() * 21) - 10 : (r() * 2 ** 32) | 0;
  }
  return a;
}

export function bools(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0));
}

/**
 * Random shapes of rank 0..maxRank: mostly 2..7, some 1 (broadcast / squeeze cases), some
 * 30..300 (more than one workgroup), at most `maxSize` elements.
 */
export function shapeArb(maxRank = 4, maxSize = 20000, minRank = 0): fc.Arbitrary<number[]> {
  const dim = fc.oneof(
    { weight: 5, arbitrary: fc.integer({ min: 2, max: 7 }) },
    { weight: 2, arbitrary: fc.constant(1) },
    { weight: 1, arbitrary: fc.integer({ min: 30, max: 300 }) },
  );
  return fc
    .integer({ min: minRank, max: maxRank })
    .chain((rank) => fc.array(dim, { minLength: rank, maxLength: rank }))
    .filter((s) => sizeOf(s) <= maxSize);
}
