/**
 * WGSL matmul kernels against the CPU backend's float64 matmul, run through the Dawn harness
 * (every variant: tiled / split-K / workgroup-memory, vec4 and scalar loaders, transposes, batch
 * broadcasting, tile fit, the epilogue). Error bound per element:
 * |gpu - ref| <= 1e-6 sqrt(k) (|A| |B|)_ij, the float32 accumulation error scale.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { abs, matmul, type Tensor } from '../../src/index.js';
import type { GemmLayout } from '../../src/kernels/wgsl/gemm-common.js';
import { type MatmulOptions, matmulProgram } from '../../src/kernels/wgsl/matmul.js';
import type { ProgramContext } from '../../src/kernels/wgsl/program.js';
import { sizeOf } from '../../src/tensor/shape.js';
import { matmulCaseArb, TILE_EDGE_DIMS } from '../helpers/arbitraries.js';
import { getHarness, type Harness, requireAdapter } from '../helpers/dawn-harness.js';
import { initWebGPU, onCpu, onGpu, releaseWebGPU, xorshiftValues as values } from '../helpers/webgpu.js';

const h = await getHarness();
const enabled = requireAdapter(h, 'WGSL matmul kernels');
const gpu = await initWebGPU();
afterAll(releaseWebGPU);

/** A float64 CPU tensor holding the float32 values (the reference side). */
const cpu64 = (a: Float32Array, shape: readonly number[]): Tensor => onCpu(Float64Array.from(a), shape, 'float64');

/** Checks got against the float64 reference `ref` with the per-element bound tolK * scale. */
function expectWithin(
  got: ArrayLike<number>,
  ref: ArrayLike<number>,
  scale: ArrayLike<number>,
  tolK: number,
  what: string,
) {
  expect(got.length).toBe(ref.length);
  for (let i = 0; i < ref.length; i++) {
    const tol = tolK * scale[i]! + 1e-30;
    if (!(Math.abs(got[i]! - ref[i]!) <= tol)) {
      throw new Error(`${what}: element ${i} = ${got[i]}, expected ${ref[i]} (tol ${tol.toExponential(2)})`);
    }
  }
}

interface Case {
  a: number[];
  b: number[];
  transA: boolean;
  transB: boolean;
}

/** Batch dims broadcast as in NumPy (right-aligned). */
function outShape(c: Case): number[] {
  const ba = c.a.slice(0, -2);
  const bb = c.b.slice(0, -2);
  const r = Math.max(ba.length, bb.length);
  const batch: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = ba[ba.length - r + i] ?? 1;
    const y = bb[bb.length - r + i] ?? 1;
    batch.push(x === 1 ? y : x);
  }
  const m = c.a[c.a.length - (c.transA ? 1 : 2)]!;
  const n = c.b[c.b.length - (c.transB ? 2 : 1)]!;
  return [...batch, m, n];
}

async function check(
  c: Case,
  opts: MatmulOptions & { bias?: boolean } = {},
  ctx?: ProgramContext,
  seed = 1,
): Promise<string> {
  const harness = h as Harness;
  const out = outShape(c);
  const k = c.a[c.a.length - (c.transA ? 2 : 1)]!;
  const n = out[out.length - 1]!;
  const a = values(sizeOf(c.a), seed);
  const b = values(sizeOf(c.b), seed + 7919);
  const bias = values(n, seed + 104729);
  const f32 = (shape: number[]) => ({ shape, dtype: 'float32' as const });
  const p = matmulProgram(
    ctx ?? harness.ctx,
    [f32(c.a), f32(c.b)],
    { transA: c.transA, transB: c.transB, ...opts },
    f32(out),
  );
  const ins = opts.epilogue?.bias === true ? [a, b, bias] : [a, b];
  const got = await harness.run(p, ins, sizeOf(out));
  // float64 reference on the CPU backend.
  const A = cpu64(a, c.a);
  const B = cpu64(b, c.b);
  let ref = matmul(A, B, { transA: c.transA, transB: c.transB });
  const scale = matmul(abs(A), abs(B), { transA: c.transA, transB: c.transB }).dataSync();
  let biasScale = 0;
  if (opts.epilogue?.bias === true) {
    ref = ref.add(cpu64(bias, [n]));
    biasScale = 1;
  }
  const act = opts.epilogue?.activation ?? 'none';
  if (act === 'relu') ref = ref.relu();
  if (act === 'tanh') ref = ref.tanh();
  if (act === 'sigmoid') ref = ref.sigmoid();
  const r = ref.dataSync();
  expect(got.length).toBe(r.length);
  const tolK = 1e-6 * Math.sqrt(Math.max(k, 1));
  for (let i = 0; i < r.length; i++) {
    const tol = tolK * (scale[i]! + biasScale) + 1e-7 * biasScale + 1e-30;
    if (!(Math.abs(got[i]! - r[i]!) <= tol)) {
      throw new Error(
        `${p.key} ${JSON.stringify(c)}: element ${i} = ${got[i]}, expected ${r[i]} (tol ${tol.toExponential(2)})`,
      );
    }
  }
  return p.key;
}

const mm = (
  m: number,
  k: number,
  n: number,
  transA = false,
  transB = false,
  batchA: number[] = [],
  batchB: number[] = [],
) => ({
  a: [...batchA, ...(transA ? [k, m] : [m, k])],
  b: [...batchB, ...(transB ? [n, k] : [k, n])],
  transA,
  transB,
});

describe.skipIf(!enabled)('WGSL matmul (Dawn harness)', () => {
  const FLAGS: [boolean, boolean][] = [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ];

  it('named shapes, all transpose flags: sizes 1, odd, tile edges, long K', async () => {
    const keys = new Set<string>();
    const shapes: [number, number, number][] = [
      [1, 1, 1],
      [3, 5, 7],
      [65, 33, 17],
      [130, 70, 257],
      [7, 9, 1000],
      [64, 128, 64],
      [128, 64, 128],
      [32, 32, 4],
      [5, 12, 8],
      [40, 12, 3],
    ];
    for (const [m, k, n] of shapes) {
      for (const [tA, tB] of FLAGS) keys.add(await check(mm(m, k, n, tA, tB)));
    }
    // Both the vec4 and the scalar loaders, fit and unfit tiles, tails and no tails were exercised.
    const all = [...keys].join(' ');
    for (const part of ['a4b4c4', 'a1b1c1', 'fit', 'tail', 'tA', 'tB']) expect(all).toContain(part);
  });

  it('matrix-vector and vector-matrix (m = 1 or n = 1), long K: row-vector and split-K variants', async () => {
    const keys: string[] = [];
    for (const [tA, tB] of FLAGS) {
      keys.push(await check(mm(1, 1000, 300, tA, tB)));
      keys.push(await check(mm(300, 1000, 1, tA, tB)));
      keys.push(await check(mm(1, 1000, 1, tA, tB)));
      keys.push(await check(mm(2, 513, 3, tA, tB)));
    }
    expect(keys.some((k) => k.includes('ks') && !k.includes('ks1'))).toBe(true);
    expect(keys.some((k) => k.includes('|sw'))).toBe(true);
  });

  it('broadcast batch dims (strides, size-1 dims, mixed ranks)', async () => {
    const cases: [number[], number[]][] = [
      [[3], [3]],
      [[3], []],
      [[], [4]],
      [
        [2, 1],
        [1, 3],
      ],
      [[2, 3], [3]],
      [[1, 1, 2], [2]],
      [
        [2, 1, 3],
        [1, 4, 1],
      ],
    ];
    for (const [ba, bb] of cases) {
      for (const [tA, tB] of FLAGS) await check(mm(9, 12, 16, tA, tB, ba, bb));
      await check(mm(1, 40, 20, false, false, ba, bb));
      await check(mm(33, 8, 1, true, false, ba, bb));
    }
  });

  it('random shapes, flags and batches (fast-check)', async () => {
    const dim = fc.oneof(fc.integer({ min: 1, max: 9 }), fc.constantFrom(15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 129));
    const bdim = fc.constantFrom(1, 2, 3);
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          m: dim,
          k: dim,
          n: dim,
          tA: fc.boolean(),
          tB: fc.boolean(),
          ba: fc.array(bdim, { maxLength: 2 }),
          bb: fc.array(bdim, { maxLength: 2 }),
          seed: fc.integer({ min: 1, max: 1e9 }),
        }),
        async ({ m, k, n, tA, tB, ba, bb, seed }) => {
          // Make the batch shapes broadcast-compatible: where both have a dim, equal or one is 1.
          const bb2 = bb.map((d, i) => {
            const j = ba.length - bb.length + i;
            const x = ba[j];
            return x === undefined || x === 1 || d === 1 || x === d ? d : x;
          });
          await check(mm(m, k, n, tA, tB, ba, bb2), {}, undefined, seed);
        },
      ),
      { numRuns: 20 },
    );
  });

  it('CPU rasterisers (slowBarriers): 16 x 16 blocks by default, all transpose flags, ragged and batched', {
    timeout: 300_000,
  }, async () => {
    const slow = { ...(h as Harness).ctx, slowBarriers: true };
    const keys: string[] = [];
    const shapes: [number, number, number, number[]][] = [
      [65, 33, 17, []],
      [130, 70, 257, []],
      [37, 45, 29, [2]],
      [128, 64, 128, []],
    ];
    for (const [m, k, n, batch] of shapes) {
      for (const [tA, tB] of FLAGS) keys.push(await check(mm(m, k, n, tA, tB, batch, batch), {}, slow));
    }
    expect(keys.filter((k) => k.includes('tm16tn16')).length).toBeGreaterThanOrEqual(12);
  });

  it('every forced layout gives the same answer (tiled tm/tn/wg shapes, split-K widths)', async () => {
    const layouts: GemmLayout[] = [
      { tm: 1, tn: 4, wgx: 8, wgy: 1, ks: 1 },
      { tm: 2, tn: 8, wgx: 4, wgy: 2, ks: 1 },
      { tm: 4, tn: 4, wgx: 8, wgy: 8, ks: 1 },
      { tm: 8, tn: 16, wgx: 8, wgy: 4, ks: 1 },
      { tm: 16, tn: 16, wgx: 2, wgy: 2, ks: 1 },
      { tm: 4, tn: 4, wgx: 1, wgy: 1, ks: 2 },
      { tm: 4, tn: 8, wgx: 1, wgy: 1, ks: 16 },
      { tm: 1, tn: 4, wgx: 1, wgy: 1, ks: 64 },
    ];
    for (const [i, layout] of layouts.entries()) {
      const [tA, tB] = FLAGS[i % 4]!;
      const [tA2, tB2] = FLAGS[(i + 1) % 4]!;
      await check(mm(37, 45, 29, tA, tB, [2]), { layout });
      await check(mm(32, 64, 64, tA2, tB2), { layout });
    }
  });

  it('workgroup-memory (smem) variant', async () => {
    const keys: string[] = [];
    for (const [tA, tB] of FLAGS) {
      keys.push(await check(mm(64, 64, 64, tA, tB), { smem: true }));
      keys.push(await check(mm(70, 33, 45, tA, tB, [2]), { smem: true }));
    }
    keys.push(await check(mm(128, 100, 96), { smem: true, epilogue: { bias: true, activation: 'relu' } }));
    keys.push(await check(mm(40, 36, 34), { smem: true, epilogue: { bias: true, activation: 'none' } }));
    expect(keys.every((k) => k.startsWith('matmul-smem'))).toBe(true);
  });

  it('fused bias + activation epilogue', async () => {
    for (const activation of ['none', 'relu', 'tanh', 'sigmoid'] as const) {
      await check(mm(17, 20, 12, false, false), { epilogue: { bias: true, activation } });
      await check(mm(8, 64, 10, true, true, [3]), { epilogue: { bias: activation !== 'none', activation } });
    }
    await check(mm(1, 300, 9, false, false), { epilogue: { bias: true, activation: 'tanh' } });
    await check(mm(33, 5, 1, false, false), { epilogue: { bias: true, activation: 'sigmoid' } });
    // Saturated inputs: tanh and sigmoid stay finite.
    await check(mm(4, 3000, 8, false, false), { epilogue: { bias: false, activation: 'tanh' } }, undefined, 5);
  });

  it('respects small device limits: workgroup grid folding and invocation caps', async () => {
    const tiny: ProgramContext = {
      maxInvocationsPerWorkgroup: 16,
      maxWorkgroupSizeX: 16,
      maxWorkgroupSizeY: 16,
      maxWorkgroupsPerDimension: 3,
      maxWorkgroupStorageSize: 1024,
    };
    const c = mm(70, 300, 50, false, true, [5]);
    const harness = h as Harness;
    const f32 = (shape: number[]) => ({ shape, dtype: 'float32' as const });
    const p = matmulProgram(tiny, [f32(c.a), f32(c.b)], { transA: false, transB: true }, f32(outShape(c)));
    expect(Math.max(...p.workgroups)).toBeLessThanOrEqual(3 * 400);
    expect(p.workgroups[0]).toBeLessThanOrEqual(3);
    await check(c, {}, tiny);
    await check(mm(3, 2000, 2), {}, tiny); // split-K within 16 invocations and 1 KiB
    await check(mm(300, 40, 200, true, false), {}, { ...tiny, maxWorkgroupsPerDimension: 65535 });
    expect(harness.ctx.maxWorkgroupsPerDimension).toBeGreaterThan(3);
  });

  it('k = 0 gives zeros', async () => {
    const harness = h as Harness;
    const f32 = (shape: number[]) => ({ shape, dtype: 'float32' as const });
    const p = matmulProgram(harness.ctx, [f32([3, 0]), f32([0, 5])], { transA: false, transB: false }, f32([3, 5]));
    const got = await harness.run(p, [new Float32Array(0), new Float32Array(0)], 15);
    expect([...got]).toEqual(new Array(15).fill(0));
  });

  it('program keys hold variants, never sizes', () => {
    const harness = h as Harness;
    const f32 = (shape: number[]) => ({ shape, dtype: 'float32' as const });
    const key = (m: number, k: number, n: number) =>
      matmulProgram(harness.ctx, [f32([m, k]), f32([k, n])], { transA: false, transB: false }, f32([m, n])).key;
    expect(key(100, 36, 300)).toBe(key(200, 44, 500));
    expect(key(64, 64, 128)).not.toBe(key(100, 64, 128)); // fit vs not
    expect(key(64, 64, 128)).not.toBe(key(64, 63, 128)); // vec4 vs scalar A
  });
});

describe.skipIf(gpu === undefined)('matmul through the public API on the WebGPU backend', () => {
  it('random cases: 1-D operands, transposes, broadcast batches, tile-edge sizes (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        matmulCaseArb({ dims: [1, 2, 3, 4, 5, ...TILE_EDGE_DIMS, 100], maxBatchRank: 2 }),
        fc.integer({ min: 1, max: 1e9 }),
        async (c, seed) => {
          const a = values(sizeOf(c.a), seed);
          const b = values(sizeOf(c.b), seed + 1);
          const opts = { transA: c.transA, transB: c.transB };
          const got = matmul(onGpu(gpu!, a, c.a, 'float32'), onGpu(gpu!, b, c.b, 'float32'), opts);
          expect(got.shape).toEqual(c.out);
          expect(got.backend.name).toBe('webgpu');
          const A = cpu64(a, c.a);
          const B = cpu64(b, c.b);
          const ref = matmul(A, B, opts);
          const scale = matmul(abs(A), abs(B), opts);
          expectWithin(await got.data(), ref.dataSync(), scale.dataSync(), 1e-6 * Math.sqrt(c.k), JSON.stringify(c));
        },
      ),
      { numRuns: 20 },
    );
  });

  it('empty operands: k = 0 gives zeros (vec4-shaped and transposed), m = 0 gives an empty result', async () => {
    const z = (shape: number[]) => onGpu(gpu!, new Float32Array(0), shape, 'float32');
    expect([...(await matmul(z([4, 0]), z([0, 8])).data())]).toEqual(new Array(32).fill(0));
    expect([...(await matmul(z([0, 4]), z([8, 0]), { transA: true, transB: true }).data())]).toEqual(
      new Array(32).fill(0),
    );
    const e = matmul(z([0, 5]), onGpu(gpu!, values(15, 3), [5, 3], 'float32'));
    expect(e.shape).toEqual([0, 3]);
    expect((await e.data()).length).toBe(0);
  });

  it('the benchmark sizes and a long-K matrix-vector product', async () => {
    for (const [m, k, n] of [
      [256, 256, 256],
      [1, 4096, 64],
      [512, 1000, 1],
    ] as const) {
      const a = values(m * k, m + k);
      const b = values(k * n, k + n);
      const got = matmul(onGpu(gpu!, a, [m, k], 'float32'), onGpu(gpu!, b, [k, n], 'float32'));
      const A = cpu64(a, [m, k]);
      const B = cpu64(b, [k, n]);
      expectWithin(
        await got.data(),
        matmul(A, B).dataSync(),
        matmul(abs(A), abs(B)).dataSync(),
        1e-6 * Math.sqrt(k),
        `${m}x${k}x${n}`,
      );
    }
  });
});
