// The fused batch-norm and LeakyReLU primitives on the CPU: against the composite formulas (forward
// bitwise, backward within a few ulp), float64 finite differences (first and second order), BatchNorm.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import * as T from '../../src/index.js';
import { threadStats } from '../../src/kernels/cpu/threads.js';
import { batchNormTrain, statsRow } from '../../src/tensor/ops/fused-nn.js';
import { sizeOf } from '../../src/tensor/shape.js';
import { expectGradcheck, expectHvpCheck, runs, seededValues, t64 } from '../helpers/gradcheck.js';

type FloatDType = 'float32' | 'float64';

/** [N, C], [N, C, L] or [N, C, H, W] with N * (trailing) >= 2, sizes 1 and odd sizes included. */
const bnShapeArb = fc
  .tuple(
    fc.integer({ min: 2, max: 4 }),
    fc.integer({ min: 1, max: 5 }),
    fc.integer({ min: 1, max: 5 }),
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 1, max: 5 }),
  )
  .map(([rank, n, c, a, b]) => {
    const shape = rank === 2 ? [n, c] : rank === 3 ? [n, c, a] : [n, c, a, b];
    if (sizeOf(shape) / c < 2) shape[0] = 2;
    return shape;
  });

function tensorOf(values: Float64Array, shape: readonly number[], dtype: FloatDType): Tensor {
  return T.tensor(dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values), { shape, dtype });
}

/** The composite reference: what BatchNormBase.forward computed before the fused kernels. */
function compositeBn(x: Tensor, eps: number, w?: Tensor, b?: Tensor): { y: Tensor; mean: Tensor; var: Tensor } {
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
  const mu = T.mean(x, axes, { keepdims: true });
  const centred = T.sub(x, mu);
  const v = T.mean(T.square(centred), axes, { keepdims: true });
  let y = T.mul(centred, T.rsqrt(T.add(v, eps)));
  if (w !== undefined && b !== undefined) y = T.add(T.mul(y, T.reshape(w, bshape)), T.reshape(b, bshape));
  const c = x.shape[1]!;
  return { y, mean: T.reshape(mu, [c]), var: T.reshape(v, [c]) };
}

/** A shape, dtype, affine flag and seed, and the x, weight, bias that the property tests build from them. */
const bnCaseArb = fc.tuple(
  bnShapeArb,
  fc.constantFrom<FloatDType>('float32', 'float64'),
  fc.boolean(),
  fc.integer({ min: 0, max: 1000 }),
);

function bnInputs(shape: readonly number[], dtype: FloatDType, seed: number): { x: Tensor; w: Tensor; b: Tensor } {
  const c = shape[1]!;
  return {
    x: tensorOf(seededValues(sizeOf(shape), seed, -3, 5), shape, dtype),
    w: tensorOf(seededValues(c, seed + 1, 0.5, 2), [c], dtype),
    b: tensorOf(seededValues(c, seed + 2), [c], dtype),
  };
}

const bits = (t: Tensor): number[] => Array.from(t.dataSync());

/**
 * The fused dx against the composite's, both against `exact` (the composite in float64 on the same
 * inputs): the fused result within `k` ulp of `scale` of the exact one, and never further from the
 * composite than the composite itself is from the exact one, plus that margin.
 */
function expectBackwardClose(fused: Tensor, comp: Tensor, exact: Tensor, k: number, dtype: FloatDType, scale: number) {
  const [f, c, e] = [fused.dataSync(), comp.dataSync(), exact.dataSync()];
  const tol = k * (dtype === 'float32' ? 2 ** -23 : 2 ** -52) * Math.max(scale, 1e-30);
  for (let i = 0; i < f.length; i++) {
    const fe = Math.abs(f[i]! - e[i]!);
    const fc = Math.abs(f[i]! - c[i]!);
    if (!(fe <= tol && fc <= Math.abs(c[i]! - e[i]!) + tol)) {
      throw new Error(`entry ${i}: fused ${f[i]}, composite ${c[i]}, exact ${e[i]} (margin ${tol}, scale ${scale})`);
    }
  }
}

describe('fused batchNorm forward', () => {
  it('equals the composite bitwise on the CPU (float32 and float64, affine on and off)', () => {
    fc.assert(
      fc.property(bnCaseArb, ([shape, dtype, affine, seed]) =>
        T.tidy(() => {
          const made = bnInputs(shape, dtype, seed);
          const x = made.x;
          const [w, b] = affine ? [made.w, made.b] : [undefined, undefined];
          const fused = batchNormTrain(x, 1e-5, w, b);
          const ref = compositeBn(x, 1e-5, w, b);
          expect(bits(fused.y)).toEqual(bits(ref.y));
          expect(bits(statsRow(fused.stats, 0))).toEqual(bits(ref.mean));
          expect(bits(statsRow(fused.stats, 1))).toEqual(bits(ref.var));
        }),
      ),
      runs(60),
    );
  });

  it('BatchNorm2d in training mode: same output and running statistics as the composite', () => {
    const bn = new T.BatchNorm2d(3);
    const x = tensorOf(seededValues(2 * 3 * 5 * 7, 5, -2, 4), [2, 3, 5, 7], 'float32');
    const y = bn.forward(x);
    const ref = compositeBn(x, 1e-5, bn.weight, bn.bias);
    expect(bits(y)).toEqual(bits(ref.y));
    const n = 2 * 5 * 7;
    const wantMean = T.mul(ref.mean, 0.1);
    const wantVar = T.add(T.mul(T.ones([3]), 0.9), T.mul(T.mul(ref.var, n / (n - 1)), 0.1));
    expect(bits(bn.runningStats().mean)).toEqual(bits(wantMean));
    expect(bits(bn.runningStats().var)).toEqual(bits(wantVar));
  });

  it('keeps BatchNorm errors: one value per channel when training', () => {
    const bn = new T.BatchNorm1d(4);
    expect(() => bn.forward(T.zeros([1, 4]))).toThrow(/expected more than 1 value per channel/);
  });
});

describe('fused batchNorm backward', () => {
  it('matches the composite gradient within a few float32 ulp of its scale', () => {
    fc.assert(
      fc.property(bnCaseArb, ([shape, dtype, affine, seed]) =>
        T.tidy(() => {
          const { x, w, b } = bnInputs(shape, dtype, seed);
          const r = tensorOf(seededValues(sizeOf(shape), seed + 9), shape, dtype);
          const loss =
            (fn: (x: Tensor, eps: number, w?: Tensor, b?: Tensor) => { y: Tensor }) =>
            (xx: Tensor, ww: Tensor, bb: Tensor, rr: Tensor): Tensor =>
              T.sum(T.mul(fn(xx, 1e-5, affine ? ww : undefined, affine ? bb : undefined).y, rr));
          const argnums = affine ? [0, 1, 2] : [0];
          const gf = T.grad(loss(batchNormTrain), { argnums })(x, w, b, r) as unknown as Tensor[];
          const gc = T.grad(loss(compositeBn), { argnums })(x, w, b, r) as unknown as Tensor[];
          const to64 = (t: Tensor) => T.cast(t, 'float64');
          const ge = T.grad(loss(compositeBn), { argnums })(to64(x), to64(w), to64(b), to64(r)) as unknown as Tensor[];
          // dx: the closed form in float64, rounded once, where the composite rounds after each of
          // its ops and carries those errors into the cancelling g - mean(g) - xhat mean(g xhat).
          // The scale is that of the terms before they cancel, max |g| max_c rstd_c |w_c| (dx itself
          // can be ~0, e.g. for N = 2).
          const ref = compositeBn(x, 1e-5);
          const rw = T.mul(T.rsqrt(T.add(ref.var, 1e-5)), affine ? T.abs(w) : 1);
          const scale = T.max(T.abs(r)).dataSync()[0]! * T.max(rw).dataSync()[0]!;
          expectBackwardClose(gf[0]!, gc[0]!, ge[0]!, 4, dtype, scale);
          // weight and bias cotangents: the composite's numerics, the same bits.
          if (affine) {
            expect(bits(gf[1]!)).toEqual(bits(gc[1]!));
            expect(bits(gf[2]!)).toEqual(bits(gc[2]!));
          }
        }),
      ),
      runs(40),
    );
  });

  it('gradients of x, weight and bias match float64 finite differences', () => {
    fc.assert(
      fc.property(bnShapeArb, fc.boolean(), fc.integer({ min: 0, max: 1000 }), (shape, affine, seed) => {
        const c = shape[1]!;
        const inputs = [t64(seededValues(sizeOf(shape), seed, -2, 2), shape)];
        if (affine) inputs.push(t64(seededValues(c, seed + 1, 0.5, 2), [c]), t64(seededValues(c, seed + 2), [c]));
        expectGradcheck((x, w, b) => batchNormTrain(x!, 1e-3, w, b).y, inputs, { label: `[${shape}]` });
        for (const t of inputs) t.dispose();
      }),
      runs(15),
    );
  });

  it('second order: Hessian-vector products match finite differences of the first gradient', () => {
    for (const [shape, affine] of [
      [[3, 2], true],
      [[2, 1, 3], false],
      [[2, 2, 1, 2], true],
    ] as const) {
      const c = shape[1];
      const inputs = [t64(seededValues(sizeOf(shape), 11, -2, 2), shape)];
      if (affine) inputs.push(t64(seededValues(c, 12, 0.5, 2), [c]), t64(seededValues(c, 13), [c]));
      // A curved readout so that the Hessian of the loss in y is not zero.
      const f = (x: Tensor, w?: Tensor, b?: Tensor) => {
        const y = batchNormTrain(x, 1e-3, w, b).y;
        return T.add(T.sum(T.mul(y, t64(seededValues(y.size, 3), y.shape))), T.sum(T.mul(T.square(y), y)));
      };
      expectHvpCheck(f as (...xs: Tensor[]) => Tensor, inputs, { label: `[${shape}]`, atol: 1e-4 });
      for (const t of inputs) t.dispose();
    }
  });

  it('second order through BatchNorm1d: the gradient of a gradient penalty matches finite differences', () => {
    const bn = new T.BatchNorm1d(2, { dtype: 'float64' });
    const x = t64(seededValues(8, 21, -2, 2), [4, 2]);
    const v = t64(seededValues(8, 22), [4, 2]);
    // g(x) = <d/dx sum(bn(x)^3 * v), v>: differentiates the fused backward's own rule.
    const penalty = (xx: Tensor) => {
      const gx = T.grad((z: Tensor) => {
        const y = bn.forward(z, { updateStats: false });
        return T.sum(T.mul(T.mul(T.square(y), y), v));
      })(xx);
      return T.sum(T.mul(gx, v));
    };
    expectGradcheck(penalty, [x], { atol: 1e-4 });
  });
});

describe('fused leakyRelu', () => {
  const special = [0, -0, 1.5, -2.5, Number.NaN, 3, -1e-30, 1e-30];

  it('forward equals where(x > 0, x, x * slope) bitwise, NaN and x = 0 included', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      for (const slope of [0.2, 0.01, 0, -0.5]) {
        const x = tensorOf(Float64Array.from(special), [special.length], dtype);
        const got = bits(T.leakyRelu(x, slope));
        const want = bits(T.where(T.gt(x, 0), x, T.mul(x, slope)));
        expect(got).toEqual(want);
      }
    }
  });

  it('gradient: slope where x <= 0 (x = 0 included), 1 where x > 0; NaN x takes the slope side', () => {
    const x = T.tensor(Float32Array.from(special), { shape: [special.length] });
    const g = T.grad((z: Tensor) => T.sum(T.mul(T.leakyRelu(z, 0.2), 3)))(x);
    expect(Array.from(g.dataSync())).toEqual(special.map((v) => (v > 0 ? 3 : Math.fround(3 * Math.fround(0.2)))));
  });

  it('slope 0 is the relu gradient, exactly +0 where x <= 0 even for an infinite cotangent', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      for (const inf of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        const x = tensorOf(Float64Array.of(-1, 0, 2, Number.NaN), [4], dtype);
        const gr = T.grad((z: Tensor) => T.sum(T.mul(T.relu(z), inf)))(x);
        const gl = T.grad((z: Tensor) => T.sum(T.mul(T.leakyRelu(z, 0), inf)))(x);
        expect(Array.from(gr.dataSync())).toEqual([0, 0, inf, 0]);
        expect(Array.from(gl.dataSync())).toEqual([0, 0, inf, 0]);
        expect(Object.is(gr.dataSync()[0], 0) && Object.is(gl.dataSync()[1], 0)).toBe(true);
      }
    }
  });

  it('first and second order match float64 finite differences away from 0', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 1000 }), (n, seed) => {
        const vals = seededValues(n, seed, -3, 3).map((v) => (Math.abs(v) < 0.05 ? v + 0.2 : v));
        const x = t64(vals, [n]);
        const f = (z: Tensor) => T.sum(T.mul(T.square(T.leakyRelu(z, 0.3)), t64(seededValues(n, seed + 1), [n])));
        expectGradcheck(f, [x]);
        expectHvpCheck(f, [x]);
        x.dispose();
      }),
      runs(20),
    );
  });
});

describe('fused kernels and CPU threads', () => {
  it('give the same bits with 1 and 2 threads, the split kernels running on a worker', async () => {
    // Above the kernels' threading threshold (2^15 elements); kernel outputs (add(x, 0)) live in
    // SharedArrayBuffers with threads on. Float32 and float64, affine and not, slopes 0.2 and 0.
    const shape = [8, 6, 29, 31];
    const run = () =>
      T.tidy(() =>
        (['float32', 'float64'] as const).flatMap((dtype) => {
          const x = T.add(tensorOf(seededValues(sizeOf(shape), 1, -2, 3), shape, dtype), 0);
          const r = T.add(tensorOf(seededValues(sizeOf(shape), 2), shape, dtype), 0);
          const w = tensorOf(seededValues(6, 3, 0.5, 2), [6], dtype);
          const b = tensorOf(seededValues(6, 4), [6], dtype);
          const f = (xx: Tensor, ww: Tensor, bb: Tensor) =>
            T.add(
              T.sum(T.mul(T.leakyRelu(batchNormTrain(xx, 1e-5, ww, bb).y, 0.2), r)),
              T.sum(T.mul(T.leakyRelu(batchNormTrain(xx, 1e-3).y, 0), r)),
            );
          const g = T.grad(f, { argnums: [0, 1, 2] })(x, w, b) as unknown as Tensor[];
          return g.flatMap(bits);
        }),
      );
    T.setCpuThreads(1);
    const one = run();
    try {
      T.setCpuThreads(2);
      // Workers start asynchronously, and on a busy machine the caller may claim every chunk of a
      // run itself: every run must match, until one has run chunks of the fused kernels' own job
      // on a worker (its source compiled there).
      let workerRuns = 0;
      for (let i = 0; i < 100 && workerRuns === 0; i++) {
        const before = threadStats.bySource.batchnorm ?? 0;
        expect(run()).toEqual(one);
        if ((threadStats.bySource.batchnorm ?? 0) > before) workerRuns++;
        else await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(workerRuns).toBe(1);
      expect(T.cpuThreads()).toBe(2);
    } finally {
      T.setCpuThreads(1);
    }
  });
});
