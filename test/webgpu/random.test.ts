/**
 * The WGSL Philox kernel draws the same bits as src/random/philox.ts: Generator(seed).uniform is
 * bitwise identical on the CPU and WebGPU backends; normal agrees to ~1e-6; the primitive with
 * arbitrary key / stream / offset matches `uniformBits` directly.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { cpuBackend } from '../../src/backend/cpu.js';
import * as T from '../../src/index.js';
import { uniformBits, wordToUniform } from '../../src/random/philox.js';
import { runPrimitive, useBackend } from '../../src/tensor/engine.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { firstMismatch, initWebGPU, releaseWebGPU, shapeArb } from '../helpers/webgpu.js';

const gpu = await initWebGPU();
afterAll(releaseWebGPU);

/** Runs `f` with the given backend current (random draws are created on the current backend). */
function on<R>(backend: 'cpu' | 'webgpu', f: () => R): R {
  useBackend(backend === 'cpu' ? cpuBackend : gpu!);
  try {
    return f();
  } finally {
    useBackend(gpu!);
  }
}

const seedArb = fc.oneof(fc.nat(), fc.constant(0), fc.constant(2 ** 40 + 12345));

describe.skipIf(gpu === undefined)('WebGPU Philox random vs CPU', () => {
  it('Generator(seed).uniform is bitwise identical on both backends', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb(4, 50000), seedArb, fc.nat(5), async (shape, seed, skip) => {
        const draw = (): Tensor => {
          const g = new T.Generator(seed);
          for (let i = 0; i < skip; i++) g.uniform([3]).dispose();
          return g.uniform(shape);
        };
        const c = on('cpu', draw);
        const w = on('webgpu', draw);
        expect(w.backend.name).toBe('webgpu');
        const a = await c.data();
        const b = await w.data();
        expect(new Uint32Array(b.buffer)).toEqual(new Uint32Array(a.buffer));
        T.dispose([c, w]);
      }),
      { numRuns: 25 },
    );
  });

  it('the randomUniform primitive with any key, stream and offset matches uniformBits', async () => {
    const u32 = fc.nat({ max: 0xffffffff });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5000 }),
        u32,
        u32,
        u32,
        u32,
        u32,
        async (n, k0, k1, s0, s1, offset) => {
          const params = { key: [k0, k1] as [number, number], stream: [s0, s1] as [number, number], offset };
          const t = runPrimitive('randomUniform', [], params, [n], 'float32');
          const got = await t.data();
          t.dispose();
          const bits = uniformBits(n, params.key, params.stream, offset);
          const want = Float32Array.from(bits, wordToUniform);
          expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(want.buffer));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('normal, bernoulli and randint agree with the CPU backend', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb(3, 20000), seedArb, async (shape, seed) => {
        const draws = (): Tensor[] => {
          const g = new T.Generator(seed);
          return [g.normal(shape, 0.5, 2), g.bernoulli(0.3, shape), g.randint(-5, 17, shape)];
        };
        const c = on('cpu', draws);
        const w = on('webgpu', draws);
        const m = firstMismatch(await w[0]!.data(), await c[0]!.data(), { rtol: 1e-6, atol: 1e-6 });
        expect(m, `normal: ${m}`).toBeNull();
        expect(Array.from(await w[1]!.data())).toEqual(Array.from(await c[1]!.data()));
        expect(Array.from(await w[2]!.data())).toEqual(Array.from(await c[2]!.data()));
        T.dispose([c, w]);
      }),
      { numRuns: 15 },
    );
  });
});
