// The profiler on the CPU backend: exact call counts, FLOPs from shapes, GFLOP/s, bytes, nesting,
// async regions, backward attribution, the off path, the table text and bad input.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it, vi } from 'vitest';
import { TesseraError } from '../../src/errors.js';
import { conv2d, convTranspose2d, grad, matmul, type Tensor, tensor, tidy } from '../../src/index.js';
import { formatProfile, kernelFlops, type ProfileResult, type ProfileRow, profile } from '../../src/profile/index.js';
import { profiling } from '../../src/tensor/profiling.js';

/** A float32 tensor of `shape` filled with 0.01 * (i mod 7), made before profiling starts. */
function filled(shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(
    Float32Array.from({ length: n }, (_, i) => 0.01 * (i % 7)),
    { shape },
  );
}

const rowOf = (r: ProfileResult, name: string): ProfileRow | undefined => r.rows.find((x) => x.name === name);

describe('profile: counting', () => {
  it('three matmuls give one matmul row with 3 calls, 2mnk FLOPs each, and their output bytes', () => {
    const [m, k, n] = [5, 7, 3];
    const a = filled([m, k]);
    const b = filled([k, n]);
    const r = profile(() => tidy(() => [matmul(a, b), matmul(a, b), matmul(a, b)].length));
    expect(r.value).toBe(3);
    const mm = rowOf(r, 'matmul')!;
    expect(mm.calls).toBe(3);
    expect(mm.flops).toBe(3 * 2 * m * n * k);
    expect(mm.bytes).toBe(3 * m * n * 4);
    expect(r.rows.map((x) => x.name)).toEqual(['matmul']);
    expect(mm.meanMs).toBeCloseTo(mm.totalMs / 3, 12);
    // GFLOP/s is FLOPs over the kernel time.
    expect(mm.gflops).toBeCloseTo(mm.flops / mm.totalMs / 1e6, 9);
    expect(r.flops).toBe(3 * 2 * m * n * k);
    expect(r.kernelMs).toBeCloseTo(mm.totalMs, 12);
    expect(r.kernelMs).toBeLessThanOrEqual(r.wallMs);
    a.dispose();
    b.dispose();
  });

  it('families are rows by member: binary(add), binary(mul), reduce(sum); no FLOPs or GFLOP/s for them', () => {
    const x = filled([4, 6]);
    const r = profile(() => tidy(() => x.add(x).mul(x).add(x).sum().dataSync()[0]));
    expect(rowOf(r, 'binary(add)')!.calls).toBe(2);
    expect(rowOf(r, 'binary(mul)')!.calls).toBe(1);
    expect(rowOf(r, 'reduce(sum)')!.calls).toBe(1);
    for (const row of r.rows) {
      expect(row.flops).toBe(0);
      expect(row.gflops).toBeNull();
    }
    // add, mul, add: 24 float32 elements each; the sum: one element.
    expect(r.bytesAllocated).toBe(3 * 24 * 4 + 4);
    x.dispose();
  });

  it('FLOPs of batched and transposed matmuls and of the three conv kernels follow the shapes', () => {
    expect(
      kernelFlops({ prim: 'matmul', inputs: [{ shape: [4, 5, 7] }, { shape: [7, 3] }], outShape: [4, 5, 3] }),
    ).toBe(2 * 4 * 5 * 3 * 7);
    const tA = {
      prim: 'matmul',
      params: { transA: true, transB: false },
      inputs: [{ shape: [7, 5] }, { shape: [7, 3] }],
      outShape: [5, 3],
    };
    expect(kernelFlops(tA)).toBe(2 * 5 * 3 * 7);
    // conv2d: x [2, 3, 8, 8], w [4, 3, 3, 3], stride 1, pad 1 -> y [2, 4, 8, 8]: one MAC per output
    // element per filter tap: 2 * 4 * 8 * 8 outputs x 3 * 3 * 3 taps.
    const taps = 3 * 3 * 3;
    const outs = 2 * 4 * 8 * 8;
    expect(
      kernelFlops({
        prim: 'conv2d',
        inputs: [{ shape: [2, 3, 8, 8] }, { shape: [4, 3, 3, 3] }],
        outShape: [2, 4, 8, 8],
      }),
    ).toBe(2 * outs * taps);
    expect(
      kernelFlops({
        prim: 'conv2dBackwardInput',
        inputs: [{ shape: [2, 4, 8, 8] }, { shape: [4, 3, 3, 3] }],
        outShape: [2, 3, 8, 8],
      }),
    ).toBe(2 * outs * taps);
    expect(
      kernelFlops({
        prim: 'conv2dBackwardFilter',
        inputs: [{ shape: [2, 3, 8, 8] }, { shape: [2, 4, 8, 8] }],
        outShape: [4, 3, 3, 3],
      }),
    ).toBe(2 * outs * taps);
  });

  it('a conv and a transposed conv are counted with their FLOPs in a real run', () => {
    const x = filled([2, 3, 8, 8]);
    const w = filled([4, 3, 3, 3]);
    const r = profile(() =>
      tidy(() => {
        const y = conv2d(x, w, { padding: 1 });
        return convTranspose2d(y, w, { padding: 1 }).shape;
      }),
    );
    expect(r.value).toEqual([2, 3, 8, 8]);
    // conv2d: 2*4*8*8 outputs x 27 taps; the transposed conv is conv2dBackwardInput of the same geometry.
    expect(rowOf(r, 'conv2d')!.flops).toBe(2 * 2 * 4 * 8 * 8 * 27);
    expect(rowOf(r, 'conv2dBackwardInput')!.flops).toBe(2 * 2 * 4 * 8 * 8 * 27);
    x.dispose();
    w.dispose();
  });
});

describe('profile: regions', () => {
  it('nested regions: the outer sees every call, the inner only its own', () => {
    const a = filled([3, 3]);
    const outer = profile(() =>
      tidy(() => {
        matmul(a, a);
        const inner = profile(() => tidy(() => a.add(a).shape));
        matmul(a, a);
        return inner;
      }),
    );
    const inner = outer.value;
    expect(inner.rows.map((r) => [r.name, r.calls])).toEqual([['binary(add)', 1]]);
    expect(rowOf(outer, 'matmul')!.calls).toBe(2);
    expect(rowOf(outer, 'binary(add)')!.calls).toBe(1);
    expect(inner.wallMs).toBeLessThanOrEqual(outer.wallMs);
    a.dispose();
  });

  it('an async region counts kernels run after its awaits, and resolves to the value', async () => {
    const a = filled([3, 3]);
    const r = await profile(async () => {
      const y = matmul(a, a);
      const v = await y.data();
      await new Promise((res) => setTimeout(res, 5));
      const z = y.add(1);
      const w = await z.data();
      y.dispose();
      z.dispose();
      return v[0]! + w[0]!;
    });
    expect(rowOf(r, 'matmul')!.calls).toBe(1);
    expect(rowOf(r, 'binary(add)')!.calls).toBe(1);
    expect(typeof r.value).toBe('number');
    // The 5 ms sleep is outside every kernel.
    expect(r.outsideKernelsMs).toBeGreaterThanOrEqual(4);
    expect(r.wallMs).toBeGreaterThanOrEqual(r.kernelMs + 4);
    a.dispose();
  });

  it('a backward pass attributes its kernels and bookkeeping to backward', () => {
    const x = filled([4, 4]);
    const r = profile(() => tidy(() => grad((t: Tensor) => t.tanh().sum())(x).shape));
    // tanh runs forward only; its gradient kernel runs in the backward pass only.
    const tanh = rowOf(r, 'unary(tanh)')!;
    const tb = rowOf(r, 'binary(tanhBackward)')!;
    expect(tanh.backwardMs).toBe(0);
    expect(tb.calls).toBe(1);
    expect(tb.backwardMs).toBe(tb.totalMs);
    expect(r.backward.wallMs).toBeGreaterThan(0);
    expect(r.backward.kernelMs).toBeGreaterThanOrEqual(tb.totalMs);
    expect(r.backward.kernelMs).toBeLessThanOrEqual(r.backward.wallMs);
    expect(r.backward.outsideKernelsMs).toBeCloseTo(r.backward.wallMs - r.backward.kernelMs, 9);
    expect(r.engineMs + r.backward.outsideKernelsMs).toBeCloseTo(r.outsideKernelsMs, 9);
    x.dispose();
  });

  it('a forward-only region has no backward time', () => {
    const x = filled([4, 4]);
    const r = profile(() => tidy(() => x.tanh().sum().shape));
    expect(r.backward).toEqual({ wallMs: 0, kernelMs: 0, outsideKernelsMs: 0 });
    x.dispose();
  });
});

describe('profile: off', () => {
  it('the hook is off outside regions, and kernels run after a region change nothing', () => {
    expect(profiling.sink).toBeUndefined();
    const a = filled([3, 3]);
    const r = profile(() => tidy(() => matmul(a, a).shape));
    expect(profiling.sink).toBeUndefined();
    const before = JSON.stringify(r.rows);
    tidy(() => matmul(a, a).add(a).sum());
    expect(JSON.stringify(r.rows)).toBe(before);
    a.dispose();
  });

  it('off, a kernel call reads no clock (the only cost is the sink check)', () => {
    const a = filled([6, 6]);
    const now = vi.spyOn(performance, 'now');
    try {
      tidy(() => matmul(a, a).add(a).sum());
      expect(now).not.toHaveBeenCalled();
      profile(() => tidy(() => matmul(a, a).shape));
      expect(now).toHaveBeenCalled();
    } finally {
      now.mockRestore();
    }
    a.dispose();
  });

  it('memory: the peak is the most bytes live after a kernel; what the region frees is not counted', () => {
    const a = filled([16, 16]); // 1 KiB
    const r = profile(() =>
      tidy(() => {
        const t1 = a.add(a); // +1 KiB live
        const t2 = t1.mul(a); // +1 KiB: peak of 2 KiB above the start
        t1.dispose();
        t2.dispose();
        return a.sum().shape; // +4 bytes, freed by tidy
      }),
    );
    const m = r.memory.cpu!;
    expect(m.peakBytes - m.startBytes).toBe(2 * 1024);
    expect(m.endBytes).toBe(m.startBytes);
    a.dispose();
  });

  it('a region that runs no kernel has no rows and allocates nothing', () => {
    const r = profile(() => 42);
    expect(r.value).toBe(42);
    expect(r.rows).toEqual([]);
    expect(r.bytesAllocated).toBe(0);
    expect(r.kernelMs).toBe(0);
  });

  it('a throwing region closes (the hook is off again) and rethrows', () => {
    expect(() =>
      profile(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(profiling.sink).toBeUndefined();
  });

  it('a rejecting async region closes and rejects', async () => {
    await expect(profile(async () => Promise.reject(new Error('late boom')))).rejects.toThrow('late boom');
    expect(profiling.sink).toBeUndefined();
  });

  it('profile of a non-function is a TesseraError naming profile', () => {
    expect(() => profile(3 as unknown as () => void)).toThrow(TesseraError);
    expect(() => profile(3 as unknown as () => void)).toThrow(/profile: expected a function to profile, got number/);
  });
});

describe('formatProfile', () => {
  it('prints one line per row, the GFLOP/s of GEMM rows, totals and the time outside kernels', () => {
    const a = filled([8, 8]);
    const r = profile(() => tidy(() => matmul(a, a).add(a).shape), { label: 'two ops' });
    const text = formatProfile(r);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^two ops: [\d.]+ ms wall, 2 kernel calls, 0\.000 GFLOP, 0\.00 MiB allocated$/);
    const mm = lines.find((l) => l.startsWith('matmul'))!;
    expect(mm).toContain(rowOf(r, 'matmul')!.gflops!.toFixed(2));
    expect(lines.some((l) => l.startsWith('binary(add)'))).toBe(true);
    expect(lines.some((l) => l.startsWith('all kernels'))).toBe(true);
    expect(lines.some((l) => l.startsWith('outside kernels'))).toBe(true);
    expect(lines.some((l) => l.trim().startsWith('backward (autodiff bookkeeping)'))).toBe(true);
    a.dispose();
  });
});
