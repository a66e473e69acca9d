// Every registered objective, on the CPU backend: 3 steps on a tiny ring give finite losses and
// move every player; memory stays flat; same seed, same bits; a run resumed after step 2 is bitwise the uninterrupted one.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { objectiveNames } from '../../src/gan/registry.js';
import { memory } from '../../src/tensor/engine.js';
import { runSteps, snapshot, tinyTrainer } from './registry-helpers.js';

describe.each(objectiveNames())('objective %s (registry-wide checks, CPU)', (name) => {
  it('3 steps: finite losses, every player changes, the same seed gives the same bits', async () => {
    const t = await tinyTrainer(name, 1);
    const before = await snapshot(t);
    const losses = await runSteps(t, 3);
    for (const row of losses) {
      expect(Object.keys(row).length).toBeGreaterThan(0);
      for (const [k, v] of Object.entries(row)) expect(Number.isFinite(v), `${name} ${k} = ${v}`).toBe(true);
    }
    const after = await snapshot(t);
    for (const p of t.objective.players) {
      const changed = [...before].some(([k, v]) => k.startsWith(`${p}.`) && after.get(k)!.some((x, i) => x !== v[i]));
      expect(changed, `${name}: player ${p} did not change`).toBe(true);
    }
    const again = await tinyTrainer(name, 1);
    expect(await runSteps(again, 3)).toEqual(losses);
    expect(await snapshot(again)).toEqual(after);
    const other = await tinyTrainer(name, 2);
    expect(await runSteps(other, 3)).not.toEqual(losses);
    for (const x of [t, again, other]) x.dispose();
  });

  it('stopped after step 2 and resumed from its checkpoint, ends bitwise equal to the uninterrupted run', async () => {
    const full = await tinyTrainer(name, 3);
    const fullLosses = await runSteps(full, 4);
    const first = await tinyTrainer(name, 3);
    await runSteps(first, 2);
    const bytes = await first.checkpoint();
    first.dispose();
    const resumed = await tinyTrainer(name, 3);
    resumed.restore(bytes);
    expect(resumed.stepCount).toBe(2);
    expect(await runSteps(resumed, 2)).toEqual(fullLosses.slice(2));
    expect(await snapshot(resumed)).toEqual(await snapshot(full));
    for (const [k, v] of Object.entries(full.state)) {
      expect(Array.from(await resumed.state[k]!.data()), `state ${k}`).toEqual(Array.from(await v.data()));
    }
    full.dispose();
    resumed.dispose();
  });

  it('live tensors and bytes stay flat over 50 steps', async () => {
    const t = await tinyTrainer(name, 4);
    await runSteps(t, 3);
    const m0 = memory();
    await runSteps(t, 50);
    const m1 = memory();
    expect(m1.numTensors).toBe(m0.numTensors);
    expect(m1.numBytes).toBe(m0.numBytes);
    t.dispose();
  });
});
