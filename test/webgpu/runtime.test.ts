/**
 * The WebGPU runtime: size classes, pool reuse only after the submission that last used a
 * buffer, batched submission (16 dispatches per command buffer, 64 on CPU rasterisers, and at
 * every read-back), the
 * read-back counter, read types per dtype, zero-size tensors, warmup, TESSERA_DEBUG output and
 * memory() accounting.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { sizeClass } from '../../src/backend/webgpu/buffers.js';
import { createWebGPUBackend } from '../../src/backend/webgpu/device.js';
import { webgpuStats } from '../../src/backend/webgpu/stats.js';
import * as T from '../../src/index.js';
import { unaryProgram } from '../../src/kernels/wgsl/elementwise.js';
import { tensorFromArray } from '../../src/tensor/engine.js';
import { initWebGPU, onGpu, releaseWebGPU } from '../helpers/webgpu.js';

const gpu = await initWebGPU();
afterAll(releaseWebGPU);

describe('size classes', () => {
  it('round up to 16-byte multiples below 64 bytes, then quarter powers of two (< 25% slack)', () => {
    expect([0, 1, 4, 16, 17, 48, 64].map(sizeClass)).toEqual([16, 16, 16, 16, 32, 48, 64]);
    expect([65, 80, 81, 96, 100, 128, 129, 1000, 1024, 1025].map(sizeClass)).toEqual([
      80, 80, 96, 96, 112, 128, 160, 1024, 1024, 1280,
    ]);
    for (let b = 1; b < 1e7; b = Math.ceil(b * 1.37)) {
      const c = sizeClass(b);
      expect(c).toBeGreaterThanOrEqual(b);
      expect(c % 16).toBe(0);
      if (b > 64) expect(c).toBeLessThan(b * 1.25 + 16);
    }
  });
});

describe.skipIf(gpu === undefined)('WebGPU runtime', () => {
  it('submits every batchSize dispatches and at each read-back; counts read-backs', async () => {
    const bs = gpu!.runtime.batchSize;
    expect(bs).toBe(/llvmpipe|lavapipe|softpipe|swiftshader|swrast/i.test(gpu!.description) ? 64 : 16);
    await gpu!.sync();
    const s0 = webgpuStats();
    const x = onGpu(gpu!, new Float32Array([1, 2, 3, 4, 5]), [5], 'float32');
    let y = x;
    const all = [x];
    for (let i = 0; i < 2 * bs + 8; i++) {
      y = T.neg(y);
      all.push(y);
    }
    const s1 = webgpuStats();
    expect(s1.dispatches - s0.dispatches).toBe(2 * bs + 8);
    expect(s1.submits - s0.submits).toBe(2); // bs + bs; 8 still recorded
    expect(s1.readbacks - s0.readbacks).toBe(0);
    expect(Array.from(await y.data())).toEqual([1, 2, 3, 4, 5]);
    const s2 = webgpuStats();
    expect(s2.submits - s1.submits).toBe(1);
    expect(s2.readbacks - s1.readbacks).toBe(1);
    await T.sum(y).data();
    await y.data();
    expect(webgpuStats().readbacks - s2.readbacks).toBe(2);
    T.dispose(all);
  });

  it('a released buffer is reused only after the submission that used it', async () => {
    const rt = gpu!.runtime;
    await gpu!.sync();
    const a = rt.alloc(4096, 'test');
    const out = rt.alloc(4096, 'test');
    rt.dispatch(
      unaryProgram(rt.ctx, [{ shape: [1024], dtype: 'float32' }], { op: 'neg' }, { shape: [1024], dtype: 'float32' }),
      [a],
      [out],
    );
    rt.release(a); // still referenced by the recorded, unsubmitted dispatch
    const b = rt.alloc(4096, 'test');
    expect(b.buffer).not.toBe(a.buffer);
    rt.flush();
    const hits = webgpuStats().poolHits;
    const c = rt.alloc(4096, 'test');
    expect(c.buffer).toBe(a.buffer);
    expect(webgpuStats().poolHits).toBe(hits + 1);
    for (const d of [out, b, c]) rt.release(d);
  });

  it('reads float32, int32 and bool back as Float32Array, Int32Array and Uint8Array', async () => {
    const f = onGpu(gpu!, new Float32Array([1.5, -2]), [2], 'float32');
    const i = onGpu(gpu!, new Int32Array([-7, 2147483647]), [2], 'int32');
    const b = onGpu(gpu!, new Uint8Array([1, 0, 1]), [3], 'bool');
    const rf = await f.data();
    const ri = await i.data();
    const rb = await b.data();
    expect(rf).toBeInstanceOf(Float32Array);
    expect(ri).toBeInstanceOf(Int32Array);
    expect(rb).toBeInstanceOf(Uint8Array);
    expect(Array.from(rf)).toEqual([1.5, -2]);
    expect(Array.from(ri)).toEqual([-7, 2147483647]);
    expect(Array.from(rb)).toEqual([1, 0, 1]);
    expect(await b.array()).toEqual([true, false, true]);
    T.dispose([f, i, b]);
  });

  it('zero-size tensors work in every kind of kernel', async () => {
    const e = onGpu(gpu!, new Float32Array(0), [0, 3], 'float32');
    const results = [
      T.exp(e),
      T.add(e, 1),
      T.sum(e, 1),
      T.transpose(e),
      T.slice(e, [null, [1, 2]]),
      T.pad(e, [[1, 1]]),
      T.concat([e, e], 0),
      T.flip(e, 1),
      T.where(T.gt(e, 0), e, 1),
      T.cast(e, 'int32'),
      T.broadcastTo(onGpu(gpu!, new Float32Array([1]), [1], 'float32'), [4, 0]),
    ];
    const shapes = results.map((r) => r.shape);
    expect(shapes).toEqual([[0, 3], [0, 3], [0], [3, 0], [0, 1], [2, 3], [0, 3], [0, 3], [0, 3], [0, 3], [4, 0]]);
    const padded = await results[5]!.data();
    expect(Array.from(padded)).toEqual([0, 0, 0, 0, 0, 0]);
    for (const r of results) expect((await r.data()).length).toBe(r.size);
    T.dispose([e, results]);
  });

  it('warmup compiles ahead of time, so the first dispatch compiles nothing', async () => {
    const rt = gpu!.runtime;
    const p = unaryProgram(rt.ctx, [{ shape: [7], dtype: 'float32' }], { op: 'cos' }, { shape: [7], dtype: 'float32' });
    await rt.warmup([{ program: p, inputs: 1 }]);
    const c0 = webgpuStats().compiles;
    const x = onGpu(gpu!, new Float32Array([0, 0, 0, 0, 0, 0, 0]), [7], 'float32');
    const y = T.cos(x);
    expect(webgpuStats().compiles).toBe(c0);
    expect(Array.from(await y.data())).toEqual([1, 1, 1, 1, 1, 1, 1]);
    T.dispose([x, y]);
  });

  it('TESSERA_DEBUG-style debug output prints each dispatch with its program key and workgroups', async () => {
    const b = await createWebGPUBackend({ debug: 1 });
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const x = tensorFromArray(new Float32Array(300), [300], 'float32', b);
      await T.exp(x).data();
      const lines = spy.mock.calls.map((c) => String(c[0]));
      expect(lines.some((l) => /\[tessera webgpu\] dispatch ew\|unary\.exp\|.* workgroups 1x1x1/.test(l))).toBe(true);
    } finally {
      spy.mockRestore();
      b.destroy();
    }
  });

  it('description names the adapter and how it was reached', () => {
    expect(gpu!.description).toMatch(
      /^WebGPU: .+ \((Dawn OpenGL ES backend, compatibility mode|Dawn default backend, core|browser, .+)\)$/,
    );
    expect(T.memory().backends.webgpu).toBeDefined();
  });
});
