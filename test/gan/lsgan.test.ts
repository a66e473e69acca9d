// LSGAN objective: hand-computed least-squares losses for both codings on linear nets with fixed
// weights, gradient routing per phase, ring steps, exact resume and the defaults.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { valueAndGrad } from '../../src/autograd/transforms.js';
import { resolveHyper } from '../../src/gan/config.js';
import { loadDataSource } from '../../src/gan/data.js';
import { lsgan } from '../../src/gan/objectives/lsgan.js';
import { GanTrainer } from '../../src/gan/trainer.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { flattenTree, type ParamTree } from '../../src/tensor/tree.js';
import {
  dJs,
  expectFiniteRows,
  expectPhaseMovesOnly,
  gJs,
  linearFixture,
  lossOf,
  mean,
  real,
  runAndCheckResume,
  stepRows,
  Wd,
  z,
} from './reference.js';

// Linear nets (net.layers = 0): G z(1) -> x(2) = Wg z + bg; D(x) = Wd . x + bd (raw output).
const SMALL = { batchSize: 16, latentDim: 4, 'net.hidden': 16 };

const fixture = (set: Record<string, unknown> = {}) => linearFixture(lsgan, { batchSize: 3, ...set });

describe('lsgan objective (Mao et al. 2017)', () => {
  for (const [coding, a, b, c] of [
    ['0-1', 0, 1, 1],
    ['-1-1-0', -1, 1, 0],
  ] as const) {
    it(`coding ${coding}: L_D = 1/2 mean (D(x) - ${b})^2 + 1/2 mean (D(G(z)) - ${a})^2, L_G = 1/2 mean (D(G(z)) - ${c})^2, by hand`, async () => {
      const { t, ctx, update } = await fixture({ coding });
      const fake = z.map(gJs);
      const ld = 0.5 * mean(real.map((x) => (dJs(x) - b) ** 2)) + 0.5 * mean(fake.map((x) => (dJs(x) - a) ** 2));
      const lg = 0.5 * mean(fake.map((x) => (dJs(x) - c) ** 2));
      expect(await lossOf(update('D').loss(ctx(t.params()))).item()).toBeCloseTo(ld, 6);
      expect(await lossOf(update('G').loss(ctx(t.params()))).item()).toBeCloseTo(lg, 6);
      // d L_G / d bg = mean (D(G(z)) - c) * Wd, by hand; the D loss gives G exactly zero.
      const [, gG] = valueAndGrad((p: Record<string, ParamTree>) => lossOf(update('G').loss(ctx(p))))(t.params());
      const r = mean(fake.map((x) => dJs(x) - c));
      const gb = Array.from(await ((gG.G!['0'] as ParamTree).bias as Tensor).data());
      expect(gb[0]).toBeCloseTo(r * Wd[0]![0]!, 6);
      expect(gb[1]).toBeCloseTo(r * Wd[0]![1]!, 6);
      const [, gD] = valueAndGrad((p: Record<string, ParamTree>) => lossOf(update('D').loss(ctx(p))))(t.params());
      for (const [, g] of flattenTree(gD.G!)) expect(Array.from(await g.data()).every((v) => v === 0)).toBe(true);
      // d L_D / d bd = mean (D(x) - b) + mean (D(G(z)) - a).
      const gbd = await ((gD.D!['0'] as ParamTree).bias as Tensor).item();
      expect(gbd).toBeCloseTo(mean(real.map((x) => dJs(x) - b)) + mean(fake.map((x) => dJs(x) - a)), 6);
      t.dispose();
    });
  }

  it('each phase moves only its player', async () => {
    const data = await loadDataSource('ring');
    for (const [k, moved, still] of [
      [1, 'D', 'G'],
      [2, 'G', 'D'],
    ] as const) {
      await expectPhaseMovesOnly({ objective: lsgan, data: data, seed: 2, set: SMALL }, k, moved, still);
    }
  });

  it('3 steps on the ring give finite losses (both codings); resuming after step 2 is bitwise the uninterrupted run', async () => {
    const data = await loadDataSource('ring');
    for (const coding of ['0-1', '-1-1-0']) {
      const t = new GanTrainer({ objective: lsgan, data, seed: 1, set: { ...SMALL, coding } });
      expectFiniteRows(await stepRows(t, 3));
      t.dispose();
    }
    await runAndCheckResume({ objective: lsgan, data, seed: 5, set: SMALL });
  });

  it('defaults: the official mixture-of-Gaussians script for vectors, Adam 2e-4 (beta1 0.5) for images; coding 0-1', () => {
    const v = resolveHyper(lsgan, { shape: [2], kind: 'vector' });
    expect(v.coding).toBe('0-1');
    expect([v.batchSize, v.latentDim, v.net.hidden, v.net.layers, v.net.activation]).toEqual([
      512,
      256,
      128,
      2,
      'tanh',
    ]);
    expect(v.optimizers.D).toEqual({ kind: 'adam', lr: 1e-4, betas: [0.5, 0.999] });
    expect(v.optimizers.G).toEqual({ kind: 'adam', lr: 1e-3, betas: [0.5, 0.999] });
    const img = resolveHyper(lsgan, { shape: [1, 28, 28], kind: 'image' });
    expect(img.optimizers.D).toEqual({ kind: 'adam', lr: 2e-4, betas: [0.5, 0.999] });
    expect(() => resolveHyper(lsgan, { shape: [2], kind: 'vector' }, { coding: 'x' })).toThrow(/coding/);
  });
});
