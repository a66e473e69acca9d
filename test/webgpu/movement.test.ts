/**
 * WebGPU movement kernels vs the CPU backend, exactly: permute, expand, slice (steps, negative
 * steps), pad (interior padding, fill values), concat (many inputs: several dispatches; empty
 * inputs), flip, on float32, int32 and bool, including rank 0 and zero-size tensors.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { webgpuStats } from '../../src/backend/webgpu/stats.js';
import * as T from '../../src/index.js';
import type { DType, TypedArray } from '../../src/tensor/dtype.js';
import { padPrimitive } from '../../src/tensor/ops/movement.js';
import { sizeOf } from '../../src/tensor/shape.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import {
  bools,
  firstMismatch,
  floats,
  initWebGPU,
  ints,
  onCpu,
  onGpu,
  releaseWebGPU,
  shapeArb,
} from '../helpers/webgpu.js';

const gpu = await initWebGPU();
afterAll(releaseWebGPU);

const dtypeArb = fc.constantFrom<DType>('float32', 'int32', 'bool');

function data(dtype: DType, n: number, seed: number): TypedArray {
  if (dtype === 'float32') return floats(n, seed, (r) => r() * 100 - 50);
  if (dtype === 'int32') return ints(n, seed);
  return bools(n, seed);
}

/** Applies f to the same data on both backends and expects identical elements and shapes. */
async function same(
  dtype: DType,
  shapes: readonly (readonly number[])[],
  seed: number,
  f: (xs: Tensor[]) => Tensor,
  what: string,
): Promise<void> {
  const ds = shapes.map((s, i) => data(dtype, sizeOf(s), seed + i));
  const c = ds.map((d, i) => onCpu(d, shapes[i]!, dtype));
  const g = ds.map((d, i) => onGpu(gpu!, d, shapes[i]!, dtype));
  const yc = f(c);
  const yg = f(g);
  expect(yg.backend.name).toBe('webgpu');
  expect(yg.shape, what).toEqual(yc.shape);
  const m = firstMismatch(await yg.data(), await yc.data());
  expect(m, `${what}: ${m}`).toBeNull();
  T.dispose([c, g, yc, yg]);
}

describe.skipIf(gpu === undefined)('WebGPU movement vs CPU', () => {
  it('permute', async () => {
    const arb = shapeArb(5, 20000).chain((s) =>
      fc.tuple(
        fc.constant(s),
        fc.shuffledSubarray(
          s.map((_, i) => i),
          { minLength: s.length, maxLength: s.length },
        ),
      ),
    );
    await fc.assert(
      fc.asyncProperty(arb, dtypeArb, fc.nat(), async ([shape, perm], dtype, seed) => {
        await same(dtype, [shape], seed, ([x]) => T.permute(x!, perm), `permute [${shape}] by [${perm}]`);
      }),
      { numRuns: 30 },
    );
  });

  it('expand (broadcastTo)', async () => {
    const arb = shapeArb(4, 20000).chain((out) =>
      fc.tuple(
        fc.constant(out),
        fc.nat(out.length),
        fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
      ),
    );
    await fc.assert(
      fc.asyncProperty(arb, dtypeArb, fc.nat(), async ([out, drop, ones], dtype, seed) => {
        const inShape = out.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d));
        await same(dtype, [inShape], seed, ([x]) => T.broadcastTo(x!, out), `expand [${inShape}] -> [${out}]`);
      }),
      { numRuns: 30 },
    );
  });

  it('slice with starts, stops and (negative) steps', async () => {
    const arb = shapeArb(4, 20000, 1).chain((s) =>
      fc.tuple(
        fc.constant(s),
        fc.array(
          fc.tuple(fc.integer({ min: -8, max: 8 }), fc.integer({ min: -8, max: 8 }), fc.integer({ min: -3, max: 3 })),
          { minLength: s.length, maxLength: s.length },
        ),
      ),
    );
    await fc.assert(
      fc.asyncProperty(arb, dtypeArb, fc.nat(), async ([shape, spec], dtype, seed) => {
        const sl = spec.map(([a, b, st]) => [a, b, st === 0 ? 1 : st] as [number, number, number]);
        await same(dtype, [shape], seed, ([x]) => T.slice(x!, sl), `slice [${shape}] ${JSON.stringify(sl)}`);
      }),
      { numRuns: 40 },
    );
  });

  it('pad with before/after, interior steps and fill values', async () => {
    const arb = shapeArb(4, 5000).chain((s) =>
      fc.tuple(
        fc.constant(s),
        fc.array(fc.tuple(fc.nat(3), fc.nat(3), fc.integer({ min: 1, max: 3 })), {
          minLength: s.length,
          maxLength: s.length,
        }),
        fc.constantFrom(0, 1, -2.5, 7),
      ),
    );
    await fc.assert(
      fc.asyncProperty(arb, dtypeArb, fc.nat(), async ([shape, spec, value], dtype, seed) => {
        const before = spec.map(([b]) => b);
        const steps = spec.map(([, , st]) => st);
        const out = shape.map((n, i) => (n === 0 ? 0 : (n - 1) * steps[i]! + 1) + before[i]! + spec[i]![1]);
        const v = dtype === 'bool' ? (value !== 0 ? 1 : 0) : dtype === 'int32' ? Math.trunc(value) : value;
        await same(
          dtype,
          [shape],
          seed,
          ([x]) => padPrimitive(x!, before, steps, out, v),
          `pad [${shape}] before [${before}] steps [${steps}] -> [${out}] value ${v}`,
        );
      }),
      { numRuns: 40 },
    );
  });

  it('concat of 1..20 inputs along any axis (groups of inputs per dispatch, empty inputs)', async () => {
    const arb = shapeArb(4, 3000, 1).chain((s) =>
      fc.tuple(
        fc.constant(s),
        fc.integer({ min: 0, max: s.length - 1 }),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constant(0)), { minLength: 1, maxLength: 20 }),
      ),
    );
    await fc.assert(
      fc.asyncProperty(arb, dtypeArb, fc.nat(), async ([shape, axis, sizes], dtype, seed) => {
        const shapes = sizes.map((k) => shape.map((d, i) => (i === axis ? k : d)));
        await same(dtype, shapes, seed, (xs) => T.concat(xs, axis), `concat axis ${axis} of ${JSON.stringify(shapes)}`);
      }),
      { numRuns: 30 },
    );
  });

  it('concat of 20 inputs on an inner axis takes several dispatches within the storage-buffer limit', async () => {
    const before = webgpuStats().dispatches;
    const shapes = Array.from({ length: 20 }, (_, i) => [3, 1 + (i % 3)]);
    await same('float32', shapes, 1, (xs) => T.concat(xs, 1), 'concat 20');
    const used = webgpuStats().dispatches - before;
    const perDispatch = Math.min(8, gpu!.runtime.limits.maxStorageBuffersPerShaderStage - 1);
    expect(used).toBe(Math.ceil(20 / perDispatch));
  });

  it('flip over random axes', async () => {
    const arb = shapeArb(4, 20000).chain((s) => fc.tuple(fc.constant(s), fc.subarray(s.map((_, i) => i))));
    await fc.assert(
      fc.asyncProperty(arb, dtypeArb, fc.nat(), async ([shape, axes], dtype, seed) => {
        await same(dtype, [shape], seed, ([x]) => T.flip(x!, axes), `flip [${shape}] axes [${axes}]`);
      }),
      { numRuns: 30 },
    );
  });

  it('large transposes and strided slices cross many workgroups', async () => {
    await same('float32', [[300, 257]], 9, ([t]) => T.transpose(t!), 'transpose');
    await same(
      'float32',
      [[300, 257]],
      9,
      ([t]) =>
        T.slice(t!, [
          [1, null, 3],
          [-1, 0, -2],
        ]),
      'slice',
    );
  });
});
