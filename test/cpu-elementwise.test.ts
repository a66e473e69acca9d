/**
 * The CPU backend's generated broadcasting loops (src/kernels/cpu/loops.ts), its pool of released
 * kernel outputs (src/kernels/cpu/util.ts) and its float32 tanh (src/kernels/cpu/fastmath.ts),
 * each against a reference written here: per-element index arithmetic for broadcasting, Math.tanh
 * for tanh.
 */
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { add, getBackend, memory, mul, setBackend, tanh, tensor, tidy, where } from '../src/index.js';
import { tanhFloat32 } from '../src/kernels/cpu/fastmath.js';
import { broadcastMap, setLoopCodegen } from '../src/kernels/cpu/loops.js';
import { alloc, recycle } from '../src/kernels/cpu/util.js';
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
