/**
 * WGSL implicit-GEMM convolutions (conv2d, conv2dBackwardInput, conv2dBackwardFilter) against the
 * CPU backend's float64 kernels, through the Dawn harness: random geometries (stride, padding,
 * dilation, groups), the DCGAN layers, 1x1 and whole-image convolutions (matmul path and general
 * path), forced tiled / split-K layouts and the CPU rasterisers' 32 x 32 blocks; through the public
 * API, the column path (matmul + col2im) of input gradients onto 1-3 channels. Error bound per element: |gpu - ref| <= 1e-6 sqrt(K) (|a| * |b|)_i
 * where K is the reduction length and |a| * |b| the same convolution of absolute values.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  abs,
  conv2d,
  conv2dBackwardFilter,
  conv2dBackwardInput,
  convTranspose2d,
  grad,
  mul,
  sum,
  type Tensor,
  webgpuStats,
} from '../../src/index.js';
import {
  type ConvOptions,
  conv2dBackwardFilterProgram,
  conv2dBackwardInputProgram,
  conv2dProgram,
} from '../../src/kernels/wgsl/conv.js';
import type { GemmLayout } from '../../src/kernels/wgsl/gemm-common.js';
import type { Program, ProgramContext } from '../../src/kernels/wgsl/program.js';
import { sizeOf } from '../../src/tensor/shape.js';
import { type ConvGeometry, convGeometryArb } from '../helpers/arbitraries.js';
import { getHarness, type Harness, requireAdapter } from '../helpers/dawn-harness.js';
import { initWebGPU, onCpu, onGpu, releaseWebGPU, xorshiftValues as values } from '../helpers/webgpu.js';

const h = await getHarness();
const enabled = requireAdapter(h, 'WGSL convolution kernels');
const gpu = await initWebGPU();
afterAll(releaseWebGPU);

const f32 = (shape: readonly number[]) => ({ shape, dtype: 'float32' as const });
const f64 = (a: Float32Array, shape: readonly number[]): Tensor => onCpu(Float64Array.from(a), shape, 'float64');

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
      throw new Error(`${what}: element ${i} = ${got[i]}, expected ${ref[i]} (tol ${tol})`);
    }
  }
}

type Which = 'conv2d' | 'bwdInput' | 'bwdFilter';

interface Geo {
  x: number[];
  w: number[];
  y: number[];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}

function fromArb(g: ConvGeometry): Geo {
  return {
    x: [g.n, g.c, g.h, g.w],
    w: [g.o, g.c / g.groups, g.kh, g.kw],
    y: [g.n, g.o, g.oh, g.ow],
    stride: g.stride,
    padding: g.padding,
    dilation: g.dilation,
    groups: g.groups,
  };
}

const outSize = (i: number, k: number, s: number, p: number, d: number) =>
  Math.floor((i + 2 * p - d * (k - 1) - 1) / s) + 1;

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

function geo(x: number[], w: number[], s: Pair, p: Pair, d: Pair = 1, groups = 1): Geo {
  const [sh, sw] = pair(s);
  const [ph, pw] = pair(p);
  const [dh, dw] = pair(d);
  const y = [x[0]!, w[0]!, outSize(x[2]!, w[2]!, sh, ph, dh), outSize(x[3]!, w[3]!, sw, pw, dw)];
  return { x, w, y, stride: [sh, sw], padding: [ph, pw], dilation: [dh, dw], groups };
}

/** Runs one conv primitive on the GPU and checks it against the float64 CPU kernels. */
async function check(
  which: Which,
  g: Geo,
  opts: ConvOptions = {},
  seed = 1,
  ctxOverride: Partial<ProgramContext> = {},
): Promise<string> {
  const harness = h as Harness;
  const ctx: ProgramContext = { ...harness.ctx, ...ctxOverride };
  const prm = { stride: g.stride, padding: g.padding, dilation: g.dilation, groups: g.groups };
  const cg = g.w[1]!;
  const og = g.w[0]! / g.groups;
  const taps = g.w[2]! * g.w[3]!;
  let p: Program;
  let ref: (a: Tensor, b: Tensor) => Tensor;
  let shapes: [number[], number[]];
  let k: number;
  let outShape: number[];
  switch (which) {
    case 'conv2d':
      shapes = [g.x, g.w];
      outShape = g.y;
      p = conv2dProgram(ctx, [f32(g.x), f32(g.w)], { ...prm, ...opts }, f32(g.y));
      ref = (x, w) => conv2d(x, w, prm);
      k = cg * taps;
      break;
    case 'bwdInput':
      shapes = [g.y, g.w];
      outShape = g.x;
      p = conv2dBackwardInputProgram(ctx, [f32(g.y), f32(g.w)], { ...prm, inputShape: g.x, ...opts }, f32(g.x));
      ref = (dy, w) => conv2dBackwardInput(dy, w, g.x, prm);
      k = og * taps;
      break;
    case 'bwdFilter':
      shapes = [g.x, g.y];
      outShape = g.w;
      p = conv2dBackwardFilterProgram(ctx, [f32(g.x), f32(g.y)], { ...prm, filterShape: g.w, ...opts }, f32(g.w));
      ref = (x, dy) => conv2dBackwardFilter(x, dy, g.w, prm);
      k = g.x[0]! * g.y[2]! * g.y[3]!;
      break;
  }
  const ins = [values(sizeOf(shapes[0]), seed), values(sizeOf(shapes[1]), seed + 7919)];
  const got = await harness.run(p, ins, sizeOf(outShape));
  const A = f64(ins[0]!, shapes[0]);
  const B = f64(ins[1]!, shapes[1]);
  expectWithin(
    got,
    ref(A, B).dataSync(),
    ref(abs(A), abs(B)).dataSync(),
    1e-6 * Math.sqrt(Math.max(k, 1)),
    `${which} ${p.key} ${JSON.stringify(g)}`,
  );
  return p.key;
}

const ALL: Which[] = ['conv2d', 'bwdInput', 'bwdFilter'];

/** Every primitive on every case twice, default path then the implicit GEMM forced: the program keys, in that order. */
async function bothPaths(cases: readonly Geo[]): Promise<string[]> {
  const keys: string[] = [];
  for (const g of cases) {
    for (const which of ALL) {
      keys.push(await check(which, g));
      keys.push(await check(which, g, { noMatmul: true }));
    }
  }
  return keys;
}

describe.skipIf(!enabled)('WGSL convolutions (Dawn harness)', () => {
  it('random geometries: stride, padding, dilation, groups (fast-check)', async () => {
    const arb = fc.record({
      g: convGeometryArb({
        maxBatch: 3,
        maxChannelsPerGroup: 5,
        maxGroups: 3,
        spatial: [1, 2, 3, 5, 7, 8, 11],
        maxKernel: 4,
        maxStride: 3,
        maxPadding: 2,
        maxDilation: 2,
      }),
      seed: fc.integer({ min: 1, max: 1e9 }),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ g, seed }) => {
        for (const which of ALL) await check(which, fromArb(g), {}, seed);
      }),
      { numRuns: 25 },
    );
  });

  it('named geometries: odd sizes, asymmetric stride / padding / dilation, groups', async () => {
    const cases: Geo[] = [
      geo([2, 3, 7, 6], [4, 3, 3, 3], 1, 1),
      geo([2, 4, 9, 8], [6, 2, 3, 2], 2, 1, 2, 2),
      geo([4, 8, 8, 8], [4, 8, 3, 3], 3, 2),
      geo([2, 5, 11, 13], [7, 5, 5, 3], 2, 2, 3),
      geo([1, 6, 10, 10], [6, 1, 3, 3], 1, 1, 1, 6), // depthwise
      geo([2, 3, 9, 12], [5, 3, 2, 4], [2, 3], [1, 0], [1, 2]),
      geo([1, 2, 5, 5], [3, 2, 3, 1], 2, [1, 0], [2, 1]),
      geo([2, 4, 10, 7], [4, 2, 3, 2], [3, 1], [0, 2], [2, 3], 2),
      geo([3, 4, 6, 6], [8, 4, 6, 6], 1, 0), // kernel covers the input: 1x1 output
      geo([2, 2, 5, 5], [3, 2, 2, 2], 3, 0), // stride > kernel: some dx pixels get nothing
    ];
    for (const g of cases) {
      for (const which of ALL) await check(which, g);
    }
  });

  it('1x1 convolutions: the matmul path and the general path agree with the reference', async () => {
    const cases = [
      geo([2, 8, 5, 6], [12, 8, 1, 1], 1, 0),
      geo([1, 6, 4, 4], [4, 3, 1, 1], 1, 0, 1, 2),
      geo([3, 5, 3, 3], [7, 5, 1, 1], 1, 0),
    ];
    const keys = await bothPaths(cases);
    expect(keys.filter((k) => k.startsWith('matmul')).length).toBeGreaterThanOrEqual(7);
    expect(keys.filter((k) => k.startsWith('conv')).length).toBeGreaterThanOrEqual(9);
  });

  it('filters covering the whole image (one output pixel): the matmul path and the general path agree with the reference', async () => {
    // The DCGAN's 7x7 conv to a logit (O = 1) and, as conv2dBackwardInput, its 1x1 -> 7x7 transposed conv.
    const cases = [
      geo([5, 6, 7, 7], [1, 6, 7, 7], 1, 0),
      geo([4, 10, 7, 7], [6, 10, 7, 7], 2, 0),
      geo([1, 3, 4, 5], [2, 3, 4, 5], 1, 0),
      geo([3, 4, 6, 6], [8, 4, 6, 6], 1, 0),
    ];
    const keys = await bothPaths(cases);
    // Every default run took the matmul path, every noMatmul run the implicit GEMM.
    expect(keys.filter((k, i) => i % 2 === 0 && k.startsWith('matmul')).length).toBe(cases.length * ALL.length);
    expect(keys.filter((k, i) => i % 2 === 1 && k.startsWith('conv')).length).toBe(cases.length * ALL.length);
  });

  it('forced layouts: tiled shapes and split-K widths', async () => {
    const layouts: GemmLayout[] = [
      { tm: 1, tn: 4, wgx: 4, wgy: 2, ks: 1 },
      { tm: 4, tn: 8, wgx: 2, wgy: 4, ks: 1 },
      { tm: 8, tn: 16, wgx: 8, wgy: 4, ks: 1 },
      { tm: 4, tn: 4, wgx: 1, wgy: 1, ks: 4 },
      { tm: 2, tn: 8, wgx: 1, wgy: 1, ks: 32 },
    ];
    const gs = [geo([2, 6, 9, 9], [8, 3, 3, 3], 2, 1, 1, 2), geo([3, 4, 8, 8], [5, 4, 4, 4], 2, 1)];
    for (const layout of layouts) {
      for (const g of gs) {
        for (const which of ALL) await check(which, g, { layout, noMatmul: true });
      }
    }
  });

  it('smallRegisterTiles (SwiftShader): every conv kernel uses blocks of at most 4 x 4 and stays correct', async () => {
    const gs = [
      geo([2, 3, 9, 9], [4, 3, 3, 3], 2, 1), // the browser smoke test's shape
      geo([2, 6, 9, 9], [8, 3, 3, 3], 2, 1, 1, 2),
      geo([3, 16, 8, 8], [32, 16, 4, 4], 2, 1),
      geo([1, 64, 4, 4], [2, 64, 3, 3], 1, 1), // long reduction, small output: split-K
    ];
    for (const g of gs) {
      for (const which of ALL) {
        const key = await check(which, g, {}, 3, { smallRegisterTiles: true });
        const m = /tm(\d+)tn(\d+)/.exec(key);
        if (key.startsWith('conv')) {
          expect(m, key).not.toBeNull();
          expect(Number(m![1]), key).toBeLessThanOrEqual(4);
          expect(Number(m![2]), key).toBe(4);
        }
      }
    }
  });

  // Each 32 x 32 program takes 7-13 s to compile on llvmpipe the first time on a machine (Mesa
  // caches them on disk), hence the longer timeout.
  it('CPU rasterisers (slowBarriers): 32 x 32 blocks on a DCGAN layer and on a ragged grouped shape', {
    timeout: 400_000,
  }, async () => {
    const slow = { slowBarriers: true };
    const cases = [
      geo([4, 64, 16, 16], [128, 64, 4, 4], 2, 1), // the 64x64 nets' 4x4 stride-2 layers, batch 4
      geo([2, 48, 11, 6], [64, 24, 3, 2], [2, 1], [1, 0], [2, 1], 2), // groups, dilation, ragged blocks
    ];
    const keys: string[] = [];
    for (const g of cases) for (const which of ALL) keys.push(await check(which, g, {}, 5, slow));
    // conv2d (ragged), both input gradients and both filter gradients take 32 x 32 blocks; the
    // DCGAN layer's forward has too few blocks of 32 x 32 to fill the device and splits K instead.
    expect(keys.filter((k) => k.includes('tm32tn32')).length).toBe(5);
  });

  it('DCGAN discriminator layer: x 64x3x32x32, w 64x3x4x4, stride 2, pad 1 (forward and both gradients)', async () => {
    const g = geo([64, 3, 32, 32], [64, 3, 4, 4], 2, 1);
    expect(g.y).toEqual([64, 64, 16, 16]);
    const keys: string[] = [];
    for (const which of ALL) keys.push(await check(which, g));
    expect(keys[2]).toMatch(/ks(?!1\b)\d+/); // the filter gradient (3072 outputs, K = 16384) runs split-K
  });

  it('DCGAN generator layer (batch 4): transposed conv 128 -> 64 channels, 8x8 -> 16x16, and its gradients', async () => {
    // convTranspose2d(x [N,128,8,8], w [128,64,4,4], stride 2, pad 1) = conv2dBackwardInput with
    // dy = x and inputShape [N,64,16,16]; its gradients are conv2d (dx) and conv2dBackwardFilter (dw).
    const g = geo([4, 64, 16, 16], [128, 64, 4, 4], 2, 1);
    expect(g.y).toEqual([4, 128, 8, 8]);
    for (const which of ALL) await check(which, g);
  });
});

describe.skipIf(gpu === undefined)('convolutions through the public API on the WebGPU backend', () => {
  const onG = (a: Float32Array, shape: readonly number[]) => onGpu(gpu!, a, shape, 'float32');

  it('conv2d, conv2dBackwardInput, conv2dBackwardFilter on random geometries (fast-check)', async () => {
    const arb = fc.record({
      g: convGeometryArb({ maxBatch: 2, maxChannelsPerGroup: 4, maxGroups: 2, spatial: [1, 3, 6, 9], maxKernel: 3 }),
      seed: fc.integer({ min: 1, max: 1e9 }),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ g: cg, seed }) => {
        const g = fromArb(cg);
        const opts = { stride: g.stride, padding: g.padding, dilation: g.dilation, groups: g.groups };
        const x = values(sizeOf(g.x), seed);
        const w = values(sizeOf(g.w), seed + 1);
        const dy = values(sizeOf(g.y), seed + 2);
        const tol =
          1e-6 *
          Math.sqrt(Math.max(g.x[0]! * g.y[2]! * g.y[3]!, g.x[1]! * g.w[2]! * g.w[3]!, g.w[0]! * g.w[2]! * g.w[3]!));
        const [X, W, DY] = [f64(x, g.x), f64(w, g.w), f64(dy, g.y)];
        const y = conv2d(onG(x, g.x), onG(w, g.w), opts);
        expect(y.backend.name).toBe('webgpu');
        expectWithin(
          await y.data(),
          conv2d(X, W, opts).dataSync(),
          conv2d(abs(X), abs(W), opts).dataSync(),
          tol,
          'conv2d',
        );
        const dx = conv2dBackwardInput(onG(dy, g.y), onG(w, g.w), g.x, opts);
        expectWithin(
          await dx.data(),
          conv2dBackwardInput(DY, W, g.x, opts).dataSync(),
          conv2dBackwardInput(abs(DY), abs(W), g.x, opts).dataSync(),
          tol,
          'conv2dBackwardInput',
        );
        const dw = conv2dBackwardFilter(onG(x, g.x), onG(dy, g.y), g.w, opts);
        expectWithin(
          await dw.data(),
          conv2dBackwardFilter(X, DY, g.w, opts).dataSync(),
          conv2dBackwardFilter(abs(X), abs(DY), g.w, opts).dataSync(),
          tol,
          'conv2dBackwardFilter',
        );
      }),
      { numRuns: 15 },
    );
  });

  it('input gradients onto 1-3 channels go through a column matmul and col2im (two dispatches), matching the CPU', async () => {
    const cases: [Geo, number][] = [
      [geo([3, 1, 9, 9], [5, 1, 4, 4], 2, 1), 2], // the DCGAN's 28x28 first / last layer, smaller
      [geo([2, 3, 8, 7], [4, 3, 3, 2], [2, 1], [1, 0], [1, 2]), 2],
      [geo([2, 2, 5, 5], [3, 2, 2, 2], 3, 0), 2], // stride > kernel: some dx pixels get nothing
      [geo([1, 1, 6, 6], [2, 1, 5, 5], 1, 2), 2],
      [geo([2, 3, 7, 7], [6, 3, 3, 3], 1, 1, 2), 2],
      [geo([2, 4, 6, 6], [3, 4, 3, 3], 2, 1), 1], // 4 channels: the implicit GEMM
      [geo([2, 2, 5, 5], [3, 2, 1, 1], 1, 0), 1], // 1x1: the strided matmul
    ];
    for (const [[g, dispatches], i] of cases.map((c, j) => [c, j] as const)) {
      const opts = { stride: g.stride, padding: g.padding, dilation: g.dilation, groups: g.groups };
      const dy = values(sizeOf(g.y), 100 + i);
      const w = values(sizeOf(g.w), 200 + i);
      const [DY, W] = [onG(dy, g.y), onG(w, g.w)];
      const before = webgpuStats().dispatches;
      const dx = conv2dBackwardInput(DY, W, g.x, opts);
      expect(webgpuStats().dispatches - before).toBe(dispatches);
      expectWithin(
        await dx.data(),
        conv2dBackwardInput(f64(dy, g.y), f64(w, g.w), g.x, opts).dataSync(),
        conv2dBackwardInput(abs(f64(dy, g.y)), abs(f64(w, g.w)), g.x, opts).dataSync(),
        1e-6 * Math.sqrt(g.w[0]! * g.w[2]! * g.w[3]!),
        `conv2dBackwardInput ${JSON.stringify(g)}`,
      );
    }
    // No filters (O = 0): the column matmul has an empty reduction and writes zeros.
    const none = conv2dBackwardInput(
      onG(new Float32Array(0), [1, 0, 3, 3]),
      onG(new Float32Array(0), [0, 2, 2, 2]),
      [1, 2, 4, 4],
    );
    expect([...(await none.data())]).toEqual(new Array(32).fill(0));
  });

  it('empty batch or channels: zeros where the reduction is empty, empty results where the output is', async () => {
    const z = (shape: number[]) => onG(new Float32Array(0), shape);
    expect((await conv2d(z([0, 2, 4, 4]), onG(values(54, 1), [3, 2, 3, 3])).data()).length).toBe(0);
    expect([...(await conv2d(z([1, 0, 3, 3]), z([2, 0, 3, 3])).data())]).toEqual([0, 0]);
    expect([...(await conv2dBackwardFilter(z([0, 2, 4, 4]), z([0, 3, 4, 4]), [3, 2, 1, 1]).data())]).toEqual(
      new Array(6).fill(0),
    );
    expect([...(await conv2dBackwardInput(z([1, 0, 4, 4]), z([0, 2, 1, 1]), [1, 2, 4, 4]).data())]).toEqual(
      new Array(32).fill(0),
    );
    // Whole-image filters (the matmul path): an empty batch.
    expect([...(await conv2dBackwardFilter(z([0, 2, 3, 3]), z([0, 3, 1, 1]), [3, 2, 3, 3]).data())]).toEqual(
      new Array(54).fill(0),
    );
    expect(
      (await conv2dBackwardInput(z([0, 3, 1, 1]), onG(values(54, 2), [3, 2, 3, 3]), [0, 2, 3, 3]).data()).length,
    ).toBe(0);
  });

  it('DCGAN generator transposed conv with bias, and its input/weight gradients via grad()', async () => {
    // x [4,128,8,8], w [128,64,4,4], stride 2, pad 1 -> [4,64,16,16]; loss = sum(y * r).
    const xs = [4, 128, 8, 8];
    const ws = [128, 64, 4, 4];
    const ys = [4, 64, 16, 16];
    const x = values(sizeOf(xs), 11);
    const w = values(sizeOf(ws), 12);
    const b = values(64, 13);
    const r = values(sizeOf(ys), 14);
    const opts = { stride: 2, padding: 1 };
    const run = (X: Tensor, W: Tensor, B: Tensor, R: Tensor) => {
      const f = (xx: Tensor, ww: Tensor) => sum(mul(convTranspose2d(xx, ww, { ...opts, bias: B }), R));
      const y = convTranspose2d(X, W, { ...opts, bias: B });
      const [gx, gw] = grad(f, { argnums: [0, 1] })(X, W) as unknown as [Tensor, Tensor];
      return { y, gx, gw };
    };
    const G = run(onG(x, xs), onG(w, ws), onG(b, [64]), onG(r, ys));
    const C = run(f64(x, xs), f64(w, ws), f64(b, [64]), f64(r, ys));
    const A = run(abs(f64(x, xs)), abs(f64(w, ws)), abs(f64(b, [64])), abs(f64(r, ys)));
    expect(G.y.shape).toEqual(ys);
    expectWithin(await G.y.data(), C.y.dataSync(), A.y.dataSync(), 1e-6 * Math.sqrt(128 * 4), 'convTranspose2d');
    expectWithin(await G.gx.data(), C.gx.dataSync(), A.gx.dataSync(), 1e-6 * Math.sqrt(64 * 16), 'dx');
    expectWithin(await G.gw.data(), C.gw.dataSync(), A.gw.dataSync(), 1e-6 * Math.sqrt(4 * 256), 'dw');
  });
});
