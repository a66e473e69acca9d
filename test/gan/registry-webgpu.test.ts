// Every registered objective on WebGPU: the first steps match the CPU run within float32
// tolerance, and a resumed run is bitwise the uninterrupted one on the device too.
import { afterAll, describe, expect, it } from 'vitest';
import { cpuBackend } from '../../src/backend/cpu.js';
import { objectiveNames } from '../../src/gan/registry.js';
import { getBackend, useBackend } from '../../src/tensor/engine.js';
import { initWebGPU, releaseWebGPU } from '../helpers/webgpu.js';
import { runSteps, snapshot, tinyTrainer } from './registry-helpers.js';

const gpu = await initWebGPU();
afterAll(releaseWebGPU);

/** Runs `fn` with `backend` current. */
async function on<T>(backend: object, fn: () => Promise<T>): Promise<T> {
  const prev = getBackend();
  useBackend(backend as Parameters<typeof useBackend>[0]);
  try {
    return await fn();
  } finally {
    useBackend(prev);
  }
}

describe.skipIf(gpu === undefined)('GAN objectives on WebGPU', () => {
  it.each(objectiveNames())('%s: the first step matches the CPU within float32 tolerance', async (name) => {
    const cpu = await on(cpuBackend, async () => {
      const t = await tinyTrainer(name, 5);
      const losses = await runSteps(t, 1);
      const params = await snapshot(t);
      t.dispose();
      return { losses, params };
    });
    const dev = await on(gpu!, async () => {
      const t = await tinyTrainer(name, 5);
      const losses = await runSteps(t, 1);
      const params = await snapshot(t);
      t.dispose();
      return { losses, params };
    });
    for (const [k, v] of Object.entries(cpu.losses[0]!)) {
      expect(Math.abs(dev.losses[0]![k]! - v), `${name} loss ${k}`).toBeLessThanOrEqual(2e-4 * (1 + Math.abs(v)));
    }
    for (const [k, v] of cpu.params) {
      const w = dev.params.get(k)!;
      const worst = v.reduce((m, x, i) => Math.max(m, Math.abs(x - w[i]!) / (1e-3 + Math.abs(x))), 0);
      expect(worst, `${name} parameter ${k}`).toBeLessThan(2e-3);
    }
  });

  it.each(objectiveNames())('%s: resumed after step 2 equals the uninterrupted run, bitwise', async (name) => {
    await on(gpu!, async () => {
      const full = await tinyTrainer(name, 6);
      const fullLosses = await runSteps(full, 3);
      const first = await tinyTrainer(name, 6);
      await runSteps(first, 2);
      const bytes = await first.checkpoint();
      first.dispose();
      const resumed = await tinyTrainer(name, 6);
      resumed.restore(bytes);
      expect(await runSteps(resumed, 1)).toEqual(fullLosses.slice(2));
      expect(await snapshot(resumed)).toEqual(await snapshot(full));
      full.dispose();
      resumed.dispose();
    });
  });
});
