// WGAN-GP objective: hand-computed critic loss with the gradient penalty (tanh MLP critic, input
// gradient in closed form), second-order gradcheck in float64, gradient routing, ring steps, resume.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { valueAndGrad } from '../../src/autograd/transforms.js';
import { resolveHyper } from '../../src/gan/config.js';
import { loadDataSource } from '../../src/gan/data.js';
import type { LossOutput, StepContext } from '../../src/gan/objective.js';
import { type WganGpHyper, wganGp } from '../../src/gan/objectives/wgan-gp.js';
import { gradientPenalty } from '../../src/gan/penalties.js';
import { GanTrainer } from '../../src/gan/trainer.js';
import { mlp } from '../../src/nn/builders.js';
import { BatchNormBase } from '../../src/nn/layers.js';
import { functionalCall, type Module } from '../../src/nn/module.js';
import { Generator } from '../../src/random/generator.js';
import { tensor } from '../../src/tensor/ops/convert.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { flattenTree, type ParamTree } from '../../src/tensor/tree.js';
import { expectGradcheck, t64 } from '../helpers/gradcheck.js';
import {
  expectFiniteRows,
  expectPhaseMovesOnly,
  findUpdate,
  type Mat,
  mean,
  runAndCheckResume,
  stepContext,
  stepRows,
  z,
} from './reference.js';

const matvec = (W: Mat, x: number[], b: number[]) => W.map((row, o) => row.reduce((s, w, k) => s + w * x[k]!, b[o]!));

// Tanh MLPs with one hidden layer of 2: G z(1) -> 2 -> x(2); critic f x(2) -> 2 -> 1.
const G = {
  W1: [[0.6], [-1.1]],
  b1: [0.2, -0.1],
  W2: [
    [0.9, -0.4],
    [0.3, 1.2],
  ],
  b2: [0.1, -0.3],
};
const D = {
  W1: [
    [0.8, -0.5],
    [0.3, 0.9],
  ],
  b1: [0.1, -0.2],
  W2: [[1.1, -0.7]],
  b2: [0.05],
};
const real = [
  [1.4, 0.1],
  [-0.3, 1.9],
  [0.2, -1.2],
];
const alpha = [[0.25], [0.8], [0.5]];
const gJs = (zi: number[]) => matvec(G.W2, matvec(G.W1, zi, G.b1).map(Math.tanh), G.b2);
const fJs = (x: number[]) => matvec(D.W2, matvec(D.W1, x, D.b1).map(Math.tanh), D.b2)[0]!;
/** grad_x f(x) = W1^T (w2 * (1 - tanh^2(W1 x + b1))), by hand. */
const gradFJs = (x: number[]) => {
  const h = matvec(D.W1, x, D.b1);
  const s = h.map((hk, k) => D.W2[0]![k]! * (1 - Math.tanh(hk) ** 2));
  return [0, 1].map((i) => s.reduce((acc, sk, k) => acc + sk * D.W1[k]![i]!, 0));
};
const TINY_NETS = { latentDim: 1, batchSize: 3, 'net.layers': 1, 'net.hidden': 2, 'net.activation': 'tanh' };
const SMALL = { batchSize: 16, latentDim: 2, 'net.hidden': 16, 'net.layers': 2 };

const lin = (W: Mat, b: number[]) => ({ weight: tensor(W), bias: tensor(b) });

async function fixture(set: Record<string, unknown> = {}) {
  const data = await loadDataSource('ring');
  const t = new GanTrainer({ objective: wganGp, data, seed: 0, set: { ...TINY_NETS, ...set } });
  t.nets.G!.setParameters({ '0': lin(G.W1, G.b1), '2': lin(G.W2, G.b2) });
  t.nets.D!.setParameters({ '0': lin(D.W1, D.b1), '2': lin(D.W2, D.b2) });
  const draws = { real: tensor(real), z: tensor(z), alpha: tensor(alpha) };
  const ctx = (params: Record<string, ParamTree>) => stepContext(t.nets, t.hyper, params, draws);
  const update = (name: string) => findUpdate(t.objective, t.hyper, name);
  return { t, ctx, update };
}
const out = (o: LossOutput) =>
  o instanceof Tensor ? { loss: o, logs: {} as Record<string, Tensor> } : { logs: {}, ...o };

describe('wgan-gp objective (Gulrajani et al. 2017)', () => {
  it('critic loss mean f(G(z)) - mean f(x) + lambda mean (||grad f(xhat)|| - 1)^2, by hand', async () => {
    const fake = z.map(gJs);
    const xhat = real.map((x, i) => x.map((xj, j) => alpha[i]![0]! * xj + (1 - alpha[i]![0]!) * fake[i]![j]!));
    const penalty = mean(xhat.map((x) => (Math.hypot(...gradFJs(x)) - 1) ** 2));
    const w = mean(fake.map(fJs)) - mean(real.map(fJs));
    for (const lambda of [0.1, 10]) {
      const { t, ctx, update } = await fixture({ lambda });
      const r = out(update('D').loss(ctx(t.params())));
      expect(await r.logs.penalty!.item()).toBeCloseTo(penalty, 6);
      expect(await r.logs.wasserstein!.item()).toBeCloseTo(w, 6);
      expect(await r.loss.item()).toBeCloseTo(w + lambda * penalty, 5);
      const g = out(update('G').loss(ctx(t.params())));
      expect(await g.loss.item()).toBeCloseTo(-mean(fake.map(fJs)), 6);
      t.dispose();
    }
  });

  it('the penalty of a linear critic f(x) = w.x + b is (||w|| - 1)^2 whatever alpha is', async () => {
    const w = [0.3, -2.0];
    const p = gradientPenalty(
      (x) =>
        x
          .mul(tensor([w]))
          .sum(1)
          .add(0.7),
      tensor(real),
      tensor([
        [0, 0],
        [5, 5],
        [-1, 2],
      ]),
      tensor(alpha),
    );
    expect(await p.penalty.item()).toBeCloseTo((Math.hypot(...w) - 1) ** 2, 6);
    expect(Array.from(await p.slopes.data()).map((s) => Number(s.toFixed(6)))).toEqual(
      Array(3).fill(Number(Math.hypot(...w).toFixed(6))),
    );
  });

  it('second order: the critic loss gradient w.r.t. the critic parameters matches finite differences (float64)', async () => {
    const { t, ctx, update } = await fixture({ lambda: 10 });
    const g64 = {
      '0': { weight: t64(G.W1.flat(), [2, 1]), bias: t64(G.b1, [2]) },
      '2': { weight: t64(G.W2.flat(), [2, 2]), bias: t64(G.b2, [2]) },
    };
    const draws64 = { real: t64(real.flat(), [3, 2]), z: t64(z.flat(), [3, 1]), alpha: t64(alpha.flat(), [3, 1]) };
    // Float64 twins of the tiny nets (a Linear checks its input against its own parameters' dtype).
    const nets64 = {
      G: mlp([1, 2, 2], { activation: 'tanh', dtype: 'float64', rng: new Generator(0) }),
      D: mlp([2, 2, 1], { activation: 'tanh', dtype: 'float64', rng: new Generator(0) }),
    };
    const loss = (w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) => {
      const params = { G: g64, D: { '0': { weight: w1, bias: b1 }, '2': { weight: w2, bias: b2 } } };
      const c: StepContext<WganGpHyper> = {
        ...ctx(params),
        draws: draws64,
        apply: (p, x, o) => functionalCall(nets64[p as 'G' | 'D'], params[p as 'G' | 'D'], x, o),
      };
      return out(update('D').loss(c)).loss;
    };
    const inputs = [t64(D.W1.flat(), [2, 2]), t64(D.b1, [2]), t64(D.W2.flat(), [1, 2]), t64(D.b2, [1])];
    expect(loss(inputs[0]!, inputs[1]!, inputs[2]!, inputs[3]!).dtype).toBe('float64');
    const r = expectGradcheck(loss, inputs, { label: 'wgan-gp critic loss', atol: 1e-7, rtol: 1e-6 });
    // The penalty really contributes a second-order term: its gradient alone is not zero.
    const pen = (w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) =>
      gradientPenalty(
        (x) => functionalCall(nets64.D, { '0': { weight: w1, bias: b1 }, '2': { weight: w2, bias: b2 } }, x),
        draws64.real,
        t64(z.flatMap(gJs), [3, 2]),
        draws64.alpha,
      ).penalty;
    const rp = expectGradcheck(pen, inputs, { label: 'gradient penalty', atol: 1e-7, rtol: 1e-6 });
    expect(rp.analytic[0]!.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    expect(r.ok && rp.ok).toBe(true);
    for (const n of Object.values(nets64)) n.dispose();
    t.dispose();
  });

  it('gradients: the critic loss (penalty included) gives G exactly zero; each phase moves only its player', async () => {
    const { t, ctx, update } = await fixture();
    const [, gD] = valueAndGrad((p: Record<string, ParamTree>) => out(update('D').loss(ctx(p))).loss)(t.params());
    for (const [, g] of flattenTree(gD.G!)) expect(Array.from(await g.data()).every((v) => v === 0)).toBe(true);
    expect(flattenTree(gD.D!).some(([, g]) => g.dataSync().some((v) => v !== 0))).toBe(true);
    for (const [k, moved, still, steps] of [
      [1, 'D', 'G', 5],
      [2, 'G', 'D', 1],
    ] as const) {
      await expectPhaseMovesOnly({ objective: wganGp, data: t.data, seed: 2, set: SMALL }, k, moved, still, steps);
    }
    t.dispose();
  });

  it('3 steps on the ring give finite losses (both orders); resuming after step 2 is bitwise the uninterrupted run', async () => {
    const data = await loadDataSource('ring');
    for (const order of ['critic-first', 'generator-first']) {
      const t = new GanTrainer({ objective: wganGp, data, seed: 1, set: { ...SMALL, order } });
      const rows = await stepRows(t, 3);
      expectFiniteRows(rows);
      expect(Object.keys(rows[2]!).sort()).toEqual(['D', 'D/penalty', 'D/wasserstein', 'G']);
      expect(t.optimizers.D!.stepCount).toBe(15);
      expect(t.optimizers.G!.stepCount).toBe(order === 'critic-first' ? 3 : 2);
      t.dispose();
    }
    await runAndCheckResume({ objective: wganGp, data, seed: 5, set: SMALL });
  });

  it('defaults: the toy script (3x512 ReLU, z 2, batch 256, lambda 0.1, Adam 1e-4 (0.5, 0.9), 5 critic steps); images lambda 10, no critic BatchNorm', async () => {
    const v = resolveHyper(wganGp, { shape: [2], kind: 'vector' });
    expect([v.batchSize, v.latentDim, v.net.hidden, v.net.layers, v.net.activation]).toEqual([256, 2, 512, 3, 'relu']);
    expect([v.lambda, v.nCritic, v.order]).toEqual([0.1, 5, 'critic-first']);
    expect(v.optimizers.D).toEqual({ kind: 'adam', lr: 1e-4, betas: [0.5, 0.9] });
    expect(v.optimizers.G).toEqual({ kind: 'adam', lr: 1e-4, betas: [0.5, 0.9] });
    const img = { shape: [1, 28, 28], kind: 'image' } as const;
    const hi = resolveHyper(wganGp, img, { 'net.ndf': 4, 'net.ngf': 4, batchSize: 2 });
    expect(hi.lambda).toBe(10);
    const nets = wganGp.build(img, hi, new Generator(0));
    const mods: Module[] = [];
    const walk = (m: Module) => {
      mods.push(m);
      for (const [, c] of m.children()) walk(c);
    };
    walk(nets.D!);
    expect(mods.some((m) => m instanceof BatchNormBase)).toBe(false);
    // The penalty runs through the convolutional critic (second order through conv layers).
    const x = new Generator(1).normal([2, 1, 28, 28]);
    const f = (p: ParamTree) =>
      gradientPenalty((u) => functionalCall(nets.D!, p, u), x, x.mul(0.5), tensor([[[[0.3]]], [[[0.7]]]])).penalty;
    const [pv, pg] = valueAndGrad(f)(nets.D!.parameters());
    expect(f(nets.D!.parameters()).shape).toEqual([]);
    expect(Number.isFinite(await pv.item())).toBe(true);
    expect(flattenTree(pg).some(([, g]) => g.dataSync().some((u) => u !== 0))).toBe(true);
    for (const n of Object.values(nets)) n.dispose();
  });
});
