// Predictive log-likelihood cost for 100 MNIST test digits under a DCGAN-sized PresGAN generator
// (the image preset: nz 100, ngf 64, random weights), on the CPU backend and on WebGPU when present.
// Run: npx tsx bench/loglik.bench.ts. LOGLIK_BENCH_S (default 1000), LOGLIK_BENCH_KINDS (cpu,webgpu).
import { loadMnist } from '../src/data/mnist.js';
import { decoderModel, predictiveLogLikelihood } from '../src/eval/loglik.js';
import { imageSource, loadDataSource } from '../src/gan/data.js';
import { OBJECTIVES } from '../src/gan/registry.js';
import { GanTrainer } from '../src/gan/trainer.js';
import { Generator, setBackend } from '../src/index.js';

const EXAMPLES = 100;
/** Importance samples per digit: the paper's protocol is 1000; fewer on a shared machine (extrapolated linearly). */
const SAMPLES = Number(process.env.LOGLIK_BENCH_S ?? 1000);
/** Encoder and MAP steps timed (the per-step cost is extrapolated to the defaults 1000 and 200). */
const STEPS = Number(process.env.LOGLIK_BENCH_STEPS ?? 5);
const KINDS = (process.env.LOGLIK_BENCH_KINDS ?? 'cpu,webgpu').split(',');

interface Timing {
  kind: string;
  importance: number;
  encoderStep: number;
  mapStep: number;
}

async function seconds(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
}

async function measure(kind: string): Promise<Timing | undefined> {
  try {
    await setBackend(kind as 'cpu' | 'webgpu');
  } catch (e) {
    console.log(`${kind}: not available (${e instanceof Error ? e.message : String(e)})`);
    return undefined;
  }
  const data = await loadDataSource('mnist');
  const trainer = new GanTrainer({ objective: OBJECTIVES.presgan, data, seed: 1 });
  const model = decoderModel(trainer);
  const x = imageSource(loadMnist({ split: 'test' }), 'mnist-test').sample(EXAMPLES, new Generator(0)).x;
  const base = { encoderHidden: [256, 256], batchSize: 500, rng: new Generator(1) } as const;
  // Importance sampling alone (untrained encoder, no MAP), then the encoder and MAP steps alone.
  const importance = await seconds(() =>
    predictiveLogLikelihood(model, x, { ...base, samples: SAMPLES, encoderSteps: 0, mapSteps: 0 }),
  );
  const encoder = await seconds(() =>
    predictiveLogLikelihood(model, x, { ...base, samples: 1, encoderSteps: STEPS, mapSteps: 0 }),
  );
  const map = await seconds(() =>
    predictiveLogLikelihood(model, x, { ...base, samples: 1, encoderSteps: 0, mapSteps: STEPS }),
  );
  // The S = 1 runs include one pass of sampling and the probe; their difference from a bare run is small.
  const t = { kind, importance, encoderStep: encoder / STEPS, mapStep: map / STEPS };
  x.dispose();
  model.sigma.dispose();
  trainer.dispose();
  data.dispose();
  return t;
}

export async function run(): Promise<void> {
  console.log(
    `log-likelihood of ${EXAMPLES} MNIST test digits, DCGAN PresGAN generator (nz 100, ngf 64), S = ${SAMPLES}` +
      (SAMPLES === 1000 ? '' : ' (the protocol is 1000: times scale linearly in S)'),
  );
  const rows: Timing[] = [];
  for (const kind of KINDS) {
    const t = await measure(kind);
    if (t) rows.push(t);
  }
  await setBackend('cpu');
  console.log(
    'backend  | IS, S samples (s) | per decoder pass (ms) | IS at S = 1000 (s) | encoder step (s) | MAP step (s) | default protocol (s)',
  );
  for (const r of rows) {
    const perPass = (1000 * r.importance) / (SAMPLES * EXAMPLES);
    const is1000 = (r.importance * 1000) / SAMPLES;
    const total = is1000 + 1000 * r.encoderStep + 200 * r.mapStep;
    console.log(
      `${r.kind.padEnd(8)} | ${r.importance.toFixed(1).padStart(17)} | ${perPass.toFixed(2).padStart(21)} | ${is1000.toFixed(0).padStart(18)} | ${r.encoderStep.toFixed(2).padStart(16)} | ${r.mapStep.toFixed(2).padStart(12)} | ${total.toFixed(0).padStart(20)}`,
    );
  }
  if (rows.length === 2)
    console.log(`webgpu / cpu time ratio (IS): ${(rows[1]!.importance / rows[0]!.importance).toFixed(2)}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
