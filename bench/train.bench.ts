// Training-step throughput: one ring-GAN iteration (D step + G step, Adam, batch 64; generator
// 10 -> 128 -> 128 -> 2, discriminator 2 -> 128 -> 128 -> 1, tanh) and one step of the Stacked-MNIST
// classifier (conv 3x3x32, conv 3x3x64, maxpool, dropout, FC 128, dropout, FC 10; Adam), on the
// tessera CPU backend (and WebGPU when an adapter exists), side by side with TensorFlow.js
// (tfjs-core + tfjs-backend-cpu) running the same steps in the same process.
// Run: npx tsx bench/train.bench.ts (or through the bench runner, which calls run()).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { Bench } from 'tinybench';
import { ringMixture } from '../src/data/synthetic.js';
import { getBackend, setBackend, tidy, valueAndGrad } from '../src/index.js';
import { mnistClassifier } from '../src/models/classifier.js';
import { ToyGan } from '../src/models/toy-gan.js';
import { functionalCall, type ParamTree } from '../src/nn/index.js';
import { Adam } from '../src/optim/index.js';
import { Generator } from '../src/random/generator.js';
import { crossEntropy } from '../src/tensor/ops/losses.js';

const GAN_BATCH = 64;
const CLS_BATCH = 16; // small: tfjs-cpu needs ~2 s per image for the conv filter gradient
const NZ = 10;
const HIDDEN = 128;
const LR = 1e-4;
const TARGET = 150; // GAN iterations per second on the CPU backend (issue 4)
const RING = ringMixture({ radius: 2, std: 0.02 });
/** Ring-GAN iterations per second reported for other libraries on this machine (not measured here). */
const REPORTED: [string, number][] = [
  ['PyTorch 1.13, OpenBLAS, 1 thread', 460],
  ['tfjs-wasm (SIMD, 1 thread)', 71],
  ['tfjs-cpu', 17.6],
  ['tfjs-webgpu (llvmpipe)', 4.2],
];

interface Row {
  library: string;
  task: string;
  perSecond: number;
  msPerStep: number;
}

async function time(library: string, task: string, step: () => void | Promise<void>, slow: boolean): Promise<Row> {
  await step(); // warm up
  const bench = new Bench(
    slow
      ? { time: 0, warmup: false, iterations: 2 }
      : { time: 3000, warmupTime: 300, warmupIterations: 5, iterations: 10 },
  );
  bench.add(`${library} ${task}`, step);
  await bench.run();
  const res = bench.tasks[0]!.result;
  if (res.state !== 'completed') throw new Error(`bench ${library} ${task} did not complete: ${res.state}`);
  const ms = res.latency.p50;
  console.log(`${library} ${task}: ${(1000 / ms).toFixed(2)} steps/s`);
  return { library, task, perSecond: 1000 / ms, msPerStep: ms };
}

// ------------------------------------------------------------------ tessera

function tesseraGan(): { step: () => Promise<void>; free: () => void } {
  const gan = new ToyGan({ batchSize: GAN_BATCH, lrG: LR, lrD: LR, seed: 1 });
  return {
    step: async () => {
      const { d, g } = gan.step();
      d.dispose();
      g.dispose();
      await getBackend().sync();
    },
    free: () => gan.dispose(),
  };
}

function tesseraClassifier(): { step: () => Promise<void>; free: () => void } {
  const gen = new Generator(2);
  const model = mnistClassifier({ generator: gen });
  const opt = new Adam(model, { lr: 1e-3 });
  const x = gen.uniform([CLS_BATCH, 1, 28, 28]);
  const y = gen.randint(0, 10, [CLS_BATCH]);
  return {
    step: async () => {
      tidy(() => {
        const [, grads] = valueAndGrad((p: ParamTree) => crossEntropy(functionalCall(model, p, x), y))(
          model.parameters(),
        );
        opt.step(grads);
      });
      await getBackend().sync();
    },
    free: () => {
      model.dispose();
      opt.dispose();
      x.dispose();
      y.dispose();
    },
  };
}

// ------------------------------------------------------------------ TensorFlow.js, the same steps

/**
 * tfjs-core's Node bundle registers no gradients, and its ESM files use directory imports that
 * Node cannot load; so bundle `register_all_gradients` with esbuild and import the bundle. tfjs keeps
 * its engine and registries on a global, so the bundled copy registers into the same engine.
 */
async function registerTfjsGradients(): Promise<void> {
  const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  const out = join(mkdtempSync(join(tmpdir(), 'tessera-bench-')), 'tfjs-gradients.mjs');
  await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', outfile: out, logLevel: 'error' });
  await import(pathToFileURL(out).href);
}

type TFTensor = tf.Tensor;

function tfDense(fanIn: number, fanOut: number): { w: tf.Variable; b: tf.Variable } {
  const k = Math.sqrt(1 / fanIn);
  return {
    w: tf.variable(tf.randomUniform([fanIn, fanOut], -k, k)),
    b: tf.variable(tf.randomUniform([fanOut], -k, k)),
  };
}

/** The ring-GAN iteration in tfjs: D step, then G step with fresh z (non-saturating), Adam(lr, 0.5, 0.999). */
function tfjsGan(): () => void {
  const G = [tfDense(NZ, HIDDEN), tfDense(HIDDEN, HIDDEN), tfDense(HIDDEN, 2)];
  const D = [tfDense(2, HIDDEN), tfDense(HIDDEN, HIDDEN), tfDense(HIDDEN, 1)];
  const mlp = (ls: typeof G, x: TFTensor): TFTensor =>
    ls.reduce((h, l, i) => {
      const y = tf.add(tf.matMul(h as tf.Tensor2D, l.w as TFTensor as tf.Tensor2D), l.b);
      return i < ls.length - 1 ? tf.tanh(y) : y;
    }, x);
  const gVars = G.flatMap((l) => [l.w, l.b]);
  const dVars = D.flatMap((l) => [l.w, l.b]);
  const optD = tf.train.adam(LR, 0.5, 0.999, 1e-8);
  const optG = tf.train.adam(LR, 0.5, 0.999, 1e-8);
  const means = tf.tensor2d(RING.means.map((m) => [...m]));
  return () => {
    tf.tidy(() => {
      const idx = tf.randomUniform([GAN_BATCH], 0, RING.means.length, 'int32');
      const real = tf.add(tf.gather(means, idx), tf.mul(tf.randomNormal([GAN_BATCH, 2]), RING.std[0]!));
      const z1 = tf.randomNormal([GAN_BATCH, NZ]);
      const dLoss = () =>
        tf.add(tf.mean(tf.softplus(tf.neg(mlp(D, real)))), tf.mean(tf.softplus(mlp(D, mlp(G, z1))))) as tf.Scalar;
      optD.minimize(dLoss, false, dVars);
      const z2 = tf.randomNormal([GAN_BATCH, NZ]);
      optG.minimize(() => tf.mean(tf.softplus(tf.neg(mlp(D, mlp(G, z2))))) as tf.Scalar, false, gVars);
    });
  };
}

/** The classifier's training step in tfjs (NHWC): same layers, dropout, softmax cross-entropy, Adam. */
function tfjsClassifier(): () => void {
  const conv = (cin: number, cout: number) => {
    const k = Math.sqrt(1 / (cin * 9));
    return {
      w: tf.variable(tf.randomUniform([3, 3, cin, cout], -k, k)),
      b: tf.variable(tf.randomUniform([cout], -k, k)),
    };
  };
  const c1 = conv(1, 32);
  const c2 = conv(32, 64);
  const f1 = tfDense(9216, 128);
  const f2 = tfDense(128, 10);
  const vars = [c1, c2, f1, f2].flatMap((l) => [l.w, l.b]);
  const opt = tf.train.adam(1e-3);
  const x = tf.randomUniform([CLS_BATCH, 28, 28, 1]) as tf.Tensor4D;
  const y = tf.oneHot(tf.randomUniform([CLS_BATCH], 0, 10, 'int32') as tf.Tensor1D, 10);
  const loss = () => {
    let h = tf.relu(tf.add(tf.conv2d(x, c1.w as TFTensor as tf.Tensor4D, 1, 'valid'), c1.b)) as tf.Tensor4D;
    h = tf.relu(tf.add(tf.conv2d(h, c2.w as TFTensor as tf.Tensor4D, 1, 'valid'), c2.b)) as tf.Tensor4D;
    h = tf.maxPool(h, 2, 2, 'valid');
    let f = tf.dropout(tf.reshape(h, [CLS_BATCH, 9216]), 0.25) as tf.Tensor2D;
    f = tf.dropout(tf.relu(tf.add(tf.matMul(f, f1.w as TFTensor as tf.Tensor2D), f1.b)), 0.5) as tf.Tensor2D;
    const logits = tf.add(tf.matMul(f, f2.w as TFTensor as tf.Tensor2D), f2.b);
    return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
  };
  return () => {
    tf.tidy(() => {
      opt.minimize(loss, false, vars);
    });
  };
}

// ------------------------------------------------------------------ run

export async function run(): Promise<void> {
  const rows: Row[] = [];
  const backends: ('cpu' | 'webgpu')[] = ['cpu'];
  let webgpu = 'measured';
  try {
    const info = await setBackend('webgpu');
    webgpu = `measured on ${info.description}`;
    backends.push('webgpu');
  } catch (e) {
    webgpu = `not measured: ${e instanceof Error ? e.message : String(e)}`;
  }
  for (const b of backends) {
    await setBackend(b);
    const gan = tesseraGan();
    rows.push(await time(`tessera-${b}`, 'ring GAN iteration', gan.step, false));
    gan.free();
    const cls = tesseraClassifier();
    rows.push(await time(`tessera-${b}`, `classifier step (batch ${CLS_BATCH})`, cls.step, true));
    cls.free();
  }
  await setBackend('cpu');
  await registerTfjsGradients();
  await tf.setBackend('cpu');
  rows.push(await time('tfjs-cpu', 'ring GAN iteration', tfjsGan(), false));
  rows.push(await time('tfjs-cpu', `classifier step (batch ${CLS_BATCH})`, tfjsClassifier(), true));

  const find = (lib: string, task: string) => rows.find((r) => r.library === lib && r.task.startsWith(task));
  console.log(`\nTraining steps per second (median), batch ${GAN_BATCH} GAN / ${CLS_BATCH} classifier, Adam:`);
  console.table(
    rows.map((r) => {
      const peer = find('tfjs-cpu', r.task.split(' ')[0]!);
      return {
        library: r.library,
        task: r.task,
        'steps/s': Number(r.perSecond.toFixed(r.perSecond < 1 ? 3 : 1)),
        'ms/step': Number(r.msPerStep.toFixed(1)),
        'vs tfjs-cpu': peer ? `${(r.perSecond / peer.perSecond).toFixed(2)}x` : '-',
      };
    }),
  );
  const cpuGan = find('tessera-cpu', 'ring')!;
  console.log(
    `Ring GAN, tessera CPU backend: ${cpuGan.perSecond.toFixed(1)} it/s; target ${TARGET} it/s: ${(cpuGan.perSecond / TARGET).toFixed(2)}x`,
  );
  console.log('Against ring-GAN rates reported for this machine (not measured in this run):');
  console.table(
    REPORTED.map(([library, perSecond]) => ({
      library,
      'it/s': perSecond,
      'tessera-cpu / it': `${(cpuGan.perSecond / perSecond).toFixed(2)}x`,
    })),
  );
  console.log(`WebGPU: ${webgpu}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
}
