/** Gradients of every unary primitive against float64 central finite differences, on random shapes. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import * as T from '../../src/index.js';
import { UNARY_OPS } from '../../src/tensor/primitives.js';
import { shapeArb, shapedArb, type ValueOptions, valuesArb } from '../helpers/arbitraries.js';
import { expectGradcheck, runs } from '../helpers/gradcheck.js';

const shapes = shapeArb({ maxRank: 4, maxSize: 40 });
const ints = [-3, -2, -1, 0, 1, 2, 3];
const halves = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5];

interface UnaryCase {
  f: (x: Tensor) => Tensor;
  domain: ValueOptions;
  /** The derivative is zero wherever it exists. */
  zero?: boolean;
}

const cases: Record<T.UnaryOp, UnaryCase> = {
  neg: { f: T.neg, domain: {} },
  exp: { f: T.exp, domain: {} },
  log: { f: T.log, domain: { min: 0.2, max: 4 } },
  log1p: { f: T.log1p, domain: { min: -0.8, max: 3 } },
  expm1: { f: T.expm1, domain: {} },
  sqrt: { f: T.sqrt, domain: { min: 0.2, max: 4 } },
  rsqrt: { f: T.rsqrt, domain: { min: 0.2, max: 4 } },
  abs: { f: T.abs, domain: { avoid: [0] } },
  sign: { f: T.sign, domain: { avoid: [0] }, zero: true },
  sin: { f: T.sin, domain: { min: -6, max: 6 } },
  cos: { f: T.cos, domain: { min: -6, max: 6 } },
  tanh: { f: T.tanh, domain: {} },
  sigmoid: { f: T.sigmoid, domain: { min: -8, max: 8 } },
  relu: { f: T.relu, domain: { avoid: [0] } },
  floor: { f: T.floor, domain: { avoid: ints }, zero: true },
  ceil: { f: T.ceil, domain: { avoid: ints }, zero: true },
  round: { f: T.round, domain: { avoid: halves }, zero: true },
};

describe('unary primitives: autodiff vs finite differences (float64)', () => {
  it('covers every unary op of the primitive set', () => {
    expect(Object.keys(cases).sort()).toEqual([...UNARY_OPS].sort());
  });

  for (const [name, c] of Object.entries(cases)) {
    it(`${name}`, () => {
      fc.assert(
        fc.property(
          shapedArb(shapes, (n) => valuesArb(n, c.domain)),
          (x) => {
            const r = expectGradcheck(c.f, [x], { label: name });
            if (c.zero) for (const g of r.analytic[0]!) expect(g).toBe(0);
          },
        ),
        runs(20),
      );
    });
  }

  it('float32 inputs are checked in float64 and method forms match the functions', () => {
    const x = T.tensor([0.3, -1.2, 2.5], { dtype: 'float32' });
    expectGradcheck((t) => t.exp().sin().tanh().sigmoid().neg(), [x]);
    expectGradcheck((t) => t.abs().sqrt().log1p().expm1().rsqrt().cos(), [x]);
    x.dispose();
  });
});
