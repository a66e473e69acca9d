/**
 * Known-value tests of convolution, transposed convolution and pooling, against direct-loop
 * references written here (never the library's own output).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../../src/index.js';
import { sizeOf } from '../../src/tensor/shape.js';
import {
  type ConvGeometry,
  type ConvTransposeGeometry,
  convGeometryArb,
  convOptions,
  convShapes,
  convTransposeGeometryArb,
  valuesArb,
} from '../helpers/arbitraries.js';
import { runs } from '../helpers/gradcheck.js';
import { arr, f64 } from '../helpers/known-values.js';
import { expectClose } from '../helpers/tolerance.js';

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
