/**
 * The CPU GEMM and convolutions compute in float64 whatever the dtype and round float32 results
 * once: on float32-representable inputs, every float32 result is the float64 result rounded, bit
 * for bit, whichever path a shape takes (outer products, matrix-vector, small, blocked with C
 * stored straight into float32 or through a float64 scratch, per-image or chunked convolutions),
 * with 1 or 2 threads.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  conv2d,
  conv2dBackwardFilter,
  conv2dBackwardInput,
  getBackend,
  matmul,
  setBackend,
  setCpuThreads,
  type Tensor,
  tensor,
} from '../src/index.js';
import { sizeOf } from '../src/tensor/shape.js';
import { values } from './helpers/kernel-values.js';

beforeAll(async () => {
  await setBackend('cpu');
  expect(getBackend().name).toBe('cpu');
});
afterAll(() => setCpuThreads(1));

/** The same values as a float32 and a float64 tensor. */
function pair(shape: number[], seed: number): [Tensor, Tensor] {
  const v = values(sizeOf(shape), seed, 'float32');
  return [tensor(Float32Array.from(v), { shape }), tensor(v, { shape, dtype: 'float64' })];
}

/** Elements where the float32 result is not the rounded float64 result (Object.is: -0 and NaN count). */
function mismatches(r32: Tensor, r64: Tensor): number {
  const a = r32.dataSync();
  const b = r64.dataSync();
  expect(r32.shape).toEqual(r64.shape);
  let bad = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], Math.fround(b[i]!))) bad++;
  return bad;
}

const size = fc.oneof(fc.integer({ min: 1, max: 9 }), fc.constantFrom(16, 17, 63, 64, 65, 257, 300));

describe('float32 results are the float64 results rounded once', () => {
  for (const threads of [1, 2]) {
    it(`matmul, every GEMM path (${threads} thread${threads > 1 ? 's' : ''})`, () => {
      setCpuThreads(threads);
      fc.assert(
        fc.property(size, size, size, fc.boolean(), fc.boolean(), fc.nat(), (m, n, k, tA, tB, seed) => {
          const [a32, a64] = pair(tA ? [k, m] : [m, k], seed);
          const [b32, b64] = pair(tB ? [n, k] : [k, n], seed + 1);
          const opts = { transA: tA, transB: tB };
          expect(mismatches(matmul(a32, b32, opts), matmul(a64, b64, opts))).toBe(0);
        }),
        { numRuns: 40 },
      );
      // Shapes the random sizes rarely reach: a large outer product, a threaded GEMM, deep k.
      for (const [m, n, k] of [
        [64, 6272, 1],
        [64, 784, 16],
        [130, 300, 600],
      ] as const) {
        const [a32, a64] = pair([m, k], m + k);
        const [b32, b64] = pair([k, n], n);
        expect(mismatches(matmul(a32, b32), matmul(a64, b64))).toBe(0);
      }
    });

    it(`conv2d and its two gradients, per-image and chunked (${threads} thread${threads > 1 ? 's' : ''})`, () => {
      setCpuThreads(threads);
      // [x shape, w shape, stride, padding]: the DCGAN's first discriminator layer (K = 16 < P: per-image
      // GEMMs straight into y), a deep one (chunked, scattered), a dense conv to one channel, and groups.
      const cases: [number[], number[], number, number, number][] = [
        [[9, 1, 28, 28], [64, 1, 4, 4], 2, 1, 1],
        [[6, 64, 14, 14], [32, 64, 4, 4], 2, 1, 1],
        [[5, 32, 7, 7], [1, 32, 7, 7], 1, 0, 1],
        [[3, 6, 9, 9], [4, 3, 3, 3], 1, 1, 2],
      ];
      for (const [xs, ws, stride, padding, groups] of cases) {
        const opts = { stride, padding, groups };
        const [x32, x64] = pair(xs, sizeOf(xs));
        const [w32, w64] = pair(ws, sizeOf(ws));
        const y64 = conv2d(x64, w64, opts);
        expect(mismatches(conv2d(x32, w32, opts), y64)).toBe(0);
        const [dy32, dy64] = pair(y64.shape as number[], 7);
        expect(mismatches(conv2dBackwardInput(dy32, w32, xs, opts), conv2dBackwardInput(dy64, w64, xs, opts))).toBe(0);
        expect(mismatches(conv2dBackwardFilter(x32, dy32, ws, opts), conv2dBackwardFilter(x64, dy64, ws, opts))).toBe(
          0,
        );
      }
    });
  }
});
