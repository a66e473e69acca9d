/**
 * Higher-order autodiff: Hessian-vector products (the gradient of x -> <grad f(x), v>, computed by
 * differentiating autodiff's own gradient) against finite differences of the first gradient, for
 * scalar functions built from every primitive family; grad(grad(f)) and third derivatives against
 * hand-derived formulas; a WGAN-GP gradient penalty through conv2dBackwardInput/Filter; and
 * differentiating through unrolled gradient-descent steps.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import * as T from '../../src/index.js';
import { UNARY_OPS, type UnaryOp } from '../../src/tensor/primitives.js';
import { sizeOf } from '../../src/tensor/shape.js';
import {
  broadcastPairArb,
  convGeometryArb,
  convOptions,
  convShapes,
  distinctValuesArb,
  matmulCaseArb,
  nonZeroValuesArb,
  positiveValuesArb,
  type Shape,
  type ShapedValues,
  shapeArb,
  valuesArb,
} from '../helpers/arbitraries.js';
import { expectGradcheck, expectHvpCheck, runs, seededValues, t64 } from '../helpers/gradcheck.js';
import { expectClose } from '../helpers/tolerance.js';

const shaped = (shape: Shape, values: (n: number) => fc.Arbitrary<Float64Array> = (n) => valuesArb(n)) =>
  values(sizeOf(shape)).map((v): ShapedValues => ({ shape, values: v }));

/**
 * sum(c * y) + sum(y)^2 / 2: a curved readout with a dense Hessian in y. (The constant c stays alive:
 * the recorded graph needs it; gradcheck's tidy scopes free it.)
 */
function readout(y: Tensor): Tensor {
  const c = t64(seededValues(y.size, 3), y.shape);
  const s = y.sum();
  return y.mul(c).sum().add(s.mul(s).mul(0.5));
}

const unaryDomain: Record<UnaryOp, (n: number) => fc.Arbitrary<Float64Array>> = {
  neg: (n) => valuesArb(n),
  exp: (n) => valuesArb(n, { min: -2, max: 2 }),
  log: (n) => positiveValuesArb(n, { min: 0.3, max: 3 }),
  log1p: (n) => valuesArb(n, { min: -0.6, max: 3 }),
  expm1: (n) => valuesArb(n, { min: -2, max: 2 }),
  sqrt: (n) => positiveValuesArb(n, { min: 0.3, max: 3 }),
  rsqrt: (n) => positiveValuesArb(n, { min: 0.3, max: 3 }),
  abs: (n) => nonZeroValuesArb(n),
  sign: (n) => nonZeroValuesArb(n),
  sin: (n) => valuesArb(n),
  cos: (n) => valuesArb(n),
  tanh: (n) => valuesArb(n),
  sigmoid: (n) => valuesArb(n, { min: -5, max: 5 }),
  relu: (n) => nonZeroValuesArb(n),
  floor: (n) => valuesArb(n, { avoid: [-3, -2, -1, 0, 1, 2, 3] }),
  ceil: (n) => valuesArb(n, { avoid: [-3, -2, -1, 0, 1, 2, 3] }),
  round: (n) => valuesArb(n, { avoid: [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5] }),
};

const unaryFns: Record<UnaryOp, (x: Tensor) => Tensor> = {
  neg: T.neg,
  exp: T.exp,
  log: T.log,
  log1p: T.log1p,
  expm1: T.expm1,
  sqrt: T.sqrt,
  rsqrt: T.rsqrt,
  abs: T.abs,
  sign: T.sign,
  sin: T.sin,
  cos: T.cos,
  tanh: T.tanh,
  sigmoid: T.sigmoid,
  relu: T.relu,
  floor: T.floor,
  ceil: T.ceil,
  round: T.round,
};
const unaryFn = (op: UnaryOp) => unaryFns[op];

describe('Hessian-vector products vs finite differences of the gradient', () => {
  const small = shapeArb({ maxRank: 3, maxSize: 12 });

  for (const op of UNARY_OPS) {
    it(`unary ${op}`, () => {
      fc.assert(
        fc.property(
          small.chain((s) => shaped(s, unaryDomain[op])),
          (x) => {
            // Mix in x itself so zero-derivative ops still give a curved function.
            expectHvpCheck((t) => readout(unaryFn(op)(t).add(t.mul(0.3))), [x], { label: op });
          },
        ),
        runs(10),
      );
    });
  }

  const binaryCases: [
    string,
    (a: Tensor, b: Tensor) => Tensor,
    (n: number) => fc.Arbitrary<Float64Array>,
    (n: number) => fc.Arbitrary<Float64Array>,
  ][] = [
    ['add', T.add, valuesArb, valuesArb],
    ['sub', T.sub, valuesArb, valuesArb],
    ['mul', T.mul, valuesArb, valuesArb],
    ['div', T.div, valuesArb, (n) => nonZeroValuesArb(n, { min: 0.5 })],
    ['pow', T.pow, (n) => positiveValuesArb(n, { min: 0.5, max: 2 }), (n) => valuesArb(n, { min: -2, max: 2 })],
    ['atan2', T.atan2, (n) => nonZeroValuesArb(n, { min: 0.5 }), (n) => nonZeroValuesArb(n, { min: 0.5 })],
    ['tanhBackward', T.tanhBackward, valuesArb, valuesArb],
  ];
  for (const [name, f, da, db] of binaryCases) {
    it(`binary ${name} with broadcasting`, () => {
      const arb = broadcastPairArb({ maxRank: 3, maxSize: 12 }).chain((p) =>
        fc.tuple(shaped(p.a, da), shaped(p.b, db)),
      );
      fc.assert(
        fc.property(arb, ([a, b]) => {
          expectHvpCheck((x, y) => readout(f(x, y)), [a, b], { label: name });
        }),
        runs(10),
      );
    });
  }

  it('binary maximum / minimum (no ties) with broadcasting', () => {
    const arb = broadcastPairArb({ maxRank: 3, maxSize: 12 }).chain((p) =>
      distinctValuesArb(sizeOf(p.a) + sizeOf(p.b)).map((v) => [
        { shape: p.a, values: v.slice(0, sizeOf(p.a)) },
        { shape: p.b, values: v.slice(sizeOf(p.a)) },
      ]),
    );
    fc.assert(
      fc.property(arb, ([a, b]) => {
        expectHvpCheck((x, y) => readout(T.maximum(x, y).mul(T.minimum(x, y))), [a!, b!], { label: 'max/min' });
      }),
      runs(10),
    );
  });

  it('where and cast', () => {
    const arb = small.chain((s) =>
      fc.tuple(shaped(s), shaped(s), fc.array(fc.boolean(), { minLength: sizeOf(s), maxLength: sizeOf(s) })),
    );
    fc.assert(
      fc.property(arb, ([a, b, cond]) => {
        const c = T.tensor(Uint8Array.from(cond, Number), { shape: a.shape, dtype: 'bool' });
        expectHvpCheck((x, y) => readout(T.where(c, x.sin(), y.mul(x))), [a, b], { label: 'where' });
        c.dispose();
        expectHvpCheck((x) => readout(T.cast(T.cast(x, 'float32'), 'float64').sin()), [a], {
          label: 'cast',
          eps: 1e-3,
          atol: 2e-3,
          rtol: 1e-3,
        });
      }),
      runs(10),
    );
  });

  it('reductions sum / max / min and mean / variance / logsumexp / softmax / norm', () => {
    // At least two elements (std of one element is 0, with an infinite derivative).
    const arb = shapeArb({ minRank: 1, maxRank: 3, maxSize: 12 })
      .filter((s) => sizeOf(s) >= 2)
      .chain((s) => shaped(s, (n) => distinctValuesArb(n, { spacing: 0.2, awayFromZero: true })));
    fc.assert(
      fc.property(arb, (x) => {
        const last = x.shape.length - 1;
        expectHvpCheck((t) => readout(T.sum(t.sin(), last, { keepdims: true })), [x], { label: 'sum' });
        expectHvpCheck((t) => readout(T.max(t.mul(t.cos()), last)), [x], { label: 'max' });
        expectHvpCheck((t) => readout(T.min(t.exp(), 0)), [x], { label: 'min' });
        expectHvpCheck((t) => readout(T.mean(t.tanh(), last)).add(T.variance(t)), [x], { label: 'mean/variance' });
        expectHvpCheck((t) => readout(T.logsumexp(t, last)).add(readout(T.softmax(t, 0))), [x], {
          label: 'logsumexp/softmax',
        });
        expectHvpCheck((t) => T.norm(t, 2).add(T.norm(t, 3)).add(T.norm(t, 1).square()), [x], { label: 'norms' });
        expectHvpCheck((t) => T.std(t).add(T.logSoftmax(t, last).sum()), [x], { label: 'std/logSoftmax' });
      }),
      runs(10),
    );
  });

  it('matmul with transpose flags and broadcast batch axes', () => {
    const arb = matmulCaseArb({ dims: [1, 2, 3], maxBatchRank: 1 }).chain((mc) =>
      fc.tuple(fc.constant(mc), shaped(mc.a), shaped(mc.b)),
    );
    fc.assert(
      fc.property(arb, ([mc, a, b]) => {
        expectHvpCheck((x, y) => readout(T.matmul(x, y, { transA: mc.transA, transB: mc.transB }).tanh()), [a, b], {
          label: 'matmul',
        });
      }),
      runs(12),
    );
  });

  it('movement and indexing: reshape, permute, expand, slice, pad, concat, flip, gather, scatterAdd', () => {
    const arb = shapeArb({ minRank: 2, maxRank: 3, maxSize: 12 }).chain((s) => shaped(s));
    fc.assert(
      fc.property(arb, (x) => {
        const r = x.shape.length;
        const idx = T.tensor(
          Int32Array.from({ length: sizeOf(x.shape) }, (_, i) => (i * 7) % x.shape[r - 1]!),
          { shape: x.shape, dtype: 'int32' },
        );
        expectHvpCheck(
          (t) => {
            const a = T.permute(t, [...Array.from({ length: r }, (_, i) => r - 1 - i)]).reshape([-1]);
            const b = T.slice(T.pad(t, [[1, 0]], 0.5), [[null, null, -2]]).reshape([-1]);
            const c = T.flip(T.broadcastTo(t.unsqueeze(0), [2, ...x.shape]), [0, 1]).reshape([-1]);
            const d = T.gather(t, idx, r - 1).reshape([-1]);
            const e = T.scatterAdd(t, idx, t.mul(t), r - 1).reshape([-1]);
            return readout(T.concat([a, b, c, d, e], 0).sin());
          },
          [x],
          { label: 'movement' },
        );
        idx.dispose();
      }),
      runs(12),
    );
  });

  it('conv2d, conv2dBackwardInput, conv2dBackwardFilter', () => {
    const arb = convGeometryArb({ spatial: [1, 2, 3, 4], maxBatch: 1 }).chain((g) => {
      const s = convShapes(g);
      return fc.tuple(fc.constant(g), shaped(s.x), shaped(s.w), shaped(s.y));
    });
    fc.assert(
      fc.property(arb, ([g, x, w, dy]) => {
        const o = convOptions(g);
        const s = convShapes(g);
        expectHvpCheck((a, b) => readout(T.conv2d(a, b, o).tanh()), [x, w], { label: 'conv2d' });
        expectHvpCheck((a, b) => readout(T.conv2dBackwardInput(a, b, s.x, o).sin()), [dy, w], {
          label: 'conv2dBackwardInput',
        });
        expectHvpCheck((a, b) => readout(T.conv2dBackwardFilter(a, b, s.w, o).sin()), [x, dy], {
          label: 'conv2dBackwardFilter',
        });
      }),
      runs(8),
    );
  });

  it('losses and activations: bce, crossEntropy, mse, gaussianLogDensity, softplus, elu, leakyRelu, pooling', () => {
    // x away from 0 and from the kinks of sin(x) = 0 (leakyRelu) within the range.
    const arb = fc.tuple(
      shaped([2, 3], (n) => nonZeroValuesArb(n, { min: 0.05, max: 3 })),
      shaped([2, 3], (n) => valuesArb(n, { min: 0, max: 1 })),
      shaped([1, 1, 3, 3], (n) => distinctValuesArb(n)),
    );
    fc.assert(
      fc.property(arb, ([x, tgt, img]) => {
        const labels = T.tensor([2, 0], { dtype: 'int32' });
        expectHvpCheck(
          (a, b) =>
            T.binaryCrossEntropyWithLogits(a, b)
              .add(T.crossEntropy(a, labels))
              .add(T.mseLoss(a.tanh(), b))
              .add(T.gaussianLogDensity(a, b, b.add(0.5)).sum()),
          [x, tgt],
          { label: 'losses' },
        );
        expectHvpCheck(
          (a) =>
            readout(
              T.softplus(a)
                .add(T.elu(a.mul(a), 0.7))
                .add(T.leakyRelu(a.sin(), 0.1)),
            ),
          [x],
          {
            label: 'activations',
          },
        );
        expectHvpCheck(
          (a) => readout(T.maxPool2d(a.sin(), 2, { stride: 1 }).add(T.avgPool2d(a.square(), 2, { stride: 1 }))),
          [img],
          { label: 'pooling' },
        );
        labels.dispose();
      }),
      runs(10),
    );
  });
});

describe('grad of grad, third order (hand-derived values)', () => {
  const xs = [-1.7, -0.4, 0, 0.3, 1.1, 2.5];

  it('grad(grad(f)) of x^3 + sin x is 6x - sin x; the first derivative is 3x^2 + cos x', () => {
    const f = (x: Tensor) => x.pow(3).add(x.sin()).sum();
    for (const v of xs) {
      const x = T.scalar(v, 'float64');
      const d1 = T.grad(f)(x);
      const d2 = T.grad((t: Tensor) => T.grad(f)(t))(x);
      expectClose(d1.dataSync(), [3 * v * v + Math.cos(v)], { rtol: 1e-12, atol: 1e-12 });
      expectClose(d2.dataSync(), [6 * v - Math.sin(v)], { rtol: 1e-12, atol: 1e-12 });
      T.dispose([x, d1, d2]);
    }
  });

  it('third derivatives: x^4 -> 24x and tanh -> (1 - t^2)(6t^2 - 2)', () => {
    const d3 = (f: (t: Tensor) => Tensor) => T.grad((a: Tensor) => T.grad((b: Tensor) => T.grad(f)(b))(a));
    for (const v of xs) {
      const x = T.scalar(v, 'float64');
      const p = d3((t) => t.mul(t).mul(t).mul(t))(x);
      const q = d3((t) => t.tanh())(x);
      const th = Math.tanh(v);
      expectClose(p.dataSync(), [24 * v], { rtol: 1e-12, atol: 1e-12 });
      expectClose(q.dataSync(), [(1 - th * th) * (6 * th * th - 2)], { rtol: 1e-10, atol: 1e-12 });
      // Fourth derivative of x^4 is the constant 24.
      const p4 = T.grad((a: Tensor) => d3((t) => t.pow(4))(a))(x);
      expectClose(p4.dataSync(), [24], { rtol: 1e-10, atol: 1e-10 });
      T.dispose([x, p, q, p4]);
    }
  });

  it('Hessian rows by hand: f(x) = (sum x)^3 / 3 has Hessian 2 (sum x) everywhere', () => {
    // f(x) = (sum x)^3 / 3: grad = (sum x)^2 * 1, Hessian = 2 (sum x) * ones.
    const x = t64([0.5, -1, 2], [3]);
    const f = (t: Tensor) => t.sum().pow(3).div(3);
    for (let k = 0; k < 3; k++) {
      const e = t64(
        [0, 1, 2].map((i) => (i === k ? 1 : 0)),
        [3],
      );
      const row = T.grad((t: Tensor) => T.grad(f)(t).mul(e).sum())(x);
      expectClose(row.dataSync(), [3, 3, 3], { rtol: 1e-12, atol: 1e-12 });
      T.dispose([e, row]);
    }
    x.dispose();
  });
});

describe('differentiating through gradients of conv nets and optimiser steps', () => {
  it('WGAN-GP: gradient of mean((|dD/dx| - 1)^2) w.r.t. the conv and linear weights of D', () => {
    const arb = fc.record({
      x: shaped([2, 2, 4, 4]),
      // Non-zero weights: with w2 = 0 (or w1 = 0) parts of the penalty's gradient vanish identically.
      w1: shaped([3, 2, 2, 2], (n) => nonZeroValuesArb(n, { min: 0.1, max: 1 })),
      b1: shaped([3]),
      w2: shaped([3 * 2 * 2, 1], (n) => nonZeroValuesArb(n, { min: 0.1, max: 1 })),
    });
    fc.assert(
      fc.property(arb, ({ x, w1, b1, w2 }) => {
        const xt = t64(x.values, x.shape);
        const critic = (inp: Tensor, a: Tensor, b: Tensor, c: Tensor): Tensor => {
          const h = T.conv2d(inp, a, { stride: 2, padding: 1, bias: b }).tanh(); // [2, 3, 3, 3]
          const pooled = T.avgPool2d(h, 2, { stride: 1 }); // [2, 3, 2, 2]
          return T.matmul(pooled.reshape([inp.shape[0]!, -1]), c).reshape([-1]); // [2]
        };
        const penalty = (a: Tensor, b: Tensor, c: Tensor): Tensor => {
          const gx = T.grad((inp: Tensor) => critic(inp, a, b, c).sum())(xt);
          const norms = T.sqrt(T.sum(gx.square(), [1, 2, 3]).add(1e-12));
          return T.mean(norms.sub(1).square());
        };
        const r = expectGradcheck(penalty, [w1, b1, w2], { label: 'gradient penalty' });
        // The penalty really depends on every parameter group.
        for (const g of r.analytic) expect(g.some((v) => v !== 0)).toBe(true);
        // And the mixed second derivative in x.
        expectGradcheck(
          (inp) => {
            const a = t64(w1.values, w1.shape);
            const c = t64(w2.values, w2.shape);
            const b = t64(b1.values, b1.shape);
            const gx = T.grad((z: Tensor) => critic(z, a, b, c).sum())(inp);
            return gx.square().sum();
          },
          [x],
          { label: 'gradient penalty in x' },
        );
        xt.dispose();
      }),
      runs(5),
    );
  });

  it('unrolled SGD: d loss(w_K) / d w_0 through K gradient steps matches finite differences', () => {
    const data = t64(seededValues(12, 11), [6, 2]);
    const target = t64(seededValues(6, 12), [6, 1]);
    const loss = (w: Tensor) => T.mseLoss(T.matmul(data, w).tanh(), target);
    const unrolled = (w0: Tensor): Tensor => {
      let w = w0;
      for (let k = 0; k < 3; k++) w = w.sub(T.grad(loss)(w).mul(0.5));
      return loss(w);
    };
    expectGradcheck(unrolled, [{ shape: [2, 1], values: Float64Array.from([0.3, -0.8]) }], { label: 'unrolled' });
    T.dispose([data, target]);
  });
});
