// Trains every registered objective on the ring and the grid with its defaults for a fixed number
// of iterations (CPU backend), scores 2,500 samples, draws a thumbnail of each, and prints the rows
// of docs/objectives.md. Run: node --import tsx bench/objectives-table.ts [steps] [objectives...]
// (writes <OBJECTIVES_TABLE_OUT or docs/figures/objectives>/<objective>-<data>.png; TESSERA_CPU_THREADS
// sets the threads, default 2). Not part of `npm run bench` (no peer).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadDataSource } from '../src/gan/data.js';
import { getObjective, objectiveNames } from '../src/gan/registry.js';
import { evaluateMixture, runTrainer } from '../src/gan/run.js';
import { GanTrainer } from '../src/gan/trainer.js';
import { setCpuThreads } from '../src/index.js';
import { scatterPlot } from '../src/plot/plots.js';

const STEPS = Number(process.argv[2] ?? 2000);
const NAMES = process.argv.length > 3 ? process.argv.slice(3) : objectiveNames();
const OUT = process.env.OBJECTIVES_TABLE_OUT ?? join('docs', 'figures', 'objectives');
const SEED = 1;

setCpuThreads(Number(process.env.TESSERA_CPU_THREADS ?? 2));
console.log('| objective | ring: modes, % HQ | ring | grid: modes, % HQ | grid |\n|---|---|---|---|---|');
await mkdir(OUT, { recursive: true });
for (const name of NAMES) {
  const objective = getObjective(name);
  const cells: string[] = [];
  for (const dataName of ['ring', 'grid']) {
    const data = await loadDataSource(dataName);
    const t = new GanTrainer({ objective, data, seed: SEED });
    const t0 = performance.now();
    await runTrainer(t, { steps: STEPS });
    const seconds = (performance.now() - t0) / 1000;
    const ev = (await evaluateMixture(t))!;
    const m = ev.metrics;
    const file = join(OUT, `${name}-${dataName}.png`);
    const r = dataName === 'ring' ? 2.6 : 5.5;
    await writeFile(
      file,
      scatterPlot(ev.samples, { modes: data.mixture!.means, size: 320, range: [-r, r, -r, r], pointRadius: 1 }),
    );
    cells.push(
      `${m.modes}/${m.numModes}, ${(100 * m.highQuality).toFixed(1)}% (${STEPS} its, ${seconds.toFixed(0)} s)`,
      `![${name} on ${dataName}](figures/objectives/${name}-${dataName}.png)`,
    );
    console.error(
      `${name} on ${dataName}: ${m.modes}/${m.numModes} modes, ${(100 * m.highQuality).toFixed(1)}% HQ, ${seconds.toFixed(0)} s`,
    );
    t.dispose();
    data.dispose();
  }
  console.log(`| \`${name}\` | ${cells.join(' | ')} |`);
}
