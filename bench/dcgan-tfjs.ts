// The DCGAN training step of bench/dcgan-step.ts in TensorFlow.js (NHWC), for tfjs-cpu and
// tfjs-webgpu in bench/dcgan.bench.ts: same layers, BatchNorm in training mode, BCE on logits, Adam.
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as TF from '@tensorflow/tfjs-core';
import { build } from 'esbuild';
import { BATCH, type DcganNet, NZ } from './dcgan-step.js';

let gradientsRegistered: Promise<void> | undefined;

/**
 * tfjs-core's Node bundle registers no gradients and its ESM files use directory imports Node
 * cannot load, so `register_all_gradients` is bundled with esbuild and imported (as in
 * bench/train.bench.ts); tfjs keeps its registries on a global, so the bundle registers into the
 * engine every tfjs import shares.
 */
export function registerTfjsGradients(): Promise<void> {
  gradientsRegistered ??= (async () => {
    const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
    const out = join(mkdtempSync(join(tmpdir(), 'tessera-bench-')), 'tfjs-gradients.mjs');
    await build({
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      platform: 'node',
      outfile: out,
      logLevel: 'error',
    });
    await import(pathToFileURL(out).href);
  })();
  return gradientsRegistered;
}

type T4 = TF.Tensor4D;

interface Layer {
  /** Filter [kH, kW, in, out] for conv2d, [kH, kW, out, in] for conv2dTranspose. */
  w: TF.Variable;
  bn?: { gamma: TF.Variable; beta: TF.Variable };
}

/**
 * One D step + G step on the active tfjs backend: D on BCE(D(real), 1) + BCE(D(G(z)), 0), then G on
 * BCE(D(G(z)), 1) (tfjs's `minimize` re-runs G's forward in the G step), Adam(2e-4, 0.5, 0.999).
 * The returned function resolves when the backend has finished (`done`: e.g. tfjs-webgpu's submit).
 */
export function tfjsDcganStep(tf: typeof TF, net: DcganNet, done: () => Promise<void>): () => Promise<void> {
  const S = net === 'dcgan28' ? 28 : 64;
  const nc = net === 'dcgan28' ? 1 : 3;
  const init = (shape: number[]) => tf.variable(tf.randomNormal(shape, 0, 0.02));
  const bn = (c: number) => ({ gamma: tf.variable(tf.randomNormal([c], 1, 0.02)), beta: tf.variable(tf.zeros([c])) });
  // Generator: (k, in, out, stride/padding, BN) per transposed conv, PyTorch's geometry.
  const gSpec: [number, number, number, boolean][] =
    net === 'dcgan28'
      ? [
          [7, NZ, 128, true],
          [4, 128, 64, true],
          [4, 64, nc, false],
        ]
      : [
          [4, NZ, 512, true],
          [4, 512, 256, true],
          [4, 256, 128, true],
          [4, 128, 64, true],
          [4, 64, nc, false],
        ];
  const G: Layer[] = gSpec.map(([k, cin, cout, withBn]) => ({
    w: init([k, k, cout, cin]),
    ...(withBn ? { bn: bn(cout) } : {}),
  }));
  const dSpec: [number, number, number, boolean][] =
    net === 'dcgan28'
      ? [
          [4, nc, 64, false],
          [4, 64, 128, true],
          [7, 128, 1, false],
        ]
      : [
          [4, nc, 64, false],
          [4, 64, 128, true],
          [4, 128, 256, true],
          [4, 256, 512, true],
          [4, 512, 1, false],
        ];
  const D: Layer[] = dSpec.map(([k, cin, cout, withBn]) => ({
    w: init([k, k, cin, cout]),
    ...(withBn ? { bn: bn(cout) } : {}),
  }));
  const norm = (x: T4, l: Layer): T4 => {
    if (l.bn === undefined) return x;
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const [b, g] = [l.bn.beta as TF.Tensor1D, l.bn.gamma as TF.Tensor1D];
    return tf.batchNorm4d(x, mean as TF.Tensor1D, variance as TF.Tensor1D, b, g, 1e-5);
  };
  const gen = (z: TF.Tensor2D): T4 => {
    let h = tf.reshape(z, [BATCH, 1, 1, NZ]) as T4;
    let side = 1;
    G.forEach((l, i) => {
      const [k, , cout] = gSpec[i]!;
      const first = i === 0;
      side = first ? k : side * 2;
      h = tf.conv2dTranspose(
        h,
        l.w as TF.Tensor as TF.Tensor4D,
        [BATCH, side, side, cout],
        first ? 1 : 2,
        first ? 'valid' : 'same',
      );
      h = i === G.length - 1 ? tf.tanh(h) : tf.relu(norm(h, l));
    });
    return h;
  };
  const disc = (x: T4): TF.Tensor => {
    let h = x;
    D.forEach((l, i) => {
      const last = i === D.length - 1;
      h = tf.conv2d(h, l.w as TF.Tensor as TF.Tensor4D, last ? 1 : 2, last ? 'valid' : 'same');
      if (!last) h = tf.leakyRelu(norm(h, l), 0.2);
    });
    return tf.reshape(h, [BATCH]);
  };
  const bce = (logits: TF.Tensor, target: number) =>
    tf.losses.sigmoidCrossEntropy(tf.fill([BATCH], target), logits) as TF.Scalar;
  const vars = (ls: Layer[]) => ls.flatMap((l) => (l.bn ? [l.w, l.bn.gamma, l.bn.beta] : [l.w]));
  const [gVars, dVars] = [vars(G), vars(D)];
  const optD = tf.train.adam(2e-4, 0.5, 0.999, 1e-8);
  const optG = tf.train.adam(2e-4, 0.5, 0.999, 1e-8);
  const real = tf.randomUniform([BATCH, S, S, nc], -1, 1) as T4;
  return async () => {
    tf.tidy(() => {
      const z = tf.randomNormal([BATCH, NZ]) as TF.Tensor2D;
      optD.minimize(() => tf.add(bce(disc(real), 1), bce(disc(gen(z)), 0)) as TF.Scalar, false, dVars);
      optG.minimize(() => bce(disc(gen(z)), 1), false, gVars);
    });
    await done();
  };
}

/** Median ms of one tfjs square matmul n x n x n (after a warm-up), on the active tfjs backend. */
export async function tfjsGemmMs(tf: typeof TF, n: number, reps: number, done: () => Promise<void>): Promise<number> {
  const a = tf.randomNormal([n, n]) as TF.Tensor2D;
  const b = tf.randomNormal([n, n]) as TF.Tensor2D;
  const once = async (): Promise<number> => {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    await done();
    await c.data();
    c.dispose();
    return performance.now() - t0;
  };
  await once();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) ms.push(await once());
  a.dispose();
  b.dispose();
  return ms.sort((x, y) => x - y)[ms.length >> 1]!;
}
