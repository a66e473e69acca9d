/**
 * Gradients of the reductions (sum, max, min over random axis lists, keepdims on and off) and of the
 * composites built on them (mean, variance, std, norm, logsumexp, softmax, logSoftmax).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import * as T from '../../src/index.js';
import { sizeOf } from '../../src/tensor/shape.js';
import {
  axesArb,
  axisArb,
  distinctValuesArb,
  type Shape,
  type ShapedValues,
  shapeArb,
  valuesArb,
} from '../helpers/arbitraries.js';
import { expectGradcheck, runs } from '../helpers/gradcheck.js';

type AxisSpec = number | number[] | undefined;

interface ReduceCase {
  x: ShapedValues;
  axis: AxisSpec;
  keepdims: boolean;
  /** The reduced axes, normalised (independently of the library). */
  axes: number[];
}

function normalise(axis: AxisSpec, rank: number): number[] {
  if (axis === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axis === 'number' ? [axis] : axis;
  return list.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
}

function expectedShape(shape: Shape, axes: number[], keepdims: boolean): Shape {
  return keepdims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

function reduceCaseArb(values: (n: number) => fc.Arbitrary<Float64Array>, minReduced = 1): fc.Arbitrary<ReduceCase> {
  return shapeArb({ maxRank: 4, maxSize: 36 })
    .chain((shape) => {
      const r = shape.length;
      const axis: fc.Arbitrary<AxisSpec> =
        r === 0
          ? fc.constantFrom<AxisSpec>(undefined, [])
          : fc.oneof(fc.constant<AxisSpec>(undefined), axisArb(r), axesArb(r, { minLength: 1 }));
      return fc.record({
        x: values(sizeOf(shape)).map((v) => ({ shape, values: v })),
        axis,
        keepdims: fc.boolean(),
      });
    })
    .map((c) => ({ ...c, axes: normalise(c.axis, c.x.shape.length) }))
    .filter((c) => c.axes.reduce((n, a) => n * c.x.shape[a]!, 1) >= minReduced);
}

const anyValues = (n: number) => valuesArb(n);
const distinct = (n: number) => distinctValuesArb(n);

type Reducer = (x: Tensor, axis: AxisSpec, opts: { keepdims: boolean }) => Tensor;

function checkReducer(
  name: string,
  f: Reducer,
  values: (n: number) => fc.Arbitrary<Float64Array>,
  minReduced = 1,
  n = 25,
) {
  it(name, () => {
    fc.assert(
      fc.property(reduceCaseArb(values, minReduced), (c) => {
        expectGradcheck(
          (x) => {
            const y = f(x, c.axis, { keepdims: c.keepdims });
            expect(y.shape).toEqual(expectedShape(c.x.shape, c.axes, c.keepdims));
            return y;
          },
          [c.x],
          { label: `${name} axis ${JSON.stringify(c.axis)} keepdims ${c.keepdims}` },
        );
      }),
      runs(n),
    );
  });
}

describe('reduce primitives: autodiff vs finite differences', () => {
  checkReducer('sum', (x, a, o) => T.sum(x, a, o), anyValues);
  checkReducer('max (no ties)', (x, a, o) => T.max(x, a, o), distinct);
  checkReducer('min (no ties)', (x, a, o) => T.min(x, a, o), distinct);
  checkReducer(
    'method forms x.sum / x.max / x.min',
    (x, a, o) => x.sum(a, o).add(x.max(a, o)).sub(x.min(a, o)),
    distinct,
    1,
    15,
  );

  it('max with ties splits the gradient evenly (by hand)', () => {
    const x = T.tensor([1, 3, 3, 2, 3, 0], { dtype: 'float64', shape: [2, 3] });
    const g = T.grad((t: Tensor) =>
      T.max(t, 1)
        .mul(T.tensor([1, 6], { dtype: 'float64' }))
        .sum(),
    )(x);
    expect(Array.from(g.dataSync())).toEqual([0, 0.5, 0.5, 0, 6, 0]);
    const gAll = T.grad((t: Tensor) => T.min(t))(T.tensor([2, -1, -1, -1], { dtype: 'float64' }));
    expect(Array.from(gAll.dataSync())).toEqual([0, 1 / 3, 1 / 3, 1 / 3]);
    T.dispose([x, g, gAll]);
  });
});

describe('reduction composites: autodiff vs finite differences', () => {
  checkReducer('mean', (x, a, o) => T.mean(x, a, o), anyValues);
  checkReducer('variance (population)', (x, a, o) => T.variance(x, a, o), anyValues);
  checkReducer('variance (correction 1)', (x, a, o) => T.variance(x, a, { ...o, correction: 1 }), anyValues, 2);
  checkReducer('std', (x, a, o) => T.std(x, a, o), distinct, 2);
  checkReducer('std (correction 1)', (x, a, o) => T.std(x, a, { ...o, correction: 1 }), distinct, 2, 15);
  const awayFromZero = (n: number) => distinctValuesArb(n, { awayFromZero: true });
  checkReducer('norm p=1', (x, a, o) => T.norm(x, 1, a, o), awayFromZero);
  checkReducer('norm p=2', (x, a, o) => T.norm(x, 2, a, o), awayFromZero);
  checkReducer('norm p=3', (x, a, o) => T.norm(x, 3, a, o), awayFromZero);
  checkReducer('norm p=inf', (x, a, o) => T.norm(x, Number.POSITIVE_INFINITY, a, o), awayFromZero);
  it('norm of a zero vector: value 0 and gradient 0 (the subgradient), first and second order', () => {
    for (const p of [2, 3]) {
      const zero = T.zeros([2, 3], 'float64');
      expect(T.norm(zero, p, 1).dataSync()).toEqual(new Float64Array([0, 0]));
      expect(Array.from(T.grad((t: Tensor) => T.norm(t, p, 1).sum())(zero).dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
      const hvp = T.grad((t: Tensor) => T.grad((u: Tensor) => T.norm(u, p).mul(3))(t).sum())(zero);
      expect(Array.from(hvp.dataSync()).every((v) => v === 0)).toBe(true);
      // One zero row and one non-zero row: the non-zero row keeps its gradient x / |x|.
      const x = T.tensor(
        [
          [0, 0],
          [3, 4],
        ],
        { dtype: 'float64' },
      );
      if (p === 2) {
        const g = Array.from(T.grad((t: Tensor) => T.norm(t, 2, 1).sum())(x).dataSync());
        [0, 0, 0.6, 0.8].forEach((v, i) => {
          expect(g[i]).toBeCloseTo(v, 14);
        });
      }
    }
  });
  checkReducer('logsumexp', (x, a, o) => T.logsumexp(x, a, o), anyValues);
  checkReducer('logsumexp shifted by 500 (stable path)', (x, a, o) => T.logsumexp(x.add(500), a, o), anyValues, 1, 10);

  it('softmax and logSoftmax along a random axis', () => {
    const arb = shapeArb({ minRank: 1, maxRank: 4, maxSize: 36 }).chain((shape) =>
      fc.tuple(
        valuesArb(sizeOf(shape), { min: -4, max: 4 }).map((v) => ({ shape, values: v })),
        axisArb(shape.length),
      ),
    );
    fc.assert(
      fc.property(arb, ([x, axis]) => {
        expectGradcheck((t) => T.softmax(t, axis), [x], { label: `softmax axis ${axis}` });
        expectGradcheck((t) => T.logSoftmax(t, axis), [x], { label: `logSoftmax axis ${axis}` });
      }),
      runs(25),
    );
  });
});
