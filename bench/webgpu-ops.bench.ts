// Throughput of the non-GEMM WebGPU kernels (elementwise, broadcasting, reductions in both
// variants, transpose, Philox) and scalar read-back latency, on whatever adapter setBackend finds.
// Each case is queued `ITERS` times and timed to device completion (backend.sync()); medians of
// REPS runs after one warm-up. Bandwidth counts bytes read + written once.
// Run: node --import tsx bench/webgpu-ops.bench.ts

import type { GpuData } from '../src/backend/webgpu/buffers.js';
import { createWebGPUBackend, type WebGPUBackend } from '../src/backend/webgpu/device.js';
import { webgpuStats } from '../src/backend/webgpu/stats.js';
import {
  add,
  crossEntropy,
  dispose,
  exp,
  Generator,
  getBackend,
  grad,
  keep,
  matmul,
  mul,
  setBackend,
  sub,
  sum,
  type Tensor,
  tanh,
  tensor,
  tidy,
  transpose,
} from '../src/index.js';
import { type ReduceVariant, reduceSteps } from '../src/kernels/wgsl/reduce.js';
import { tensorFromArray } from '../src/tensor/engine.js';

const REPS = Number(process.env.WEBGPU_BENCH_REPS ?? 5);
const ITERS = Number(process.env.WEBGPU_BENCH_ITERS ?? 10);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function time(b: WebGPUBackend, f: () => Tensor | GpuData | undefined): Promise<number> {
  const once = async (): Promise<number> => {
    const t0 = performance.now();
    const outs: (Tensor | GpuData | undefined)[] = [];
    for (let i = 0; i < ITERS; i++) outs.push(f());
    await b.sync();
    const ms = (performance.now() - t0) / ITERS;
    for (const o of outs) {
      if (o === undefined) continue;
      if ('dispose' in o) o.dispose();
      else b.runtime.release(o);
    }
    return ms;
  };
  await once();
  const ts: number[] = [];
  for (let r = 0; r < REPS; r++) ts.push(await once());
  return median(ts);
}

function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 12.9898) * 0.5;
  return a;
}

export async function run(): Promise<void> {
  const info = await setBackend('webgpu');
  const b = getBackend() as WebGPUBackend;
  console.log(info.description);
  const rows: string[] = [];
  const report = (name: string, ms: number, bytes: number, extra = ''): void => {
    rows.push(
      `${name.padEnd(44)} ${ms.toFixed(2).padStart(9)} ms  ${((bytes / ms) * 1e-6).toFixed(2).padStart(7)} GB/s ${extra}`,
    );
  };
  const N = 1 << 22;
  const x = tensor(rand(N), { shape: [N] });
  const y = tensor(rand(N), { shape: [N] });
  const x1 = tensor(rand(N + 1), { shape: [N + 1] });
  const y1 = tensor(rand(N + 1), { shape: [N + 1] });
  report('add 4M (vec4)', await time(b, () => add(x, y)), 12 * N);
  report('add 4M+1 (scalar path)', await time(b, () => add(x1, y1)), 12 * N);
  report('exp 4M (vec4)', await time(b, () => exp(x)), 8 * N);
  const m = tensor(rand(N), { shape: [2048, 2048] });
  const row = tensor(rand(2048), { shape: [2048] });
  const col = tensor(rand(2048), { shape: [2048, 1] });
  report('add [2048,2048] + [2048] (strided)', await time(b, () => add(m, row)), 8 * N);
  report('add [2048,2048] + [2048,1] (strided)', await time(b, () => add(m, col)), 8 * N);
  report('transpose [2048,2048]', await time(b, () => transpose(m)), 8 * N);
  const g = new Generator(1);
  report('uniform 4M (Philox)', await time(b, () => g.uniform([N])), 4 * N);
  const rt = b.runtime;
  const reduceCase = (shape: number[], axes: number[], variant: ReduceVariant) => () => {
    const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const n = outShape.reduce((a, c) => a * c, 1);
    const { steps, partials } = reduceSteps(
      rt.ctx,
      [{ shape, dtype: 'float32' }],
      { op: 'sum', axes, variant },
      { shape: outShape, dtype: 'float32' },
    );
    const out = rt.alloc(n * 4, 'bench');
    const tmp = rt.alloc(partials * 4, 'bench');
    const src = (shape.length === 1 ? x : m).storageRef().data as GpuData;
    for (const st of steps)
      rt.dispatch(st.program, [st.src === 'input' ? src : tmp], [st.dst === 'output' ? out : tmp]);
    rt.release(tmp);
    return out;
  };
  for (const [shape, axes, name] of [
    [[N], [0], 'sum 4M -> 1'],
    [[2048, 2048], [1], 'sum [2048,2048] axis 1'],
    [[2048, 2048], [0], 'sum [2048,2048] axis 0'],
  ] as [number[], number[], string][]) {
    for (const variant of ['split', 'tree', 'serial'] as ReduceVariant[]) {
      try {
        report(`${name} (${variant})`, await time(b, reduceCase(shape, axes, variant)), 4 * N);
      } catch (e) {
        rows.push(`${name} (${variant}): not run (${(e as Error).message})`);
      }
    }
  }
  report('sum 4M -> 1 (default choice)', await time(b, () => sum(x)), 4 * N);
  // Read-back latency of one scalar, including a tiny dispatch.
  const s = tensor([1]);
  const lat: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    const r = add(s, 1);
    await r.data();
    lat.push(performance.now() - t0);
    r.dispose();
  }
  rows.push(`scalar add + read-back latency: median ${median(lat).toFixed(2)} ms`);
  rows.push(`stats: ${JSON.stringify(webgpuStats())}`);
  console.log(rows.join('\n'));
  dispose([x, y, x1, y1, m, row, col, s]);
  b.destroy();
  await poolPolicies();
}

/**
 * Pool policy under dynamic shapes: 300 MLP training steps (8 -> 64 -> 10, tanh, cross-entropy)
 * with a random batch size in [1, 128] per step, size classes vs exact sizes: GPU buffers
 * created and memory held (in use + pooled) at the end.
 */
export async function poolPolicies(
  policies: readonly ('classes' | 'exact')[] = ['classes', 'exact', 'classes', 'exact'],
): Promise<void> {
  for (const pooling of policies) {
    const b = await createWebGPUBackend({ pooling });
    const created0 = webgpuStats().buffersCreated;
    const on = (d: Float32Array | Int32Array, shape: number[], dtype: 'float32' | 'int32'): Tensor =>
      keep(tensorFromArray(d, shape, dtype, b));
    let seed = 7;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const p = {
      w1: on(
        Float32Array.from({ length: 8 * 64 }, () => rnd() - 0.5),
        [8, 64],
        'float32',
      ),
      w2: on(
        Float32Array.from({ length: 64 * 10 }, () => rnd() - 0.5),
        [64, 10],
        'float32',
      ),
    };
    const t0 = performance.now();
    let peak = 0;
    for (let i = 0; i < 300; i++) {
      const B = 1 + Math.floor(rnd() * 128);
      const X = tensorFromArray(
        Float32Array.from({ length: B * 8 }, () => rnd()),
        [B, 8],
        'float32',
        b,
      );
      const L = tensorFromArray(
        Int32Array.from({ length: B }, () => Math.floor(rnd() * 10)),
        [B],
        'int32',
        b,
      );
      const g = tidy(() =>
        grad((q: typeof p) => crossEntropy(matmul(tanh(matmul(X, q.w1)), q.w2), L))(p),
      ) as unknown as typeof p;
      const n1 = tidy(() => sub(p.w1, mul(g.w1, 0.1)));
      const n2 = tidy(() => sub(p.w2, mul(g.w2, 0.1)));
      dispose([p.w1, p.w2, g.w1, g.w2, X, L]);
      p.w1 = keep(n1);
      p.w2 = keep(n2);
      const m = b.memory();
      peak = Math.max(peak, m.bytesInUse + m.bytesPooled);
    }
    await b.sync();
    const ms = performance.now() - t0;
    const m = b.memory();
    console.log(
      `pooling ${pooling.padEnd(7)}: ${(300 / (ms / 1000)).toFixed(0)} steps/s, buffers created ${webgpuStats().buffersCreated - created0}, ` +
        `peak held ${(peak / 1024).toFixed(0)} KiB, at end in use ${(m.bytesInUse / 1024).toFixed(0)} KiB + pooled ${(m.bytesPooled / 1024).toFixed(0)} KiB`,
    );
    dispose([p.w1, p.w2]);
    b.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
