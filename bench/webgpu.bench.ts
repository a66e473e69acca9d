// WebGPU kernels side by side with TensorFlow.js's WebGPU backend on the same Dawn adapter:
// matmul 128-1024 and the two DCGAN convolution layers forward + backward (discriminator conv
// x 64x3x32x32, w 64x3x4x4, stride 2, pad 1; generator transposed conv x 64x128x8x8,
// w 128x64x4x4, stride 2, pad 1 -> 64x64x16x16). Times are medians with the device work completed
// (tessera: backend.sync() through the public API, or one element read back through the kernel
// harness when the WebGPU backend is not available; tfjs: submitQueue + onSubmittedWorkDone).
// tfjs runs NHWC (its native layout), tessera NCHW.
// Run: npx tsx -e "import('./bench/webgpu.bench.ts').then(m=>m.run())" (or the bench runner).
import type * as TF from '@tensorflow/tfjs-core';
import {
  getBackend,
  getBackendInfo,
  setBackend,
  type Tensor,
  conv2d as tConv2d,
  conv2dBackwardFilter as tConv2dBackwardFilter,
  conv2dBackwardInput as tConv2dBackwardInput,
  dispose as tDispose,
  tensor,
  matmul as tMatmul,
} from '../src/index.js';
import { conv2dBackwardFilterProgram, conv2dBackwardInputProgram, conv2dProgram } from '../src/kernels/wgsl/conv.js';
import { matmulProgram } from '../src/kernels/wgsl/matmul.js';
import type { Program } from '../src/kernels/wgsl/program.js';
import { sizeOf } from '../src/tensor/shape.js';
import { getHarness, type Harness } from '../test/helpers/dawn-harness.js';
import { startTfjsWebGPU, type TfjsWebGPU, tfjsWebGPUDone } from './common.js';

const TARGET_RATIO = 1.5;
// WEBGPU_BENCH_REPS: timed runs per case (default 5); WEBGPU_BENCH_FILTER: only cases whose name contains it.
const REPS = Number(process.env.WEBGPU_BENCH_REPS ?? 5);

interface Step {
  /** Queues the work. */
  run(): void;
  /** Resolves when the queued work is done on the device. */
  done(): Promise<void>;
  dispose(): void;
}

interface Case {
  name: string;
  flops: number;
  tessera: () => Promise<Step>;
  tfjs: (() => Promise<Step>) | undefined;
}

/**
 * Medians of `reps` timed runs of each step after one warm-up each; the steps alternate run by run
 * so that both see the same background load.
 */
async function timeSteps(makers: readonly (() => Promise<Step>)[], reps: number): Promise<number[]> {
  const steps: Step[] = [];
  for (const make of makers) {
    const s = await make();
    s.run(); // warm-up: compiles pipelines
    await s.done();
    steps.push(s);
  }
  const ts = steps.map((): number[] => []);
  for (let i = 0; i < reps; i++) {
    for (const [j, s] of steps.entries()) {
      const t0 = performance.now();
      s.run();
      await s.done();
      ts[j]!.push(performance.now() - t0);
    }
  }
  for (const s of steps) s.dispose();
  return ts.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!);
}

const rand = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);

// ------------------------------------------------------------------ tessera

type Op = { kind: 'matmul' } | { kind: 'conv2d' | 'bwdInput' | 'bwdFilter'; other: number[] };
const CONV = { stride: [2, 2] as [number, number], padding: [1, 1] as [number, number] };
const CONV_P = { ...CONV, dilation: [1, 1] as [number, number], groups: 1 };

/** Through the public API (what users get): a list of ops run back to back, then sync(). */
function publicStep(ops: { op: Op; a: number[]; b: number[]; out: number[] }[]): Promise<Step> {
  const inputs = ops.map(({ a, b }) => [tensor(rand(sizeOf(a)), { shape: a }), tensor(rand(sizeOf(b)), { shape: b })]);
  let outs: Tensor[] = [];
  return Promise.resolve({
    run() {
      tDispose(outs);
      outs = ops.map(({ op, out }, i) => {
        const [a, b] = inputs[i] as [Tensor, Tensor];
        switch (op.kind) {
          case 'matmul':
            return tMatmul(a, b);
          case 'conv2d':
            return tConv2d(a, b, CONV);
          case 'bwdInput':
            return tConv2dBackwardInput(a, b, out, CONV);
          default:
            return tConv2dBackwardFilter(a, b, out, CONV);
        }
      });
    },
    done: () => getBackend().sync(),
    dispose() {
      tDispose(outs);
      tDispose(inputs.flat());
    },
  });
}

/** Through the kernel harness (when the WebGPU backend is not available). */
function harnessStep(h: Harness, ops: { op: Op; a: number[]; b: number[]; out: number[] }[]): Promise<Step> {
  const T = (shape: number[]) => ({ shape, dtype: 'float32' as const });
  const runs = ops.map(({ op, a, b, out }) => {
    let p: Program;
    switch (op.kind) {
      case 'matmul':
        p = matmulProgram(h.ctx, [T(a), T(b)], { transA: false, transB: false }, T(out));
        break;
      case 'conv2d':
        p = conv2dProgram(h.ctx, [T(a), T(b)], CONV_P, T(out));
        break;
      case 'bwdInput':
        p = conv2dBackwardInputProgram(h.ctx, [T(a), T(b)], { ...CONV_P, inputShape: out }, T(out));
        break;
      case 'bwdFilter':
        p = conv2dBackwardFilterProgram(h.ctx, [T(a), T(b)], { ...CONV_P, filterShape: out }, T(out));
        break;
    }
    return h.prepare(p, [rand(sizeOf(a)), rand(sizeOf(b))], sizeOf(out));
  });
  return Promise.resolve({
    run() {
      for (const r of runs) r.dispatch();
    },
    async done() {
      await runs[runs.length - 1]!.read(1);
    },
    dispose() {
      for (const r of runs) r.destroy();
    },
  });
}

// ------------------------------------------------------------------ tfjs-webgpu

/** tfjs-backend-webgpu on the same Dawn adapter (bench/common.ts), or undefined with a warning. */
async function setupTfjs(): Promise<TfjsWebGPU | undefined> {
  try {
    return await startTfjsWebGPU();
  } catch (e) {
    console.warn(`tfjs-webgpu could not start: ${(e as Error).message}`);
    return undefined;
  }
}

type TfOp = (tf: typeof TF, a: TF.Tensor, b: TF.Tensor) => TF.Tensor;

function tfjsStep(peer: TfjsWebGPU, ops: { a: number[]; b: number[]; f: TfOp }[]): Promise<Step> {
  const { tf } = peer;
  const inputs = ops.map(({ a, b }) => [tf.randomUniform(a, -1, 1), tf.randomUniform(b, -1, 1)] as const);
  let outs: TF.Tensor[] = [];
  return Promise.resolve({
    run() {
      tf.dispose(outs);
      outs = ops.map(({ f }, i) => f(tf, inputs[i]![0], inputs[i]![1]));
    },
    done: () => tfjsWebGPUDone(peer),
    dispose() {
      tf.dispose(outs);
      tf.dispose(inputs.flat());
    },
  });
}

const PAD: [[number, number], [number, number], [number, number], [number, number]] = [
  [0, 0],
  [1, 1],
  [1, 1],
  [0, 0],
];
const tfConv: TfOp = (tf, x, w) => tf.conv2d(x as TF.Tensor4D, w as TF.Tensor4D, 2, PAD);
const tfConvT =
  (outShape: [number, number, number, number]): TfOp =>
  (tf, dy, w) =>
    tf.conv2dTranspose(dy as TF.Tensor4D, w as TF.Tensor4D, outShape, 2, PAD as unknown as number);
const tfFilterGrad =
  (filterShape: [number, number, number, number]): TfOp =>
  (tf, x, dy) =>
    tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
      strides: [2, 2],
      pad: PAD,
      dataFormat: 'NHWC',
      dimRoundingMode: undefined,
      filterShape,
    } as unknown as TF.NamedAttrMap) as TF.Tensor;

// ------------------------------------------------------------------ cases

function cases(
  tessera: (ops: { op: Op; a: number[]; b: number[]; out: number[] }[]) => Promise<Step>,
  peer: TfjsWebGPU | undefined,
): Case[] {
  const list: Case[] = [];
  for (const s of [128, 256, 512, 1024]) {
    list.push({
      name: `matmul ${s}x${s}x${s}`,
      flops: 2 * s ** 3,
      tessera: () => tessera([{ op: { kind: 'matmul' }, a: [s, s], b: [s, s], out: [s, s] }]),
      tfjs: peer && (() => tfjsStep(peer, [{ a: [s, s], b: [s, s], f: (tf, a, b) => tf.matMul(a, b) }])),
    });
  }
  // Discriminator conv: x 64x3x32x32, w 64x3x4x4 -> y 64x64x16x16.
  const dx = [64, 3, 32, 32];
  const dw = [64, 3, 4, 4];
  const dy = [64, 64, 16, 16];
  const dFlops = 2 * 64 * 64 * 16 * 16 * 3 * 4 * 4;
  const discT = {
    fwd: { op: { kind: 'conv2d' } as Op, a: dx, b: dw, out: dy },
    bwdX: { op: { kind: 'bwdInput' } as Op, a: dy, b: dw, out: dx },
    bwdW: { op: { kind: 'bwdFilter' } as Op, a: dx, b: dy, out: dw },
  };
  // tfjs NHWC: x [64,32,32,3], filter [4,4,3,64], y [64,16,16,64].
  const discF = {
    fwd: { a: [64, 32, 32, 3], b: [4, 4, 3, 64], f: tfConv },
    bwdX: { a: [64, 16, 16, 64], b: [4, 4, 3, 64], f: tfConvT([64, 32, 32, 3]) },
    bwdW: { a: [64, 32, 32, 3], b: [64, 16, 16, 64], f: tfFilterGrad([4, 4, 3, 64]) },
  };
  // Generator transposed conv: x 64x128x8x8, w 128x64x4x4 -> 64x64x16x16 (= conv2dBackwardInput).
  const gx = [64, 128, 8, 8];
  const gw = [128, 64, 4, 4];
  const gy = [64, 64, 16, 16];
  const gFlops = 2 * 64 * 128 * 8 * 8 * 64 * 4 * 4;
  const genT = {
    fwd: { op: { kind: 'bwdInput' } as Op, a: gx, b: gw, out: gy },
    bwdX: { op: { kind: 'conv2d' } as Op, a: gy, b: gw, out: gx },
    bwdW: { op: { kind: 'bwdFilter' } as Op, a: gy, b: gx, out: gw },
  };
  // tfjs NHWC: x [64,8,8,128], transpose filter [4,4,64,128] (kH, kW, out, in), y [64,16,16,64].
  const genF = {
    fwd: { a: [64, 8, 8, 128], b: [4, 4, 64, 128], f: tfConvT([64, 16, 16, 64]) },
    bwdX: { a: [64, 16, 16, 64], b: [4, 4, 64, 128], f: tfConv },
    bwdW: { a: [64, 16, 16, 64], b: [64, 8, 8, 128], f: tfFilterGrad([4, 4, 64, 128]) },
  };
  const layer = (name: string, flops: number, t: typeof discT, f: typeof discF) => {
    const parts = [
      ['forward', [t.fwd], [f.fwd], flops],
      ['backward (dx + dw)', [t.bwdX, t.bwdW], [f.bwdX, f.bwdW], 2 * flops],
      ['forward + backward', [t.fwd, t.bwdX, t.bwdW], [f.fwd, f.bwdX, f.bwdW], 3 * flops],
    ] as const;
    for (const [part, tops, fops, fl] of parts) {
      list.push({
        name: `${name} ${part}`,
        flops: fl,
        tessera: () => tessera([...tops]),
        tfjs: peer && (() => tfjsStep(peer, [...fops])),
      });
    }
  };
  layer('DCGAN D conv 64x3x32x32 k4 s2', dFlops, discT, discF);
  layer('DCGAN G convT 64x128x8x8 k4 s2', gFlops, genT, genF);
  return list;
}

const fmt = (ms: number, flops: number) =>
  `${ms.toFixed(1).padStart(8)} ms ${(flops / ms / 1e6).toFixed(2).padStart(6)}`;

export async function run(): Promise<void> {
  const previous = getBackendInfo().name;
  let tessera: (ops: { op: Op; a: number[]; b: number[]; out: number[] }[]) => Promise<Step>;
  let how: string;
  let harness: Harness | undefined;
  try {
    const info = await setBackend('webgpu');
    tessera = publicStep;
    how = `public API, backend ${info.name}: ${info.description}`;
  } catch (e) {
    harness = await getHarness();
    if (harness === undefined) {
      console.warn(`webgpu bench: no WebGPU adapter (${(e as Error).message}); skipped`);
      return;
    }
    const h = harness;
    tessera = (ops) => harnessStep(h, ops);
    how = `kernel harness (WebGPU backend unavailable: ${(e as Error).message}); ${h.description}`;
  }
  const peer = await setupTfjs();
  console.log(`\nWebGPU kernels: tessera via ${how}`);
  console.log(
    `tfjs-webgpu: ${peer ? `${peer.tf.version_core} on ${peer.adapter} (Dawn OpenGL ES backend)` : 'unavailable'}`,
  );
  console.log(`median of ${REPS} runs after one warm-up; GFLOP/s counts 2 flops per multiply-add\n`);
  const header = `${'case'.padEnd(48)} ${'tessera'.padStart(19)}  ${'tfjs-webgpu'.padStart(19)}  ratio`;
  console.log(header);
  console.log('-'.repeat(header.length + 4));
  const misses: string[] = [];
  const only = process.env.WEBGPU_BENCH_FILTER;
  for (const c of cases(tessera, peer)) {
    if (only !== undefined && !c.name.includes(only)) continue;
    // Small cases take a few ms: more runs steady their medians against background load.
    const reps = c.flops > 2e9 ? Math.min(REPS, 3) : c.flops < 5e7 ? 5 * REPS : REPS;
    const [tt, tf = Number.NaN] = await timeSteps(c.tfjs ? [c.tessera, c.tfjs] : [c.tessera], reps);
    const ratio = tf / tt;
    console.log(
      `${c.name.padEnd(48)} ${fmt(tt, c.flops)}  ${c.tfjs ? fmt(tf, c.flops) : 'n/a'.padStart(19)}  ${Number.isNaN(ratio) ? '' : `${ratio.toFixed(2)}x`}`,
    );
    if (ratio < TARGET_RATIO) misses.push(`${c.name}: ${ratio.toFixed(2)}x < ${TARGET_RATIO}x`);
  }
  if (misses.length > 0) console.log(`\nbelow the ${TARGET_RATIO}x target:\n  ${misses.join('\n  ')}`);
  else if (peer) console.log(`\nall cases at or above ${TARGET_RATIO}x tfjs-webgpu`);
  if (peer) {
    await peer.tf.setBackend(peer.previous).catch(() => false);
  }
  if (only === undefined || only.includes('variant')) await variants(harness ?? (await getHarness()));
  if (previous !== 'webgpu') await setBackend(previous);
}

/**
 * Kernel-only comparison of the two matmul designs (through the harness, no runtime overhead):
 * the default register-tiled kernel (no workgroup memory or barriers) and the workgroup-memory
 * tiled kernel (`smem`), to record which one wins on this adapter.
 */
async function variants(h: Harness | undefined): Promise<void> {
  if (h === undefined) return;
  console.log('\nmatmul kernel variants (harness, kernel only):');
  const T = (shape: number[]) => ({ shape, dtype: 'float32' as const });
  for (const s of [512, 1024]) {
    const makers = [false, true].map((smem) => () => {
      const p = matmulProgram(h.ctx, [T([s, s]), T([s, s])], { transA: false, transB: false, smem }, T([s, s]));
      const r = h.prepare(p, [rand(s * s), rand(s * s)], s * s);
      return Promise.resolve<Step>({
        run: () => r.dispatch(),
        done: async () => void (await r.read(1)),
        dispose: () => r.destroy(),
      });
    });
    const [reg, smem] = await timeSteps(makers, Math.min(REPS, 3));
    const f = 2 * s ** 3;
    console.log(
      `  ${`${s}x${s}x${s}`.padEnd(16)} register-tiled ${fmt(reg!, f)}   workgroup-memory ${fmt(smem!, f)}   (${(smem! / reg!).toFixed(2)}x)`,
    );
  }
}
