/**
 * Bad input on WebGPU gives a clear TesseraError, never a GPU validation message, a hang or a
 * crash: shape mismatches, tensors over maxStorageBufferBindingSize, float64, a WGSL program
 * that fails to compile (compile() rejects; a dispatch reports at the next read and fails fast
 * afterwards), uncaptured device errors and checkNumerics (first offending op at the next read).
 * A lost or destroyed device: device-loss.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../../src/index.js';
import type { Program } from '../../src/kernels/wgsl/program.js';
import { setCheckNumerics, tensorFromArray } from '../../src/tensor/engine.js';
import { initWebGPU, onGpu, releaseWebGPU } from '../helpers/webgpu.js';

const gpu = await initWebGPU();
afterAll(releaseWebGPU);

function broken(): Program {
  return {
    key: 'test-broken-shader',
    wgsl: [
      'struct U { n : u32, }',
      '@group(0) @binding(0) var<uniform> u : U;',
      '@group(0) @binding(1) var<storage, read_write> out : array<f32>;',
      '@compute @workgroup_size(64)',
      'fn main(@builtin(global_invocation_id) g : vec3<u32>) {',
      '  let x : f32 = 1u;',
      '  out[g.x] = x;',
      '}',
    ].join('\n'),
    workgroups: [1, 1, 1],
    uniforms: new ArrayBuffer(16),
  };
}

describe.skipIf(gpu === undefined)('WebGPU errors', () => {
  it('shape mismatch and float64 are TesseraErrors', async () => {
    const a = onGpu(gpu!, new Float32Array(6), [2, 3], 'float32');
    const b = onGpu(gpu!, new Float32Array(4), [4], 'float32');
    expect(() => T.add(a, b)).toThrow(T.TesseraError);
    expect(() => T.add(a, b)).toThrow(/add: shapes \[2,3\] and \[4\] cannot be broadcast/);
    expect(() => tensorFromArray(new Float64Array(2), [2], 'float64', gpu!)).toThrow(/does not support dtype float64/);
    expect(() => T.cast(a, 'float64')).toThrow(T.TesseraError);
    T.dispose([a, b]);
  });

  it('a tensor larger than maxStorageBufferBindingSize is rejected naming the limit', async () => {
    const limit = gpu!.runtime.limits.maxStorageBufferBindingSize;
    const s = onGpu(gpu!, new Float32Array([1]), [1], 'float32');
    const n = Math.floor(limit / 4) + 1;
    expect(() => T.broadcastTo(s, [n])).toThrow(T.TesseraError);
    expect(() => T.broadcastTo(s, [n])).toThrow(
      new RegExp(
        `expand: the result needs ${n * 4} bytes, more than this device's maxStorageBufferBindingSize of ${limit} bytes`,
      ),
    );
    // Nothing leaked and the device still works.
    expect(Array.from(await T.add(s, 1).data())).toEqual([2]);
    s.dispose();
  });

  it('a WGSL compile error: compile() rejects with the messages and the numbered source', async () => {
    const rt = gpu!.runtime;
    const err = await rt.compile(broken(), 0).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(T.TesseraError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/WGSL compile error in program 'test-broken-shader'/);
    expect(msg).toMatch(/error at line 6:\d+: .*'f32'.*'u32'/);
    expect(msg).toMatch(/6 \| {3}let x : f32 = 1u;/);
  });

  it('a WGSL compile error in a dispatch is reported at the next read; later uses fail at once', async () => {
    const rt = gpu!.runtime;
    const p = { ...broken(), key: 'test-broken-shader-2' };
    const out = rt.alloc(256, 'test');
    rt.dispatch(p, [], [out]);
    const x = onGpu(gpu!, new Float32Array([1, 2, 3]), [3], 'float32');
    const y = T.mul(x, 2);
    await expect(y.data()).rejects.toThrow(/WGSL compile error in program 'test-broken-shader-2'[\s\S]*6 \| {3}let x/);
    expect(() => rt.dispatch(p, [], [out])).toThrow(/WGSL compile error/);
    rt.release(out);
    // Reported once; the device and other kernels keep working.
    expect(Array.from(await T.mul(x, 3).data())).toEqual([3, 6, 9]);
    T.dispose([x, y]);
  });

  it('an uncaptured device error surfaces as a TesseraError at the next read', async () => {
    const x = onGpu(gpu!, new Float32Array([1]), [1], 'float32');
    // An invalid buffer size is a validation error outside any error scope.
    gpu!.runtime.device.createBuffer({ size: 2 ** 40, usage: 4 });
    await expect(x.data()).rejects.toThrow(/webgpu: device error/);
    expect(Array.from(await x.data())).toEqual([1]);
    x.dispose();
  });

  it('checkNumerics names the first op that produced NaN or Inf, at the next read', async () => {
    setCheckNumerics(true);
    try {
      const x = onGpu(gpu!, new Float32Array([-1, 2, 3]), [3], 'float32');
      const y = T.exp(x);
      const z = T.log(x); // NaN at element 0
      const w = T.div(y, T.zerosLike(y)); // Inf, but later
      await expect(w.data()).rejects.toThrow(/checkNumerics: unary\(log\) with inputs \[3\] produced NaN or Inf/);
      const v = T.add(x, 1);
      expect(Array.from(await v.data())).toEqual([0, 3, 4]);
      T.dispose([x, y, z, w, v]);
    } finally {
      setCheckNumerics(false);
    }
  });
});
