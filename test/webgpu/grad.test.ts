/**
 * Gradients computed on WebGPU (float32) match central finite differences of the same function
 * evaluated in float64 on the CPU backend, for a composite function using tanh, exp, log1p,
 * sigmoid, broadcasting, slice, concat, gather, max, where and sum; plus a second-order check.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../../src/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { initWebGPU, onCpu, onGpu, releaseWebGPU, rng } from '../helpers/webgpu.js';

const gpu = await initWebGPU();
afterAll(releaseWebGPU);

/** The function under test: x [B, D], w [D - 1], idx [B, K] (int32, values < 2D - 2). */
function f(x: Tensor, w: Tensor, idx: Tensor): Tensor {
  const d = x.shape[1]!;
  const a = T.slice(x, [null, [1, d]]); // [B, D-1]
  const h = T.tanh(T.mul(T.exp(T.mul(a, 0.5)), w)); // broadcast w over rows
  const s = T.sigmoid(T.slice(x, [null, [0, d - 1]]));
  const z = T.concat([h, s], 1); // [B, 2D-2]
  const g = T.gather(z, idx, 1); // [B, K]
  const m = T.max(z, 1, { keepdims: true }); // [B, 1]
  const r = T.where(T.gt(g, 0), T.mul(g, g), T.log1p(T.mul(g, g)));
  return T.add(T.sum(T.mul(r, m)), T.sum(T.mul(T.sub(z, m), T.sub(z, m))));
}

/** Central differences of f at float64 CPU copies of the inputs, for argument `which`. */
async function finiteDiff(x: Float64Array, w: Float64Array, idx: Int32Array, xs: number[], ws: number[], is: number[]) {
  const eps = 1e-6;
  const eval64 = async (xv: Float64Array, wv: Float64Array): Promise<number> => {
    const xt = onCpu(xv, xs, 'float64');
    const wt = onCpu(wv, ws, 'float64');
    const it = onCpu(idx, is, 'int32');
    const y = f(xt, wt, it);
    const v = (await y.data())[0]!;
    T.dispose([xt, wt, it, y]);
    return v;
  };
  const grads: Float64Array[] = [];
  for (const [arr, isX] of [
    [x, true],
    [w, false],
  ] as [Float64Array, boolean][]) {
    const g = new Float64Array(arr.length);
    for (let i = 0; i < arr.length; i++) {
      const p = arr.slice();
      const m = arr.slice();
      p[i]! += eps;
      m[i]! -= eps;
      const fp = isX ? await eval64(p, w) : await eval64(x, p);
      const fm = isX ? await eval64(m, w) : await eval64(x, m);
      g[i] = (fp - fm) / (2 * eps);
    }
    grads.push(g);
  }
  return grads;
}

describe.skipIf(gpu === undefined)('gradients on WebGPU vs float64 finite differences on the CPU', () => {
  it('composite function: tanh, exp, sigmoid, log1p, broadcasting, slice, concat, gather, max, where, sum', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 3, max: 7 }),
        fc.integer({ min: 1, max: 5 }),
        fc.nat(),
        async (b, d, k, seed) => {
          const r = rng(seed);
          // Values on a float32 grid so the CPU float64 copy is the same point.
          const x32 = Float32Array.from({ length: b * d }, () => r() * 2 - 1);
          const w32 = Float32Array.from({ length: d - 1 }, () => r() * 2 - 1);
          const idx = Int32Array.from({ length: b * k }, () => Math.floor(r() * (2 * d - 2)));
          const xg = onGpu(gpu!, x32, [b, d], 'float32');
          const wg = onGpu(gpu!, w32, [d - 1], 'float32');
          const ig = onGpu(gpu!, idx, [b, k], 'int32');
          const [gx, gw] = T.grad(f, { argnums: [0, 1] })(xg, wg, ig) as unknown as [Tensor, Tensor];
          expect(gx.backend.name).toBe('webgpu');
          const got = [await gx.data(), await gw.data()];
          const want = await finiteDiff(Float64Array.from(x32), Float64Array.from(w32), idx, [b, d], [d - 1], [b, k]);
          for (let a = 0; a < 2; a++) {
            for (let i = 0; i < want[a]!.length; i++) {
              const g = got[a]![i]!;
              const n = want[a]![i]!;
              expect(
                Math.abs(g - n),
                `arg ${a} element ${i}: webgpu ${g} vs finite difference ${n}`,
              ).toBeLessThanOrEqual(2e-4 + 2e-4 * Math.abs(n));
            }
          }
          T.dispose([xg, wg, ig, gx, gw]);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('second order: the gradient of sum(grad(f)^2) on WebGPU matches finite differences of grad on the CPU', async () => {
    const h = (x: Tensor): Tensor => T.sum(T.mul(T.tanh(x), T.exp(T.mul(x, 0.3))));
    const gh = T.grad(h);
    const outer = (x: Tensor): Tensor => T.sum(T.square(gh(x)));
    const x32 = Float32Array.from([0.3, -0.7, 1.1, 0.05, -1.4]);
    const got = await T.grad(outer)(onGpu(gpu!, x32, [5], 'float32')).data();
    const eps = 1e-5;
    for (let i = 0; i < 5; i++) {
      const val = async (delta: number): Promise<number> => {
        const v = Float64Array.from(x32);
        v[i]! += delta;
        return (await outer(onCpu(v, [5], 'float64')).data())[0]!;
      };
      const fd = ((await val(eps)) - (await val(-eps))) / (2 * eps);
      expect(Math.abs(got[i]! - fd), `element ${i}: ${got[i]} vs ${fd}`).toBeLessThanOrEqual(
        1e-4 + 1e-4 * Math.abs(fd),
      );
    }
  });
});
