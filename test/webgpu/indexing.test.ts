/**
 * WebGPU gather / scatterAdd vs the CPU backend: random shapes and axes, index collisions
 * (scatterAdd is deterministic and adds in the CPU's order, so float32 results are bitwise
 * equal), int32 data, and out-of-range indices reported as a TesseraError at the next read-back.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../../src/index.js';
import type { DType } from '../../src/tensor/dtype.js';
import { sizeOf } from '../../src/tensor/shape.js';
import { floats, initWebGPU, ints, onCpu, onGpu, releaseWebGPU, rng, shapeArb } from '../helpers/webgpu.js';

const gpu = await initWebGPU();
afterAll(releaseWebGPU);

/** x shape, axis, and the index tensor's length along the axis. */
const caseArb = shapeArb(4, 8000, 1)
  .filter((s) => sizeOf(s) > 0)
  .chain((s) =>
    fc.tuple(fc.constant(s), fc.integer({ min: 0, max: s.length - 1 }), fc.integer({ min: 0, max: 9 }), fc.nat()),
  );

function indices(n: number, bound: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * bound));
}

describe.skipIf(gpu === undefined)('WebGPU gather / scatterAdd vs CPU', () => {
  for (const dtype of ['float32', 'int32'] as DType[]) {
    it(`gather (${dtype})`, async () => {
      await fc.assert(
        fc.asyncProperty(caseArb, async ([shape, axis, j, seed]) => {
          const idxShape = shape.map((d, i) => (i === axis ? j : d));
          const x = dtype === 'float32' ? floats(sizeOf(shape), seed, (r) => r() * 10 - 5) : ints(sizeOf(shape), seed);
          const idx = indices(sizeOf(idxShape), shape[axis]!, seed + 1);
          const xc = onCpu(x, shape, dtype);
          const ic = onCpu(idx, idxShape, 'int32');
          const xg = onGpu(gpu!, x, shape, dtype);
          const ig = onGpu(gpu!, idx, idxShape, 'int32');
          const want = await T.gather(xc, ic, axis).data();
          const got = await T.gather(xg, ig, axis).data();
          expect(Array.from(got), `gather [${shape}] axis ${axis} j ${j}`).toEqual(Array.from(want));
          T.dispose([xc, ic, xg, ig]);
        }),
        { numRuns: 30 },
      );
    });

    it(`scatterAdd with collisions (${dtype}), bitwise equal to the CPU`, async () => {
      await fc.assert(
        fc.asyncProperty(caseArb, fc.integer({ min: 1, max: 3 }), async ([shape, axis, j, seed], spread) => {
          const idxShape = shape.map((d, i) => (i === axis ? j : d));
          const n = sizeOf(idxShape);
          const base =
            dtype === 'float32' ? floats(sizeOf(shape), seed, (r) => r() * 10 - 5, 0) : ints(sizeOf(shape), seed);
          const src = dtype === 'float32' ? floats(n, seed + 2, (r) => r() * 10 - 5, 0) : ints(n, seed + 2);
          // Few distinct targets: many collisions.
          const idx = indices(n, Math.min(spread, shape[axis]!), seed + 1);
          const c = [onCpu(base, shape, dtype), onCpu(idx, idxShape, 'int32'), onCpu(src, idxShape, dtype)] as const;
          const g = [
            onGpu(gpu!, base, shape, dtype),
            onGpu(gpu!, idx, idxShape, 'int32'),
            onGpu(gpu!, src, idxShape, dtype),
          ] as const;
          const want = await T.scatterAdd(c[0], c[1], c[2], axis).data();
          const got = await T.scatterAdd(g[0], g[1], g[2], axis).data();
          expect(Array.from(got), `scatterAdd [${shape}] axis ${axis} j ${j}`).toEqual(Array.from(want));
          T.dispose([c, g]);
        }),
        { numRuns: 30 },
      );
    });
  }

  it('out-of-range indices: a TesseraError at the next read naming the op and shapes; the device keeps working', async () => {
    const x = onGpu(gpu!, new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3], 'float32');
    for (const bad of [3, -1, 1000000]) {
      const idx = onGpu(gpu!, new Int32Array([0, bad, 1, 2]), [2, 2], 'int32');
      const y = T.gather(x, idx, 1);
      await expect(y.data()).rejects.toThrow(T.TesseraError);
      const z = T.gather(x, idx, 1);
      // issue 14: the message names the offending index.
      await expect(z.data()).rejects.toThrow(
        `gather: index ${bad} is out of range for axis 1 of size 3 (input shape [2,3], indices shape [2,2])`,
      );
      const s = T.scatterAdd(x, idx, T.onesLike(T.gather(x, T.zerosLike(idx), 1)), 1);
      await expect(s.data()).rejects.toThrow(`scatterAdd: index ${bad} is out of range for axis 1 of size 3`);
      T.dispose([idx, y, z, s]);
    }
    // Errors are reported once, then the device is fine.
    expect(Array.from(await T.add(x, 1).data())).toEqual([2, 3, 4, 5, 6, 7]);
    // The first failing op is the one reported.
    const okIdx = onGpu(gpu!, new Int32Array([0, 1, 2, 0]), [2, 2], 'int32');
    const badIdx = onGpu(gpu!, new Int32Array([0, 9, 2, 0]), [2, 2], 'int32');
    const a = T.gather(x, okIdx, 1);
    const b = T.scatterAdd(x, badIdx, a, 1);
    const c2 = T.gather(x, badIdx, 1);
    await expect(a.data()).rejects.toThrow(/^scatterAdd: /);
    expect(Array.from(await a.data())).toEqual([1, 2, 6, 4]);
    T.dispose([x, okIdx, badIdx, a, b, c2]);
  });

  it('scatterAdd with a 70000-long index axis (several passes, llvmpipe loop limit) matches the CPU bitwise', async () => {
    const j = 70000;
    const idx = indices(j * 2, 3, 4);
    const src = floats(j * 2, 5, (r) => r() * 2 - 1, 0);
    const base = new Float32Array([1, 2, 3, 4, 5, 6]);
    const c = [onCpu(base, [3, 2], 'float32'), onCpu(idx, [j, 2], 'int32'), onCpu(src, [j, 2], 'float32')] as const;
    const g = [
      onGpu(gpu!, base, [3, 2], 'float32'),
      onGpu(gpu!, idx, [j, 2], 'int32'),
      onGpu(gpu!, src, [j, 2], 'float32'),
    ] as const;
    const want = await T.scatterAdd(c[0], c[1], c[2], 0).data();
    const got = await T.scatterAdd(g[0], g[1], g[2], 0).data();
    expect(Array.from(got)).toEqual(Array.from(want));
    T.dispose([c, g]);
  });

  it('zero-size index tensors and empty axes', async () => {
    const x = onGpu(gpu!, new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3], 'float32');
    const idx = onGpu(gpu!, new Int32Array(0), [2, 0], 'int32');
    expect(T.gather(x, idx, 1).shape).toEqual([2, 0]);
    expect(Array.from(await T.gather(x, idx, 1).data())).toEqual([]);
    const src = onGpu(gpu!, new Float32Array(0), [2, 0], 'float32');
    expect(Array.from(await T.scatterAdd(x, idx, src, 1).data())).toEqual([1, 2, 3, 4, 5, 6]);
    const empty = onGpu(gpu!, new Float32Array(0), [2, 0], 'float32');
    const idx1 = onGpu(gpu!, new Int32Array([0, 0]), [2, 1], 'int32');
    expect(() => T.gather(empty, idx1, 1)).toThrow(/gather: an index is out of range \[0, 0\)/);
    T.dispose([x, idx, src, empty, idx1]);
  });
});
