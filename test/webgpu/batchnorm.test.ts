// The fused batch-norm and LeakyReLU WGSL kernels against the CPU backend: statistics, output and
// the x, weight and bias gradients on edge shapes; LeakyReLU and its gradient (slope 0 = ReLU's).
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { grad, leakyRelu, mul, relu, sum, type Tensor, tidy } from '../../src/index.js';
import { batchNormTrain, statsRow } from '../../src/tensor/ops/fused-nn.js';
import { sizeOf } from '../../src/tensor/shape.js';
import {
  firstMismatch,
  initWebGPU,
  onCpu,
  onGpu,
  releaseWebGPU,
  type Tolerance,
  xorshiftValues,
} from '../helpers/webgpu.js';

const gpu = await initWebGPU();
afterAll(releaseWebGPU);

const SHAPES: readonly number[][] = [
  [2, 1],
  [3, 4],
  [5, 3, 7],
  [2, 1, 1, 1],
  [4, 3, 20, 20], // 1600 values per channel: two partial-sum chunks
  [7, 2, 3, 5],
];

/** The outputs of one batch-norm forward and backward: y, mean, var, dx, dw, db. */
async function run(make: (d: Float32Array, s: readonly number[]) => Tensor, shape: readonly number[], affine: boolean) {
  const c = shape[1]!;
  const n = sizeOf(shape);
  const x = make(
    xorshiftValues(n, 3).map((v, i) => v * 2 + (i % 5)),
    shape,
  );
  const w = make(
    xorshiftValues(c, 4).map((v) => 1 + v / 2),
    [c],
  );
  const b = make(xorshiftValues(c, 5), [c]);
  const r = make(xorshiftValues(n, 6), shape);
  const f = (xx: Tensor, ww: Tensor, bb: Tensor) =>
    sum(mul(batchNormTrain(xx, 1e-5, affine ? ww : undefined, affine ? bb : undefined).y, r));
  const fwd = batchNormTrain(x, 1e-5, affine ? w : undefined, affine ? b : undefined);
  const g = grad(f, { argnums: [0, 1, 2] })(x, w, b) as unknown as Tensor[];
  const out = [fwd.y, statsRow(fwd.stats, 0), statsRow(fwd.stats, 1), ...g];
  return Promise.all(out.map(async (t) => Float32Array.from(await t.data())));
}

/** Absolute tolerance scaled by the largest magnitude of `want` (float32 sums of different order). */
function scaled(want: Float32Array, k: number): Tolerance {
  let m = 0;
  for (const v of want) m = Math.max(m, Math.abs(v));
  return { atol: k * 2 ** -23 * Math.max(m, 1e-30), rtol: 1e-5 };
}

describe.skipIf(gpu === undefined)('fused batchNorm on WebGPU vs CPU', () => {
  for (const affine of [false, true]) {
    for (const shape of SHAPES) {
      it(`[${shape}] ${affine ? 'affine' : 'plain'}: stats, y, dx, dw, db`, async () => {
        const got = await run((d, s) => onGpu(gpu!, d, s, 'float32'), shape, affine);
        const want = await run((d, s) => onCpu(d, s, 'float32'), shape, affine);
        const names = ['y', 'mean', 'var', 'dx', 'dw', 'db'];
        // Sums of up to 1600 float32 terms in another order: tolerances of that many ulp of the
        // largest entry (the CPU sums in float64).
        // dx cancels (it is ~0 for N = 2): its tolerance scales with the terms before they cancel,
        // max |r| max_c rstd_c |w_c| (|r| <= 1 here).
        const w = xorshiftValues(shape[1]!, 4).map((v) => 1 + v / 2);
        let terms = 0;
        want[2]!.forEach((v, ch) => {
          terms = Math.max(terms, (affine ? Math.abs(w[ch]!) : 1) / Math.sqrt(v + 1e-5));
        });
        got.forEach((g, i) => {
          const tol = i === 3 ? { atol: 256 * 2 ** -23 * terms } : scaled(want[i]!, 256);
          expect(firstMismatch(g, want[i]!, tol), `${names[i]}`).toBeNull();
        });
      });
    }
  }
});

describe.skipIf(gpu === undefined)('fused leakyRelu on WebGPU vs CPU', () => {
  /** Forward and gradient of n elements, slopes 0.2 and 0 (the ReLU gradient): the same values. */
  async function checkLeaky(n: number, seed: number): Promise<void> {
    const xs = xorshiftValues(n, seed).map((v, i) => (i % 7 === 0 ? 0 : v));
    const gs = xorshiftValues(n, seed + 1);
    for (const slope of [0.2, 0]) {
      const eval_ = (make: (d: Float32Array) => Tensor) =>
        tidy(() => {
          const x = make(xs);
          const g = make(gs);
          const dx = grad((z: Tensor) => sum(mul(slope === 0 ? relu(z) : leakyRelu(z, slope), g)))(x);
          return [leakyRelu(x, slope), dx];
        });
      const onG = eval_((d) => onGpu(gpu!, d, [n], 'float32'));
      const onC = eval_((d) => onCpu(d, [n], 'float32'));
      for (let k = 0; k < 2; k++) {
        const a = Float32Array.from(await onG[k]!.data());
        const b = Float32Array.from(await onC[k]!.data());
        expect(firstMismatch(a, b)).toBeNull();
      }
      for (const t of [...onG, ...onC]) t.dispose();
    }
  }

  it('forward and gradient, slopes 0.2 and 0 (the ReLU gradient), the same values', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 0, max: 1000 }), checkLeaky),
      { numRuns: 8 },
    );
  });

  it('the vec4 kernel (n a multiple of 4) and the scalar one (not), at the edges', async () => {
    for (const n of [1, 3, 4, 8, 4096, 4097, 50176]) await checkLeaky(n, n);
  });
});
