// One training iteration of every GAN objective on the ring (batch 64, MLPs 128-128; PresGAN with
// 2 burn-in + 2 kept HMC transitions of 5 leapfrog steps), on the CPU backend (1 and 2 threads) and
// WebGPU, with each objective's cost relative to a GAN iteration measured in the same run.
// Run: npm run bench -- bench/gan.bench.ts (GAN_BENCH_KINDS=cpu1,cpu2,webgpu; GAN_BENCH_OBJECTIVES=gan,presgan).
import { loadDataSource } from '../src/gan/data.js';
import { getObjective, objectiveNames } from '../src/gan/registry.js';
import { disposeLosses, GanTrainer } from '../src/gan/trainer.js';
import { getBackend, setBackend, setCpuThreads } from '../src/index.js';
import { printTable, QUICK } from './common.js';

const KINDS = (process.env.GAN_BENCH_KINDS ?? 'cpu1,cpu2,webgpu').split(',');
const NAMES = process.env.GAN_BENCH_OBJECTIVES?.split(',') ?? objectiveNames();
/** Every objective is timed on the same networks: the ring benchmark (batch 64, MLP 128-128). */
const SET = { batchSize: 64, 'net.hidden': 128, 'net.layers': 2 };
/** PyTorch 1.13 (OpenBLAS, 1 thread) on this kind of machine, as reported in issue 10 (not measured here). */
const PYTORCH_MS: Record<string, number> = { gan: 2.4, presgan: 12.4 };
const PRESGAN_TARGET_ITS = 20; // CPU backend, 2 threads (issue 10)

/** Median ms per iteration over rounds of iterations, each round ended by a device sync. */
async function timeIterations(t: GanTrainer): Promise<number> {
  for (let i = 0; i < 3; i++) disposeLosses(await t.stepAsync());
  await getBackend().sync();
  const budget = QUICK ? 600 : 2000;
  const rounds: number[] = [];
  const start = performance.now();
  while (rounds.length < 5 || performance.now() - start < budget) {
    const t0 = performance.now();
    const n = 5;
    for (let i = 0; i < n; i++) disposeLosses(await t.stepAsync());
    await getBackend().sync();
    rounds.push((performance.now() - t0) / n);
    if (rounds.length >= 50) break;
  }
  return [...rounds].sort((a, b) => a - b)[rounds.length >> 1]!;
}

export async function run(): Promise<void> {
  const rows: string[][] = [];
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
    const data = await loadDataSource('ring');
    const ms: Record<string, number> = {};
    const notes: Record<string, string> = {};
    for (const name of NAMES) {
      const objective = getObjective(name);
      const t = new GanTrainer({ objective, data, seed: 1, set: SET });
      try {
        ms[name] = await timeIterations(t);
      } catch (e) {
        // An objective that cannot run on this backend: its row says why.
        ms[name] = Number.NaN;
        notes[name] = `not run: ${e instanceof Error ? e.message.slice(0, 60) : String(e)}...`;
        t.dispose();
        continue;
      }
      const h = t.hyper as { unrollSteps?: number };
      if (h.unrollSteps !== undefined) notes[name] = `K = ${h.unrollSteps}`;
      // A phase repeated more than once per iteration in steady state (critic steps).
      const repeated = objective.phases(t.hyper).find((p) => (p.repeat?.(1001, t.hyper) ?? 1) > 1);
      t.dispose();
      if (repeated !== undefined) {
        // One repetition of the repeated phase alone: the cost of one critic step.
        const critic = { ...objective, phases: () => [{ ...repeated, repeat: () => 1 }] };
        const c = new GanTrainer({ objective: critic, data, seed: 1, set: SET });
        notes[name] = `${(await timeIterations(c)).toFixed(2)} ms per '${repeated.name}' step`;
        c.dispose();
      }
    }
    for (const name of NAMES) {
      const ratio = ms[name]! / ms.gan!;
      const torch = PYTORCH_MS[name] !== undefined ? (PYTORCH_MS[name]! / PYTORCH_MS.gan!).toFixed(2) : '';
      rows.push([
        kind,
        name,
        ms[name]!.toFixed(2),
        (1000 / ms[name]!).toFixed(1),
        ratio.toFixed(2),
        torch,
        notes[name] ?? '',
      ]);
    }
    data.dispose();
    printTable(
      ['backend', 'objective', 'ms/iter', 'it/s', 'x GAN (same run)', 'x GAN PyTorch (reported)', 'note'],
      rows.filter((r) => r[0] === kind),
    );
    if (kind === 'webgpu') getBackend().destroy?.();
  }
  await setBackend('cpu');
  setCpuThreads(1);
  console.log(
    `targets: PresGAN's cost ratio <= PyTorch's ${(PYTORCH_MS.presgan! / PYTORCH_MS.gan!).toFixed(2)}; PresGAN on cpu2 >= ${PRESGAN_TARGET_ITS} it/s. PyTorch 1.13 1 thread reported: GAN ${PYTORCH_MS.gan} ms, PresGAN ${PYTORCH_MS.presgan} ms.`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
