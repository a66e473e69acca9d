/**
 * WebGPU reductions vs the CPU backend: sum / max / min over random axis sets (both the serial
 * and the workgroup-tree variant), NaN propagation, int32 sums, argmax / argmin (first index,
 * NaN wins) on random shapes.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { GpuData } from '../../src/backend/webgpu/buffers.js';
import * as T from '../../src/index.js';
import { argReduceProgram, type ReduceVariant, reduceSteps } from '../../src/kernels/wgsl/reduce.js';
import type { DType, TypedArray } from '../../src/tensor/dtype.js';
import type { ArgReduceOp, ReduceOp } from '../../src/tensor/primitives.js';
import { sizeOf } from '../../src/tensor/shape.js';
import { firstMismatch, floats, initWebGPU, ints, onCpu, onGpu, releaseWebGPU, shapeArb } from '../helpers/webgpu.js';

const REDUCE = { sum: T.sum, max: T.max, min: T.min } as const;
const ARG = { argmax: T.argmax, argmin: T.argmin } as const;

const gpu = await initWebGPU();
afterAll(releaseWebGPU);

const caseArb = shapeArb(4, 30000).chain((shape) => fc.tuple(fc.constant(shape), fc.subarray(shape.map((_, i) => i))));

/** True when the reduced axes coalesce into one dim (the split variant applies). */
function singleReducedDim(shape: number[], axes: number[]): boolean {
  const red = axes.filter((a) => shape[a] !== 1).sort((a, b) => a - b);
  return red.length > 0 && red.every((a, i) => i === 0 || a === red[i - 1]! + 1);
}

/** Runs a reduce program with a forced variant directly on the runtime. */
async function runVariant(
  op: ReduceOp,
  variant: ReduceVariant,
  data: TypedArray,
  shape: number[],
  axes: number[],
  dtype: DType,
): Promise<TypedArray> {
  const rt = gpu!.runtime;
  const x = onGpu(gpu!, data, shape, dtype);
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const { steps, partials } = reduceSteps(
    rt.ctx,
    [{ shape, dtype }],
    { op, axes, variant },
    { shape: outShape, dtype },
  );
  if (variant === 'split') expect(steps.length).toBe(axes.length === 0 ? 1 : 2);
  const out = rt.alloc(sizeOf(outShape) * 4, 'test');
  const tmp = rt.alloc(partials * 4, 'test');
  for (const st of steps) {
    rt.dispatch(
      st.program,
      [st.src === 'input' ? (x.storageRef().data as GpuData) : tmp],
      [st.dst === 'output' ? out : tmp],
    );
  }
  const bytes = await rt.readBytes(out, sizeOf(outShape) * 4);
  rt.release(out);
  rt.release(tmp);
  x.dispose();
  return dtype === 'int32' ? new Int32Array(bytes) : new Float32Array(bytes);
}

/** CPU reference (float64 accumulation) and the per-output error bound n * 2^-23 * sum |x|. */
async function cpuReduce(
  op: ReduceOp,
  data: TypedArray,
  shape: number[],
  axes: number[],
  dtype: DType,
): Promise<{ want: TypedArray; bound: Float64Array }> {
  const x = onCpu(data, shape, dtype);
  const y = REDUCE[op](x, axes, { keepdims: true });
  const want = await y.data();
  const n = axes.reduce((a, d) => a * shape[d]!, 1);
  const absSum = T.sum(T.abs(x), axes, { keepdims: true });
  const bound = Float64Array.from(await absSum.data(), (s) => (n + 1) * 2 ** -23 * s);
  T.dispose([x, y, absSum]);
  return { want, bound };
}

function checkSum(got: TypedArray, want: TypedArray, bound: Float64Array, what: string): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Number.isNaN(w) || !Number.isFinite(w)) {
      expect(Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)), `${what} element ${i}: ${g} vs ${w}`).toBe(true);
      continue;
    }
    expect(Math.abs(g - w), `${what} element ${i}: ${g} vs ${w}`).toBeLessThanOrEqual(bound[i]! + 1e-30);
  }
}

describe.skipIf(gpu === undefined)('WebGPU reductions vs CPU', () => {
  for (const op of ['sum', 'max', 'min'] as ReduceOp[]) {
    it(`${op} over random axes (float32, with NaN/Inf), both variants and the default choice`, async () => {
      await fc.assert(
        fc.asyncProperty(caseArb, fc.nat(), fc.boolean(), async ([shape, axes], seed, special) => {
          const x = floats(sizeOf(shape), seed, (r) => r() * 20 - 10, special ? 0.02 : 0);
          const { want, bound } = await cpuReduce(op, x, shape, axes, 'float32');
          const outs: [string, TypedArray][] = [
            ['serial', await runVariant(op, 'serial', x, shape, axes, 'float32')],
            ['tree', await runVariant(op, 'tree', x, shape, axes, 'float32')],
          ];
          if (singleReducedDim(shape, axes))
            outs.push(['split', await runVariant(op, 'split', x, shape, axes, 'float32')]);
          const g = onGpu(gpu!, x, shape, 'float32');
          const y = REDUCE[op](g, axes, { keepdims: true });
          outs.push(['default', await y.data()]);
          T.dispose([g, y]);
          for (const [name, got] of outs) {
            const what = `${op} ${name} [${shape}] axes [${axes}]`;
            if (op === 'sum') checkSum(got, want, bound, what);
            else expect(firstMismatch(got, want), what).toBeNull();
          }
        }),
        { numRuns: 25 },
      );
    });
  }

  it('int32 sum / max / min are exact (sums wrap modulo 2^32 like the CPU)', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, fc.nat(), async ([shape, axes], seed) => {
        const x = ints(sizeOf(shape), seed);
        for (const op of ['sum', 'max', 'min'] as ReduceOp[]) {
          if (op !== 'sum' && axes.some((a) => shape[a] === 0)) continue;
          const c = onCpu(x, shape, 'int32');
          const want = await REDUCE[op](c, axes, { keepdims: true }).data();
          for (const v of ['serial', 'tree', 'split'] as ReduceVariant[]) {
            if (v === 'split' && !singleReducedDim(shape, axes)) continue;
            const got = await runVariant(op, v, x, shape, axes, 'int32');
            expect(Array.from(got), `${op} ${v}`).toEqual(Array.from(want));
          }
          c.dispose();
        }
      }),
      { numRuns: 15 },
    );
  });

  it('a single NaN anywhere makes max/min NaN; sums over empty axes are 0', async () => {
    for (const n of [7, 300, 5000]) {
      for (const pos of [0, Math.floor(n / 2), n - 1]) {
        const x = new Float32Array(n).map((_, i) => i - n / 2);
        x[pos] = Number.NaN;
        for (const op of ['max', 'min'] as ReduceOp[]) {
          for (const v of ['serial', 'tree', 'split'] as ReduceVariant[]) {
            const got = await runVariant(op, v, x, [n], [0], 'float32');
            expect(Number.isNaN(got[0]!), `${op} ${v} n=${n} NaN at ${pos}`).toBe(true);
          }
        }
      }
    }
    const g = onGpu(gpu!, new Float32Array(0), [3, 0], 'float32');
    expect(Array.from(await T.sum(g, 1).data())).toEqual([0, 0, 0]);
    expect(Array.from(await T.sum(g, 0).data())).toEqual([]);
    g.dispose();
  });

  for (const op of ['argmax', 'argmin'] as ArgReduceOp[]) {
    it(`${op} along a random axis: first index of ties, NaN wins (both variants)`, async () => {
      const arb = shapeArb(4, 30000, 1)
        .filter((s) => sizeOf(s) > 0)
        .chain((shape) => fc.tuple(fc.constant(shape), fc.integer({ min: 0, max: shape.length - 1 })));
      await fc.assert(
        fc.asyncProperty(arb, fc.nat(), fc.boolean(), async ([shape, axis], seed, nan) => {
          const x = floats(sizeOf(shape), seed, (r) => Math.round(r() * 8 - 4), nan ? 0.2 : 0);
          const c = onCpu(x, shape, 'float32');
          const want = await ARG[op](c, axis, { keepdims: true }).data();
          c.dispose();
          const g = onGpu(gpu!, x, shape, 'float32');
          const rt = gpu!.runtime;
          const outShape = shape.map((d, i) => (i === axis ? 1 : d));
          for (const variant of ['serial', 'tree'] as ReduceVariant[]) {
            const prog = argReduceProgram(
              rt.ctx,
              [{ shape, dtype: 'float32' }],
              { op, axis, variant },
              { shape: outShape, dtype: 'int32' },
            );
            const out = rt.alloc(sizeOf(outShape) * 4, 'test');
            rt.dispatch(prog, [g.storageRef().data as GpuData], [out]);
            const got = new Int32Array(await rt.readBytes(out, sizeOf(outShape) * 4));
            rt.release(out);
            expect(Array.from(got), `${op} ${variant} [${shape}] axis ${axis}`).toEqual(Array.from(want));
          }
          const viaOp = await ARG[op](g, axis, { keepdims: true }).data();
          expect(Array.from(viaOp)).toEqual(Array.from(want));
          g.dispose();
        }),
        { numRuns: 25 },
      );
    });
  }

  it('argmax/argmin: the first NaN wins, wherever it is (both variants)', async () => {
    const rt = gpu!.runtime;
    for (const n of [3, 7, 300, 5000]) {
      for (const [p1, p2] of [
        [0, n - 1],
        [1, n - 1],
        [n - 1, n - 1],
        [Math.floor(n / 2), Math.floor(n / 3)],
      ] as [number, number][]) {
        const x = new Float32Array(n).map((_, i) => (i * 7919) % 13);
        x[p1] = Number.NaN;
        x[p2] = Number.NaN;
        const g = onGpu(gpu!, x, [n], 'float32');
        for (const op of ['argmax', 'argmin'] as ArgReduceOp[]) {
          for (const variant of ['serial', 'tree'] as ReduceVariant[]) {
            const prog = argReduceProgram(
              rt.ctx,
              [{ shape: [n], dtype: 'float32' }],
              { op, axis: 0, variant },
              { shape: [1], dtype: 'int32' },
            );
            const out = rt.alloc(4, 'test');
            rt.dispatch(prog, [g.storageRef().data as GpuData], [out]);
            const got = new Int32Array(await rt.readBytes(out, 4))[0];
            rt.release(out);
            expect(got, `${op} ${variant} n=${n} NaN at ${p1}, ${p2}`).toBe(Math.min(p1, p2));
          }
        }
        g.dispose();
      }
    }
  });

  it("long reductions stay exact past llvmpipe's 65535-iteration loop limit (split passes)", async () => {
    const n = 200003;
    const x = floats(n, 11, (r) => r() * 2 - 1, 0);
    x[n - 2] = 50; // the max sits beyond the first 65535 elements
    const c = onCpu(x, [n], 'float32');
    const g = onGpu(gpu!, x, [n], 'float32');
    const want = (await T.sum(c).data())[0]!;
    const got = (await T.sum(g).data())[0]!;
    let abs = 0;
    for (const v of x) abs += Math.abs(v);
    expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-6 * abs);
    expect((await T.max(g).data())[0]).toBe(50);
    expect((await T.argmax(g).data())[0]).toBe(n - 2);
    // Several reduced dims that do not coalesce: [300, 3, 300] over axes 0 and 2.
    const y = floats(300 * 3 * 300, 12, (r) => r() * 2 - 1, 0);
    y[299 * 900 + 2 * 300 + 299] = 77;
    const yc = onCpu(y, [300, 3, 300], 'float32');
    const yg = onGpu(gpu!, y, [300, 3, 300], 'float32');
    expect(Array.from(await T.max(yg, [0, 2]).data())).toEqual(Array.from(await T.max(yc, [0, 2]).data()));
    const s1 = await T.sum(yg, [0, 2]).data();
    const s2 = await T.sum(yc, [0, 2]).data();
    for (let i = 0; i < 3; i++) expect(Math.abs(s1[i]! - s2[i]!)).toBeLessThan(1e-2);
    T.dispose([c, g, yc, yg]);
  });

  it('argmax on int32', async () => {
    const x = ints(600, 3);
    const c = onCpu(x, [20, 30], 'int32');
    const g = onGpu(gpu!, x, [20, 30], 'int32');
    for (const axis of [0, 1]) {
      expect(Array.from(await T.argmax(g, axis).data())).toEqual(Array.from(await T.argmax(c, axis).data()));
      expect(Array.from(await T.argmin(g, axis).data())).toEqual(Array.from(await T.argmin(c, axis).data()));
    }
    T.dispose([c, g]);
  });
});
