/**
 * Known-value tests of op semantics, with expected values derived by hand or computed by small
 * independent reference implementations written here (never from the library's own output):
 * broadcasting, reductions and keepdims, argmax/argmin ties and NaN, logsumexp stability, softmax,
 * rounding, NaN propagation, int32 arithmetic, matmul. Convolution and pooling:
 * semantics-conv.test.ts; slicing, movement, indexing and creation: semantics-movement.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import * as T from '../../src/index.js';
import { sizeOf } from '../../src/tensor/shape.js';
import { broadcastPairArb, type Shape, shapeArb, valuesArb } from '../helpers/arbitraries.js';
import { runs, seededValues } from '../helpers/gradcheck.js';
import { arr, f64, i32, vals } from '../helpers/known-values.js';
import { expectClose } from '../helpers/tolerance.js';

/** Row-major strides (independent of the library). */
function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Multi-index of flat index `i` in `shape`. */
function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}

/** Flat index into `from` of output multi-index `idx` under NumPy broadcasting. */
function broadcastIndex(idx: number[], from: readonly number[]): number {
  const lead = idx.length - from.length;
  const s = strides(from);
  let off = 0;
  for (let d = 0; d < from.length; d++) off += (from[d] === 1 ? 0 : idx[d + lead]!) * s[d]!;
  return off;
}

describe('broadcasting', () => {
  it('by hand: column plus row, and shapes', () => {
    const a = f64([[1], [2]]);
    const b = f64([10, 20, 30]);
    const c = T.add(a, b);
    expect(c.shape).toEqual([2, 3]);
    expect(arr(c)).toEqual([
      [11, 21, 31],
      [12, 22, 32],
    ]);
    expect(T.mul(T.zeros([2, 1, 3]), T.zeros([4, 1])).shape).toEqual([2, 4, 3]);
    expect(T.sub(T.zeros([]), T.zeros([5, 1, 1])).shape).toEqual([5, 1, 1]);
    expect(T.add(T.zeros([0, 3]), T.zeros([1, 3])).shape).toEqual([0, 3]);
  });

  it('every binary op and comparison matches an elementwise reference with NumPy broadcasting', () => {
    const fns: [string, (a: Tensor, b: Tensor) => Tensor, (x: number, y: number) => number][] = [
      ['add', T.add, (x, y) => x + y],
      ['sub', T.sub, (x, y) => x - y],
      ['mul', T.mul, (x, y) => x * y],
      ['div', T.div, (x, y) => x / y],
      ['pow', (a, b) => T.pow(T.abs(a), b), (x, y) => Math.abs(x) ** y],
      ['maximum', T.maximum, Math.max],
      ['minimum', T.minimum, Math.min],
      ['atan2', T.atan2, Math.atan2],
      ['tanhBackward', T.tanhBackward, (y, g) => g * ((1 - y) * (1 + y))],
      ['lt', (a, b) => T.cast(T.lt(a, b), 'float64'), (x, y) => Number(x < y)],
      ['ge', (a, b) => T.cast(T.ge(a, b), 'float64'), (x, y) => Number(x >= y)],
      ['eq', (a, b) => T.cast(T.eq(a, b), 'float64'), (x, y) => Number(x === y)],
      ['ne', (a, b) => T.cast(T.ne(a, b), 'float64'), (x, y) => Number(x !== y)],
    ];
    const arb = broadcastPairArb({ maxRank: 4, maxSize: 64 }).chain((p) =>
      fc.tuple(fc.constant(p), valuesArb(sizeOf(p.a)), valuesArb(sizeOf(p.b))),
    );
    fc.assert(
      fc.property(arb, ([p, va, vb]) => {
        T.tidy(() => {
          const a = T.tensor(va, { shape: p.a });
          const b = T.tensor(vb, { shape: p.b });
          for (const [name, f, ref] of fns) {
            const z = f(a, b);
            expect(z.shape).toEqual(p.out);
            const expected = Array.from({ length: sizeOf(p.out) }, (_, i) => {
              const idx = unravel(i, p.out);
              return ref(va[broadcastIndex(idx, p.a)]!, vb[broadcastIndex(idx, p.b)]!);
            });
            expectClose(z.dataSync(), expected, { rtol: 1e-15, atol: 0 }, name);
          }
        });
      }),
      runs(30),
    );
  });

  it('where broadcasts condition and both branches', () => {
    const c = T.tensor([[true], [false]]);
    const y = T.where(c, f64([1, 2, 3]), f64(-1));
    expect(arr(y)).toEqual([
      [1, 2, 3],
      [-1, -1, -1],
    ]);
  });
});

describe('elementwise unary ops', () => {
  it('match Math.* in float64 and stay close in float32', () => {
    const ops: [string, (t: Tensor) => Tensor, (x: number) => number, number, number][] = [
      ['neg', T.neg, (x) => -x, -5, 5],
      ['exp', T.exp, Math.exp, -5, 5],
      ['log', T.log, Math.log, 0.01, 5],
      ['log1p', T.log1p, Math.log1p, -0.99, 5],
      ['expm1', T.expm1, Math.expm1, -5, 5],
      ['sqrt', T.sqrt, Math.sqrt, 0, 5],
      ['rsqrt', T.rsqrt, (x) => 1 / Math.sqrt(x), 0.01, 5],
      ['abs', T.abs, Math.abs, -5, 5],
      ['sign', T.sign, Math.sign, -5, 5],
      ['sin', T.sin, Math.sin, -10, 10],
      ['cos', T.cos, Math.cos, -10, 10],
      ['tanh', T.tanh, Math.tanh, -10, 10],
      ['sigmoid', T.sigmoid, (x) => 1 / (1 + Math.exp(-x)), -30, 30],
      ['relu', T.relu, (x) => Math.max(x, 0), -5, 5],
      ['floor', T.floor, Math.floor, -5, 5],
      ['ceil', T.ceil, Math.ceil, -5, 5],
    ];
    for (const [name, f, ref, lo, hi] of ops) {
      const v = seededValues(101, name.length * 17 + 3, lo, hi);
      T.tidy(() => {
        expectClose(f(T.tensor(v)).dataSync(), Array.from(v, ref), { rtol: 1e-14, atol: 1e-300 }, `${name} float64`);
        const v32 = Float32Array.from(v);
        const expected32 = Array.from(v32, ref);
        expectClose(f(T.tensor(v32)).dataSync(), expected32, { rtol: 2e-6, atol: 1e-7 }, `${name} float32`);
      });
    }
  });

  it('round is half to even', () => {
    const x = f64([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49999999999999994, 2.4, -2.6, 7]);
    expect(vals(T.round(x))).toEqual([-2, -2, -0, 0, 2, 2, 4, 0, 2, -3, 7]);
    expect(vals(T.round(T.tensor([0.5, 1.5, 2.5], { dtype: 'float32' })))).toEqual([0, 2, 2]);
  });

  it('sigmoid is stable at the extremes; relu keeps NaN', () => {
    expect(vals(T.sigmoid(f64([-1000, 1000, 0])))).toEqual([0, 1, 0.5]);
    expect(vals(T.relu(f64([Number.NaN, -1, 2])))).toEqual([Number.NaN, 0, 2]);
  });
});

describe('NaN propagation and integer arithmetic', () => {
  it('max/min reductions and maximum/minimum propagate NaN', () => {
    const x = f64([
      [1, Number.NaN, 3],
      [4, 5, 6],
    ]);
    expect(vals(T.max(x))).toEqual([Number.NaN]);
    expect(vals(T.min(x))).toEqual([Number.NaN]);
    expect(vals(T.max(x, 1))).toEqual([Number.NaN, 6]);
    expect(vals(T.min(x, 0))).toEqual([1, Number.NaN, 3]);
    expect(vals(T.max(f64([Number.NaN, 1])))).toEqual([Number.NaN]);
    expect(vals(T.max(f64([1, Number.NaN])))).toEqual([Number.NaN]);
    expect(vals(T.maximum(f64([Number.NaN, 1, 2]), f64([1, Number.NaN, 3])))).toEqual([Number.NaN, Number.NaN, 3]);
    expect(vals(T.minimum(f64([Number.NaN, 1, 2]), f64([1, Number.NaN, 3])))).toEqual([Number.NaN, Number.NaN, 2]);
    expect(vals(T.sum(f64([1, Number.NaN])))).toEqual([Number.NaN]);
  });

  it('matmul and conv2d follow IEEE: 0 * NaN and 0 * Inf are NaN (no skipping of zero operands)', () => {
    expect(vals(T.matmul(f64([[0, 1]]), f64([[Number.NaN], [2]])))).toEqual([Number.NaN]);
    expect(vals(T.matmul(f64([[0, 1]]), f64([[Number.POSITIVE_INFINITY], [2]])))).toEqual([Number.NaN]);
    expect(vals(T.matmul(f64([[Number.NaN, 1]]), f64([[0], [2]])))).toEqual([Number.NaN]);
    expect(vals(T.conv2d(f64([[[[0]]]]), f64([[[[Number.NaN]]]])))).toEqual([Number.NaN]);
  });

  it('isnan / isfinite / isinf', () => {
    const x = f64([1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    expect(arr(T.isnan(x))).toEqual([false, true, false, false]);
    expect(arr(T.isfinite(x))).toEqual([true, false, false, false]);
    expect(arr(T.isinf(x))).toEqual([false, false, true, true]);
  });

  it('int32 division truncates towards zero; int32 stays int32 with JS numbers', () => {
    const q = T.div(i32([7, -7, 7, -7, 1, 0]), i32([2, 2, -2, -2, 3, 5]));
    expect(q.dtype).toBe('int32');
    expect(vals(q)).toEqual([3, -3, -3, 3, 0, 0]);
    const s = T.add(i32([1, 2]), 3);
    expect(s.dtype).toBe('int32');
    expect(vals(s)).toEqual([4, 5]);
    expect(vals(T.mul(i32([-3, 4]), 5))).toEqual([-15, 20]);
    expect(vals(T.neg(i32([3, -4])))).toEqual([-3, 4]);
    expect(vals(T.abs(i32([3, -4])))).toEqual([3, 4]);
    expect(vals(T.maximum(i32([3, -4]), i32([1, 1])))).toEqual([3, 1]);
    // Casting floats to int32 truncates towards zero.
    expect(vals(T.cast(f64([2.7, -2.7, 0.5]), 'int32'))).toEqual([2, -2, 0]);
    expect(arr(T.cast(f64([0, 2, -0.5]), 'bool'))).toEqual([false, true, true]);
  });

  it('bool sums count trues as int32', () => {
    const s = T.sum(T.tensor([true, false, true]));
    expect(s.dtype).toBe('int32');
    expect(vals(s)).toEqual([2]);
  });
});

describe('reductions', () => {
  const x = () =>
    f64([
      [1, 2, 3],
      [4, 5, 6],
    ]);

  it('sum over axes with and without keepdims', () => {
    expect(arr(T.sum(x(), 1))).toEqual([6, 15]);
    expect(T.sum(x(), 1, { keepdims: true }).shape).toEqual([2, 1]);
    expect(arr(T.sum(x(), 1, { keepdims: true }))).toEqual([[6], [15]]);
    expect(arr(T.sum(x(), 0))).toEqual([5, 7, 9]);
    expect(arr(T.sum(x(), -2, { keepdims: true }))).toEqual([[5, 7, 9]]);
    const all = T.sum(x());
    expect(all.shape).toEqual([]);
    expect(arr(all)).toBe(21);
    expect(arr(T.sum(x(), [0, 1], { keepdims: true }))).toEqual([[21]]);
    expect(arr(T.sum(x(), [], {}))).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(vals(T.sum(T.zeros([0, 3]), 0))).toEqual([0, 0, 0]);
  });

  it('max / min / mean / variance / std / norm by hand', () => {
    expect(arr(T.max(x(), 0))).toEqual([4, 5, 6]);
    expect(arr(T.min(x(), 1, { keepdims: true }))).toEqual([[1], [4]]);
    expect(arr(T.mean(x(), 1))).toEqual([2, 5]);
    expect(arr(T.mean(x()))).toBe(3.5);
    const v = f64([1, 2, 3, 4]);
    expect(arr(T.variance(v))).toBe(1.25);
    expect(arr(T.variance(v, 0, { correction: 1 }))).toBeCloseTo(5 / 3, 15);
    expect(arr(T.std(v))).toBeCloseTo(Math.sqrt(1.25), 15);
    const n = f64([3, -4]);
    expect(arr(T.norm(n))).toBe(5);
    expect(arr(T.norm(n, 1))).toBe(7);
    expect(arr(T.norm(n, Number.POSITIVE_INFINITY))).toBe(4);
    expect(arr(T.norm(n, 3))).toBeCloseTo((27 + 64) ** (1 / 3), 14);
    expect(
      arr(
        T.norm(
          f64([
            [3, 4],
            [6, 8],
          ]),
          2,
          1,
          { keepdims: true },
        ),
      ),
    ).toEqual([[5], [10]]);
  });

  it('argmax / argmin: first index on ties, NaN wins, axis and keepdims', () => {
    expect(arr(T.argmax(f64([1, 3, 3, 2])))).toBe(1);
    expect(arr(T.argmin(f64([2, 0, 0, 1])))).toBe(1);
    expect(arr(T.argmax(f64([1, Number.NaN, 5, Number.NaN])))).toBe(1);
    expect(arr(T.argmin(f64([1, -5, Number.NaN])))).toBe(2);
    expect(arr(T.argmax(f64([Number.NaN, 1])))).toBe(0);
    const m = f64([
      [1, 9, 9],
      [7, 7, 2],
    ]);
    const am = T.argmax(m, 1);
    expect(am.dtype).toBe('int32');
    expect(arr(am)).toEqual([1, 0]);
    expect(arr(T.argmin(m, 0, { keepdims: true }))).toEqual([[0, 1, 1]]);
    expect(arr(T.argmax(m))).toBe(1); // flattened
    expect(T.argmax(m, undefined, { keepdims: true }).shape).toEqual([1, 1]);
    expect(arr(T.argmax(i32([3, 8, 8])))).toBe(1);
  });
});

describe('logsumexp and softmax', () => {
  it('logsumexp is stable at +-1e4 and handles -inf entries', () => {
    expect(vals(T.logsumexp(f64([1e4, 1e4])))).toEqual([1e4 + Math.LN2]);
    expect(vals(T.logsumexp(f64([-1e4, -1e4])))).toEqual([-1e4 + Math.LN2]);
    expectClose(vals(T.logsumexp(T.tensor([1e4, 1e4], { dtype: 'float32' }))), [1e4 + Math.LN2], {
      rtol: 1e-6,
      atol: 0,
    });
    const ninf = Number.NEGATIVE_INFINITY;
    expect(vals(T.logsumexp(f64([ninf, 0])))).toEqual([0]);
    expect(vals(T.logsumexp(f64([ninf, ninf])))).toEqual([ninf]);
    expect(
      vals(
        T.logsumexp(
          f64([
            [ninf, ninf],
            [0, Math.log(3)],
          ]),
          1,
        ),
      ),
    ).toEqual([ninf, Math.log(4)]);
    // Gradient at a -inf entry is 0 (softmax weight), at the others softmax.
    const g = T.grad((t: Tensor) => T.logsumexp(t))(f64([ninf, 0, Math.log(3)]));
    expectClose(vals(g), [0, 0.25, 0.75], { rtol: 1e-15, atol: 1e-16 });
    expect(T.logsumexp(f64([[1, 2]]), 1, { keepdims: true }).shape).toEqual([1, 1]);
  });

  it('softmax by hand, and rows sum to 1 even for huge logits', () => {
    expectClose(vals(T.softmax(f64([0, Math.log(3)]))), [0.25, 0.75], { rtol: 1e-15, atol: 1e-16 });
    expectClose(vals(T.logSoftmax(f64([0, Math.log(3)]))), [Math.log(0.25), Math.log(0.75)], {
      rtol: 1e-15,
      atol: 1e-16,
    });
    const arb = shapeArb({ minRank: 1, maxRank: 3, maxSize: 60 }).chain((s) =>
      fc.tuple(fc.constant(s), valuesArb(sizeOf(s), { min: -1e4, max: 1e4 })),
    );
    fc.assert(
      fc.property(arb, ([shape, v]) => {
        T.tidy(() => {
          const p = T.softmax(T.tensor(v, { shape }), -1);
          const s = T.sum(p, -1).dataSync();
          for (const x of s) expect(Math.abs(x - 1)).toBeLessThan(1e-12);
          for (const x of p.dataSync()) expect(x >= 0 && x <= 1).toBe(true);
        });
      }),
      runs(20),
    );
  });
});

describe('matmul', () => {
  it('by hand, with transpose flags and 1-D operands', () => {
    const a = f64([
      [1, 2],
      [3, 4],
    ]);
    const b = f64([
      [5, 6],
      [7, 8],
    ]);
    expect(arr(T.matmul(a, b))).toEqual([
      [19, 22],
      [43, 50],
    ]);
    expect(arr(T.matmul(a, b, { transA: true }))).toEqual([
      [26, 30],
      [38, 44],
    ]);
    expect(arr(T.matmul(a, b, { transB: true }))).toEqual([
      [17, 23],
      [39, 53],
    ]);
    expect(arr(T.matmul(f64([1, 1]), b))).toEqual([12, 14]);
    expect(arr(T.matmul(a, f64([1, -1])))).toEqual([-1, -1]);
    expect(arr(T.dot(f64([1, 2, 3]), f64([4, 5, 6])))).toBe(32);
    expect(arr(T.outer(f64([1, 2]), f64([3, 4, 5])))).toEqual([
      [3, 4, 5],
      [6, 8, 10],
    ]);
    expect(T.matmul(T.zeros([3, 1, 2, 4]), T.zeros([5, 4, 6])).shape).toEqual([3, 5, 2, 6]);
  });
});

describe('shapes of reductions against a reference', () => {
  it('keepdims shapes for random axis lists', () => {
    const arb = shapeArb({ minRank: 1, maxRank: 4, maxSize: 64 }).chain((s: Shape) =>
      fc.tuple(fc.constant(s), fc.subarray(Array.from({ length: s.length }, (_, i) => i)), fc.boolean()),
    );
    fc.assert(
      fc.property(arb, ([shape, axes, keepdims]) => {
        T.tidy(() => {
          const v = seededValues(sizeOf(shape), shape.length, -1, 1);
          const x = T.tensor(v, { shape });
          const y = T.sum(x, axes, { keepdims });
          expect(y.shape).toEqual(
            keepdims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i)),
          );
          // Reference: accumulate every element into its output slot.
          const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
          const ref = new Float64Array(sizeOf(outShape));
          for (let i = 0; i < v.length; i++) {
            const idx = unravel(i, shape).map((k, d) => (axes.includes(d) ? 0 : k));
            ref[idx.reduce((acc, k, d) => acc * outShape[d]! + k, 0)]! += v[i]!;
          }
          expectClose(y.dataSync(), ref, { rtol: 1e-14, atol: 1e-15 });
        });
      }),
      runs(30),
    );
  });
});
