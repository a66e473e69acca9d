// IvOM cost: MNIST test images fitted by a DCGAN-sized generator (28 x 28, nz 100, ngf 64), on the
// CPU backend and on WebGPU when an adapter exists; prints time per image and the backend ratio.
// Run: npm run bench -- bench/ivom.bench.ts   (IVOM_BENCH_IMAGES=100, IVOM_BENCH_STEPS=5,
// IVOM_BENCH_RESTARTS=3, IVOM_BENCH_KINDS=cpu1,cpu2,webgpu)
import { setBackend } from '../src/backend/select.js';
import { ivom } from '../src/eval/ivom.js';
import { dcganGenerator, Generator, getBackend, loadMnist, setCpuThreads, tensor } from '../src/index.js';

const IMAGES = Number(process.env.IVOM_BENCH_IMAGES ?? 100);
/** Steps timed (the default protocol runs 200: time per image at the default is extrapolated linearly). */
const STEPS = Number(process.env.IVOM_BENCH_STEPS ?? 5);
const RESTARTS = Number(process.env.IVOM_BENCH_RESTARTS ?? 3);
const KINDS = (process.env.IVOM_BENCH_KINDS ?? 'cpu1,cpu2,webgpu').split(',');
const DEFAULT_STEPS = 200;

export async function run(): Promise<void> {
  const test = loadMnist({ split: 'test' });
  const rows: { kind: string; perImageStepMs: number; totalS: number }[] = [];
  for (const kind of KINDS) {
    try {
      if (kind === 'webgpu') await setBackend('webgpu');
      else {
        await setBackend('cpu');
        setCpuThreads(Number(kind.replace('cpu', '')) || 1);
      }
    } catch (e) {
      console.log(`${kind}: skipped (${e instanceof Error ? e.message : String(e)})`);
      continue;
    }
    const G = dcganGenerator({ imageSize: 28, nc: 1, nz: 100, ngf: 64, rng: new Generator(0) });
    G.eval();
    const targets = tensor(test.images.subarray(0, IMAGES * 784), { shape: [IMAGES, 1, 28, 28] })
      .mul(2)
      .sub(1);
    // One warm-up step (kernel compilation on WebGPU), then the timed run.
    await ivom((z) => G.forward(z), targets.slice([[0, 2]]), { latentDim: 100, steps: 1, restarts: 1 });
    const t0 = performance.now();
    const r = await ivom((z) => G.forward(z), targets, {
      latentDim: 100,
      steps: STEPS,
      restarts: RESTARTS,
      rng: new Generator(1),
    });
    await getBackend().sync();
    const ms = performance.now() - t0;
    rows.push({ kind, perImageStepMs: ms / IMAGES / STEPS, totalS: ms / 1000 });
    console.log(
      `${kind}: ${IMAGES} images x ${RESTARTS} restarts x ${STEPS} steps in ${(ms / 1000).toFixed(2)} s; mean distance ${r.mean.toFixed(4)}`,
    );
    targets.dispose();
    G.dispose();
    if (kind === 'webgpu') getBackend().destroy?.();
  }
  console.log(`\nIvOM, DCGAN generator (28x28, nz 100, ngf 64), ${RESTARTS} restarts, batch 50 images`);
  console.log('backend   ms / image / step   s / image at 200 steps (extrapolated)   vs cpu1');
  const base = rows.find((r) => r.kind === 'cpu1')?.perImageStepMs;
  for (const r of rows) {
    const perImage = (r.perImageStepMs * DEFAULT_STEPS) / 1000;
    const ratio = base === undefined ? '' : `${(base / r.perImageStepMs).toFixed(2)}x`;
    console.log(
      `${r.kind.padEnd(9)} ${r.perImageStepMs.toFixed(1).padStart(17)}   ${perImage.toFixed(2).padStart(36)}   ${ratio}`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
