/**
 * Gradients of the elementwise composites and losses against float64 finite differences:
 * softplus, logSigmoid, clamp, leakyRelu, elu, square, reciprocal, binaryCrossEntropyWithLogits,
 * crossEntropy, mseLoss, gaussianLogDensity (composites have no gradient code of their own: these
 * check that their compositions of primitives are differentiable where the math is).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../../src/index.js';
import { sizeOf } from '../../src/tensor/shape.js';
import {
  broadcastableToArb,
  indicesArb,
  intArb,
  positiveValuesArb,
  type Shape,
  shapeArb,
  shapedArb,
  uniformArb,
  valuesArb,
} from '../helpers/arbitraries.js';
import { expectGradcheck, runs } from '../helpers/gradcheck.js';

const shapes = shapeArb({ maxRank: 4, maxSize: 36 });
const shaped = (shape: Shape, opts = {}) => valuesArb(sizeOf(shape), opts).map((values) => ({ shape, values }));
const reductions = fc.constantFrom<T.Reduction>('mean', 'sum', 'none');

describe('elementwise composites: autodiff vs finite differences', () => {
  it('softplus and logSigmoid over a wide range', () => {
    fc.assert(
      fc.property(
        shapedArb(shapes, (n) => valuesArb(n, { min: -30, max: 30 })),
        (x) => {
          expectGradcheck(T.softplus, [x], { label: 'softplus' });
          expectGradcheck(T.logSigmoid, [x], { label: 'logSigmoid' });
        },
      ),
      runs(20),
    );
  });

  it('clamp with both, one or no bounds (values away from the bounds)', () => {
    const arb = fc.tuple(fc.option(uniformArb(-2, 0)), fc.option(uniformArb(0.01, 2))).chain(([lo, hi]) => {
      const avoid = [lo, hi].filter((v): v is number => v !== null);
      return fc.tuple(
        fc.constant(lo ?? undefined),
        fc.constant(hi ?? undefined),
        shapedArb(shapes, (n) => valuesArb(n, { avoid })),
      );
    });
    fc.assert(
      fc.property(arb, ([lo, hi, x]) => {
        expectGradcheck((t) => T.clamp(t, lo, hi), [x], { label: `clamp ${lo} ${hi}` });
        expectGradcheck((t) => t.clamp(lo, hi).square(), [x], { label: `x.clamp ${lo} ${hi}` });
      }),
      runs(25),
    );
  });

  it('leakyRelu and elu (values away from 0)', () => {
    const arb = fc.tuple(
      shapedArb(shapes, (n) => valuesArb(n, { avoid: [0] })),
      uniformArb(0, 0.5),
      uniformArb(0.1, 2),
    );
    fc.assert(
      fc.property(arb, ([x, slope, alpha]) => {
        expectGradcheck((t) => T.leakyRelu(t, slope), [x], { label: `leakyRelu ${slope}` });
        expectGradcheck((t) => T.elu(t, alpha), [x], { label: `elu ${alpha}` });
      }),
      runs(25),
    );
  });

  it('square and reciprocal', () => {
    fc.assert(
      fc.property(
        shapedArb(shapes, (n) => positiveValuesArb(n)),
        (x) => {
          expectGradcheck(T.square, [x], { label: 'square' });
          expectGradcheck((t) => t.square().neg(), [x], { label: 'x.square' });
          expectGradcheck(T.reciprocal, [x], { label: 'reciprocal' });
        },
      ),
      runs(20),
    );
  });
});

describe('derivatives at the branch points of the stable formulas (by hand)', () => {
  const at0 = () => T.tensor([0, 0], { dtype: 'float64' });
  const d1 = (f: (t: T.Tensor) => T.Tensor) => T.grad((t: T.Tensor) => f(t).sum());
  const d2 = (f: (t: T.Tensor) => T.Tensor) => T.grad((u: T.Tensor) => d1(f)(u).sum());

  it('softplus: value log 2, derivative 1/2, second derivative 1/4 at 0', () => {
    const x = at0();
    expect(Array.from(T.softplus(x).dataSync())).toEqual([Math.LN2, Math.LN2]);
    expect(Array.from(d1(T.softplus)(x).dataSync())).toEqual([0.5, 0.5]);
    expect(Array.from(d2(T.softplus)(x).dataSync())).toEqual([0.25, 0.25]);
    // logSigmoid(x) = -softplus(-x): derivative sigmoid(-x) = 1/2 at 0.
    expect(Array.from(d1(T.logSigmoid)(x).dataSync())).toEqual([0.5, 0.5]);
    x.dispose();
  });

  it('binaryCrossEntropyWithLogits at logit 0 (a zero-initialised head): gradient sigmoid(0) - t', () => {
    const x = at0();
    const g = T.grad((t: T.Tensor) =>
      T.binaryCrossEntropyWithLogits(t, T.tensor([1, 0.25], { dtype: 'float64' }), 'sum'),
    )(x);
    expect(Array.from(g.dataSync())).toEqual([-0.5, 0.25]);
    T.dispose([x, g]);
  });

  it('softplus far out: no overflow, exact limits, finite gradients', () => {
    const x = T.tensor([-800, 800], { dtype: 'float64' });
    expect(Array.from(T.softplus(x).dataSync())).toEqual([0, 800]);
    expect(Array.from(d1(T.softplus)(x).dataSync())).toEqual([0, 1]);
    expect(Array.from(d2(T.softplus)(x).dataSync())).toEqual([0, 0]);
    x.dispose();
  });

  it('elu: derivative alpha at 0 (the x <= 0 branch, as in PyTorch), no overflow for large x', () => {
    const x = T.tensor([0, 1000, -1], { dtype: 'float64' });
    expect(Array.from(d1((t) => T.elu(t, 0.5))(x).dataSync())).toEqual([0.5, 1, 0.5 * Math.exp(-1)]);
    x.dispose();
  });
});

describe('losses: autodiff vs finite differences', () => {
  it('binaryCrossEntropyWithLogits in logits and (broadcast) targets', () => {
    const arb = shapes.chain((shape) =>
      fc.tuple(
        shaped(shape, { min: -8, max: 8 }),
        broadcastableToArb(shape).chain((ts) => shaped(ts, { min: 0, max: 1 })),
        reductions,
      ),
    );
    fc.assert(
      fc.property(arb, ([logits, targets, reduction]) => {
        expectGradcheck((l, t) => T.binaryCrossEntropyWithLogits(l, t, reduction), [logits, targets], {
          label: `bce ${reduction}`,
        });
      }),
      runs(25),
    );
    fc.assert(
      fc.property(
        shapedArb(shapes, (n) => valuesArb(n, { min: -40, max: 40 })),
        uniformArb(0, 1),
        (l, t) => {
          expectGradcheck((x) => T.binaryCrossEntropyWithLogits(x, t), [l], { label: 'bce with a number target' });
        },
      ),
      runs(15),
    );
  });

  it('crossEntropy of logits [N, C] against int32 labels', () => {
    const arb = fc
      .tuple(intArb(1, 5), intArb(1, 5))
      .chain(([n, c]) => fc.tuple(shaped([n, c], { min: -5, max: 5 }), indicesArb(n, c), reductions));
    fc.assert(
      fc.property(arb, ([logits, labels, reduction]) => {
        const lt = T.tensor(labels, { dtype: 'int32' });
        expectGradcheck((l) => T.crossEntropy(l, lt, reduction), [logits], { label: `crossEntropy ${reduction}` });
        lt.dispose();
      }),
      runs(25),
    );
  });

  it('mseLoss in prediction and target', () => {
    const arb = shapes.chain((shape) => fc.tuple(shaped(shape), shaped(shape), reductions));
    fc.assert(
      fc.property(arb, ([p, t, reduction]) => {
        expectGradcheck((a, b) => T.mseLoss(a, b, reduction), [p, t], { label: `mse ${reduction}` });
      }),
      runs(20),
    );
  });

  it('gaussianLogDensity in x, mu and sigma (tensors that broadcast, or numbers)', () => {
    const arb = shapeArb({ minRank: 1, maxRank: 3, maxSize: 24 }).chain((shape) =>
      fc.tuple(
        shaped(shape),
        broadcastableToArb(shape).chain((s) => shaped(s)),
        broadcastableToArb(shape).chain((s) =>
          positiveValuesArb(sizeOf(s), { min: 0.3, max: 3 }).map((values) => ({ shape: s, values })),
        ),
        uniformArb(-1, 1),
        uniformArb(0.2, 2),
      ),
    );
    fc.assert(
      fc.property(arb, ([x, mu, sigma, muN, sigmaN]) => {
        expectGradcheck((a, m, s) => T.gaussianLogDensity(a, m, s), [x, mu, sigma], { label: 'gaussianLogDensity' });
        expectGradcheck((a) => T.gaussianLogDensity(a, muN, sigmaN), [x], { label: 'gaussianLogDensity numbers' });
      }),
      runs(20),
    );
  });
});
