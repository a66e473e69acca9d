// The VAE objective: the negative ELBO (closed-form KL) by hand on a linear encoder and decoder,
// both likelihoods, gradient routing, the decoder-mean samples, ring steps and exact resume.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { valueAndGrad } from '../../src/autograd/transforms.js';
import { loadDataSource } from '../../src/gan/data.js';
import type { LossOutput, StepContext } from '../../src/gan/objective.js';
import { type VaeHyper, vae } from '../../src/gan/objectives/vae.js';
import { disposeLosses, GanTrainer } from '../../src/gan/trainer.js';
import type { Module } from '../../src/nn/module.js';
import { tensor } from '../../src/tensor/ops/convert.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { flattenTree, type ParamTree } from '../../src/tensor/tree.js';
import { bg, fakeImages, mean, softplus, Wg } from './reference.js';

// Linear nets (net.layers = 0, latent 1): E x(2) -> [mu, log sigma^2] = We x + be; G z -> Wg z + bg.
const We = [
  [0.5, -0.3],
  [0.2, 0.4],
];
const be = [0.1, -0.6];
const real = [
  [0.5, 0.2],
  [-0.4, 0.9],
  [0.3, -0.8],
];
const eps = [[0.3], [-1.1], [0.8]];

/** Hand forward pass: mu, log-variance, z and the decoder output of example i. */
function forward(i: number) {
  const x = real[i]!;
  const mu = We[0]![0]! * x[0]! + We[0]![1]! * x[1]! + be[0]!;
  const lv = We[1]![0]! * x[0]! + We[1]![1]! * x[1]! + be[1]!;
  const z = mu + Math.exp(lv / 2) * eps[i]![0]!;
  return { x, mu, lv, z, out: [Wg[0]![0]! * z + bg[0]!, Wg[1]![0]! * z + bg[1]!] };
}
const klHand = mean(
  real.map((_, i) => {
    const { mu, lv } = forward(i);
    return 0.5 * (mu * mu + Math.exp(lv) - 1 - lv);
  }),
);

async function fixture(set: Record<string, unknown> = {}) {
  const data = await loadDataSource('ring');
  const t = new GanTrainer({ objective: vae, data, seed: 0, set: { latentDim: 1, 'net.layers': 0, ...set } });
  t.nets.E!.setParameters({ '0': { weight: tensor(We), bias: tensor(be) } });
  t.nets.G!.setParameters({ '0': { weight: tensor(Wg), bias: tensor(bg) } });
  const draws = { real: tensor(real), eps: tensor(eps) };
  const ctx = (params: Record<string, ParamTree>): StepContext<VaeHyper> => t.context(draws, params);
  const update = t.objective.phases(t.hyper)[0]!.updates[0]!;
  const out = (o: LossOutput) =>
    o instanceof Tensor ? { loss: o, logs: {} as Record<string, Tensor> } : { logs: {}, ...o };
  return { t, ctx, update, out };
}

describe('vae objective (Kingma and Welling 2014)', () => {
  it('Gaussian likelihood: loss = mean sum [(x - G(z))^2 / 2s^2 + log s + log(2 pi) / 2] + mean KL, by hand', async () => {
    const { t, ctx, update, out } = await fixture({ observationStd: 0.5 });
    const s = 0.5;
    const nll = mean(
      real.map((_, i) => {
        const { x, out: o } = forward(i);
        return [0, 1].reduce(
          (a, d) => a + 0.5 * ((x[d]! - o[d]!) / s) ** 2 + Math.log(s) + 0.5 * Math.log(2 * Math.PI),
          0,
        );
      }),
    );
    const r = out(update.loss(ctx(t.params())));
    expect(await r.logs.kl!.item()).toBeCloseTo(klHand, 6);
    expect(await r.logs.reconstruction!.item()).toBeCloseTo(nll, 5);
    expect(await r.loss.item()).toBeCloseTo(nll + klHand, 5);
    t.dispose();
  });

  it('Bernoulli likelihood on (x + 1) / 2 with G(z) as logits: sum softplus(l) - t l, by hand', async () => {
    const { t, ctx, update, out } = await fixture({ likelihood: 'bernoulli' });
    const nll = mean(
      real.map((_, i) => {
        const { x, out: o } = forward(i);
        return [0, 1].reduce((a, d) => a + softplus(o[d]!) - ((x[d]! + 1) / 2) * o[d]!, 0);
      }),
    );
    const r = out(update.loss(ctx(t.params())));
    expect(await r.logs.reconstruction!.item()).toBeCloseTo(nll, 5);
    expect(await r.loss.item()).toBeCloseTo(nll + klHand, 5);
    // The sample is the decoder mean on the data's scale: 2 sigmoid(G(z)) - 1.
    const z = 0.4;
    const x = await t.objective
      .sample({ nets: t.nets, hyper: t.hyper, state: {}, data: t.data.info }, tensor([[z]]), t.rng)
      .data();
    const sig = (u: number) => 1 / (1 + Math.exp(-u));
    expect(x[0]).toBeCloseTo(2 * sig(Wg[0]![0]! * z + bg[0]!) - 1, 6);
    expect(x[1]).toBeCloseTo(2 * sig(Wg[1]![0]! * z + bg[1]!) - 1, 6);
    t.dispose();
  });

  it('one EG update steps E and G once; the KL gives G exactly zero gradient', async () => {
    const { t, ctx, update, out } = await fixture();
    expect(update.players).toEqual(['E', 'G']);
    const [, g] = valueAndGrad((p: Record<string, ParamTree>) => out(update.loss(ctx(p))).logs.kl!)(t.params());
    for (const [, x] of flattenTree(g.G!)) expect(Array.from(await x.data()).every((v) => v === 0)).toBe(true);
    const snap = async (m: Module) => Promise.all(m.namedParameters().map(async ([, x]) => Array.from(await x.data())));
    const tt = new GanTrainer({ objective: vae, data: t.data, seed: 2 });
    const before = { E: await snap(tt.nets.E!), G: await snap(tt.nets.G!) };
    disposeLosses(tt.step());
    expect(await snap(tt.nets.E!)).not.toEqual(before.E);
    expect(await snap(tt.nets.G!)).not.toEqual(before.G);
    expect(tt.optimizers.E!.stepCount).toBe(1);
    expect(tt.optimizers.G!.stepCount).toBe(1);
    tt.dispose();
    t.dispose();
  });

  it('builds E 2-128-128-20 and G 10-128-128-2 (tanh), Adam 1e-3; rejects bad options', async () => {
    const data = await loadDataSource('ring');
    const t = new GanTrainer({ objective: vae, data, seed: 1 });
    const shapes = (m: Module) => m.namedParameters().map(([n, x]) => `${n}:${x.shape.join('x')}`);
    expect(shapes(t.nets.E!)).toEqual([
      '0.weight:128x2',
      '0.bias:128',
      '2.weight:128x128',
      '2.bias:128',
      '4.weight:20x128',
      '4.bias:20',
    ]);
    expect(shapes(t.nets.G!)).toEqual([
      '0.weight:128x10',
      '0.bias:128',
      '2.weight:128x128',
      '2.bias:128',
      '4.weight:2x128',
      '4.bias:2',
    ]);
    expect(t.hyper.optimizers.E).toEqual({ kind: 'adam', lr: 1e-3, betas: [0.9, 0.999] });
    expect(t.hyper.likelihood).toBe('gaussian');
    expect(t.hyper.observationStd).toBe(0.1);
    t.dispose();
    expect(() => new GanTrainer({ objective: vae, data, set: { observationStd: 0 } })).toThrow(
      /observationStd must be a positive/,
    );
    expect(() => new GanTrainer({ objective: vae, data, set: { likelihood: 'poisson' } })).toThrow(
      /likelihood must be/,
    );
  });

  it('3 ring steps give finite losses; a run resumed from a checkpoint ends bitwise equal', async () => {
    const data = await loadDataSource('ring');
    const set = { batchSize: 16, latentDim: 4, 'net.hidden': 16 };
    const run = async (t: GanTrainer, n: number) => {
      const rows: number[][] = [];
      for (let i = 0; i < n; i++) {
        const l = t.step();
        rows.push(await Promise.all(Object.values(l).map(async (v) => (await v.data())[0]!)));
        disposeLosses(l);
      }
      return rows;
    };
    const full = new GanTrainer({ objective: vae, data, seed: 3, set });
    const rows = await run(full, 4);
    for (const r of rows.slice(0, 3)) for (const v of r) expect(Number.isFinite(v)).toBe(true);
    const first = new GanTrainer({ objective: vae, data, seed: 3, set });
    await run(first, 2);
    const bytes = await first.checkpoint();
    first.dispose();
    const resumed = new GanTrainer({ objective: vae, data, seed: 3, set });
    resumed.restore(bytes);
    expect(await run(resumed, 2)).toEqual(rows.slice(2));
    for (const p of ['E', 'G']) {
      const a = await Promise.all(full.nets[p]!.namedParameters().map(async ([, x]) => Array.from(await x.data())));
      const b = await Promise.all(resumed.nets[p]!.namedParameters().map(async ([, x]) => Array.from(await x.data())));
      expect(b).toEqual(a);
    }
    full.dispose();
    resumed.dispose();
  });
});

describe('vae on image data', () => {
  it('DCGAN decoder: Bernoulli reads its tanh output as the [-1, 1]-scaled mean; a step gives finite losses', async () => {
    const data = fakeImages();
    const t = new GanTrainer({
      objective: vae,
      data,
      seed: 0,
      set: { batchSize: 4, latentDim: 8, 'net.ngf': 4, 'net.hidden': 8, likelihood: 'bernoulli' },
    });
    const x = data.sample(2, t.rng).x;
    const eps = t.rng.normal([2, 8]);
    const r = t.objective.phases(t.hyper)[0]!.updates[0]!.loss(t.context({ real: x, eps }));
    const logs = (r as { logs: Record<string, Tensor> }).logs;
    // By hand from the same decoder output: p = (y + 1) / 2, t = (x + 1) / 2, -sum [t log p + (1 - t) log(1 - p)].
    const ctx = t.context({ real: x, eps });
    const [mu, lv] = [0, 1].map((k) => ctx.apply('E', x).slice([null, [k * 8, (k + 1) * 8]]));
    const y = await ctx.apply('G', mu!.add(lv!.mul(0.5).exp().mul(eps))).data();
    const xs = await x.data();
    let nll = 0;
    for (let i = 0; i < xs.length; i++) {
      const p = Math.min(Math.max((y[i]! + 1) / 2, 1e-6), 1 - 1e-6);
      const tt = (xs[i]! + 1) / 2;
      nll -= tt * Math.log(p) + (1 - tt) * Math.log(1 - p);
    }
    expect(Math.abs((await logs.reconstruction!.item()) / (nll / 2) - 1)).toBeLessThan(1e-5);
    const s = await t.sample(3).data();
    expect(s.every((v) => v >= -1 && v <= 1)).toBe(true);
    const l = t.step();
    for (const [k, v] of Object.entries(l)) expect(Number.isFinite((await v.data())[0]!), k).toBe(true);
    disposeLosses(l);
    t.dispose();
  });
});
