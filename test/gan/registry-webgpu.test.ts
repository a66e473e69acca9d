// Every registered objective on WebGPU (gated ones through stepAsync): the first steps match the
// CPU run within float32 tolerance, and a resumed run is bitwise the uninterrupted one on the device too.
import '../../src/index.js'; // registers the CPU backend
import { afterAll, describe, expect, it } from 'vitest';
import { cpuBackend } from '../../src/backend/cpu.js';
import { getObjective, objectiveNames } from '../../src/gan/registry.js';
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

/** Objectives with a gated phase (VAE/GAN's balancing rule) read losses back before stepping. */
const gated = (name: string) => {
  const o = getObjective(name);
  return o.phases(o.defaults).some((p) => p.gate !== undefined);
};
const all = objectiveNames();

describe.skipIf(gpu === undefined)('GAN objectives on WebGPU', () => {
  it.each(objectiveNames().filter(gated))(
    '%s: a gated phase needs stepAsync on WebGPU; step() says so clearly',
    async (name) => {
      await on(gpu!, async () => {
        const t = await tinyTrainer(name, 5);
        expect(() => t.step()).toThrow(/step\(\) reads back synchronously.*await trainer\.stepAsync\(\)/);
        expect(t.stepCount).toBe(0);
        t.dispose();
      });
    },
  );

  it.each(all)('%s: the first step matches the CPU within float32 tolerance', async (name) => {
    // Plain SGD for every player, so that each parameter's change is -lr times its gradient and the
    // comparison checks the gradients (Adam's first step is lr * sign(g), whose sign is noise where g ~ 0).
    const sgd = Object.fromEntries(getObjective(name).players.map((p) => [`optimizers.${p}.kind`, 'sgd']));
    const oneStep = async () => {
      const t = await tinyTrainer(name, 5, sgd);
      const before = await snapshot(t);
      const losses = await runSteps(t, 1);
      const after = await snapshot(t);
      t.dispose();
      return { losses, before, after };
    };
    const cpu = await on(cpuBackend, oneStep);
    const dev = await on(gpu!, oneStep);
    for (const [k, v] of Object.entries(cpu.losses[0]!)) {
      expect(Math.abs(dev.losses[0]![k]! - v), `${name} loss ${k}`).toBeLessThanOrEqual(2e-4 * (1 + Math.abs(v)));
    }
    for (const [k, b] of cpu.before) {
      // Initial weights: bitwise for uniform draws, within an ulp for normal draws (Box-Muller).
      const b2 = dev.before.get(k)!;
      const init = b.reduce((m, x, i) => Math.max(m, Math.abs(x - b2[i]!) / (1e-6 + Math.abs(x))), 0);
      expect(init, `${name} initial ${k}`).toBeLessThan(1e-5);
      const dc = cpu.after.get(k)!.map((x, i) => x - b[i]!);
      const dg = dev.after.get(k)!.map((x, i) => x - b2[i]!);
      const scale = dc.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      const worst = dc.reduce((m, x, i) => Math.max(m, Math.abs(x - dg[i]!)), 0);
      expect(worst, `${name} update of ${k} (largest ${scale})`).toBeLessThanOrEqual(1e-2 * scale + 1e-9);
    }
  });

  it.each(all)('%s: resumed after step 2 equals the uninterrupted run, bitwise', async (name) => {
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
