/**
 * The CPU backend's generated broadcasting loops (src/kernels/cpu/loops.ts), its pool of released
 * kernel outputs (src/kernels/cpu/util.ts) and its float32 tanh (src/kernels/cpu/fastmath.ts),
 * each against a reference written here: per-element index arithmetic for broadcasting, Math.tanh
 * for tanh; and the branch-free kernels (where on 32-bit words, comparisons) and the sum walk
 * (src/kernels/cpu/reduce.ts) bit for bit against `c ? a : b` and a sequential sum in index order.
 */
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  add,
  broadcastTo,
  eq,
  ge,
  getBackend,
  gt,
  le,
  lt,
  memory,
  mul,
  ne,
  relu,
  setBackend,
  sum,
  tanh,
  tensor,
  tidy,
  where,
} from '../src/index.js';
import { tanhFloat32 } from '../src/kernels/cpu/fastmath.js';
import { broadcastMap, setLoopCodegen } from '../src/kernels/cpu/loops.js';
import { alloc, pooledOutputBytes, recycle } from '../src/kernels/cpu/util.js';
import { sizeOf } from '../src/tensor/shape.js';

beforeAll(async () => {
  await setBackend('cpu');
});
afterEach(() => setLoopCodegen(true));

/** A random shape of rank <= 5 and shapes broadcastable to it (some axes set to 1 or dropped). */
const broadcastCase = fc
  .array(fc.integer({ min: 1, max: 5 }), { minLength: 0, maxLength: 5 })
  .chain((out) =>
    fc.record({
      out: fc.constant(out),
      inputs: fc.array(
        fc.record({
          drop: fc.integer({ min: 0, max: out.length }),
          ones: fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    }),
  )
  .map(({ out, inputs }) => ({
    out,
    shapes: inputs.map(({ drop, ones }) => out.slice(drop).map((n, i) => (ones[i + drop] ? 1 : n))),
  }));

/** Reference: out[i] = f(x_k[index of i broadcast into x_k]) by explicit index arithmetic. */
function reference(f: (...a: number[]) => number, data: Float64Array[], shapes: number[][], out: number[]): number[] {
  const n = sizeOf(out);
  const res: number[] = [];
  for (let i = 0; i < n; i++) {
    const idx: number[] = [];
    let r = i;
    for (let d = out.length - 1; d >= 0; d--) {
      idx[d] = r % out[d]!;
      r = Math.floor(r / out[d]!);
    }
    const args = shapes.map((s, k) => {
      let off = 0;
      const lead = out.length - s.length;
      for (let d = 0; d < s.length; d++) off = off * s[d]! + (s[d] === 1 ? 0 : idx[d + lead]!);
      return data[k]![off]!;
    });
    res.push(f(...args));
  }
  return res;
}

describe('CPU broadcasting loops', () => {
  for (const codegen of [true, false]) {
    it(`match per-element index arithmetic on random broadcasts (${codegen ? 'generated' : 'CSP fallback'})`, () => {
      setLoopCodegen(codegen);
      const f = (...a: number[]) => a.reduce((s, v, k) => s + v * (k + 1) ** 2, 0);
      fc.assert(
        fc.property(broadcastCase, ({ out, shapes }) => {
          const data = shapes.map((s, k) => Float64Array.from({ length: sizeOf(s) }, (_, i) => i + 100 * k));
          const got = new Float64Array(sizeOf(out));
          broadcastMap(
            `test${shapes.length}`,
            f,
            shapes.map((s, k) => ({ data: data[k]!, shape: s })),
            out,
            got,
          );
          expect(Array.from(got)).toEqual(reference(f, data, shapes, out));
        }),
        { numRuns: 300 },
      );
    });
  }

  it('through the ops: bias rows, columns, scalars and where', () => {
    const x = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(add(x, tensor([10, 20, 30])).arraySync()).toEqual([
      [11, 22, 33],
      [14, 25, 36],
    ]);
    expect(mul(x, tensor([[2], [3]])).arraySync()).toEqual([
      [2, 4, 6],
      [12, 15, 18],
    ]);
    expect(add(tensor(1), x).arraySync()).toEqual([
      [2, 3, 4],
      [5, 6, 7],
    ]);
    expect(where(tensor([true, false, true]), x, tensor(0)).arraySync()).toEqual([
      [1, 0, 3],
      [4, 0, 6],
    ]);
  });
});

/** Values that a sign or NaN test may mishandle: signed zeros, infinities, NaN, subnormals. */
const SPECIAL = [0, -0, 1, -1.5, Infinity, -Infinity, Number.NaN, 1e-40, -3e-39, 2.5, -7];

describe('branch-free where and comparisons, and the sum walk', () => {
  const bitsOf = (a: ArrayLike<number>, dtype: 'float32' | 'float64' | 'int32') =>
    Array.from(
      new Uint8Array(
        (dtype === 'float32' ? Float32Array.from(a) : dtype === 'float64' ? Float64Array.from(a) : Int32Array.from(a))
          .buffer,
      ),
    );

  it('where selects the same bits as c ? a : b, broadcast, for every numeric dtype', () => {
    fc.assert(
      fc.property(
        broadcastCase.filter((c) => c.shapes.length === 3),
        fc.constantFrom('float32', 'float64', 'int32'),
        fc.nat(),
        ({ out, shapes: drawn }, dtype, seed) => {
          // a takes the full shape, so that the result has shape `out`.
          const shapes = [drawn[0]!, out, drawn[2]!];
          const pick = (i: number, k: number) => {
            const v = SPECIAL[(i * 7 + k * 3 + seed) % SPECIAL.length]!;
            return dtype === 'int32' ? (Number.isFinite(v) ? Math.trunc(v * 1000) : -(2 ** 31) + i) : v;
          };
          const cond = Array.from({ length: sizeOf(shapes[0]!) }, (_, i) => (i * 5 + seed) % 3 === 0);
          const [av, bv] = [1, 2].map((k) => Array.from({ length: sizeOf(shapes[k]!) }, (_, i) => pick(i, k)));
          const got = tidy(() =>
            where(
              tensor(cond).reshape(shapes[0]!),
              tensor(av!, { dtype }).reshape(shapes[1]!),
              tensor(bv!, { dtype }).reshape(shapes[2]!),
            ).dataSync(),
          );
          const want = reference(
            (c, a, b) => (c ? a! : b!),
            [Float64Array.from(cond, Number), Float64Array.from(av!), Float64Array.from(bv!)],
            shapes,
            out,
          );
          expect(bitsOf(got as ArrayLike<number>, dtype)).toEqual(bitsOf(want, dtype));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('float32 relu on bits gives x > 0 ? x : 0 with NaN kept and +0 for negatives (-0, -inf, subnormals)', () => {
    const xs = [...SPECIAL, -Number.NaN, 3.4e38, -3.4e38, 1e-45, -1e-45];
    const got = tidy(() => Array.from(relu(tensor(xs)).dataSync() as Float32Array));
    const want = Float32Array.from(xs, (x) => (x > 0 ? x : x === x ? 0 : x));
    expect(bitsOf(got, 'float32')).toEqual(bitsOf(want, 'float32'));
    // A NaN whose sign bit is set stays NaN.
    const negNaN = new Float32Array(new Int32Array([0xffc00001 | 0]).buffer);
    expect(Number.isNaN(tidy(() => relu(tensor(negNaN)).dataSync()[0]!))).toBe(true);
  });

  it('expand (broadcastTo) copies every value bit for bit (NaN payloads, float64, int32, bool), broadcast', () => {
    // Raw bytes on both sides (a round trip through JS numbers would canonicalise the NaNs).
    const payload = new Float32Array(new Int32Array([0x7fc00123, 0xff800001 | 0, 5]).buffer);
    const rawBytes = (a: Float32Array) => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    const f32 = tidy(() => rawBytes(broadcastTo(tensor(payload).reshape([3, 1]), [3, 4]).dataSync() as Float32Array));
    const perValue = rawBytes(payload);
    const want = [0, 1, 2].flatMap((v) => [0, 1, 2, 3].flatMap(() => perValue.slice(4 * v, 4 * v + 4)));
    expect(f32).toEqual(want);
    const f64 = [1.5, -0, Number.NaN, 1e-310];
    const got64 = tidy(() =>
      Array.from(broadcastTo(tensor(f64, { dtype: 'float64' }), [2, 4]).dataSync() as Float64Array),
    );
    expect(bitsOf(got64, 'float64')).toEqual(bitsOf([...f64, ...f64], 'float64'));
    expect(
      tidy(() => broadcastTo(tensor([7, -8], { dtype: 'int32' }).reshape([2, 1, 1]), [2, 2, 1]).arraySync()),
    ).toEqual([
      [[7], [7]],
      [[-8], [-8]],
    ]);
    expect(tidy(() => broadcastTo(tensor([true, false]), [2, 2]).arraySync())).toEqual([
      [true, false],
      [true, false],
    ]);
  });

  it('comparisons give 1 and 0 as the operators do, NaN included', () => {
    const a = SPECIAL.flatMap((x) => SPECIAL.map(() => x));
    const b = SPECIAL.flatMap(() => SPECIAL);
    const cases = [
      [gt, (x: number, y: number) => x > y],
      [lt, (x: number, y: number) => x < y],
      [ge, (x: number, y: number) => x >= y],
      [le, (x: number, y: number) => x <= y],
      [eq, (x: number, y: number) => x === y],
      [ne, (x: number, y: number) => x !== y],
    ] as const;
    for (const dtype of ['float32', 'float64'] as const) {
      for (const [op, js] of cases) {
        const got = tidy(() => Array.from(op(tensor(a, { dtype }), tensor(b, { dtype })).dataSync() as Uint8Array));
        const f = dtype === 'float32' ? Math.fround : (v: number) => v;
        expect(got).toEqual(a.map((x, i) => (js(f(x), f(b[i]!)) ? 1 : 0)));
      }
    }
  });

  it('sums over any set of axes equal a sequential float64 sum in index order, bit for bit', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 0, maxLength: 5 }),
        fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        fc.constantFrom('float32', 'float64'),
        (shape, pickAxes, dtype) => {
          const axes = shape.map((_, d) => d).filter((d) => pickAxes[d]);
          const n = sizeOf(shape);
          const xs = Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 * 10 ** ((i % 7) - 3));
          const got = tidy(() =>
            Array.from(sum(tensor(xs, { dtype }).reshape(shape), axes).dataSync() as ArrayLike<number>),
          );
          // Reference: each output accumulates its inputs in increasing flat index, in float64.
          const src = dtype === 'float32' ? Float32Array.from(xs) : Float64Array.from(xs);
          const keptDims = shape.map((k, d) => (axes.includes(d) ? 1 : k));
          const acc = new Float64Array(sizeOf(keptDims));
          for (let i = 0; i < n; i++) {
            let r = i;
            let o = 0;
            let stride = 1;
            for (let d = shape.length - 1; d >= 0; d--) {
              const idx = r % shape[d]!;
              r = Math.floor(r / shape[d]!);
              if (!axes.includes(d)) {
                o += idx * stride;
                stride *= shape[d]!;
              }
            }
            acc[o]! += src[i]!;
          }
          expect(bitsOf(got, dtype)).toEqual(bitsOf(acc, dtype));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('CPU output pool', () => {
  it('reuses a released kernel output, zeroed, and ignores a second release', () => {
    const a = alloc('float32', [1024]);
    a.fill(7);
    recycle(a);
    recycle(a); // double release: must not hand the same array out twice
    const b = alloc('float32', [1024]);
    const c = alloc('float32', [1024]);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect(b.every((v) => v === 0)).toBe(true);
  });

  it('evicts the longest-pooled outputs when full, so that a new size still pools', () => {
    const n = 4 << 20; // 16 MiB of float32: five of them exceed the 64 MiB cap
    const olds = Array.from({ length: 5 }, () => alloc('float32', [n], false));
    for (const a of olds) recycle(a);
    expect(pooledOutputBytes()).toBeLessThanOrEqual(64 << 20);
    const fresh = alloc('float64', [n / 2], false);
    recycle(fresh); // a new size, released into a full pool: evicts the oldest instead of being dropped
    expect(alloc('float64', [n / 2], false)).toBe(fresh);
    const back = Array.from({ length: 4 }, () => alloc('float32', [n], false));
    // olds[0] and olds[1] were evicted (first for olds[4], then for fresh); the rest came back.
    expect(back).not.toContain(olds[0]);
    expect(back).not.toContain(olds[1]);
    expect(back.filter((a) => olds.includes(a)).length).toBe(3);
  });

  it("never pools a user's array", () => {
    const mine = new Float32Array(1024).fill(3);
    recycle(mine);
    const next = alloc('float32', [1024]);
    expect(next).not.toBe(mine);
    expect(mine.every((v) => v === 3)).toBe(true);
  });

  it('keeps tensors intact across many steps that release and reuse buffers', () => {
    const w = tensor(
      Float32Array.from({ length: 4096 }, (_, i) => Math.sin(i)),
      { shape: [64, 64] },
    );
    const expected = Array.from(tanh(w).dataSync());
    const before = memory().numTensors;
    for (let step = 0; step < 50; step++) {
      tidy(() => {
        const y = tanh(w);
        expect(Array.from(y.dataSync())).toEqual(expected);
        return undefined;
      });
    }
    expect(memory().numTensors).toBe(before);
    expect(getBackend().memory().bytesPooled).toBeGreaterThan(0);
    w.dispose();
  });
});

describe('float32 tanh', () => {
  const ulp32 = (x: number) => {
    const a = Math.abs(Math.fround(x));
    return a < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(a)) - 23);
  };
  it('is within 3 float32 ulp of Math.tanh (random and edge values)', () => {
    const edges = [0, -0, 4e-4, -4e-4, 3.9e-4, 1e-30, 0.5, 1, 7.9, 7.91, 20, -20, 1e30, -1e30];
    for (const v of edges) {
      const got = Math.fround(tanhFloat32(v));
      expect(Math.abs(got - Math.tanh(v)), `tanh(${v})`).toBeLessThanOrEqual(3 * ulp32(Math.tanh(v)));
    }
    fc.assert(
      fc.property(fc.double({ min: -12, max: 12, noNaN: true }), (v) => {
        const got = Math.fround(tanhFloat32(Math.fround(v)));
        const ref = Math.tanh(Math.fround(v));
        expect(Math.abs(got - ref)).toBeLessThanOrEqual(3 * ulp32(ref));
      }),
      { numRuns: 20000 },
    );
    expect(Object.is(tanhFloat32(-0), -0)).toBe(true);
    expect(tanhFloat32(Number.NaN)).toBeNaN();
    expect(tanhFloat32(Number.POSITIVE_INFINITY)).toBe(Math.fround(tanhFloat32(Number.POSITIVE_INFINITY)));
    expect(Math.fround(tanhFloat32(Number.POSITIVE_INFINITY))).toBe(1);
  });
});
