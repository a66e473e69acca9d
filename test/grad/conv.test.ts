/**
 * Gradients of conv2d, its two adjoint primitives (conv2dBackwardInput, conv2dBackwardFilter),
 * convTranspose2d (with outputPadding and groups) and the pooling composites, against float64
 * finite differences on tiny random geometries (stride, padding, dilation, groups).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../../src/index.js';
import { sizeOf } from '../../src/tensor/shape.js';
import {
  convGeometryArb,
  convOptions,
  convShapes,
  convTransposeGeometryArb,
  distinctValuesArb,
  poolGeometryArb,
  type Shape,
  valuesArb,
} from '../helpers/arbitraries.js';
import { expectGradcheck, runs } from '../helpers/gradcheck.js';

const shaped = (shape: Shape) => valuesArb(sizeOf(shape)).map((values) => ({ shape, values }));

describe('convolution primitives: autodiff vs finite differences', () => {
  it('conv2d in input, weight and bias', () => {
    const arb = convGeometryArb().chain((g) => {
      const s = convShapes(g);
      return fc.tuple(fc.constant(g), shaped(s.x), shaped(s.w), shaped([g.o]));
    });
    fc.assert(
      fc.property(arb, ([g, x, w, b]) => {
        expectGradcheck(
          (xt, wt, bt) => {
            const y = T.conv2d(xt, wt, { ...convOptions(g), bias: bt });
            expect(y.shape).toEqual(convShapes(g).y);
            return y;
          },
          [x, w, b],
          { label: `conv2d ${JSON.stringify(g)}` },
        );
      }),
      runs(25),
    );
  });

  it('conv2dBackwardInput in dy and weight', () => {
    const arb = convGeometryArb().chain((g) => {
      const s = convShapes(g);
      return fc.tuple(fc.constant(g), shaped(s.y), shaped(s.w));
    });
    fc.assert(
      fc.property(arb, ([g, dy, w]) => {
        const { x } = convShapes(g);
        expectGradcheck((d, wt) => T.conv2dBackwardInput(d, wt, x, convOptions(g)), [dy, w], {
          label: `conv2dBackwardInput ${JSON.stringify(g)}`,
        });
      }),
      runs(20),
    );
  });

  it('conv2dBackwardFilter in input and dy', () => {
    const arb = convGeometryArb().chain((g) => {
      const s = convShapes(g);
      return fc.tuple(fc.constant(g), shaped(s.x), shaped(s.y));
    });
    fc.assert(
      fc.property(arb, ([g, x, dy]) => {
        const { w } = convShapes(g);
        expectGradcheck((xt, d) => T.conv2dBackwardFilter(xt, d, w, convOptions(g)), [x, dy], {
          label: `conv2dBackwardFilter ${JSON.stringify(g)}`,
        });
      }),
      runs(20),
    );
  });

  it('convTranspose2d with outputPadding, groups and bias', () => {
    const arb = convTransposeGeometryArb().chain((g) =>
      fc.tuple(
        fc.constant(g),
        shaped([g.n, g.cin, g.h, g.w]),
        shaped([g.cin, g.cout / g.groups, g.kh, g.kw]),
        shaped([g.cout]),
      ),
    );
    fc.assert(
      fc.property(arb, ([g, x, w, b]) => {
        expectGradcheck(
          (xt, wt, bt) => {
            const y = T.convTranspose2d(xt, wt, {
              stride: g.stride,
              padding: g.padding,
              dilation: g.dilation,
              groups: g.groups,
              outputPadding: g.outputPadding,
              bias: bt,
            });
            expect(y.shape).toEqual([g.n, g.cout, g.oh, g.ow]);
            return y;
          },
          [x, w, b],
          { label: `convTranspose2d ${JSON.stringify(g)}` },
        );
      }),
      runs(20),
    );
  });
});

describe('pooling composites: autodiff vs finite differences', () => {
  it('maxPool2d (distinct values: one winner per window)', () => {
    const arb = poolGeometryArb().chain((g) => fc.tuple(fc.constant(g), distinctValuesArb(g.n * g.c * g.h * g.w)));
    fc.assert(
      fc.property(arb, ([g, v]) => {
        expectGradcheck(
          (x) => {
            const y = T.maxPool2d(x, g.kernel, { stride: g.stride, padding: g.padding });
            expect(y.shape).toEqual([g.n, g.c, g.oh, g.ow]);
            return y;
          },
          [{ shape: [g.n, g.c, g.h, g.w], values: v }],
          { label: `maxPool2d ${JSON.stringify(g)}` },
        );
      }),
      runs(25),
    );
  });

  it('avgPool2d', () => {
    const arb = poolGeometryArb().chain((g) => fc.tuple(fc.constant(g), shaped([g.n, g.c, g.h, g.w])));
    fc.assert(
      fc.property(arb, ([g, x]) => {
        expectGradcheck(
          (t) => {
            const y = T.avgPool2d(t, g.kernel, { stride: g.stride, padding: g.padding });
            expect(y.shape).toEqual([g.n, g.c, g.oh, g.ow]);
            return y;
          },
          [x],
          { label: `avgPool2d ${JSON.stringify(g)}` },
        );
      }),
      runs(25),
    );
  });
});
