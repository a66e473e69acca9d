// The profiler on WebGPU: rows per kernel on the adapter at hand (GPU times from timestamp queries
// where it has them, a note where not), and the timestamp bookkeeping against a scripted device.
import '../../src/index.js'; // registers the CPU backend
import { afterAll, describe, expect, it } from 'vitest';
import { BatchTimestamps, hasTimestamps, NO_TIMESTAMPS_NOTE } from '../../src/backend/webgpu/timestamps.js';
import { matmul, tidy } from '../../src/index.js';
import { formatProfile, profile } from '../../src/profile/index.js';
import type { ProfileSink } from '../../src/tensor/profiling.js';
import { initWebGPU, onGpu, releaseWebGPU } from '../helpers/webgpu.js';

const gpu = await initWebGPU();
afterAll(releaseWebGPU);

describe('BatchTimestamps against a scripted device', () => {
  it('gives each labelled dispatch a pass with its two query slots and reports (end - begin) ns as ms', async () => {
    const calls: string[] = [];
    // Tick pairs (begin, end) in ns the scripted device "wrote": 1.5 ms, 0.25 ms, and a reversed pair.
    const ticks = new BigUint64Array([1000n, 1_501_000n, 2_000_000n, 2_250_000n, 5_000n, 4_000n]);
    const destroyed: string[] = [];
    const buffer = (name: string) => ({
      mapAsync: async (_mode: number, offset: number, size: number) => {
        calls.push(`map ${name} ${offset} ${size}`);
      },
      getMappedRange: () => ticks.buffer,
      unmap: () => calls.push(`unmap ${name}`),
      destroy: () => destroyed.push(name),
    });
    let nBuffers = 0;
    const device = {
      features: new Set(['timestamp-query']),
      createQuerySet: (d: { type: string; count: number }) => {
        calls.push(`querySet ${d.type} ${d.count}`);
        return { destroy: () => destroyed.push('querySet') };
      },
      createBuffer: (d: { size: number }) => {
        calls.push(`buffer ${d.size}`);
        return buffer(nBuffers++ === 0 ? 'resolve' : 'read');
      },
    } as unknown as GPUDevice;
    const enc = {
      beginComputePass: (d: GPUComputePassDescriptor) => {
        const w = d.timestampWrites!;
        calls.push(`pass ${w.beginningOfPassWriteIndex} ${w.endOfPassWriteIndex}`);
        return {} as GPUComputePassEncoder;
      },
      resolveQuerySet: (_q: unknown, first: number, count: number) => calls.push(`resolve ${first} ${count}`),
      copyBufferToBuffer: (_s: unknown, _so: number, _d: unknown, _do: number, size: number) =>
        calls.push(`copy ${size}`),
    } as unknown as GPUCommandEncoder;
    expect(hasTimestamps(device)).toBe(true);
    const ts = new BatchTimestamps(device, 4);
    ts.beginPass(enc, 'matmul');
    ts.beginPass(enc, 'binary(add)');
    ts.beginPass(enc, 'matmul');
    ts.resolve(enc);
    const got: [string, number][] = [];
    const pending: Promise<unknown>[] = [];
    const sink: ProfileSink = {
      kernel: () => {},
      gpuTime: (name, ms) => got.push([name, ms]),
      phase: (_n, fn) => fn(),
      pending: (p) => pending.push(p),
      note: (t) => got.push([t, -1]),
    };
    ts.report(sink);
    expect(pending).toHaveLength(1);
    await pending[0];
    expect(calls).toEqual([
      'querySet timestamp 8',
      'buffer 64',
      'buffer 64',
      'pass 0 1',
      'pass 2 3',
      'pass 4 5',
      'resolve 0 6',
      'copy 48',
      'map read 0 48',
      'unmap read',
    ]);
    expect(got).toEqual([
      ['matmul', 1.5],
      ['binary(add)', 0.25],
      ['matmul', 0],
    ]);
    expect(destroyed.sort()).toEqual(['querySet', 'read', 'resolve']);

    // A batch submitted after its profile ended: no read-back, the queries are only released.
    calls.length = 0;
    destroyed.length = 0;
    nBuffers = 0;
    const late = new BatchTimestamps(device, 1);
    late.beginPass(enc, 'matmul');
    late.resolve(enc);
    late.report(undefined);
    await new Promise((r) => setTimeout(r, 0));
    expect(calls.filter((c) => c.startsWith('map'))).toEqual([]);
    expect(destroyed.sort()).toEqual(['querySet', 'read', 'resolve']);
  });
});

describe.skipIf(gpu === undefined)('profile on the WebGPU backend', () => {
  it('an async region has webgpu rows, FLOPs from shapes, and GPU times or a note saying there are none', async () => {
    const [m, k, n] = [32, 16, 8];
    const a = onGpu(
      gpu!,
      Float32Array.from({ length: m * k }, (_, i) => (i % 5) * 0.1),
      [m, k],
      'float32',
    );
    const b = onGpu(
      gpu!,
      Float32Array.from({ length: k * n }, (_, i) => (i % 3) * 0.1),
      [k, n],
      'float32',
    );
    const r = await profile(async () => {
      const y = tidy(() => matmul(a, b).add(1));
      const v = await y.data();
      y.dispose();
      return v.length;
    });
    expect(r.value).toBe(m * n);
    const mm = r.rows.find((x) => x.name === 'matmul')!;
    expect(mm.backend).toBe('webgpu');
    expect(mm.calls).toBe(1);
    expect(mm.flops).toBe(2 * m * n * k);
    expect(r.rows.find((x) => x.name === 'binary(add)')!.calls).toBe(1);
    if (hasTimestamps(gpu!.runtime.device)) {
      expect(mm.gpuMs).toBeGreaterThan(0);
      expect(mm.gpuDispatches).toBeGreaterThanOrEqual(1);
      expect(mm.gflops).toBeCloseTo(mm.flops / mm.gpuMs! / 1e6, 9);
      expect(formatProfile(r)).toContain('GPU ms');
    } else {
      console.warn(`profile test: ${gpu!.description} has no timestamp-query; checked the fallback only`);
      expect(mm.gpuMs).toBeNull();
      expect(mm.gflops).toBeNull();
      expect(r.notes).toContain(NO_TIMESTAMPS_NOTE);
      const text = formatProfile(r);
      expect(text).toContain('total ms (CPU)');
      expect(text).toContain(`note: ${NO_TIMESTAMPS_NOTE}`);
    }
    a.dispose();
    b.dispose();
  });

  it('a synchronous region on WebGPU says its times are dispatch recording', () => {
    const a = onGpu(gpu!, Float32Array.from([1, 2, 3, 4]), [2, 2], 'float32');
    const r = profile(() => tidy(() => matmul(a, a).shape));
    expect(r.rows.map((x) => [x.name, x.backend, x.calls])).toEqual([['matmul', 'webgpu', 1]]);
    expect(r.notes.some((t) => t.startsWith('synchronous region'))).toBe(true);
    a.dispose();
  });
});
