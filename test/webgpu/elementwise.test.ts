/**
 * WebGPU elementwise kernels vs the CPU backend (the oracle) on random shapes and values:
 * unary (float and int32), binary with broadcasting (float and int32), compare, where, cast.
 * Values include NaN, +-Inf, +-0; shapes include rank 0, size-1 dims, non-multiples of the
 * workgroup size and vec4-able sizes.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../../src/index.js';
import type { DType, TypedArray } from '../../src/tensor/dtype.js';
import type { BinaryOp, CompareOp, UnaryOp } from '../../src/tensor/primitives.js';
import { sizeOf } from '../../src/tensor/shape.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import {
  shapeArb as anyShape,
  bools,
  firstMismatch,
  floats,
  initWebGPU,
  ints,
  onCpu,
  onGpu,
  releaseWebGPU,
  type Tolerance,
} from '../helpers/webgpu.js';

const gpu = await initWebGPU();
afterAll(releaseWebGPU);

const RUNS = 20;

const uniformIn = (lo: number, hi: number) => (r: () => number) => lo + (hi - lo) * r();
const logUniform = (lo: number, hi: number) => (r: () => number) =>
  (r() < 0.1 ? -1 : 1) * Math.exp(Math.log(lo) + (Math.log(hi) - Math.log(lo)) * r());
const halfInts = (r: () => number) => (r() < 0.3 ? Math.round(r() * 20 - 10) / 2 : r() * 200 - 100);

const shapeArb = anyShape();

/** How many leading dims an operand drops (mostly none). */
const dropArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) },
);

/** An output shape and `k` operand shapes that broadcast to it (dropped leading dims, dims set to 1). */
function broadcastShapesArb(k: number): fc.Arbitrary<{ out: number[]; ins: number[][] }> {
  return fc
    .tuple(
      shapeArb,
      fc.array(fc.tuple(dropArb, fc.array(fc.boolean(), { minLength: 4, maxLength: 4 })), {
        minLength: k,
        maxLength: k,
      }),
    )
    .map(([out, specs]) => ({
      out,
      ins: specs.map(([drop, ones]) => out.slice(Math.min(drop, out.length)).map((d, i) => (ones[i] && d > 1 ? 1 : d))),
    }));
}

async function both(
  dtypes: readonly DType[],
  datas: readonly TypedArray[],
  shapes: readonly (readonly number[])[],
  f: (...xs: Tensor[]) => Tensor,
): Promise<{ got: TypedArray; want: TypedArray; gotShape: readonly number[]; wantShape: readonly number[] }> {
  const c = datas.map((d, i) => onCpu(d, shapes[i]!, dtypes[i]!));
  const g = datas.map((d, i) => onGpu(gpu!, d, shapes[i]!, dtypes[i]!));
  const yc = f(...c);
  const yg = f(...g);
  expect(yg.backend.name).toBe('webgpu');
  const out = { got: await yg.data(), want: await yc.data(), gotShape: yg.shape, wantShape: yc.shape };
  T.dispose([c, g, yc, yg]);
  return out;
}

function check(
  r: { got: TypedArray; want: TypedArray; gotShape: readonly number[]; wantShape: readonly number[] },
  tol: Tolerance,
  what: string,
): void {
  expect(r.gotShape).toEqual(r.wantShape);
  expect(r.got.constructor).toBe(r.want.constructor);
  const m = firstMismatch(r.got, r.want, tol);
  expect(m, `${what}: ${m}`).toBeNull();
}

const UNARY: Record<UnaryOp, { gen: (r: () => number) => number; tol: Tolerance }> = {
  neg: { gen: uniformIn(-100, 100), tol: {} },
  exp: { gen: uniformIn(-90, 90), tol: { ulp: 2 } },
  log: { gen: logUniform(1e-30, 1e30), tol: { ulp: 2 } },
  log1p: { gen: (r) => (r() < 0.3 ? (r() - 0.5) * 2e-3 : -1 + 11 * r()), tol: { ulp: 4 } },
  expm1: { gen: (r) => (r() < 0.3 ? (r() - 0.5) * 2e-3 : uniformIn(-20, 20)(r)), tol: { ulp: 4 } },
  sqrt: { gen: logUniform(1e-20, 1e20), tol: {} },
  rsqrt: { gen: logUniform(1e-20, 1e20), tol: { ulp: 1 } },
  abs: { gen: uniformIn(-100, 100), tol: {} },
  sign: { gen: halfInts, tol: {} },
  sin: { gen: uniformIn(-100, 100), tol: { ulp: 4, atol: 2e-7 } },
  cos: { gen: uniformIn(-100, 100), tol: { ulp: 4, atol: 2e-7 } },
  tanh: { gen: (r) => (r() < 0.3 ? (r() - 0.5) * 2e-3 : uniformIn(-20, 20)(r)), tol: { ulp: 4 } },
  sigmoid: { gen: uniformIn(-100, 100), tol: { ulp: 4 } },
  relu: { gen: uniformIn(-10, 10), tol: {} },
  floor: { gen: halfInts, tol: {} },
  ceil: { gen: halfInts, tol: {} },
  round: { gen: halfInts, tol: {} },
};

const BINARY: Record<BinaryOp, { a: (r: () => number) => number; b: (r: () => number) => number; tol: Tolerance }> = {
  add: { a: uniformIn(-100, 100), b: uniformIn(-100, 100), tol: {} },
  sub: { a: uniformIn(-100, 100), b: uniformIn(-100, 100), tol: {} },
  mul: { a: uniformIn(-100, 100), b: uniformIn(-100, 100), tol: {} },
  div: { a: uniformIn(-100, 100), b: (r) => (r() < 0.1 ? 0 : uniformIn(-10, 10)(r)), tol: {} },
  pow: {
    a: (r) => (r() < 0.2 ? Math.round(r() * 8 - 4) : uniformIn(0, 5)(r)),
    b: (r) => (r() < 0.4 ? Math.round(r() * 8 - 4) : uniformIn(-4, 4)(r)),
    tol: { rtol: 1e-5 },
  },
  maximum: { a: halfInts, b: halfInts, tol: {} },
  minimum: { a: halfInts, b: halfInts, tol: {} },
  atan2: { a: uniformIn(-10, 10), b: (r) => (r() < 0.1 ? 0 : uniformIn(-10, 10)(r)), tol: { ulp: 4 } },
  // y in (-1, 1) as tanh gives it; three float32 roundings on the GPU, one on the CPU.
  tanhBackward: { a: uniformIn(-1, 1), b: uniformIn(-100, 100), tol: { ulp: 4 } },
};

describe.skipIf(gpu === undefined)('WebGPU elementwise vs CPU', () => {
  for (const [op, { gen, tol }] of Object.entries(UNARY) as [UnaryOp, (typeof UNARY)[UnaryOp]][]) {
    it(`unary ${op} (float32)`, async () => {
      await fc.assert(
        fc.asyncProperty(shapeArb, fc.nat(), async (shape, seed) => {
          const x = floats(sizeOf(shape), seed, gen);
          const r = await both(['float32'], [x], [shape], (t) =>
            (T as unknown as Record<string, (t: Tensor) => Tensor>)[op]!(t),
          );
          check(r, tol, `${op} shape [${shape}]`);
        }),
        { numRuns: RUNS },
      );
    });
  }

  it('unary neg/abs/sign on int32 (wrapping like the CPU)', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb, fc.nat(), async (shape, seed) => {
        const x = ints(sizeOf(shape), seed);
        if (x.length > 0) x[0] = -2147483648;
        for (const f of [T.neg, T.abs, T.sign]) check(await both(['int32'], [x], [shape], f), {}, `${f.name} int32`);
      }),
      { numRuns: 10 },
    );
  });

  for (const [op, { a, b, tol }] of Object.entries(BINARY) as [BinaryOp, (typeof BINARY)[BinaryOp]][]) {
    it(`binary ${op} (float32, broadcasting)`, async () => {
      await fc.assert(
        fc.asyncProperty(broadcastShapesArb(2), fc.nat(), async ({ ins }, seed) => {
          const xa = floats(sizeOf(ins[0]!), seed, a);
          const xb = floats(sizeOf(ins[1]!), seed + 1, b);
          const f = (T as unknown as Record<string, (x: Tensor, y: Tensor) => Tensor>)[op]!;
          check(await both(['float32', 'float32'], [xa, xb], ins, f), tol, `${op} [${ins[0]}] [${ins[1]}]`);
        }),
        { numRuns: RUNS },
      );
    });
  }

  it('broadcasting with an innermost dim that is a multiple of 4 (the vec4 strided path)', async () => {
    const arb = broadcastShapesArb(3).map(({ out, ins }) => {
      const o = out.length === 0 ? [4] : [...out.slice(0, -1), 4 * Math.max(1, Math.ceil(out[out.length - 1]! / 4))];
      const fix = (s: number[]): number[] =>
        s.length === 0 ? s : [...s.slice(0, -1), s[s.length - 1] === 1 ? 1 : o[o.length - 1]!];
      return { out: o, ins: ins.map((s) => fix(s.slice(Math.max(0, s.length - o.length)))) };
    });
    await fc.assert(
      fc.asyncProperty(arb, fc.nat(), async ({ ins }, seed) => {
        const [sa, sb, sc] = ins as [number[], number[], number[]];
        const a = floats(sizeOf(sa), seed, uniformIn(-5, 5));
        const b = floats(sizeOf(sb), seed + 1, uniformIn(-5, 5));
        check(await both(['float32', 'float32'], [a, b], [sa, sb], T.mul), {}, `mul [${sa}] [${sb}]`);
        check(await both(['float32', 'float32'], [a, b], [sa, sb], T.maximum), {}, `maximum [${sa}] [${sb}]`);
        const c = bools(sizeOf(sc), seed + 2);
        check(await both(['bool', 'float32', 'float32'], [c, a, b], [sc, sa, sb], T.where), {}, 'where');
        const ia = ints(sizeOf(sa), seed);
        const ib = ints(sizeOf(sb), seed + 1);
        check(await both(['int32', 'int32'], [ia, ib], [sa, sb], T.ge), {}, `ge int32 [${sa}] [${sb}]`);
      }),
      { numRuns: RUNS },
    );
  });

  it('binary add/sub/mul/div/maximum/minimum on int32 (wrap, truncating division)', async () => {
    await fc.assert(
      fc.asyncProperty(broadcastShapesArb(2), fc.nat(), async ({ ins }, seed) => {
        const xa = ints(sizeOf(ins[0]!), seed);
        // A zero divisor is an error on both backends (issue 14; test/errors/webgpu.test.ts).
        const xb = ints(sizeOf(ins[1]!), seed + 7).map((v) => (v === 0 ? 3 : v));
        for (const f of [T.add, T.sub, T.mul, T.div, T.maximum, T.minimum]) {
          check(await both(['int32', 'int32'], [xa, xb], ins, f), {}, `${f.name} int32 [${ins[0]}] [${ins[1]}]`);
        }
      }),
      { numRuns: 12 },
    );
  });

  it('int32 edge cases: overflow wraps, MIN / -1; division by zero is an error on both backends', async () => {
    const a = new Int32Array([2147483647, -2147483648, -2147483648, 7, -7, 7, 0, 65536]);
    const b = new Int32Array([1, -1, -1, 5, 2, -2, 9, 65536]);
    for (const f of [T.add, T.sub, T.mul, T.div])
      check(await both(['int32', 'int32'], [a, b], [[8], [8]], f), {}, f.name);
    const zero = new Int32Array([1, 0]);
    expect(() => T.div(onCpu(zero, [2], 'int32'), onCpu(zero, [2], 'int32'))).toThrow(/div: integer division by zero/);
    const yg = T.div(onGpu(gpu!, zero, [2], 'int32'), onGpu(gpu!, zero, [2], 'int32'));
    await expect(yg.data()).rejects.toThrow(/div: integer division by zero/);
  });

  const CMP: CompareOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'];
  for (const op of CMP) {
    it(`compare ${op} (float32 with NaN and ties, int32, bool)`, async () => {
      const f = (T as unknown as Record<string, (x: Tensor, y: Tensor) => Tensor>)[op]!;
      await fc.assert(
        fc.asyncProperty(broadcastShapesArb(2), fc.nat(), async ({ ins }, seed) => {
          const small = (r: () => number) => Math.round(r() * 6 - 3);
          const fa = floats(sizeOf(ins[0]!), seed, small, 0.15);
          const fb = floats(sizeOf(ins[1]!), seed + 3, small, 0.15);
          check(await both(['float32', 'float32'], [fa, fb], ins, f), {}, `${op} float32`);
          const ia = Int32Array.from(fa, (v) => (Number.isFinite(v) ? v : 5));
          const ib = Int32Array.from(fb, (v) => (Number.isFinite(v) ? v : -5));
          check(await both(['int32', 'int32'], [ia, ib], ins, f), {}, `${op} int32`);
          const ba = bools(sizeOf(ins[0]!), seed);
          const bb = bools(sizeOf(ins[1]!), seed + 1);
          check(await both(['bool', 'bool'], [ba, bb], ins, f), {}, `${op} bool`);
        }),
        { numRuns: 12 },
      );
    });
  }

  it('where with three-way broadcasting (float32, int32, bool branches)', async () => {
    await fc.assert(
      fc.asyncProperty(broadcastShapesArb(3), fc.nat(), async ({ ins }, seed) => {
        const c = bools(sizeOf(ins[0]!), seed);
        const a = floats(sizeOf(ins[1]!), seed + 1, uniformIn(-5, 5));
        const b = floats(sizeOf(ins[2]!), seed + 2, uniformIn(-5, 5));
        check(await both(['bool', 'float32', 'float32'], [c, a, b], ins, T.where), {}, 'where float32');
        const ia = ints(sizeOf(ins[1]!), seed);
        const ib = ints(sizeOf(ins[2]!), seed + 1);
        check(await both(['bool', 'int32', 'int32'], [c, ia, ib], ins, T.where), {}, 'where int32');
        const ba = bools(sizeOf(ins[1]!), seed + 5);
        const bb = bools(sizeOf(ins[2]!), seed + 6);
        check(await both(['bool', 'bool', 'bool'], [c, ba, bb], ins, T.where), {}, 'where bool');
      }),
      { numRuns: RUNS },
    );
  });

  it('cast between float32, int32 and bool (truncation, wrap-around, NaN, Inf, -0)', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb, fc.nat(), async (shape, seed) => {
        const n = sizeOf(shape);
        const big = (r: () => number) => (r() < 0.5 ? uniformIn(-10, 10)(r) : (r() - 0.5) * 2 ** (r() * 40));
        const sources: [DType, TypedArray][] = [
          ['float32', floats(n, seed, big, 0.15)],
          ['int32', ints(n, seed)],
          ['bool', bools(n, seed)],
        ];
        for (const [from, data] of sources) {
          for (const to of ['float32', 'int32', 'bool'] as DType[]) {
            if (from === to) continue;
            // int32 -> float32 rounds to nearest; large odd ints are where GPUs could differ.
            check(await both([from], [data], [shape], (t) => T.cast(t, to)), {}, `cast ${from} -> ${to}`);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('zero-size tensors through every elementwise kernel', async () => {
    const shapes = [[0], [3, 0], [0, 4, 2]];
    for (const s of shapes) {
      const x = new Float32Array(0);
      for (const f of [T.exp, T.neg, T.relu]) check(await both(['float32'], [x], [s], f), {}, `unary on [${s}]`);
      check(await both(['float32', 'float32'], [x, new Float32Array([2])], [s, [1]], T.add), {}, 'add');
      check(await both(['float32', 'float32'], [x, x], [s, s], T.lt), {}, 'lt');
      check(await both(['float32'], [x], [s], (t) => T.cast(t, 'int32')), {}, 'cast');
    }
  });

  it('NaN and signed zeros: relu(NaN) = NaN, sign(NaN) = NaN, maximum/minimum propagate NaN', async () => {
    const x = new Float32Array([Number.NaN, -0, 0, -3, 3, Number.NEGATIVE_INFINITY]);
    const g = onGpu(gpu!, x, [6], 'float32');
    const relu = Array.from(await T.relu(g).data());
    expect(relu[0]).toBeNaN();
    expect(relu.slice(1)).toEqual([0, 0, 0, 3, 0]);
    const sign = Array.from(await T.sign(g).data());
    expect(sign[0]).toBeNaN();
    expect(Object.is(sign[1], -0)).toBe(true);
    expect(sign.slice(2)).toEqual([0, -1, 1, -1]);
    const mx = Array.from(await T.maximum(g, 1).data());
    expect(mx[0]).toBeNaN();
    expect(mx.slice(1)).toEqual([1, 1, 1, 3, 1]);
    const mn = Array.from(await T.minimum(g, 1).data());
    expect(mn[0]).toBeNaN();
    expect(Number.isNaN(Array.from(await T.tanh(g).data())[0])).toBe(true);
    g.dispose();
  });
});
