/**
 * The browser smoke page (bundled by esbuild in smoke.test.ts): runs matmul, conv2d and a
 * gradient on the WebGPU backend through navigator.gpu and compares each with the CPU backend.
 * The result lands in `globalThis.__tessera` (a promise).
 */
import { grad } from '../../src/autograd/transforms.js';
import { cpuBackend } from '../../src/backend/cpu.js';
import { setBackend } from '../../src/backend/select.js';
import { tensorFromArray } from '../../src/tensor/engine.js';
import { conv2d, matmul, sum, tanh } from '../../src/tensor/ops/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';

export interface SmokeResult {
  backend: string;
  description: string;
  /** Max relative error vs the CPU backend, or a string saying why the step did not finish. */
  matmul: number | string;
  conv2d: number | string;
  grad: number | string;
  ms: { matmul: number; conv2d: number; grad: number };
  secureContext: boolean;
}

/** Runs a step with a deadline (a kernel that never compiles must not hang the page). */
async function step(f: () => Promise<number>, seconds: number): Promise<[number | string, number]> {
  const t0 = performance.now();
  const timeout = new Promise<string>((r) => setTimeout(() => r(`did not finish within ${seconds} s`), seconds * 1000));
  const v = await Promise.race([
    f().catch((e: unknown) => `failed: ${e instanceof Error ? e.message : String(e)}`),
    timeout,
  ]);
  return [v, performance.now() - t0];
}

function data(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin((i + 1) * 12.9898 + seed * 78.233) * 0.5;
  return a;
}

async function maxRelErr(a: Tensor, b: Tensor): Promise<number> {
  const x = await a.data();
  const y = await b.data();
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / (1e-3 + Math.abs(y[i]!)));
  return x.length === y.length ? worst : Number.POSITIVE_INFINITY;
}

async function main(): Promise<SmokeResult> {
  const info = await setBackend('webgpu');
  const both = (d: Float32Array, shape: number[]): [Tensor, Tensor] => [
    tensorFromArray(d.slice(), shape, 'float32'),
    tensorFromArray(d.slice(), shape, 'float32', cpuBackend),
  ];
  const [ag, ac] = both(data(37 * 29, 1), [37, 29]);
  const [bg, bc] = both(data(29 * 41, 2), [29, 41]);
  const [mm, tm] = await step(() => maxRelErr(matmul(ag, bg), matmul(ac, bc)), 60);
  const f = (w: Tensor, x: Tensor): Tensor => sum(tanh(matmul(x, w)));
  const [gr, tg] = await step(() => maxRelErr(grad(f)(bg, ag), grad(f)(bc, ac)), 60);
  const [xg, xc] = both(data(2 * 3 * 9 * 9, 3), [2, 3, 9, 9]);
  const [wg, wc] = both(data(4 * 3 * 3 * 3, 4), [4, 3, 3, 3]);
  const conv = (x: Tensor, w: Tensor) => conv2d(x, w, { stride: 2, padding: 1 });
  const [cv, tc] = await step(() => maxRelErr(conv(xg, wg), conv(xc, wc)), 60);
  return {
    backend: info.name,
    description: info.description,
    matmul: mm,
    conv2d: cv,
    grad: gr,
    ms: { matmul: tm, conv2d: tc, grad: tg },
    secureContext: globalThis.isSecureContext === true,
  };
}

(globalThis as unknown as { __tessera: Promise<SmokeResult | { error: string }> }).__tessera = main().catch(
  (e: unknown) => ({ error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) }),
);
