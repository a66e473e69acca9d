/**
 * The CPU backend's blocked GEMM and im2col convolutions against naive float64 loops written here
 * (independent of src/kernels/cpu). Each element is compared with the bound
 *   |got - ref| <= eps (L + 2) sum |terms| + tiny
 * where L is the reduction length and eps the unit roundoff of the dtype: the textbook error bound
 * of a length-L dot product in any summation order, plus the final rounding to the dtype.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  conv2d,
  conv2dBackwardFilter,
  conv2dBackwardInput,
  convTranspose2d,
  getBackend,
  matmul,
  max,
  setBackend,
  sum,
  type Tensor,
  TesseraError,
  tensor,
} from '../src/index.js';
import { sizeOf } from '../src/tensor/shape.js';
import { type Dt, make, operands, values } from './helpers/kernel-values.js';

const EPS: Record<Dt, number> = { float32: 2 ** -24, float64: 2 ** -53 };

beforeAll(async () => {
  await setBackend('cpu');
  expect(getBackend().name).toBe('cpu');
});

// ------------------------------------------------------------------ helpers

/** A naive result: the exact-ish float64 value and the sum of |terms| for each element. */
interface Reference {
  shape: number[];
  value: Float64Array;
  magnitude: Float64Array;
  length: number;
}

function expectMatches(t: Tensor, ref: Reference, dtype: Dt): void {
  expect(t.shape).toEqual(ref.shape);
  expect(t.dtype).toBe(dtype);
  const got = t.dataSync();
  const bound = EPS[dtype] * (ref.length + 2);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < got.length; i++) {
    const excess = Math.abs(got[i]! - ref.value[i]!) - (bound * ref.magnitude[i]! + 1e-300);
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess)) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    expect.fail(
      `element ${worst}: got ${got[worst]}, expected ${ref.value[worst]} (tolerance ${bound * ref.magnitude[worst]!})`,
    );
  }
}

// ------------------------------------------------------------------ matmul reference

interface MatmulCase {
  aShape: number[];
  bShape: number[];
  transA: boolean;
  transB: boolean;
}

/** Batched matmul by definition, with NumPy broadcasting of the batch axes written out. */
function naiveMatmul(a: Float64Array, b: Float64Array, c: MatmulCase): Reference {
  const { aShape, bShape, transA, transB } = c;
  const ra = aShape.length;
  const rb = bShape.length;
  const m = aShape[ra - (transA ? 1 : 2)]!;
  const k = aShape[ra - (transA ? 2 : 1)]!;
  const n = bShape[rb - (transB ? 2 : 1)]!;
  const aB = aShape.slice(0, -2);
  const bB = bShape.slice(0, -2);
  const rank = Math.max(aB.length, bB.length);
  const pa = [...new Array(rank - aB.length).fill(1), ...aB];
  const pb = [...new Array(rank - bB.length).fill(1), ...bB];
  const batch = pa.map((d, i) => Math.max(d, pb[i]!));
  const nb = sizeOf(batch);
  const value = new Float64Array(nb * m * n);
  const magnitude = new Float64Array(nb * m * n);
  for (let t = 0; t < nb; t++) {
    // unravel t over `batch`, then ravel into each operand's (broadcast) batch
    let rem = t;
    let ia = 0;
    let ib = 0;
    let sa = 1;
    let sb = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const idx = rem % batch[d]!;
      rem = Math.floor(rem / batch[d]!);
      if (pa[d] !== 1) ia += idx * sa;
      if (pb[d] !== 1) ib += idx * sb;
      sa *= pa[d]!;
      sb *= pb[d]!;
    }
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        let mag = 0;
        for (let p = 0; p < k; p++) {
          const av = a[ia * m * k + (transA ? p * m + i : i * k + p)]!;
          const bv = b[ib * k * n + (transB ? j * k + p : p * n + j)]!;
          s += av * bv;
          mag += Math.abs(av * bv);
        }
        value[(t * m + i) * n + j] = s;
        magnitude[(t * m + i) * n + j] = mag;
      }
    }
  }
  return { shape: [...batch, m, n], value, magnitude, length: k };
}

function checkMatmul(c: MatmulCase, dtype: Dt, seed: number): void {
  const av = values(sizeOf(c.aShape), seed, dtype);
  const bv = values(sizeOf(c.bShape), seed + 7, dtype);
  const out = matmul(make(av, c.aShape, dtype), make(bv, c.bShape, dtype), { transA: c.transA, transB: c.transB });
  expectMatches(out, naiveMatmul(av, bv, c), dtype);
}

const dims = fc.oneof(fc.integer({ min: 1, max: 9 }), fc.constantFrom(15, 16, 17, 31, 33, 63, 65, 70));
const dtypes = fc.constantFrom<Dt>('float32', 'float64');

describe('matmul (CPU blocked GEMM) vs naive float64', () => {
  it('all transpose combinations, broadcast batch axes, odd and tile-edge sizes', () => {
    const batchPair = fc.constantFrom<[number[], number[]]>(
      [[], []],
      [[3], []],
      [[], [2]],
      [[2], [2]],
      [[2, 1], [3]],
      [
        [1, 3],
        [2, 1],
      ],
      [[4], [1]],
    );
    fc.assert(
      fc.property(
        dims,
        dims,
        dims,
        fc.boolean(),
        fc.boolean(),
        batchPair,
        dtypes,
        fc.nat(),
        (m, n, k, tA, tB, [aB, bB], dtype, seed) => {
          checkMatmul(operands(m, n, k, tA, tB, aB, bB), dtype, seed);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('sizes 1, k = 1 and vectors', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      for (const [m, n, k] of [
        [1, 1, 1],
        [1, 7, 1],
        [9, 1, 1],
        [5, 6, 1],
        [1, 1, 300],
        [130, 70, 1],
      ] as const) {
        for (const tA of [false, true])
          for (const tB of [false, true]) checkMatmul(operands(m, n, k, tA, tB, [], []), dtype, m + n + k);
      }
      const v = values(33, 3, dtype);
      const M = values(33 * 5, 4, dtype);
      const r = matmul(make(v, [33], dtype), make(M, [33, 5], dtype));
      expectMatches(r, { ...naiveMatmul(v, M, operands(1, 5, 33, false, false, [], [])), shape: [5] }, dtype);
    }
  });

  it('k = 1 outer products are the rounded products exactly, +0 where the product is -0', () => {
    // 64 x 6272 x 1 is the DCGAN's 7x7 conv-to-a-logit input gradient (its own loop, not blocked()).
    for (const dtype of ['float32', 'float64'] as const) {
      for (const [m, n] of [
        [64, 6272],
        [7, 9],
        [5, 1030],
      ] as const) {
        const a = values(m, m, dtype);
        const b = values(n, n, dtype);
        a[0] = -2;
        b[1] = 0; // -2 * 0 = -0: every GEMM path sums from +0, so stores +0
        const r = matmul(make(a, [m, 1], dtype), make(b, [1, n], dtype)).dataSync();
        const round = dtype === 'float32' ? Math.fround : (x: number) => x;
        let mismatches = 0;
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) if (!Object.is(r[i * n + j], round(0 + a[i]! * b[j]!))) mismatches++;
        }
        expect(mismatches).toBe(0);
        expect(Object.is(r[1], 0)).toBe(true);
      }
    }
  });

  it('larger shapes crossing the block sizes (70x33x129, k > 256, n > 1024, m > 64)', () => {
    const cases: [number, number, number][] = [
      [70, 33, 129],
      [67, 45, 300],
      [5, 1030, 7],
      [130, 9, 513],
      [96, 96, 96],
    ];
    for (const dtype of ['float32', 'float64'] as const) {
      for (const [m, n, k] of cases) {
        for (const tA of [false, true])
          for (const tB of [false, true]) checkMatmul(operands(m, n, k, tA, tB, [], []), dtype, m * n + k);
      }
    }
  });

  it('batched A against a shared B (folded into one GEMM) and the reverse', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      checkMatmul(operands(13, 20, 37, false, false, [3, 2], []), dtype, 1);
      checkMatmul(operands(13, 20, 37, false, true, [5], [1]), dtype, 2);
      checkMatmul(operands(13, 20, 37, true, false, [4], []), dtype, 3);
      checkMatmul(operands(6, 20, 300, false, false, [3], []), dtype, 4);
      checkMatmul(operands(13, 20, 37, false, false, [], [4]), dtype, 5);
    }
  });

  it('matches a hand-computed product', () => {
    const a = tensor(new Float32Array([1, 2, 3, 4]), { shape: [2, 2] });
    const b = tensor(new Float32Array([5, 6, 7, 8]), { shape: [2, 2] });
    expect(Array.from(matmul(a, b).dataSync())).toEqual([19, 22, 43, 50]);
    expect(Array.from(matmul(a, b, { transA: true }).dataSync())).toEqual([26, 30, 38, 44]);
    expect(Array.from(matmul(a, b, { transB: true }).dataSync())).toEqual([17, 23, 39, 53]);
  });

  it('rejects mismatched inner dimensions with a TesseraError', () => {
    const a = tensor(new Float32Array(6), { shape: [2, 3] });
    expect(() => matmul(a, a)).toThrow(TesseraError);
    expect(() => matmul(a, a)).toThrow(/inner dimensions/);
  });
});

// ------------------------------------------------------------------ convolution references

interface ConvCase {
  n: number;
  c: number;
  h: number;
  w: number;
  o: number;
  kh: number;
  kw: number;
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}

function outSize(c: ConvCase): [number, number] {
  const oh = Math.floor((c.h + 2 * c.padding[0] - c.dilation[0] * (c.kh - 1) - 1) / c.stride[0]) + 1;
  const ow = Math.floor((c.w + 2 * c.padding[1] - c.dilation[1] * (c.kw - 1) - 1) / c.stride[1]) + 1;
  return [oh, ow];
}

/**
 * Visits every (x element, w element, y element) triple of a convolution by its definition,
 * y[b, oc, oy, ox] += x[b, g cg + ci, oy sh - ph + i dh, ox sw - pw + j dw] w[oc, ci, i, j].
 */
function forEachTerm(c: ConvCase, f: (xi: number, wi: number, yi: number) => void): void {
  const [oh, ow] = outSize(c);
  const cg = c.c / c.groups;
  const og = c.o / c.groups;
  for (let b = 0; b < c.n; b++)
    for (let oc = 0; oc < c.o; oc++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++)
          for (let ci = 0; ci < cg; ci++)
            for (let i = 0; i < c.kh; i++)
              for (let j = 0; j < c.kw; j++) {
                const iy = oy * c.stride[0] - c.padding[0] + i * c.dilation[0];
                const ix = ox * c.stride[1] - c.padding[1] + j * c.dilation[1];
                if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                const ch = Math.floor(oc / og) * cg + ci;
                f(
                  ((b * c.c + ch) * c.h + iy) * c.w + ix,
                  ((oc * cg + ci) * c.kh + i) * c.kw + j,
                  ((b * c.o + oc) * oh + oy) * ow + ox,
                );
              }
}

/** y, dx (for cotangent dy) and dw (for dy) by the definition, in one pass over the terms. */
function naiveConv(
  c: ConvCase,
  x: Float64Array,
  w: Float64Array,
  dy: Float64Array,
): Record<'y' | 'dx' | 'dw', Reference> {
  const [oh, ow] = outSize(c);
  const ref = (shape: number[]) => {
    const size = sizeOf(shape);
    return { shape, value: new Float64Array(size), magnitude: new Float64Array(size), count: new Float64Array(size) };
  };
  const y = ref([c.n, c.o, oh, ow]);
  const dx = ref([c.n, c.c, c.h, c.w]);
  const dw = ref([c.o, c.c / c.groups, c.kh, c.kw]);
  const add = (r: typeof y, i: number, t: number) => {
    r.value[i] += t;
    r.magnitude[i] += Math.abs(t);
    r.count[i]++;
  };
  forEachTerm(c, (xi, wi, yi) => {
    add(y, yi, x[xi]! * w[wi]!);
    add(dx, xi, dy[yi]! * w[wi]!);
    add(dw, wi, x[xi]! * dy[yi]!);
  });
  const done = (r: typeof y): Reference => ({
    shape: r.shape,
    value: r.value,
    magnitude: r.magnitude,
    length: r.count.reduce((a, b) => Math.max(a, b), 1),
  });
  return { y: done(y), dx: done(dx), dw: done(dw) };
}

function checkConv(c: ConvCase, dtype: Dt, seed: number): void {
  const [oh, ow] = outSize(c);
  const xShape = [c.n, c.c, c.h, c.w];
  const wShape = [c.o, c.c / c.groups, c.kh, c.kw];
  const yShape = [c.n, c.o, oh, ow];
  const xv = values(sizeOf(xShape), seed, dtype);
  const wv = values(sizeOf(wShape), seed + 1, dtype);
  const dyv = values(sizeOf(yShape), seed + 2, dtype);
  const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
  const x = make(xv, xShape, dtype);
  const w = make(wv, wShape, dtype);
  const dy = make(dyv, yShape, dtype);
  const ref = naiveConv(c, xv, wv, dyv);
  expectMatches(conv2d(x, w, opts), ref.y, dtype);
  expectMatches(conv2dBackwardInput(dy, w, xShape, opts), ref.dx, dtype);
  expectMatches(conv2dBackwardFilter(x, dy, wShape, opts), ref.dw, dtype);
}

const pairOf = (min: number, max: number) =>
  fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })) as fc.Arbitrary<[number, number]>;

const convCase: fc.Arbitrary<ConvCase> = fc
  .record({
    n: fc.integer({ min: 1, max: 3 }),
    groups: fc.integer({ min: 1, max: 3 }),
    cg: fc.integer({ min: 1, max: 4 }),
    og: fc.integer({ min: 1, max: 5 }),
    h: fc.integer({ min: 1, max: 11 }),
    w: fc.integer({ min: 1, max: 11 }),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 4 }),
    stride: pairOf(1, 3),
    padding: pairOf(0, 2),
    dilation: pairOf(1, 2),
  })
  .map((r) => ({
    n: r.n,
    c: r.cg * r.groups,
    h: r.h,
    w: r.w,
    o: r.og * r.groups,
    kh: r.kh,
    kw: r.kw,
    stride: r.stride,
    padding: r.padding,
    dilation: r.dilation,
    groups: r.groups,
  }))
  .filter((c) => outSize(c).every((d) => d >= 1));

function conv(over: Partial<ConvCase>): ConvCase {
  return {
    n: 2,
    c: 3,
    h: 8,
    w: 8,
    o: 4,
    kh: 3,
    kw: 3,
    stride: [1, 1],
    padding: [0, 0],
    dilation: [1, 1],
    groups: 1,
    ...over,
  };
}

describe('conv2d and its adjoints (CPU im2col + GEMM) vs naive float64', () => {
  it('random N, C, H, W, O, kernel, stride, padding, dilation, groups', () => {
    fc.assert(
      fc.property(convCase, dtypes, fc.nat(), (c, dtype, seed) => {
        checkConv(c, dtype, seed);
      }),
      { numRuns: 40 },
    );
  });

  it('1x1 convolutions (the GEMM-only path), with and without groups, stride and padding', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      checkConv(conv({ kh: 1, kw: 1, c: 6, o: 5, h: 5, w: 7 }), dtype, 1);
      checkConv(conv({ kh: 1, kw: 1, c: 6, o: 9, groups: 3, h: 4, w: 3 }), dtype, 2);
      checkConv(conv({ kh: 1, kw: 1, c: 4, o: 4, stride: [2, 2], padding: [1, 0] }), dtype, 3);
      checkConv(conv({ kh: 1, kw: 1, c: 70, o: 33, h: 2, w: 3, n: 1 }), dtype, 4);
    }
  });

  it('the DCGAN shapes (kernel 4, stride 2, padding 1) and a reduction longer than one GEMM block', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      checkConv(conv({ n: 2, c: 3, h: 32, w: 32, o: 8, kh: 4, kw: 4, stride: [2, 2], padding: [1, 1] }), dtype, 5);
      checkConv(conv({ n: 2, c: 24, h: 8, w: 8, o: 6, kh: 4, kw: 4, stride: [2, 2], padding: [1, 1] }), dtype, 6);
      checkConv(conv({ n: 1, c: 10, h: 9, w: 7, o: 70, kh: 5, kw: 6, padding: [2, 2], dilation: [1, 2] }), dtype, 7);
    }
  });

  it('batches split into several column-matrix chunks (K x P x N beyond the chunk budget)', () => {
    // K P = 256 * 256 per image against a 2^18-element budget: chunks of 4 images (6 = 4 + 2, 5 = 4 + 1),
    // and K P = 1024 * 1024 above the budget (one image per chunk).
    for (const dtype of ['float32', 'float64'] as const) {
      checkConv(conv({ n: 6, c: 16, h: 17, w: 17, o: 3, kh: 4, kw: 4, padding: [1, 1] }), dtype, 10);
      checkConv(conv({ n: 5, c: 32, h: 17, w: 17, o: 4, kh: 4, kw: 4, padding: [1, 1], groups: 2 }), dtype, 11);
    }
    checkConv(conv({ n: 2, c: 64, h: 33, w: 33, o: 1, kh: 4, kw: 4, padding: [1, 1] }), 'float32', 12);
    // K = 18 taps < P = 144 pixels (the gradients' GEMM per image), 9 images in chunks of 3, two groups.
    for (const dtype of ['float32', 'float64'] as const) {
      checkConv(conv({ n: 9, c: 4, h: 12, w: 12, o: 6, kh: 3, kw: 3, padding: [1, 1], groups: 2 }), dtype, 13);
    }
  });

  it('filters covering the whole unpadded image (one output pixel: the single-GEMM path), one and many channels', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      // The DCGAN's 7x7 conv to a logit (O = 1: matrix-vector products) and its 1x1 -> 7x7 transposed conv.
      checkConv(conv({ n: 5, c: 9, h: 7, w: 7, o: 1, kh: 7, kw: 7 }), dtype, 13);
      checkConv(conv({ n: 3, c: 6, h: 7, w: 5, o: 11, kh: 7, kw: 5, stride: [2, 3] }), dtype, 14);
      checkConv(conv({ n: 4, c: 6, h: 3, w: 3, o: 4, kh: 3, kw: 3, groups: 2 }), dtype, 15);
      // K = 64 * 49 spans several KC slices; N = 1 and O = 1 make both GEMM sides vectors.
      checkConv(conv({ n: 1, c: 64, h: 7, w: 7, o: 1, kh: 7, kw: 7 }), dtype, 16);
      checkConv(conv({ n: 70, c: 2, h: 4, w: 4, o: 1, kh: 4, kw: 4 }), dtype, 17);
    }
  });

  it('kernels wider than the padded input in one direction and dilation past the edge', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      checkConv(conv({ h: 2, w: 9, kh: 4, kw: 2, padding: [1, 0], dilation: [1, 3] }), dtype, 8);
      checkConv(conv({ h: 5, w: 5, kh: 3, kw: 3, padding: [2, 2], stride: [3, 2], dilation: [2, 2] }), dtype, 9);
    }
  });

  it('convTranspose2d is the adjoint: y[b, co, iy s - p + i d, ...] += x[b, ci, iy, ix] w[ci, co, i, j]', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      for (const [n, cin, h, cout, k, s, p, groups] of [
        [2, 6, 4, 4, 4, 2, 1, 1],
        [1, 4, 3, 6, 3, 1, 0, 2],
        [2, 3, 5, 2, 2, 3, 0, 1],
      ] as const) {
        const xShape = [n, cin, h, h];
        const coutG = cout / groups;
        const wShape = [cin, coutG, k, k];
        const xv = values(sizeOf(xShape), n + cin, dtype);
        const wv = values(sizeOf(wShape), h + k, dtype);
        const oh = (h - 1) * s - 2 * p + (k - 1) + 1;
        const shape = [n, cout, oh, oh];
        const value = new Float64Array(sizeOf(shape));
        const magnitude = new Float64Array(value.length);
        const cinG = cin / groups;
        for (let b = 0; b < n; b++)
          for (let ci = 0; ci < cin; ci++)
            for (let iy = 0; iy < h; iy++)
              for (let ix = 0; ix < h; ix++)
                for (let cg = 0; cg < coutG; cg++)
                  for (let i = 0; i < k; i++)
                    for (let j = 0; j < k; j++) {
                      const oy = iy * s - p + i;
                      const ox = ix * s - p + j;
                      if (oy < 0 || oy >= oh || ox < 0 || ox >= oh) continue;
                      const co = Math.floor(ci / cinG) * coutG + cg;
                      const t = xv[((b * cin + ci) * h + iy) * h + ix]! * wv[((ci * coutG + cg) * k + i) * k + j]!;
                      const d = ((b * cout + co) * oh + oy) * oh + ox;
                      value[d] += t;
                      magnitude[d] += Math.abs(t);
                    }
        const y = convTranspose2d(make(xv, xShape, dtype), make(wv, wShape, dtype), { stride: s, padding: p, groups });
        expectMatches(y, { shape, value, magnitude, length: cin * k * k }, dtype);
      }
    }
  });

  it('matches a hand-computed convolution and its gradients', () => {
    // x = [[1,2,3],[4,5,6],[7,8,9]], w = [[1,0],[0,-1]]: y[i][j] = x[i][j] - x[i+1][j+1] = -4 everywhere.
    const x = tensor(new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), { shape: [1, 1, 3, 3] });
    const w = tensor(new Float64Array([1, 0, 0, -1]), { shape: [1, 1, 2, 2] });
    expect(Array.from(conv2d(x, w).dataSync())).toEqual([-4, -4, -4, -4]);
    // dy = ones: dx adds +1 at every top-left tap position and -1 at every bottom-right one.
    const dy = tensor(new Float64Array([1, 1, 1, 1]), { shape: [1, 1, 2, 2] });
    expect(Array.from(conv2dBackwardInput(dy, w, [1, 1, 3, 3]).dataSync())).toEqual([1, 1, 0, 1, 0, -1, 0, -1, -1]);
    // dw[i][j] = sum of the 2x2 window of x at offset (i, j).
    expect(Array.from(conv2dBackwardFilter(x, dy, [1, 1, 2, 2]).dataSync())).toEqual([12, 16, 24, 28]);
  });

  it('rejects inconsistent shapes with a TesseraError', () => {
    const x = tensor(new Float32Array(2 * 3 * 5 * 5), { shape: [2, 3, 5, 5] });
    const w = tensor(new Float32Array(4 * 2 * 3 * 3), { shape: [4, 2, 3, 3] });
    expect(() => conv2d(x, w)).toThrow(TesseraError);
    expect(() => conv2d(x, w)).toThrow(/input channels/);
    const dy = tensor(new Float32Array(2 * 4 * 2 * 2), { shape: [2, 4, 2, 2] });
    expect(() => conv2dBackwardFilter(x, dy, [4, 3, 3, 3])).toThrow(TesseraError);
  });
});

describe('reductions vs naive loops', () => {
  it('sum and max over random axes of random shapes match in-order float64 loops bit for bit', () => {
    // Shapes of rank 1-4 with size-1 and odd sizes; any subset of axes (adjacent or not, so both
    // the three-level loops and the offset-table path run). Each output adds its inputs in
    // increasing index order, so a float64 reference in that order must agree exactly.
    const arb = fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 4 }).chain((shape) =>
      fc.tuple(
        fc.constant(shape),
        fc.subarray(
          shape.map((_, d) => d),
          { minLength: 1 },
        ),
      ),
    );
    fc.assert(
      fc.property(arb, fc.integer({ min: 1, max: 1000 }), ([shape, axes], seed) => {
        const n = sizeOf(shape);
        const vals = values(n, seed, 'float64');
        const x = make(vals, shape, 'float64');
        const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
        const strides = outShape.map((_, i) => sizeOf(outShape.slice(i + 1)));
        const refSum = new Float64Array(sizeOf(outShape));
        const refMax = new Float64Array(sizeOf(outShape)).fill(Number.NEGATIVE_INFINITY);
        for (let i = 0; i < n; i++) {
          let rem = i;
          let o = 0;
          for (let d = shape.length - 1; d >= 0; d--) {
            const c = rem % shape[d]!;
            rem = Math.floor(rem / shape[d]!);
            if (!axes.includes(d)) o += c * strides[d]!;
          }
          refSum[o]! += vals[i]!;
          refMax[o] = Math.max(refMax[o]!, vals[i]!);
        }
        const s = sum(x, axes, { keepdims: true });
        const m = max(x, axes, { keepdims: true });
        expect(s.shape).toEqual(outShape);
        expect(Array.from(s.dataSync())).toEqual(Array.from(refSum));
        expect(Array.from(m.dataSync())).toEqual(Array.from(refMax));
        for (const t of [x, s, m]) t.dispose();
      }),
      { numRuns: 200 },
    );
  });
});
