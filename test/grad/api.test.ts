/**
 * The autodiff API: grad with argnums, trees of tensors, valueAndGrad, hasAux, vjp with a
 * non-scalar output, noGrad, stopGradient / detach, accumulation for inputs used twice, zeros for
 * inputs the output does not depend on, and the errors for non-scalar outputs and bad arguments.
 * Expected values are derived by hand.
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import * as T from '../../src/index.js';
import { f64, vals } from '../helpers/known-values.js';

describe('grad', () => {
  it('differentiates the first argument by default', () => {
    const x = f64([1, 2, 3]);
    const y = f64([4, 5, 6]);
    const g = T.grad((a: Tensor, b: Tensor) => a.mul(b).sum())(x, y);
    expect(vals(g)).toEqual([4, 5, 6]);
    expect(g.shape).toEqual([3]);
    expect(g.dtype).toBe('float64');
    T.dispose([x, y, g]);
  });

  it('argnums: a number picks one argument, a list returns one gradient per listed argument', () => {
    const x = f64([1, 2]);
    const y = f64([3, -1]);
    const z = f64(2);
    // f = sum(x^2 y) * z: df/dx = 2 x y z, df/dy = x^2 z, df/dz = sum(x^2 y)
    const f = (a: Tensor, b: Tensor, c: Tensor) => a.square().mul(b).sum().mul(c);
    const gy = T.grad(f, { argnums: 1 })(x, y, z);
    expect(vals(gy)).toEqual([2, 8]);
    const [gz, gx] = T.grad(f, { argnums: [2, 0] })(x, y, z) as unknown as Tensor[];
    expect(vals(gz!)).toEqual([1 * 3 + 4 * -1]);
    expect(gz!.shape).toEqual([]);
    expect(vals(gx!)).toEqual([12, -8]);
    T.dispose([x, y, z, gy, gz, gx]);
  });

  it('trees: an object / array of tensors gives gradients with the same structure', () => {
    const params = {
      w: f64([
        [1, 2],
        [3, 4],
      ]),
      b: f64([0.5, -0.5]),
      extra: [f64(3)],
    };
    const x = f64([1, -1]);
    // loss = sum(W x + b) * extra0 ; dW = extra0 * 1 x^T, db = extra0, dextra0 = sum(W x + b)
    const loss = (p: typeof params, inp: Tensor) => T.matmul(p.w, inp).add(p.b).sum().mul(p.extra[0]!);
    const g = T.grad(loss)(params, x);
    expect(Object.keys(g).sort()).toEqual(['b', 'extra', 'w']);
    expect(g.w.arraySync()).toEqual([
      [3, -3],
      [3, -3],
    ]);
    expect(vals(g.b)).toEqual([3, 3]);
    expect(Array.isArray(g.extra)).toBe(true);
    // W x = [1 - 2, 3 - 4] = [-1, -1]; + b = [-0.5, -1.5]; sum = -2.
    expect(vals(g.extra[0]!)).toEqual([-2]);
    T.dispose([params, x, g]);
  });

  it('an input used twice accumulates both paths; an unused input gets zeros of its shape', () => {
    const x = f64([1.5, -2]);
    const u = f64([[7, 8, 9]]);
    const [gx, gu] = T.grad((a: Tensor, _b: Tensor) => a.mul(a).add(a.sin().mul(a)).sum(), { argnums: [0, 1] })(
      x,
      u,
    ) as unknown as Tensor[];
    // d/dx (x^2 + x sin x) = 2x + sin x + x cos x
    const expected = [1.5, -2].map((v) => 2 * v + Math.sin(v) + v * Math.cos(v));
    vals(gx!).forEach((g, i) => {
      expect(g).toBeCloseTo(expected[i]!, 14);
    });
    expect(gu!.shape).toEqual([1, 3]);
    expect(vals(gu!)).toEqual([0, 0, 0]);
    T.dispose([x, u, gx, gu]);
  });

  it('the gradient is a constant (not recorded) outside nested transforms', () => {
    const x = f64([1, 2]);
    const g = T.grad((a: Tensor) => a.square().sum())(x);
    expect(g.requiresGrad).toBe(false);
    expect(x.requiresGrad).toBe(false);
    T.dispose([x, g]);
  });

  it('a non-scalar output is a clear error', () => {
    const x = f64([1, 2, 3]);
    expect(() => T.grad((a: Tensor) => a.mul(2))(x)).toThrow(T.TesseraError);
    expect(() => T.grad((a: Tensor) => a.mul(2))(x)).toThrow(
      /grad: f must return a float tensor with one element, got float64 \[3\]/,
    );
    expect(() => T.valueAndGrad((a: Tensor) => a.mul(2))(x)).toThrow(/valueAndGrad: .*one element/);
    // A [1, 1] output has one element and is accepted.
    const g = T.grad((a: Tensor) => a.sum().reshape([1, 1]))(x);
    expect(vals(g)).toEqual([1, 1, 1]);
    T.dispose([x, g]);
  });

  it('bad argnums and non-float arguments are errors', () => {
    const x = f64([1]);
    expect(() => T.grad((a: Tensor) => a.sum(), { argnums: 1 })(x)).toThrow(
      /argnums 1 is out of range for 1 arguments/,
    );
    const i = T.tensor([1, 2], { dtype: 'int32' });
    expect(() => T.grad((a: Tensor) => a.sum().cast('float32'))(i)).toThrow(/float tensors, got int32 \[2\]/);
    expect(() => T.grad((_a: Tensor) => T.scalar(1, 'int32'))(x)).toThrow(/float tensor with one element, got int32/);
    T.dispose([x, i]);
  });
});

describe('valueAndGrad and hasAux', () => {
  it('returns [value, grads]', () => {
    const x = f64([1, 2, 3]);
    const [v, g] = T.valueAndGrad((a: Tensor) => a.pow(3).sum())(x);
    expect(vals(v)).toEqual([36]);
    expect(vals(g)).toEqual([3, 12, 27]);
    expect(v.requiresGrad).toBe(false);
    T.dispose([x, v, g]);
  });

  it('hasAux: f returns [value, aux]; aux passes through undifferentiated', () => {
    const x = f64([2, -1]);
    const f = (a: Tensor): [Tensor, { sq: Tensor; n: number }] => {
      const sq = a.square();
      return [sq.sum(), { sq, n: 42 }];
    };
    const [[v, aux], g] = T.valueAndGrad(f, { hasAux: true })(x);
    expect(vals(v)).toEqual([5]);
    expect(vals(aux.sq)).toEqual([4, 1]);
    expect(aux.n).toBe(42);
    expect(vals(g)).toEqual([4, -2]);
    // aux comes back as a constant: later ops on it record nothing.
    expect(aux.sq.requiresGrad).toBe(false);
    expect(aux.sq.add(1).node).toBeNull();
    expect(() => T.valueAndGrad((a: Tensor) => a.sum(), { hasAux: true })(x)).toThrow(
      /hasAux, f must return \[value, aux\]/,
    );
    T.dispose([x, v, aux.sq, g]);
  });
});

describe('vjp', () => {
  it('non-scalar output: vjpFn(cotangent) gives J^T cotangent for every primal', () => {
    T.tidy(() => {
      const x = f64([1, 2]);
      const y = f64([3, 4, 5]);
      // out = outer(x, y) * 2: d<C, out>/dx_i = 2 sum_j C_ij y_j ; /dy_j = 2 sum_i C_ij x_i
      const [out, vjpFn] = T.vjp((a: Tensor, b: Tensor) => T.outer(a, b).mul(2), x, y);
      expect(out.shape).toEqual([2, 3]);
      expect(out.arraySync()).toEqual([
        [6, 8, 10],
        [12, 16, 20],
      ]);
      const c = f64([
        [1, 0, -1],
        [2, 1, 0],
      ]);
      const [gx, gy] = vjpFn(c);
      expect(vals(gx!)).toEqual([2 * (3 - 5), 2 * (6 + 4)]);
      expect(vals(gy!)).toEqual([2 * (1 + 4), 2 * 2, 2 * -1]);
      // Calling it again with another cotangent works (the graph is kept).
      const [gx2] = vjpFn(T.onesLike(c));
      expect(vals(gx2!)).toEqual([24, 24]);
      expect(() => vjpFn(f64([1, 2]))).toThrow(/cotangent of shape \[2\] does not match output of shape \[2,3\]/);
    });
  });

  it('an unused primal gets zeros', () => {
    T.tidy(() => {
      const x = f64([1, 2]);
      const y = f64([3]);
      const [, vjpFn] = T.vjp((a: Tensor, _b: Tensor) => a.exp(), x, y);
      const [gx, gy] = vjpFn(f64([1, 1]));
      expect(vals(gx!)).toEqual([Math.exp(1), Math.exp(2)]);
      expect(vals(gy!)).toEqual([0]);
    });
  });
});

describe('noGrad, stopGradient, detach', () => {
  it('noGrad: nothing is recorded, so the result is a constant inside grad', () => {
    const x = f64([1, 2]);
    let recorded: boolean | undefined;
    const g = T.grad((a: Tensor) => {
      const c = T.noGrad(() => a.mul(3));
      recorded = c.requiresGrad || c.node !== null;
      return c.mul(a).sum();
    })(x);
    expect(recorded).toBe(false);
    // d/dx sum(const * x) = const = 3x
    expect(vals(g)).toEqual([3, 6]);
    T.dispose([x, g]);
  });

  it('stopGradient and detach give zero gradient through them', () => {
    const x = f64([1, -2]);
    const g1 = T.grad((a: Tensor) => T.stopGradient(a).mul(a).sum())(x);
    expect(vals(g1)).toEqual([1, -2]);
    const g2 = T.grad((a: Tensor) => a.detach().exp().sum())(x);
    expect(vals(g2)).toEqual([0, 0]);
    const g3 = T.grad((a: Tensor) => a.detach().mul(a.detach()).add(a).sum())(x);
    expect(vals(g3)).toEqual([1, 1]);
    T.dispose([x, g1, g2, g3]);
  });

  it('stopGradient inside an outer grad: the inner gradient is constant for the outer one', () => {
    const x = f64(1.5);
    // inner: d/dy (y^3) = 3 y^2 ; stopped, so the outer derivative of sum(3 y^2 (stopped) * y) = 3 y^2
    const g = T.grad((a: Tensor) =>
      T.stopGradient(T.grad((b: Tensor) => b.pow(3).sum())(a))
        .mul(a)
        .sum(),
    )(x);
    expect(vals(g)[0]).toBeCloseTo(3 * 1.5 * 1.5, 12);
    T.dispose([x, g]);
  });
});
