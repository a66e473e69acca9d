/**
 * Known-value tests of op semantics, with expected values derived by hand or computed by small
 * independent reference implementations written here (never from the library's own output):
 * broadcasting, reductions and keepdims, argmax/argmin ties and NaN, conv / transposed conv /
 * pooling, logsumexp stability, softmax, rounding, NaN propagation, int32 arithmetic, NumPy slicing,
 * tile / repeat / oneHot / take / gather / scatter, creation functions, read-back and dtype inference.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import * as T from '../../src/index.js';
import { sizeOf } from '../../src/tensor/shape.js';
import {
  broadcastPairArb,
  type ConvGeometry,
  type ConvTransposeGeometry,
  convGeometryArb,
  convOptions,
  convShapes,
  convTransposeGeometryArb,
  type Shape,
  shapeArb,
  valuesArb,
} from '../helpers/arbitraries.js';
import { runs, seededValues } from '../helpers/gradcheck.js';
import { expectClose } from '../helpers/tolerance.js';

const f64 = (v: T.NestedArray) => T.tensor(v, { dtype: 'float64' });
const i32 = (v: T.NestedArray) => T.tensor(v, { dtype: 'int32' });
const vals = (t: Tensor) => Array.from(t.dataSync());
const arr = (t: Tensor) => t.arraySync();

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

// ------------------------------------------------------------ convolution references (direct loops)

function refConv2d(x: Float64Array, w: Float64Array, g: ConvGeometry): Float64Array {
  const y = new Float64Array(g.n * g.o * g.oh * g.ow);
  const cg = g.c / g.groups;
  const og = g.o / g.groups;
  for (let b = 0; b < g.n; b++)
    for (let o = 0; o < g.o; o++)
      for (let i = 0; i < g.oh; i++)
        for (let j = 0; j < g.ow; j++) {
          let acc = 0;
          const grp = Math.floor(o / og);
          for (let ci = 0; ci < cg; ci++)
            for (let p = 0; p < g.kh; p++)
              for (let q = 0; q < g.kw; q++) {
                const r = i * g.stride[0] - g.padding[0] + p * g.dilation[0];
                const c = j * g.stride[1] - g.padding[1] + q * g.dilation[1];
                if (r < 0 || r >= g.h || c < 0 || c >= g.w) continue;
                const xv = x[((b * g.c + grp * cg + ci) * g.h + r) * g.w + c]!;
                acc += xv * w[((o * cg + ci) * g.kh + p) * g.kw + q]!;
              }
          y[((b * g.o + o) * g.oh + i) * g.ow + j] = acc;
        }
  return y;
}

/** PyTorch's conv_transpose2d by scattering each input pixel through the kernel. */
function refConvTranspose2d(x: Float64Array, w: Float64Array, g: ConvTransposeGeometry): Float64Array {
  const y = new Float64Array(g.n * g.cout * g.oh * g.ow);
  const cinG = g.cin / g.groups;
  const coutG = g.cout / g.groups;
  for (let b = 0; b < g.n; b++)
    for (let ci = 0; ci < g.cin; ci++) {
      const grp = Math.floor(ci / cinG);
      for (let i = 0; i < g.h; i++)
        for (let j = 0; j < g.w; j++) {
          const xv = x[((b * g.cin + ci) * g.h + i) * g.w + j]!;
          for (let co = 0; co < coutG; co++)
            for (let p = 0; p < g.kh; p++)
              for (let q = 0; q < g.kw; q++) {
                const r = i * g.stride[0] - g.padding[0] + p * g.dilation[0];
                const c = j * g.stride[1] - g.padding[1] + q * g.dilation[1];
                if (r < 0 || r >= g.oh || c < 0 || c >= g.ow) continue;
                const oc = grp * coutG + co;
                y[((b * g.cout + oc) * g.oh + r) * g.ow + c]! += xv * w[((ci * coutG + co) * g.kh + p) * g.kw + q]!;
              }
        }
    }
  return y;
}

describe('convolution', () => {
  const img = () =>
    f64([
      [
        [
          [1, 2, 3],
          [4, 5, 6],
          [7, 8, 9],
        ],
      ],
    ]);
  const diag = () =>
    f64([
      [
        [
          [1, 0],
          [0, -1],
        ],
      ],
    ]);

  it('conv2d by hand: stride, padding, dilation, groups, bias', () => {
    expect(arr(T.conv2d(img(), diag()))).toEqual([
      [
        [
          [-4, -4],
          [-4, -4],
        ],
      ],
    ]);
    expect(arr(T.conv2d(img(), diag(), { stride: 2, padding: 1 }))).toEqual([
      [
        [
          [-1, -3],
          [-7, -4],
        ],
      ],
    ]);
    expect(arr(T.conv2d(img(), diag(), { dilation: 2 }))).toEqual([[[[-8]]]]);
    const x2 = f64([[[[1]], [[2]]]]);
    expect(arr(T.conv2d(x2, f64([[[[3]]], [[[4]]]]), { groups: 2 }))).toEqual([[[[3]], [[8]]]]);
    expect(
      arr(
        T.conv2d(
          x2,
          f64([
            [[[1]], [[1]]],
            [[[1]], [[-1]]],
          ]),
        ),
      ),
    ).toEqual([[[[3]], [[-1]]]]);
    expect(arr(T.conv2d(img(), diag(), { bias: f64([10]) }))).toEqual([
      [
        [
          [6, 6],
          [6, 6],
        ],
      ],
    ]);
    expect(T.conv2d(T.zeros([2, 3, 7, 5]), T.zeros([4, 3, 3, 2]), { stride: [2, 1], padding: [1, 0] }).shape).toEqual([
      2, 4, 4, 4,
    ]);
  });

  it('convTranspose2d by hand: stride 1 and 2, outputPadding, and outputPadding >= stride with dilation', () => {
    const x = f64([
      [
        [
          [1, 2],
          [3, 4],
        ],
      ],
    ]);
    const ones = T.ones([1, 1, 2, 2], 'float64');
    expect(arr(T.convTranspose2d(x, ones))).toEqual([
      [
        [
          [1, 3, 2],
          [4, 10, 6],
          [3, 7, 4],
        ],
      ],
    ]);
    expect(arr(T.convTranspose2d(x, ones, { stride: 2 }))).toEqual([
      [
        [
          [1, 1, 2, 2],
          [1, 1, 2, 2],
          [3, 3, 4, 4],
          [3, 3, 4, 4],
        ],
      ],
    ]);
    expect(arr(T.convTranspose2d(x, ones, { stride: 2, outputPadding: 1 }))).toEqual([
      [
        [
          [1, 1, 2, 2, 0],
          [1, 1, 2, 2, 0],
          [3, 3, 4, 4, 0],
          [3, 3, 4, 4, 0],
          [0, 0, 0, 0, 0],
        ],
      ],
    ]);
    // stride 1, dilation 2: outputs at i + 2p; outputPadding 1 adds a row and a column nothing reaches.
    expect(arr(T.convTranspose2d(x, ones, { dilation: 2, outputPadding: 1 }))).toEqual([
      [
        [
          [1, 2, 1, 2, 0],
          [3, 4, 3, 4, 0],
          [1, 2, 1, 2, 0],
          [3, 4, 3, 4, 0],
          [0, 0, 0, 0, 0],
        ],
      ],
    ]);
  });

  it('conv2d and convTranspose2d match direct-loop references on random geometries', () => {
    const arb = convGeometryArb({ spatial: [1, 2, 3, 5, 6], maxKernel: 3, maxStride: 3, maxPadding: 2 }).chain((g) => {
      const s = convShapes(g);
      return fc.tuple(fc.constant(g), valuesArb(sizeOf(s.x)), valuesArb(sizeOf(s.w)));
    });
    fc.assert(
      fc.property(arb, ([g, xv, wv]) => {
        T.tidy(() => {
          const s = convShapes(g);
          const y = T.conv2d(T.tensor(xv, { shape: s.x }), T.tensor(wv, { shape: s.w }), convOptions(g));
          expect(y.shape).toEqual(s.y);
          expectClose(y.dataSync(), refConv2d(xv, wv, g), { rtol: 1e-12, atol: 1e-12 }, 'conv2d');
        });
      }),
      runs(30),
    );
    const arbT = convTransposeGeometryArb().chain((g) =>
      fc.tuple(
        fc.constant(g),
        valuesArb(g.n * g.cin * g.h * g.w),
        valuesArb(g.cin * (g.cout / g.groups) * g.kh * g.kw),
      ),
    );
    fc.assert(
      fc.property(arbT, ([g, xv, wv]) => {
        T.tidy(() => {
          const y = T.convTranspose2d(
            T.tensor(xv, { shape: [g.n, g.cin, g.h, g.w] }),
            T.tensor(wv, { shape: [g.cin, g.cout / g.groups, g.kh, g.kw] }),
            {
              stride: g.stride,
              padding: g.padding,
              dilation: g.dilation,
              groups: g.groups,
              outputPadding: g.outputPadding,
            },
          );
          expect(y.shape).toEqual([g.n, g.cout, g.oh, g.ow]);
          expectClose(y.dataSync(), refConvTranspose2d(xv, wv, g), { rtol: 1e-12, atol: 1e-12 }, 'convTranspose2d');
        });
      }),
      runs(30),
    );
  });

  it('conv2dBackwardInput / conv2dBackwardFilter are the adjoints of conv2d: <conv(x, w), y> = <x, dX(y, w)> = <w, dW(x, y)>', () => {
    const arb = convGeometryArb().chain((g) => {
      const s = convShapes(g);
      return fc.tuple(fc.constant(g), valuesArb(sizeOf(s.x)), valuesArb(sizeOf(s.w)), valuesArb(sizeOf(s.y)));
    });
    fc.assert(
      fc.property(arb, ([g, xv, wv, yv]) => {
        T.tidy(() => {
          const s = convShapes(g);
          const o = convOptions(g);
          const x = T.tensor(xv, { shape: s.x });
          const w = T.tensor(wv, { shape: s.w });
          const y = T.tensor(yv, { shape: s.y });
          const dot = (a: ArrayLike<number>, b: ArrayLike<number>) =>
            Array.from(a).reduce((acc, v, i) => acc + v * b[i]!, 0);
          const lhs = dot(refConv2d(xv, wv, g), yv);
          expectClose(dot(xv, T.conv2dBackwardInput(y, w, s.x, o).dataSync()), lhs, { rtol: 1e-10, atol: 1e-10 });
          expectClose(dot(wv, T.conv2dBackwardFilter(x, y, s.w, o).dataSync()), lhs, { rtol: 1e-10, atol: 1e-10 });
        });
      }),
      runs(30),
    );
  });
});

describe('pooling', () => {
  const grid = () => T.reshape(T.arange(0, 16, 1, 'float64'), [1, 1, 4, 4]);
  const nine = (sign = 1) => T.mul(T.reshape(T.arange(1, 10, 1, 'float64'), [1, 1, 3, 3]), sign);

  it('maxPool2d by hand, padding counts as -inf', () => {
    expect(arr(T.maxPool2d(grid(), 2))).toEqual([
      [
        [
          [5, 7],
          [13, 15],
        ],
      ],
    ]);
    expect(arr(T.maxPool2d(grid(), 3, { stride: 1 }))).toEqual([
      [
        [
          [10, 11],
          [14, 15],
        ],
      ],
    ]);
    expect(arr(T.maxPool2d(nine(), 2, { stride: 2, padding: 1 }))).toEqual([
      [
        [
          [1, 3],
          [7, 9],
        ],
      ],
    ]);
    expect(arr(T.maxPool2d(nine(-1), 2, { stride: 2, padding: 1 }))).toEqual([
      [
        [
          [-1, -2],
          [-4, -5],
        ],
      ],
    ]);
    expect(T.maxPool2d(T.zeros([2, 3, 7, 5]), [3, 2], { stride: [2, 1] }).shape).toEqual([2, 3, 3, 4]);
  });

  it('avgPool2d by hand, padding counts as zeros', () => {
    expect(arr(T.avgPool2d(grid(), 2))).toEqual([
      [
        [
          [2.5, 4.5],
          [10.5, 12.5],
        ],
      ],
    ]);
    expect(arr(T.avgPool2d(nine(), 2, { stride: 2, padding: 1 }))).toEqual([
      [
        [
          [0.25, 1.25],
          [2.75, 7],
        ],
      ],
    ]);
  });
});

// ------------------------------------------------------------ slicing

/** Python's slice.indices(n) and the selected indices, written from the Python reference. */
function refSliceIndices(n: number, start: number | null, stop: number | null, step: number): number[] {
  const lower = step < 0 ? -1 : 0;
  const upper = step < 0 ? n - 1 : n;
  const norm = (v: number | null, dflt: number) => {
    if (v === null) return dflt;
    let r = v < 0 ? v + n : v;
    if (r < lower) r = lower;
    if (r > upper) r = upper;
    return r;
  };
  const s = norm(start, step < 0 ? upper : lower);
  const e = norm(stop, step < 0 ? lower : upper);
  const out: number[] = [];
  if (step > 0) for (let i = s; i < e; i += step) out.push(i);
  else for (let i = s; i > e; i += step) out.push(i);
  return out;
}

describe('slicing (NumPy semantics)', () => {
  const r = () => T.arange(0, 10, 1, 'float64');

  it('by hand: steps, negative steps, clamped bounds, empty results, integer indices', () => {
    expect(arr(T.slice(r(), [[2, 8, 2]]))).toEqual([2, 4, 6]);
    expect(arr(T.slice(r(), [[null, null, -1]]))).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(arr(T.slice(r(), [[8, 2, -2]]))).toEqual([8, 6, 4]);
    expect(arr(T.slice(r(), [[-3]]))).toEqual([7, 8, 9]);
    expect(arr(T.slice(r(), [[-100, 100]]))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(arr(T.slice(r(), [[5, 2]]))).toEqual([]);
    expect(arr(T.slice(r(), [[null, null, -3]]))).toEqual([9, 6, 3, 0]);
    expect(arr(T.slice(r(), [[3, -100, -1]]))).toEqual([3, 2, 1, 0]);
    expect(arr(T.slice(r(), [[100, 5, -2]]))).toEqual([9, 7]);
    const last = T.slice(r(), [-1]);
    expect(last.shape).toEqual([]);
    expect(arr(last)).toBe(9);
    const m = T.reshape(T.arange(0, 12, 1, 'float64'), [3, 4]);
    expect(arr(T.slice(m, [1, [null, null, -1]]))).toEqual([7, 6, 5, 4]);
    expect(
      arr(
        T.slice(m, [
          [null, null, 2],
          [1, 3],
        ]),
      ),
    ).toEqual([
      [1, 2],
      [9, 10],
    ]);
    expect(arr(T.slice(m, [null, -1]))).toEqual([3, 7, 11]);
    expect(T.slice(m, [[0, 0]]).shape).toEqual([0, 4]);
    expect(arr(m.slice([[-2], 0]))).toEqual([4, 8]);
  });

  it('matches Python slice.indices on random specs', () => {
    const bound = fc.option(fc.integer({ min: -14, max: 14 }), { nil: null });
    const arb = fc.tuple(
      fc.integer({ min: 1, max: 9 }),
      bound,
      bound,
      fc.integer({ min: -4, max: 4 }).filter((s) => s !== 0),
    );
    fc.assert(
      fc.property(arb, ([n, start, stop, step]) => {
        T.tidy(() => {
          const y = T.slice(T.arange(0, n, 1, 'float64'), [[start, stop, step]]);
          expect(vals(y)).toEqual(refSliceIndices(n, start, stop, step));
        });
      }),
      runs(40),
    );
  });
});

describe('movement ops by hand', () => {
  it('tile and repeat', () => {
    expect(arr(T.tile(f64([1, 2]), [2]))).toEqual([1, 2, 1, 2]);
    expect(arr(T.tile(f64([[1, 2]]), [2, 2]))).toEqual([
      [1, 2, 1, 2],
      [1, 2, 1, 2],
    ]);
    expect(arr(T.tile(f64([1, 2]), [2, 1]))).toEqual([
      [1, 2],
      [1, 2],
    ]);
    expect(arr(T.tile(f64([[1], [2]]), [3]))).toEqual([
      [1, 1, 1],
      [2, 2, 2],
    ]);
    expect(T.tile(f64([1, 2]), [0]).shape).toEqual([0]);
    const m = f64([
      [1, 2],
      [3, 4],
    ]);
    expect(arr(T.repeat(m, 2, 1))).toEqual([
      [1, 1, 2, 2],
      [3, 3, 4, 4],
    ]);
    expect(arr(T.repeat(m, 2, 0))).toEqual([
      [1, 2],
      [1, 2],
      [3, 4],
      [3, 4],
    ]);
    expect(arr(T.repeat(f64([5, 6]), 3, -1))).toEqual([5, 5, 5, 6, 6, 6]);
  });

  it('pad, flip, permute, concat, stack, split, squeeze, unsqueeze, broadcastTo', () => {
    expect(
      arr(
        T.pad(
          f64([[1, 2]]),
          [
            [1, 0],
            [0, 2],
          ],
          9,
        ),
      ),
    ).toEqual([
      [9, 9, 9, 9],
      [1, 2, 9, 9],
    ]);
    expect(arr(T.pad(f64([1, 2]), []))).toEqual([1, 2]);
    expect(
      arr(
        T.flip(
          f64([
            [1, 2],
            [3, 4],
          ]),
        ),
      ),
    ).toEqual([
      [4, 3],
      [2, 1],
    ]);
    expect(
      arr(
        T.flip(
          f64([
            [1, 2],
            [3, 4],
          ]),
          1,
        ),
      ),
    ).toEqual([
      [2, 1],
      [4, 3],
    ]);
    const p = T.permute(T.reshape(T.arange(0, 6, 1, 'float64'), [1, 2, 3]), [2, 0, 1]);
    expect(p.shape).toEqual([3, 1, 2]);
    expect(arr(p)).toEqual([[[0, 3]], [[1, 4]], [[2, 5]]]);
    expect(arr(f64([[1, 2, 3]]).T)).toEqual([[1], [2], [3]]);
    expect(
      arr(
        T.concat(
          [
            f64([[1, 2]]),
            f64([
              [3, 4],
              [5, 6],
            ]),
          ],
          0,
        ),
      ),
    ).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(arr(T.concat([f64([[1], [2]]), f64([[3], [4]])], -1))).toEqual([
      [1, 3],
      [2, 4],
    ]);
    expect(arr(T.stack([f64([1, 2]), f64([3, 4])], 1))).toEqual([
      [1, 3],
      [2, 4],
    ]);
    const parts = T.split(T.arange(0, 6, 1, 'float64'), [1, 0, 5]);
    expect(parts.map((t) => arr(t))).toEqual([[0], [], [1, 2, 3, 4, 5]]);
    expect(T.split(T.zeros([2, 6]), 3, 1).map((t) => t.shape)).toEqual([
      [2, 2],
      [2, 2],
      [2, 2],
    ]);
    expect(T.squeeze(T.zeros([1, 3, 1])).shape).toEqual([3]);
    expect(T.squeeze(T.zeros([1, 3, 1]), -1).shape).toEqual([1, 3]);
    expect(T.unsqueeze(T.zeros([3]), -1).shape).toEqual([3, 1]);
    expect(T.unsqueeze(T.zeros([3]), 0).shape).toEqual([1, 3]);
    expect(arr(T.broadcastTo(f64([1, 2]), [2, 2]))).toEqual([
      [1, 2],
      [1, 2],
    ]);
    expect(T.reshape(T.zeros([2, 3, 4]), [4, -1]).shape).toEqual([4, 6]);
  });
});

describe('indexing by hand', () => {
  it('oneHot, take, gather, scatterAdd, indexAdd', () => {
    const oh = T.oneHot(i32([0, 2, 1]), 3);
    expect(oh.dtype).toBe('float32');
    expect(arr(oh)).toEqual([
      [1, 0, 0],
      [0, 0, 1],
      [0, 1, 0],
    ]);
    expect(T.oneHot(i32([[1]]), 2, 'float64').shape).toEqual([1, 1, 2]);
    expect(
      arr(
        T.take(
          f64([10, 20, 30, 40]),
          i32([
            [3, 0],
            [1, 1],
          ]),
        ),
      ),
    ).toEqual([
      [40, 10],
      [20, 20],
    ]);
    const m = f64([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(arr(T.take(m, i32([2, 0]), 1))).toEqual([
      [3, 1],
      [6, 4],
    ]);
    expect(arr(T.take(m, i32(1), 0))).toEqual([4, 5, 6]);
    expect(
      arr(
        T.gather(
          f64([
            [1, 2],
            [3, 4],
          ]),
          i32([
            [0, 0],
            [1, 0],
          ]),
          1,
        ),
      ),
    ).toEqual([
      [1, 1],
      [4, 3],
    ]);
    expect(arr(T.scatterAdd(T.zeros([3], 'float64'), i32([0, 2, 0]), f64([1, 2, 3]), 0))).toEqual([4, 0, 2]);
    expect(
      arr(
        T.indexAdd(
          T.ones([3, 2], 'float64'),
          0,
          i32([2, 2]),
          f64([
            [1, 2],
            [10, 20],
          ]),
        ),
      ),
    ).toEqual([
      [1, 1],
      [1, 1],
      [12, 23],
    ]);
  });
});

describe('creation, read-back and dtypes', () => {
  it('zeros / ones / full / arange / linspace / eye / *Like', () => {
    const z = T.zeros([2, 3]);
    expect(z.shape).toEqual([2, 3]);
    expect(z.dtype).toBe('float32');
    expect(vals(z)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(arr(T.ones([2], 'int32'))).toEqual([1, 1]);
    expect(T.ones([2], 'int32').dtype).toBe('int32');
    expect(arr(T.full([2, 1], 7, 'float64'))).toEqual([[7], [7]]);
    expect(arr(T.full([2], 1, 'bool'))).toEqual([true, true]);
    expect(arr(T.arange(5))).toEqual([0, 1, 2, 3, 4]);
    expect(arr(T.arange(1, 2, 0.25))).toEqual([1, 1.25, 1.5, 1.75]);
    expect(arr(T.arange(5, 0, -2))).toEqual([5, 3, 1]);
    expect(arr(T.arange(3, 3))).toEqual([]);
    expect(T.arange(0, 3, 1, 'int32').dtype).toBe('int32');
    expect(arr(T.linspace(0, 1, 5))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(arr(T.linspace(0, 1, 1))).toEqual([0]);
    expect(arr(T.linspace(2, -2, 3, 'float64'))).toEqual([2, 0, -2]);
    expect(arr(T.eye(2, 3))).toEqual([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    expect(arr(T.eye(2))).toEqual([
      [1, 0],
      [0, 1],
    ]);
    const like = f64([[1, 2]]);
    expect(T.zerosLike(like).dtype).toBe('float64');
    expect(arr(T.onesLike(like))).toEqual([[1, 1]]);
    expect(arr(T.fullLike(like, 3))).toEqual([[3, 3]]);
    expect(T.zeros([0, 4]).size).toBe(0);
  });

  it('await data(), await array() nested, dataSync, arraySync, item', async () => {
    const t = T.tensor([
      [
        [1, 2],
        [3, 4],
      ],
      [
        [5, 6],
        [7, 8],
      ],
    ]);
    const d = await t.data();
    expect(d).toBeInstanceOf(Float32Array);
    expect(Array.from(d)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await t.array()).toEqual([
      [
        [1, 2],
        [3, 4],
      ],
      [
        [5, 6],
        [7, 8],
      ],
    ]);
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await T.scalar(2.5).array()).toBe(2.5);
    expect(await T.tensor([true, false]).array()).toEqual([true, false]);
    expect(await T.zeros([2, 0]).array()).toEqual([[], []]);
    expect(await T.scalar(4, 'int32').item()).toBe(4);
    // Reading back returns a copy: mutating it does not change the tensor.
    d[0] = 100;
    expect(t.dataSync()[0]).toBe(1);
  });

  it('dtype inference and weak typing of JS numbers', () => {
    expect(T.tensor([1, 2]).dtype).toBe('float32');
    expect(T.tensor(3).dtype).toBe('float32');
    expect(T.tensor(3).shape).toEqual([]);
    expect(T.tensor([true, false]).dtype).toBe('bool');
    expect(T.tensor(new Float64Array([1])).dtype).toBe('float64');
    expect(T.tensor(new Int32Array([1])).dtype).toBe('int32');
    expect(T.tensor(new Uint8Array([1])).dtype).toBe('bool');
    expect(T.tensor(new Float32Array(6), { shape: [2, 3] }).shape).toEqual([2, 3]);
    expect(
      T.tensor([
        [1, 2],
        [3, 4],
      ]).shape,
    ).toEqual([2, 2]);
    // issue 14: int32 creation no longer truncates silently (1.7 is an error; see test/errors/creation.test.ts).
    expect(() => T.tensor([1.7, -1.7], { dtype: 'int32' })).toThrow(
      /tensor: value 1.7 at flat index 0 is not an int32/,
    );
    expect(T.tensor([1, -1], { dtype: 'int32' }).dataSync()).toEqual(new Int32Array([1, -1]));
    expect(T.tensor([1, 2, 3, 4], { shape: [2, 2] }).shape).toEqual([2, 2]);
    expect(T.scalar(1, 'float64').dtype).toBe('float64');
    expect(T.add(f64([1]), 1).dtype).toBe('float64');
    expect(T.add(2, f64([1])).dtype).toBe('float64');
    expect(T.mul(T.tensor([1], { dtype: 'float32' }), 0.1).dtype).toBe('float32');
    expect(T.add(f64([1]), [1]).dtype).toBe('float64');
    expect(T.lt(f64([1]), 2).dtype).toBe('bool');
    // float32 arithmetic rounds to float32.
    expect(vals(T.add(T.tensor([1]), 1e-8))).toEqual([1]);
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
