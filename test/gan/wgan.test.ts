// WGAN objective: hand-computed critic and G losses, weight clipping after each critic step, the
// critic schedules and orders, gradient routing, ring steps and exact resume.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { valueAndGrad } from '../../src/autograd/transforms.js';
import { resolveHyper } from '../../src/gan/config.js';
import { loadDataSource } from '../../src/gan/data.js';
import type { Objective } from '../../src/gan/objective.js';
import { type WganHyper, wgan } from '../../src/gan/objectives/wgan.js';
import { disposeLosses, GanTrainer } from '../../src/gan/trainer.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { flattenTree, type ParamTree } from '../../src/tensor/tree.js';
import {
  bd,
  expectFiniteRows,
  expectPhaseMovesOnly,
  gJs,
  linearFixture,
  lossOf,
  mean,
  paramSnapshot,
  real,
  runAndCheckResume,
  stepRows,
  Wd,
  z,
} from './reference.js';

// Linear nets (net.layers = 0): G z(1) -> x(2) = Wg z + bg; critic f(x) = Wd . x + bd.
const fJs = (x: number[]) => Wd[0]![0]! * x[0]! + Wd[0]![1]! * x[1]! + bd[0]!;
const SMALL = { batchSize: 16, latentDim: 2, 'net.hidden': 16, 'net.layers': 2 };

const fixture = () => linearFixture(wgan, { batchSize: 3 });

describe('wgan objective (Arjovsky et al. 2017)', () => {
  it('critic loss mean f(G(z)) - mean f(x) and G loss -mean f(G(z)) on raw outputs, by hand', async () => {
    const { t, ctx, update } = await fixture();
    const fake = z.map(gJs);
    expect(await lossOf(update('D').loss(ctx(t.params()))).item()).toBeCloseTo(
      mean(fake.map(fJs)) - mean(real.map(fJs)),
      6,
    );
    expect(await lossOf(update('G').loss(ctx(t.params()))).item()).toBeCloseTo(-mean(fake.map(fJs)), 6);
    // d/dbg of -mean f(G(z)) = -Wd; the critic loss gives G exactly zero (G(z) detached).
    const [, gG] = valueAndGrad((p: Record<string, ParamTree>) => lossOf(update('G').loss(ctx(p))))(t.params());
    const gb = Array.from(await ((gG.G!['0'] as ParamTree).bias as Tensor).data());
    expect(gb[0]).toBeCloseTo(-Wd[0]![0]!, 6);
    expect(gb[1]).toBeCloseTo(-Wd[0]![1]!, 6);
    const [, gD] = valueAndGrad((p: Record<string, ParamTree>) => lossOf(update('D').loss(ctx(p))))(t.params());
    for (const [, g] of flattenTree(gD.G!)) expect(Array.from(await g.data()).every((v) => v === 0)).toBe(true);
    // d/dbd = 0 (the bias cancels); d/dWd = mean G(z) - mean x.
    const gw = Array.from(await ((gD.D!['0'] as ParamTree).weight as Tensor).data());
    for (const j of [0, 1]) expect(gw[j]).toBeCloseTo(mean(fake.map((x) => x[j]!)) - mean(real.map((x) => x[j]!)), 6);
    t.dispose();
  });

  it('clips every critic weight to [-c, c] after each critic step (c = 0.01 by default)', async () => {
    const data = await loadDataSource('ring');
    for (const c of [0.01, 0.05]) {
      const t = new GanTrainer({ objective: wgan, data, seed: 3, set: { ...SMALL, clip: c } });
      const before = await paramSnapshot(t);
      expect([...before].filter(([k]) => k.startsWith('D.')).some(([, v]) => v.some((x) => Math.abs(x) > c))).toBe(
        true,
      );
      // Only the critic phase: the last thing that touched D is a critic step, then the clip.
      const cut: Objective<WganHyper> = { ...wgan, phases: (h) => wgan.phases(h).slice(0, 1) };
      const tc = new GanTrainer({ objective: cut, data, seed: 3, set: { ...SMALL, clip: c } });
      disposeLosses(tc.step());
      disposeLosses(t.step());
      const bound = Math.fround(c);
      for (const tr of [tc, t]) {
        const s = await paramSnapshot(tr);
        const dw = [...s].filter(([k]) => k.startsWith('D.')).flatMap(([, v]) => Array.from(v));
        expect(dw.length).toBeGreaterThan(0);
        expect(dw.every((x) => x >= -bound && x <= bound)).toBe(true);
        expect(dw.some((x) => Math.abs(x) === bound)).toBe(true);
      }
      expect(tc.optimizers.D!.stepCount).toBe(5);
      expect(tc.optimizers.G!.stepCount).toBe(0);
      t.dispose();
      tc.dispose();
    }
  });

  it('each phase moves only its player; the G phase does not touch the critic', async () => {
    const data = await loadDataSource('ring');
    for (const [k, moved, still, steps] of [
      [1, 'D', 'G', 5],
      [2, 'G', 'D', 1],
    ] as const) {
      await expectPhaseMovesOnly({ objective: wgan, data: data, seed: 2, set: SMALL }, k, moved, still, steps);
    }
  });

  it('critic schedules: 5 per G step (Algorithm 1), or the reference code 100 for the first 25 and every 500th; orders', () => {
    const h = resolveHyper(wgan, { shape: [2], kind: 'vector' });
    const [d, g] = wgan.phases(h);
    expect([d!.name, g!.name]).toEqual(['D', 'G']);
    expect([0, 24, 25, 500].map((s) => d!.repeat!(s, h))).toEqual([5, 5, 5, 5]);
    const r = { ...h, criticSchedule: 'reference-code' as const };
    expect([0, 24, 25, 499, 500, 501, 1000].map((s) => wgan.phases(r)[0]!.repeat!(s, r))).toEqual([
      100, 100, 5, 5, 100, 5, 100,
    ]);
    const gf = { ...h, order: 'generator-first' as const };
    const [g2, d2] = wgan.phases(gf);
    expect([g2!.name, d2!.name]).toEqual(['G', 'D']);
    expect([0, 1, 2].map((s) => g2!.repeat!(s, gf))).toEqual([0, 1, 1]);
    const before = { ...h, clipAt: 'before' as const };
    const [db] = wgan.phases(before);
    expect([db!.before !== undefined, db!.after !== undefined]).toEqual([true, false]);
    expect([d!.before !== undefined, d!.after !== undefined]).toEqual([false, true]);
  });

  it('3 steps on the ring give finite losses; resuming after step 2 is bitwise the uninterrupted run', async () => {
    const data = await loadDataSource('ring');
    for (const set of [{}, { order: 'generator-first', clipAt: 'before' }]) {
      const t = new GanTrainer({ objective: wgan, data, seed: 1, set: { ...SMALL, ...set } });
      expectFiniteRows(await stepRows(t, 3));
      expect(t.optimizers.D!.stepCount).toBe(15);
      t.dispose();
    }
    await runAndCheckResume({ objective: wgan, data, seed: 5, set: SMALL });
  });

  it('defaults: RMSprop 5e-5, c = 0.01, n_critic = 5 (Algorithm 1); the toy script nets; DCGAN nets for images', () => {
    const v = resolveHyper(wgan, { shape: [2], kind: 'vector' });
    expect([v.clip, v.nCritic, v.clipAt, v.criticSchedule, v.order]).toEqual([
      0.01,
      5,
      'after',
      'algorithm-1',
      'critic-first',
    ]);
    expect(v.optimizers.D).toEqual({ kind: 'rmsprop', lr: 5e-5, alpha: 0.99, eps: 1e-8 });
    expect(v.optimizers.G).toEqual({ kind: 'rmsprop', lr: 5e-5, alpha: 0.99, eps: 1e-8 });
    expect([v.batchSize, v.latentDim, v.net.hidden, v.net.layers, v.net.activation]).toEqual([256, 2, 512, 3, 'relu']);
    const img = resolveHyper(wgan, { shape: [1, 28, 28], kind: 'image' });
    expect([img.batchSize, img.latentDim]).toEqual([64, 100]);
    expect(() => resolveHyper(wgan, { shape: [2], kind: 'vector' }, { clip: -1 })).toThrow(/clip/);
  });
});
