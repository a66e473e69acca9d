// Training-step throughput: one ring-GAN iteration (D step + G step, Adam, batch 64; generator
// 10 -> 128 -> 128 -> 2, discriminator 2 -> 128 -> 128 -> 1, tanh) and one step of the Stacked-MNIST
// classifier (conv 3x3x32, conv 3x3x64, maxpool, dropout, FC 128, dropout, FC 10; Adam), on the
// tessera CPU and WebGPU backends, side by side with TensorFlow.js running the same steps in the
// same process: tfjs-cpu next to tessera-cpu, tfjs-webgpu (started on the same Dawn OpenGL ES
// compatibility adapter, bench/common.ts) next to tessera-webgpu. Each pair is timed alternately,
// block by block, so that both see the same background load; ratios are against the peer of the
// same kind. Every step includes finishing its device work (tessera: sync(); tfjs-webgpu: submit +
// onSubmittedWorkDone).
// Run: npm run bench -- bench/train.bench.ts (the runner calls run()).
// TRAIN_BENCH_GAN_MS: time per GAN case (default 6000 ms, split into alternating blocks);
// TRAIN_BENCH_KINDS=cpu|webgpu and TRAIN_BENCH_TASKS=gan|classifier restrict the run (default: all).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { ringMixture } from '../src/data/synthetic.js';
import { type DataSource, loadDataSource } from '../src/gan/data.js';
import { OBJECTIVES } from '../src/gan/registry.js';
import { disposeLosses, GanTrainer } from '../src/gan/trainer.js';
import { getBackend, type ParamTree, setBackend, setCpuThreads, tidy, valueAndGrad } from '../src/index.js';
import { mnistClassifier } from '../src/models/classifier.js';
import { functionalCall } from '../src/nn/index.js';
import { Adam } from '../src/optim/index.js';
import { Generator } from '../src/random/generator.js';
import { crossEntropy } from '../src/tensor/ops/losses.js';
import { startTfjsWebGPU, type TfjsWebGPU, tfjsWebGPUDone } from './common.js';

const GAN_BATCH = 64;
const CLS_BATCH = 16; // small: tfjs-cpu needs ~2 s per image for the conv filter gradient
const NZ = 10;
const HIDDEN = 128;
const LR = 1e-4;
const TARGET = 150; // GAN iterations per second on the CPU backend (issue 4)
const WEBGPU_TARGET = 2; // tessera-webgpu / tfjs-webgpu on the same adapter (issue 4)
const GAN_MS = Number(process.env.TRAIN_BENCH_GAN_MS ?? 6000);
const KINDS = (process.env.TRAIN_BENCH_KINDS ?? 'cpu,webgpu').split(',');
const TASKS = (process.env.TRAIN_BENCH_TASKS ?? 'gan,classifier').split(',');
/** CPU thread counts tessera-cpu is measured with (TRAIN_BENCH_THREADS=1,2 by default; the library default is 1). */
const CPU_THREADS = (process.env.TRAIN_BENCH_THREADS ?? '1,2').split(',').map(Number);

/** A step that first sets the CPU backend's GEMM threads (cases with different counts alternate). */
const withThreads =
  (n: number, step: () => Promise<void>): (() => Promise<void>) =>
  async () => {
    setCpuThreads(n);
    await step();
  };
const RING = ringMixture({ radius: 2, std: 0.02 });
/** Ring-GAN iterations per second reported for other libraries on this machine (not measured here). */
const REPORTED: [string, number][] = [
  ['PyTorch 1.13, OpenBLAS, 1 thread', 460],
  ['tfjs-wasm (SIMD, 1 thread)', 71],
];

interface Row {
  library: string;
  task: string;
  perSecond: number;
  msPerStep: number;
  /** Timed steps behind the median. */
  n: number;
}

interface Case {
  library: string;
  task: string;
  /** One step, its device work finished when the promise resolves. */
  step: () => void | Promise<void>;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/**
 * Times the cases alternately: after a warm-up of each (compiles pipelines, fills pools), `rounds`
 * rounds in which each case runs for `blockMs` (at least one step); the median step time of each.
 * Alternating blocks give the cases of a pair the same background load, which matters on a
 * shared 2-core machine where llvmpipe's worker threads compete with other jobs.
 */
async function timeAlternating(
  cases: readonly Case[],
  rounds: number,
  blockMs: number,
  warmup: number,
): Promise<Row[]> {
  for (const c of cases) for (let i = 0; i < warmup; i++) await c.step();
  const times = cases.map((): number[] => []);
  for (let r = 0; r < rounds; r++) {
    for (const [k, c] of cases.entries()) {
      const start = performance.now();
      do {
        const t0 = performance.now();
        await c.step();
        times[k]!.push(performance.now() - t0);
      } while (performance.now() - start < blockMs);
    }
  }
  return cases.map((c, k) => {
    const ms = median(times[k]!);
    console.log(`${c.library} ${c.task}: ${(1000 / ms).toFixed(2)} steps/s (${times[k]!.length} steps)`);
    return { library: c.library, task: c.task, perSecond: 1000 / ms, msPerStep: ms, n: times[k]!.length };
  });
}

// ------------------------------------------------------------------ tessera

/** The `gan` objective's ring iteration (its defaults are these networks), with the benchmark's batch and lr. */
function tesseraGan(ring: DataSource): { step: () => Promise<void>; free: () => void } {
  const set = {
    batchSize: GAN_BATCH,
    latentDim: NZ,
    'net.hidden': HIDDEN,
    'optimizers.G.lr': LR,
    'optimizers.D.lr': LR,
  };
  const trainer = new GanTrainer({ objective: OBJECTIVES.gan, data: ring, seed: 1, set });
  return {
    step: async () => {
      disposeLosses(trainer.step());
      await getBackend().sync();
    },
    free: () => trainer.dispose(),
  };
}

function tesseraClassifier(): { step: () => Promise<void>; free: () => void } {
  const rng = new Generator(2);
  const model = mnistClassifier({ rng });
  const opt = new Adam(model, { lr: 1e-3 });
  const x = rng.uniform([CLS_BATCH, 1, 28, 28]);
  const y = rng.randint(0, 10, [CLS_BATCH]);
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

const GAN_TASK = 'ring GAN iteration';
const CLS_TASK = `classifier step (batch ${CLS_BATCH})`;
/** Seconds of timed classifier steps per case (at least one step, at most five). */
const CLS_BUDGET_S = 10;

/** The classifier pair: one untimed step each (compiles; its time sets the number of rounds), then timed. */
async function timeClassifierPair(cases: readonly Case[]): Promise<Row[]> {
  let slowest = 0;
  for (const c of cases) {
    const t0 = performance.now();
    await c.step();
    slowest = Math.max(slowest, (performance.now() - t0) / 1000);
  }
  const rounds = Math.max(1, Math.min(5, Math.floor(CLS_BUDGET_S / slowest)));
  return timeAlternating(cases, rounds, 0, 0);
}

export async function run(): Promise<void> {
  const rows: Row[] = [];
  const notes: string[] = [];
  await registerTfjsGradients();
  const gan = TASKS.includes('gan');
  const classifier = TASKS.includes('classifier');

  // tessera-cpu next to tfjs-cpu.
  if (KINDS.includes('cpu')) {
    await setBackend('cpu');
    await tf.setBackend('cpu');
    if (gan) {
      const ring = await loadDataSource('ring');
      const ts = CPU_THREADS.map(() => tesseraGan(ring));
      const cases = [
        ...ts.map((t, i) => ({
          library: `tessera-cpu ${CPU_THREADS[i]}T`,
          task: GAN_TASK,
          step: withThreads(CPU_THREADS[i]!, t.step),
        })),
        { library: 'tfjs-cpu', task: GAN_TASK, step: tfjsGan() },
      ];
      rows.push(...(await timeAlternating(cases, 6, GAN_MS / 6, 3)));
      for (const t of ts) t.free();
    }
    if (classifier) {
      const ts = CPU_THREADS.map(() => tesseraClassifier());
      rows.push(
        ...(await timeClassifierPair([
          ...ts.map((t, i) => ({
            library: `tessera-cpu ${CPU_THREADS[i]}T`,
            task: CLS_TASK,
            step: withThreads(CPU_THREADS[i]!, t.step),
          })),
          { library: 'tfjs-cpu', task: CLS_TASK, step: tfjsClassifier() },
        ])),
      );
      for (const t of ts) t.free();
    }
    setCpuThreads(1);
  }

  // tessera-webgpu next to tfjs-webgpu: two devices (tessera's, tfjs's) on the same Dawn adapter.
  let tesseraGpu = '';
  let peer: TfjsWebGPU | undefined;
  if (KINDS.includes('webgpu')) {
    try {
      tesseraGpu = (await setBackend('webgpu')).description;
    } catch (e) {
      notes.push(`tessera-webgpu not measured: ${e instanceof Error ? e.message : String(e)}`);
    }
    try {
      peer = await startTfjsWebGPU();
    } catch (e) {
      notes.push(`tfjs-webgpu not measured: ${e instanceof Error ? e.message : String(e)}`);
    }
    const tfStep =
      (p: TfjsWebGPU, f: () => void): (() => Promise<void>) =>
      async () => {
        f();
        await tfjsWebGPUDone(p);
      };
    if (gan) {
      const t = tesseraGpu ? tesseraGan(await loadDataSource('ring')) : undefined;
      const cases: Case[] = [];
      if (t) cases.push({ library: 'tessera-webgpu', task: GAN_TASK, step: t.step });
      if (peer) cases.push({ library: 'tfjs-webgpu', task: GAN_TASK, step: tfStep(peer, tfjsGan()) });
      if (cases.length > 0) rows.push(...(await timeAlternating(cases, 6, GAN_MS / 6, 3)));
      t?.free();
    }
    if (classifier) {
      const t = tesseraGpu ? tesseraClassifier() : undefined;
      const cases: Case[] = [];
      if (t) cases.push({ library: 'tessera-webgpu', task: CLS_TASK, step: t.step });
      if (peer) cases.push({ library: 'tfjs-webgpu', task: CLS_TASK, step: tfStep(peer, tfjsClassifier()) });
      if (cases.length > 0) rows.push(...(await timeClassifierPair(cases)));
      t?.free();
    }
    if (peer) await peer.tf.setBackend(peer.previous === 'webgpu' ? 'cpu' : peer.previous);
    await setBackend('cpu');
  }

  const find = (lib: string, task: string) => rows.find((r) => r.library === lib && r.task === task);
  // tessera-cpu 2T -> tfjs-cpu; tessera-webgpu -> tfjs-webgpu.
  const peerOf = (lib: string) =>
    lib.startsWith('tessera-') ? `tfjs-${lib.slice('tessera-'.length).split(' ')[0]}` : undefined;
  console.log(`\nTraining steps per second (median), batch ${GAN_BATCH} GAN / ${CLS_BATCH} classifier, Adam:`);
  console.table(
    rows.map((r) => {
      const peerLib = peerOf(r.library);
      const p = peerLib === undefined ? undefined : find(peerLib, r.task);
      return {
        library: r.library,
        task: r.task,
        'steps/s': Number(r.perSecond.toFixed(r.perSecond < 1 ? 3 : 1)),
        'ms/step': Number(r.msPerStep.toFixed(1)),
        steps: r.n,
        'vs same-kind tfjs': p ? `${(r.perSecond / p.perSecond).toFixed(2)}x (vs ${p.library})` : '-',
      };
    }),
  );
  const cpuGans = rows.filter((r) => r.library.startsWith('tessera-cpu') && r.task === GAN_TASK);
  for (const r of cpuGans) {
    console.log(
      `Ring GAN, ${r.library}: ${r.perSecond.toFixed(1)} it/s; target ${TARGET} it/s: ${(r.perSecond / TARGET).toFixed(2)}x`,
    );
  }
  const cpuGan = cpuGans.at(-1);
  const tg = find('tessera-webgpu', GAN_TASK);
  const fg = find('tfjs-webgpu', GAN_TASK);
  if (tg && fg) {
    const ratio = tg.perSecond / fg.perSecond;
    console.log(
      `Ring GAN, WebGPU on the same adapter: tessera ${tg.perSecond.toFixed(1)} it/s, tfjs-webgpu ${fg.perSecond.toFixed(1)} it/s: ${ratio.toFixed(2)}x; target >= ${WEBGPU_TARGET}x: ${ratio >= WEBGPU_TARGET ? 'met' : 'NOT met'}`,
    );
  } else if (KINDS.includes('webgpu') && gan) {
    console.log(`Ring GAN, WebGPU target (>= ${WEBGPU_TARGET}x tfjs-webgpu): not evaluated (see below)`);
  }
  const tc = find('tessera-webgpu', CLS_TASK);
  const fc = find('tfjs-webgpu', CLS_TASK);
  if (tc && fc) {
    console.log(
      `Classifier step, WebGPU on the same adapter: tessera ${tc.perSecond.toFixed(3)} steps/s, tfjs-webgpu ${fc.perSecond.toFixed(3)} steps/s: ${(tc.perSecond / fc.perSecond).toFixed(2)}x`,
    );
  }
  if (cpuGan) {
    console.log('Against ring-GAN rates reported for this machine (not measured in this run):');
    console.table(
      REPORTED.map(([library, perSecond]) => ({
        library,
        'it/s': perSecond,
        [`${cpuGan.library} / it`]: `${(cpuGan.perSecond / perSecond).toFixed(2)}x`,
      })),
    );
  }
  console.log(`tessera-webgpu: ${tesseraGpu || 'not measured'}`);
  console.log(
    `tfjs-webgpu: ${peer ? `tfjs ${peer.tf.version_core} on ${peer.adapter} (Dawn OpenGL ES backend)` : 'not measured'}`,
  );
  for (const n of notes) console.log(n);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
}
