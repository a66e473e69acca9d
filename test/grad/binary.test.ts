/**
 * Gradients of the binary primitives (with NumPy broadcasting: fewer axes, size-1 axes), where,
 * cast and matmul (transpose flags, broadcast batch axes, 1-D operands) against float64 central
 * finite differences.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import * as T from '../../src/index.js';
import { BINARY_OPS, type BinaryOp } from '../../src/tensor/primitives.js';
import { sizeOf } from '../../src/tensor/shape.js';
import {
  type BroadcastPair,
  broadcastPairArb,
  broadcastTripleArb,
  distinctValuesArb,
  matmulCaseArb,
  nonZeroValuesArb,
  positiveValuesArb,
  type ShapedValues,
  shapeArb,
  shapedArb,
  valuesArb,
} from '../helpers/arbitraries.js';
import { expectGradcheck, runs } from '../helpers/gradcheck.js';

const pairOpts = { maxRank: 4, maxSize: 36 } as const;

type PairValues = (a: number, b: number) => fc.Arbitrary<[Float64Array, Float64Array]>;

const anyValues: PairValues = (na, nb) => fc.tuple(valuesArb(na), valuesArb(nb));

/** All values of a and b pairwise distinct (no ties for maximum/minimum). */
const distinctPair: PairValues = (na, nb) =>
  distinctValuesArb(na + nb, { spacing: 0.05 }).map(
    (v) => [v.slice(0, na), v.slice(na)] as [Float64Array, Float64Array],
  );

const binaryDomains: Record<BinaryOp, PairValues> = {
  add: anyValues,
  sub: anyValues,
  mul: anyValues,
  div: (na, nb) => fc.tuple(valuesArb(na), nonZeroValuesArb(nb)),
  pow: (na, nb) => fc.tuple(positiveValuesArb(na, { min: 0.3, max: 3 }), valuesArb(nb, { min: -2, max: 2 })),
  maximum: distinctPair,
  minimum: distinctPair,
  // Away from the origin and from the branch cut (a = 0, b < 0).
  atan2: (na, nb) => fc.tuple(nonZeroValuesArb(na), nonZeroValuesArb(nb)),
  tanhBackward: anyValues,
};

const binaryFns: Record<BinaryOp, (a: Tensor, b: Tensor) => Tensor> = {
  add: T.add,
  sub: T.sub,
  mul: T.mul,
  div: T.div,
  pow: T.pow,
  maximum: T.maximum,
  minimum: T.minimum,
  atan2: T.atan2,
  tanhBackward: T.tanhBackward,
};

function pairCase(domain: PairValues): fc.Arbitrary<{ shapes: BroadcastPair; a: ShapedValues; b: ShapedValues }> {
  return broadcastPairArb(pairOpts).chain((shapes) =>
    domain(sizeOf(shapes.a), sizeOf(shapes.b)).map(([va, vb]) => ({
      shapes,
      a: { shape: shapes.a, values: va },
      b: { shape: shapes.b, values: vb },
    })),
  );
}

describe('binary primitives with broadcasting: autodiff vs finite differences', () => {
  it('covers every binary op of the primitive set', () => {
    expect(Object.keys(binaryFns).sort()).toEqual([...BINARY_OPS].sort());
  });

  for (const op of BINARY_OPS) {
    it(op, () => {
      fc.assert(
        fc.property(pairCase(binaryDomains[op]), ({ shapes, a, b }) => {
          const r = expectGradcheck(
            (x, y) => {
              const z = binaryFns[op](x, y);
              expect(z.shape).toEqual(shapes.out);
              return z;
            },
            [a, b],
            { label: op },
          );
          expect(r.analytic[0]!.length).toBe(sizeOf(shapes.a));
          expect(r.analytic[1]!.length).toBe(sizeOf(shapes.b));
        }),
        runs(25),
      );
    });
  }

  it('pow with a constant integer exponent on negative bases', () => {
    fc.assert(
      fc.property(
        shapedArb(shapeArb({ maxSize: 24 }), (n) => nonZeroValuesArb(n)),
        fc.constantFrom(2, 3, -1),
        (x, p) => {
          expectGradcheck((t) => T.pow(t, p), [x], { label: `pow(x, ${p})` });
        },
      ),
      runs(15),
    );
  });

  it('ops with a JS number on either side', () => {
    fc.assert(
      fc.property(
        shapedArb(shapeArb({ maxSize: 24 }), (n) => positiveValuesArb(n)),
        (x) => {
          expectGradcheck((t) => T.sub(2, T.div(3, t)).mul(T.pow(2, t)).add(T.atan2(t, 0.7)).div(1.5), [x]);
        },
      ),
      runs(15),
    );
  });
});

describe('where and cast', () => {
  it('where(cond, a, b) with all three broadcast: gradient to the selected branch only', () => {
    const arb = broadcastTripleArb({ maxRank: 3, maxSize: 27 }).chain(([c, a, b]) =>
      fc.record({
        c: fc.constant(c),
        cond: fc.array(fc.boolean(), { minLength: sizeOf(c), maxLength: sizeOf(c) }),
        a: valuesArb(sizeOf(a)).map((values) => ({ shape: a, values })),
        b: valuesArb(sizeOf(b)).map((values) => ({ shape: b, values })),
      }),
    );
    fc.assert(
      fc.property(arb, ({ c, cond, a, b }) => {
        const ct = T.tensor(Uint8Array.from(cond, Number), { shape: c, dtype: 'bool' });
        expectGradcheck((x, y) => T.where(ct, x, y), [a, b], { label: 'where' });
        ct.dispose();
      }),
      runs(25),
    );
  });

  it('cast float64 -> float32 -> float64 passes the gradient through (and back to the input dtype)', () => {
    fc.assert(
      fc.property(shapedArb(shapeArb({ maxSize: 24 })), (x) => {
        // float32 rounding (~2e-7 relative) makes the function piecewise constant at the 1e-7 scale:
        // use a larger step and tolerance.
        expectGradcheck((t) => T.cast(T.cast(t, 'float32'), 'float64').mul(t), [x], {
          eps: 1e-3,
          atol: 2e-3,
          rtol: 1e-3,
          label: 'cast',
        });
      }),
      runs(15),
    );
    const x = T.tensor([1.5, -2], { dtype: 'float32' });
    const g = T.grad((t: Tensor) => T.cast(t, 'float64').square().sum())(x);
    expect(g.dtype).toBe('float32');
    expect(Array.from(g.dataSync())).toEqual([3, -4]);
    const x64 = T.tensor([0.25], { dtype: 'float64' });
    const g64 = T.grad((t: Tensor) => T.cast(t, 'float32').mul(4).sum())(x64);
    expect(g64.dtype).toBe('float64');
    expect(Array.from(g64.dataSync())).toEqual([4]);
    T.dispose([x, g, x64, g64]);
  });

  it('cast to int32 or bool stops the gradient', () => {
    const x = T.tensor([1.7, -2.2], { dtype: 'float64' });
    const g = T.grad((t: Tensor) => T.cast(T.cast(t, 'int32'), 'float64').sum().add(t.sum()))(x);
    expect(Array.from(g.dataSync())).toEqual([1, 1]);
    T.dispose([x, g]);
  });
});

describe('matmul: autodiff vs finite differences', () => {
  it('transpose flags, broadcast batch axes, 1-D operands', () => {
    const arb = matmulCaseArb({ dims: [1, 2, 3, 5] }).chain((mc) =>
      fc.tuple(fc.constant(mc), valuesArb(sizeOf(mc.a)), valuesArb(sizeOf(mc.b))),
    );
    fc.assert(
      fc.property(arb, ([mc, va, vb]) => {
        expectGradcheck(
          (a, b) => {
            const y = T.matmul(a, b, { transA: mc.transA, transB: mc.transB });
            expect(y.shape).toEqual(mc.out);
            return y;
          },
          [
            { shape: mc.a, values: va },
            { shape: mc.b, values: vb },
          ],
          { label: `matmul ${JSON.stringify(mc)}` },
        );
      }),
      runs(30),
    );
  });

  it('dot and outer', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), (n, m) => {
        const a = { shape: [n], values: Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1)) };
        const b = { shape: [n], values: Float64Array.from({ length: n }, (_, i) => Math.cos(i)) };
        const c = { shape: [m], values: Float64Array.from({ length: m }, (_, i) => i - 1.5) };
        expectGradcheck(T.dot, [a, b], { label: 'dot' });
        expectGradcheck(T.outer, [a, c], { label: 'outer' });
      }),
      runs(10),
    );
  });
});

describe('sizes that are not multiples of tile sizes (17, 33)', () => {
  it('matmul and broadcast arithmetic at 17 / 33', () => {
    const arb = matmulCaseArb({ dims: [1, 17, 33], maxBatchRank: 0 })
      .filter((mc) => sizeOf(mc.a) + sizeOf(mc.b) <= 600)
      .chain((mc) => fc.tuple(fc.constant(mc), valuesArb(sizeOf(mc.a)), valuesArb(sizeOf(mc.b))));
    fc.assert(
      fc.property(arb, ([mc, va, vb]) => {
        expectGradcheck(
          (a, b) => T.matmul(a, b, { transA: mc.transA, transB: mc.transB }),
          [
            { shape: mc.a, values: va },
            { shape: mc.b, values: vb },
          ],
          { label: `matmul ${JSON.stringify(mc)}` },
        );
      }),
      runs(6),
    );
    fc.assert(
      fc.property(valuesArb(17 * 33), valuesArb(33), (va, vb) => {
        expectGradcheck(
          (a, b) => T.mul(a, b).sub(T.div(a, b.square().add(1))),
          [
            { shape: [17, 33], values: va },
            { shape: [33], values: vb },
          ],
          { label: 'broadcast [17,33] x [33]' },
        );
      }),
      runs(3),
    );
  });
});
