// Shared pieces of the registry-wide tests: tiny settings per objective, parameter snapshots, runs.
import '../../src/index.js'; // registers the CPU backend
import { loadDataSource } from '../../src/gan/data.js';
import { getObjective } from '../../src/gan/registry.js';
import { disposeLosses, GanTrainer } from '../../src/gan/trainer.js';

/** Tiny networks and batches so every objective's 3 steps take well under a second. */
export const TINY: Record<string, unknown> = { batchSize: 16, latentDim: 4, 'net.hidden': 16 };

/** Per-objective additions to TINY: the same schedule shape with fewer steps. */
export const TINY_EXTRA: Record<string, Record<string, unknown>> = {
  'mmd-gan': { warmupCriticSteps: 3, criticSteps: 2 },
};

export async function tinyTrainer(name: string, seed = 1, set: Record<string, unknown> = {}): Promise<GanTrainer> {
  return new GanTrainer({
    objective: getObjective(name),
    data: await loadDataSource('ring'),
    seed,
    set: { ...TINY, ...TINY_EXTRA[name], ...set },
  });
}

/** Every player's parameters as host arrays, by '<player>.<path>'. */
export async function snapshot(t: GanTrainer): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const p of t.objective.players) {
    for (const [path, x] of t.nets[p]!.namedParameters()) out.set(`${p}.${path}`, Float32Array.from(await x.data()));
  }
  return out;
}

/** Runs `n` steps and returns each step's losses as numbers. */
export async function runSteps(t: GanTrainer, n: number): Promise<Record<string, number>[]> {
  const rows: Record<string, number>[] = [];
  for (let i = 0; i < n; i++) {
    const l = await t.stepAsync();
    const row: Record<string, number> = {};
    for (const [k, v] of Object.entries(l)) row[k] = (await v.data())[0]!;
    disposeLosses(l);
    rows.push(row);
  }
  return rows;
}
