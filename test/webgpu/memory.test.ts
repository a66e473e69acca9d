/**
 * Memory on WebGPU: 1000 manual-SGD training steps of a small MLP (matmul, tanh, broadcasting,
 * cross-entropy with gather) inside tidy leave bytes in use, live buffers and live tensors flat,
 * and the buffer pool stops creating buffers after the first steps. Also: dispose returns bytes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { webgpuStats } from '../../src/backend/webgpu/stats.js';
import * as T from '../../src/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { initWebGPU, onGpu, releaseWebGPU, rng } from '../helpers/webgpu.js';

const gpu = await initWebGPU();
afterAll(releaseWebGPU);

interface Params {
  w1: Tensor;
  b1: Tensor;
  w2: Tensor;
  b2: Tensor;
}

describe.skipIf(gpu === undefined)('WebGPU memory', () => {
  it('1000 MLP training steps inside tidy: bytes, buffers and tensors stay flat', async () => {
    const r = rng(1);
    const randn = (n: number, scale: number) => Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
    const B = 32;
    const X = T.keep(onGpu(gpu!, randn(B * 4, 1), [B, 4], 'float32'));
    const labels = T.keep(
      onGpu(
        gpu!,
        Int32Array.from({ length: B }, (_, i) => i % 3),
        [B],
        'int32',
      ),
    );
    let p: Params = {
      w1: T.keep(onGpu(gpu!, randn(4 * 16, 0.5), [4, 16], 'float32')),
      b1: T.keep(onGpu(gpu!, new Float32Array(16), [16], 'float32')),
      w2: T.keep(onGpu(gpu!, randn(16 * 3, 0.5), [16, 3], 'float32')),
      b2: T.keep(onGpu(gpu!, new Float32Array(3), [3], 'float32')),
    };
    const loss = (q: Params): Tensor => {
      const h = T.tanh(T.add(T.matmul(X, q.w1), q.b1));
      const logits = T.add(T.matmul(h, q.w2), q.b2);
      return T.crossEntropy(logits, labels);
    };
    const vg = T.valueAndGrad(loss);
    const step = (q: Params): [Tensor, Params] =>
      T.tidy(() => {
        const [l, g] = vg(q) as unknown as [Tensor, Params];
        const upd = (k: keyof Params): Tensor => T.sub(q[k], T.mul(g[k], 0.1));
        return [l, { w1: upd('w1'), b1: upd('b1'), w2: upd('w2'), b2: upd('b2') }];
      });
    let first = Number.NaN;
    let last = Number.NaN;
    let snap: { mem: ReturnType<typeof T.memory>; created: number } | null = null;
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) {
      const [l, np] = step(p);
      T.dispose(p);
      p = np;
      if (i === 0 || i === 999 || i % 100 === 0) {
        const v = (await l.data())[0]!;
        if (i === 0) first = v;
        last = v;
      }
      l.dispose();
      // Snapshot after two read-back cycles: where a batch boundary falls within a step depends on
      // the read-backs (each submits), and with 64 dispatches per batch (CPU rasterisers) the pool
      // saw its largest set of in-flight releases only after the read at step 100 (two more
      // buffers, 128 bytes each); from then on the pattern repeats and nothing is created.
      if (i === 199) {
        await gpu!.sync();
        snap = { mem: T.memory(), created: webgpuStats().buffersCreated };
      }
    }
    await gpu!.sync();
    const ms = performance.now() - t0;
    const mem = T.memory();
    console.log(
      `1000 MLP steps on WebGPU: ${(1000 / (ms / 1000)).toFixed(0)} steps/s, loss ${first.toFixed(4)} -> ${last.toFixed(4)}, ` +
        `webgpu ${JSON.stringify(mem.backends.webgpu)}, buffers created ${webgpuStats().buffersCreated}`,
    );
    expect(last).toBeLessThan(first);
    expect(mem.numTensors).toBe(snap!.mem.numTensors);
    expect(mem.backends.webgpu!.bytesInUse).toBe(snap!.mem.backends.webgpu!.bytesInUse);
    expect(mem.backends.webgpu!.buffers).toBe(snap!.mem.backends.webgpu!.buffers);
    // The pool serves every step after the warm-up (200 steps): no new GPU buffers.
    expect(webgpuStats().buffersCreated).toBe(snap!.created);
    T.dispose([p, X, labels]);
  });

  it('dispose returns bytes to the pool; trimPool frees them', async () => {
    await gpu!.sync();
    const m0 = gpu!.memory();
    const t = onGpu(gpu!, new Float32Array(1000), [1000], 'float32');
    const u = T.exp(t);
    const m1 = gpu!.memory();
    expect(m1.buffers).toBe(m0.buffers + 2);
    expect(m1.bytesInUse).toBeGreaterThanOrEqual(m0.bytesInUse + 8000);
    T.dispose([t, u]);
    await gpu!.sync();
    const m2 = gpu!.memory();
    expect(m2.buffers).toBe(m0.buffers);
    expect(m2.bytesInUse).toBe(m0.bytesInUse);
    expect(m2.bytesPooled).toBeGreaterThanOrEqual(8000);
    gpu!.runtime.trimPool();
    expect(gpu!.memory().bytesPooled).toBe(0);
  });
});
