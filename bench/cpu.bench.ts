// CPU backend throughput against tfjs-cpu (@tensorflow/tfjs-backend-cpu) in the same run:
// float32 matmul at 64..1024, and forward + backward (input and filter gradients) of a DCGAN
// discriminator conv layer and a generator transposed-conv layer.
// Run: npm run bench -- bench/cpu.bench.ts   (BENCH_QUICK=1 skips the multi-second tfjs-cpu cases)
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { build } from 'esbuild';
import {
  conv2d,
  convTranspose2d,
  dispose,
  Generator,
  matmul,
  setBackend,
  setCpuThreads,
  type Tensor,
  tidy,
  vjp,
} from '../src/index.js';
import { fmtMs, gflops, type MeasureOptions, measure, printTable, QUICK, type Timing } from './common.js';

/** 2 cores x 2 FMA units x 8 fp32 lanes x 2 flops x 2.45 GHz. */
const PEAK_GFLOPS = 157;
/** Thread counts tessera is measured with (BENCH_CPU_THREADS=1,2 by default; the library default is 1). */
const THREADS = (process.env.BENCH_CPU_THREADS ?? '1,2').split(',').map(Number);

interface Case {
  name: string;
  flops: number;
  tessera: () => void;
  tesseraOpts: MeasureOptions;
  /** undefined: skipped in quick mode. */
  peer: (() => void) | undefined;
  peerOpts: MeasureOptions;
  /** Pass/fail line against the task's target, given the tessera time in ms. */
  target: (ms: number) => string;
  free: () => void;
}

const gen = new Generator(1234);
const normal = (shape: number[]) => gen.normal(shape, 0, 1, { dtype: 'float32' });
const tfNormal = (shape: number[]) => tf.randomNormal(shape, 0, 1, 'float32', 1234);

function matmulCase(n: number): Case {
  const a = normal([n, n]);
  const b = normal([n, n]);
  const ta = tfNormal([n, n]);
  const tb = tfNormal([n, n]);
  const slowPeer = n >= 1024;
  return {
    name: `matmul ${n}x${n}x${n} f32`,
    flops: 2 * n ** 3,
    tessera: () => tidy(() => void matmul(a, b).dataSync()),
    tesseraOpts: { time: 1000, iterations: 5, warmup: 1 },
    peer: QUICK && slowPeer ? undefined : () => tf.tidy(() => void tf.matMul(ta, tb).dataSync()),
    peerOpts: slowPeer ? { time: 0, iterations: 2, warmup: 1 } : { time: 1000, iterations: 3, warmup: 1 },
    target: (ms) => (n >= 256 ? `>= 3 GFLOP/s: ${gflops(2 * n ** 3, ms) >= 3 ? 'met' : 'MISSED'}` : '-'),
    free: () => {
      dispose([a, b]);
      tf.dispose([ta, tb]);
    },
  };
}

/** DCGAN discriminator layer: x 64x3x32x32, w 64x3x4x4, stride 2, padding 1 -> 64x64x16x16. */
function discCase(): Case {
  const x = normal([64, 3, 32, 32]);
  const w = normal([64, 3, 4, 4]);
  const dy = normal([64, 64, 16, 16]);
  const opts = { stride: 2, padding: 1 };
  // tfjs-cpu convolutions are NHWC with HWIO filters.
  const tx = tfNormal([64, 32, 32, 3]) as tf.Tensor4D;
  const tw = tfNormal([4, 4, 3, 64]) as tf.Tensor4D;
  const tdy = tfNormal([64, 16, 16, 64]) as tf.Tensor4D;
  const tfGrads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ]),
  );
  // Forward, then both gradients: 3 convolutions of 2 N O P K flops each.
  const flops = 3 * 2 * 64 * 64 * (16 * 16) * (3 * 4 * 4);
  return {
    name: 'DCGAN D conv2d 64x3x32x32 k4 s2 p1, fwd+bwd',
    flops,
    tessera: () =>
      tidy(() => {
        const [, back] = vjp((a: Tensor, b: Tensor) => conv2d(a, b, opts), x, w);
        for (const g of back(dy)) g.dataSync();
      }),
    tesseraOpts: { time: 1500, iterations: 5, warmup: 1 },
    peer: QUICK
      ? undefined
      : () =>
          tf.tidy(() => {
            for (const g of tfGrads([tx, tw], tdy)) g.dataSync();
          }),
    peerOpts: { time: 0, iterations: 1, warmup: 0 },
    target: (ms) => `<= 150 ms: ${ms <= 150 ? 'met' : 'MISSED'}`,
    free: () => {
      dispose([x, w, dy]);
      tf.dispose([tx, tw, tdy]);
    },
  };
}

/** DCGAN generator layer: convTranspose2d 64x128x8x8 -> 64x64x16x16, kernel 4, stride 2, padding 1. */
function genCase(): Case {
  const x = normal([64, 128, 8, 8]);
  const w = normal([128, 64, 4, 4]);
  const dy = normal([64, 64, 16, 16]);
  const opts = { stride: 2, padding: 1 };
  const tx = tfNormal([64, 8, 8, 128]) as tf.Tensor4D;
  // conv2dTranspose filters are [kH, kW, outChannels, inChannels]; 'same' padding is 1 on each side here.
  const tw = tfNormal([4, 4, 64, 128]) as tf.Tensor4D;
  const tdy = tfNormal([64, 16, 16, 64]) as tf.Tensor4D;
  const tfGrads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [64, 16, 16, 64], 2, 'same'),
  );
  const flops = 3 * 2 * 64 * 128 * (8 * 8) * (64 * 4 * 4);
  return {
    name: 'DCGAN G convTranspose2d 64x128x8x8 k4 s2 p1, fwd+bwd',
    flops,
    tessera: () =>
      tidy(() => {
        const [, back] = vjp((a: Tensor, b: Tensor) => convTranspose2d(a, b, opts), x, w);
        for (const g of back(dy)) g.dataSync();
      }),
    tesseraOpts: { time: 0, iterations: 3, warmup: 1 },
    peer: QUICK
      ? undefined
      : () =>
          tf.tidy(() => {
            for (const g of tfGrads([tx, tw], tdy)) g.dataSync();
          }),
    peerOpts: { time: 0, iterations: 1, warmup: 0 },
    target: (ms) => `<= 2 s: ${ms <= 2000 ? 'met' : 'MISSED'}`,
    free: () => {
      dispose([x, w, dy]);
      tf.dispose([tx, tw, tdy]);
    },
  };
}

/**
 * tfjs-core's Node entry registers no gradients and its ESM files use directory imports Node cannot
 * load: bundle `register_all_gradients` with esbuild and import that (tfjs keeps its registries on
 * a global, so the bundle registers into this engine). Skipped when another bench already did it.
 */
async function registerTfjsGradients(): Promise<void> {
  if (tf.getGradient('Conv2D') !== undefined) return;
  const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  const out = join(mkdtempSync(join(tmpdir(), 'tessera-cpu-bench-')), 'tfjs-gradients.mjs');
  await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', outfile: out, logLevel: 'error' });
  await import(pathToFileURL(out).href);
}

export async function run(): Promise<void> {
  await setBackend('cpu');
  await tf.setBackend('cpu');
  await tf.ready();
  await registerTfjsGradients();
  const load0 = loadavg()[0]!;
  console.log(
    `\nCPU backend vs tfjs-cpu ${tf.version_core} on ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}` +
      `; median wall time per call (tinybench), CPU time = median process CPU time per call;` +
      ` GFLOP/s counts 2 flops per multiply-add (from wall time);` +
      ` peak = ${PEAK_GFLOPS} GFLOP/s fp32 (all cores, FMA, AVX2); nT = n CPU threads (setCpuThreads).` +
      (QUICK ? ' BENCH_QUICK=1: slow tfjs cases skipped.' : ''),
  );
  const cases = [64, 128, 256, 512, 1024].map(matmulCase);
  cases.push(discCase(), genCase());
  const rows: string[][] = [];
  const cell = (flops: number, ms: number | undefined) =>
    ms === undefined ? ['skipped', 'skipped'] : [fmtMs(ms), gflops(flops, ms).toFixed(2)];
  for (const c of cases) {
    const runs: Timing[] = [];
    for (const t of THREADS) {
      setCpuThreads(t);
      runs.push(await measure(`tessera ${c.name} ${t} threads`, c.tessera, c.tesseraOpts));
    }
    setCpuThreads(1);
    const peer = c.peer === undefined ? undefined : await measure(`tfjs-cpu ${c.name}`, c.peer, c.peerOpts);
    c.free();
    const first = runs[0]!.wallMs;
    const best = Math.min(...runs.map((r) => r.wallMs));
    rows.push([
      c.name,
      ...cell(c.flops, first),
      fmtMs(runs[0]!.cpuMs),
      ...runs.slice(1).flatMap((r) => cell(c.flops, r.wallMs)),
      ...cell(c.flops, peer?.wallMs),
      peer === undefined ? '-' : `${(peer.wallMs / first).toFixed(1)}x`,
      `${((100 * gflops(c.flops, best)) / PEAK_GFLOPS).toFixed(1)}%`,
      c.target(first),
    ]);
    console.log(`  measured ${c.name}`);
  }
  console.log('');
  printTable(
    [
      'case',
      `tessera ${THREADS[0]}T`,
      'GFLOP/s',
      'CPU time',
      ...THREADS.slice(1).flatMap((t) => [`tessera ${t}T`, 'GFLOP/s']),
      'tfjs-cpu',
      'GFLOP/s',
      `speed-up (${THREADS[0]}T)`,
      '% of peak (best)',
      `target (${THREADS[0]}T)`,
    ],
    rows,
  );
  console.log(`load average (1 min) before / after: ${load0.toFixed(2)} / ${loadavg()[0]!.toFixed(2)}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
}
