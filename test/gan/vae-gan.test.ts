// The VAE/GAN objective: its three losses by hand on tiny tanh nets, D's feature layer, the
// balancing rule and its gate, gradient routing, ring steps and exact resume.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { valueAndGrad } from '../../src/autograd/transforms.js';
import { loadDataSource } from '../../src/gan/data.js';
import type { LossOutput } from '../../src/gan/objective.js';
import { discriminatorFeatures, vaeGan, vaeGanBalance } from '../../src/gan/objectives/vae-gan.js';
import { disposeLosses, GanTrainer } from '../../src/gan/trainer.js';
import type { Module } from '../../src/nn/module.js';
import { tensor } from '../../src/tensor/ops/convert.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { flattenTree, type ParamTree } from '../../src/tensor/tree.js';
import { fakeImages, mean, sigmoid } from './reference.js';

const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
type M = number[][];
const affine = (W: M, b: number[], x: number[]) => W.map((row, i) => sum(row.map((w, j) => w * x[j]!)) + b[i]!);
const tanhV = (v: number[]) => v.map(Math.tanh);

// One hidden tanh layer of 2 units everywhere (latent 1): E 2-2-2, G 1-2-2, D 2-2-1.
const E1 = {
  W: [
    [0.5, -0.3],
    [0.2, 0.4],
  ],
  b: [0.1, -0.2],
};
const E2 = {
  W: [
    [0.6, -0.5],
    [0.3, 0.7],
  ],
  b: [0.05, -0.4],
};
const G1 = { W: [[0.9], [-0.6]], b: [0.2, 0.1] };
const G2 = {
  W: [
    [1.1, -0.4],
    [0.3, 0.8],
  ],
  b: [0.1, -0.2],
};
const D1 = {
  W: [
    [0.8, -0.5],
    [0.4, 0.9],
  ],
  b: [-0.1, 0.2],
};
const D2 = { W: [[1.2, -0.7]], b: [0.3] };
const real = [
  [0.5, 0.2],
  [-0.4, 0.9],
  [0.3, -0.8],
];
const eps = [[0.3], [-1.1], [0.8]];
const zPrior = [[-0.5], [1.3], [0.2]];
const LOG_EPS = 1e-3;

const enc = (x: number[]) => affine(E2.W, E2.b, tanhV(affine(E1.W, E1.b, x)));
const gen = (z: number) => affine(G2.W, G2.b, tanhV(affine(G1.W, G1.b, [z])));
const feat = (x: number[]) => tanhV(affine(D1.W, D1.b, x));
const logit = (x: number[]) => affine(D2.W, D2.b, feat(x))[0]!;
const codes = real.map((x, i) => {
  const [mu, lv] = enc(x) as [number, number];
  return { mu, lv, z: mu + Math.exp(lv / 2) * eps[i]![0]! };
});
const KL = mean(codes.map(({ mu, lv }) => 0.5 * (mu * mu + Math.exp(lv) - 1 - lv)));
const RECON = mean(
  real.map((x, i) => {
    const fx = feat(x);
    const ft = feat(gen(codes[i]!.z));
    return sum(fx.map((v, k) => 0.5 * (v - ft[k]!) ** 2 + HALF_LOG_2PI));
  }),
);
const fakeZ = (withRecon: boolean) => [...(withRecon ? codes.map((c) => c.z) : []), ...zPrior.map((z) => z[0]!)];
const log1mD = (z: number) => Math.log(1 - sigmoid(logit(gen(z))) + LOG_EPS);
const REAL_COST = mean(real.map((x) => -Math.log(sigmoid(logit(x)) + LOG_EPS)));
const fakeCost = (withRecon: boolean) => mean(fakeZ(withRecon).map((z) => -log1mD(z)));
const ganTerm = (withRecon: boolean) => sum(fakeZ(withRecon).map(log1mD)) / real.length;

const layer = (p: { W: M; b: number[] }) => ({ weight: tensor(p.W), bias: tensor(p.b) });

async function fixture(set: Record<string, unknown> = {}) {
  const data = await loadDataSource('ring');
  const t = new GanTrainer({
    objective: vaeGan,
    data,
    seed: 0,
    set: { latentDim: 1, 'net.layers': 1, 'net.hidden': 2, 'net.activation': 'tanh', ...set },
  });
  t.nets.E!.setParameters({ '0': layer(E1), '2': layer(E2) });
  t.nets.G!.setParameters({ '0': layer(G1), '2': layer(G2) });
  t.nets.D!.setParameters({ '0': layer(D1), '2': layer(D2) });
  const draws = { real: tensor(real), eps: tensor(eps), zPrior: tensor(zPrior) };
  const phase = t.objective.phases(t.hyper)[0]!;
  const update = (name: string) => phase.updates.find((u) => u.name === name)!;
  const out = (o: LossOutput) =>
    o instanceof Tensor ? { loss: o, logs: {} as Record<string, Tensor> } : { logs: {}, ...o };
  /** Update `name`'s loss (or log `key`) at `params`, and its gradient w.r.t. every player. */
  const lossAndGrad = (name: string, params: Record<string, ParamTree>, key?: string) =>
    valueAndGrad((p: Record<string, ParamTree>) => {
      const r = out(update(name).loss(t.context(draws, p)));
      return key === undefined ? r.loss : r.logs[key]!;
    })(params);
  return { t, draws, phase, update, out, lossAndGrad };
}

const allZero = async (tree: ParamTree) => {
  for (const [, g] of flattenTree(tree)) if (!Array.from(await g.data()).every((v) => v === 0)) return false;
  return true;
};

describe('vae-gan objective (Larsen et al. 2016)', () => {
  it("D's features are the last hidden layer's activations", async () => {
    const { t } = await fixture();
    const f = await discriminatorFeatures(t.nets.D!, t.nets.D!.parameters(), tensor(real)).data();
    real.forEach((x, i) => {
      const fx = feat(x);
      expect(f[2 * i]).toBeCloseTo(fx[0]!, 6);
      expect(f[2 * i + 1]).toBeCloseTo(fx[1]!, 6);
    });
    t.dispose();
  });

  it('E loss = KL + Gaussian NLL of Dis_l(x) under Dis_l(G(z)), by hand', async () => {
    const { t, out, update, draws } = await fixture();
    const r = out(update('E').loss(t.context(draws)));
    expect(await r.logs.kl!.item()).toBeCloseTo(KL, 6);
    expect(await r.logs.reconstruction!.item()).toBeCloseTo(RECON, 6);
    expect(await r.loss.item()).toBeCloseTo(KL + RECON, 6);
    t.dispose();
  });

  it('G loss = w recon + (1 - w) sum log(1 - D(G(z)) + 1e-3) / n; fakes add reconstructions as an option', async () => {
    for (const [w, withRecon] of [
      [1e-6, false],
      [0.3, false],
      [0.3, true],
    ] as const) {
      const { t, out, update, draws } = await fixture({ reconVsGanWeight: w, discriminateReconstructions: withRecon });
      const r = out(update('G').loss(t.context(draws)));
      expect(await r.logs.gan!.item()).toBeCloseTo(ganTerm(withRecon), 6);
      expect(await r.loss.item()).toBeCloseTo(w * RECON + (1 - w) * ganTerm(withRecon), 6);
      t.dispose();
    }
  });

  it('D loss = 0.5 real cost + 0.5 fake cost with -log(D + 1e-3) costs, logged for the rule', async () => {
    for (const withRecon of [false, true]) {
      const { t, out, update, draws } = await fixture({ discriminateReconstructions: withRecon });
      const r = out(update('D').loss(t.context(draws)));
      expect(await r.logs.real!.item()).toBeCloseTo(REAL_COST, 6);
      expect(await r.logs.fake!.item()).toBeCloseTo(fakeCost(withRecon), 6);
      expect(await r.loss.item()).toBeCloseTo(0.5 * REAL_COST + 0.5 * fakeCost(withRecon), 6);
      t.dispose();
    }
  });

  it('balancing rule: skip D below 0.33, skip G above 1.03, both when both would be skipped', async () => {
    const h = { equilibrium: 0.68, margin: 0.35 };
    expect(vaeGanBalance(0.7, 0.69, h)).toEqual({ D: true, G: true });
    expect(vaeGanBalance(0.2, 0.7, h)).toEqual({ D: false, G: true });
    expect(vaeGanBalance(0.7, 0.3, h)).toEqual({ D: false, G: true });
    expect(vaeGanBalance(1.1, 0.7, h)).toEqual({ D: true, G: false });
    expect(vaeGanBalance(0.5, 1.5, h)).toEqual({ D: true, G: false });
    expect(vaeGanBalance(0.2, 1.5, h)).toEqual({ D: true, G: true });
    const { t, phase } = await fixture();
    const pc = {
      nets: t.nets,
      data: t.data.info,
      hyper: t.hyper,
      state: {},
      step: 0,
      rng: t.rng,
      sampleReal: () => tensor(real),
    };
    expect(phase.gate!({ 'D/real': 0.2, 'D/fake': 0.7 }, pc)).toEqual({ D: false, G: true });
    expect(phase.gate!({ 'D/real': 0.6, 'D/fake': 1.2 }, pc)).toEqual({ D: true, G: false });
    t.dispose();
    const off = await fixture({ balance: false });
    expect(off.phase.gate!({ 'D/real': 0.2, 'D/fake': 0.7 }, pc)).toEqual({});
    off.t.dispose();
  });

  it('gradients: the recon path gives D zero, the GAN terms give E zero', async () => {
    const { t, lossAndGrad } = await fixture({ discriminateReconstructions: true, reconVsGanWeight: 0 });
    const all = t.params();
    const [, gE] = lossAndGrad('E', all);
    expect(await allZero(gE.D!)).toBe(true);
    expect(await allZero(gE.E!)).toBe(false);
    const [, gRecon] = lossAndGrad('G', all, 'reconstruction');
    expect(await allZero(gRecon.D!)).toBe(true);
    // w = 0: G's loss is the GAN term alone, on prior samples and reconstructions: nothing reaches E.
    const [, gG] = lossAndGrad('G', all);
    expect(await allZero(gG.E!)).toBe(true);
    expect(await allZero(gG.G!)).toBe(false);
    const [, gD] = lossAndGrad('D', all);
    expect(await allZero(gD.E!)).toBe(true);
    expect(await allZero(gD.G!)).toBe(true);
    expect(await allZero(gD.D!)).toBe(false);
    t.dispose();
  });

  it('one trainer step: E always steps; the gate decides D and G from the costs', async () => {
    const data = await loadDataSource('ring');
    const snap = async (m: Module) => Promise.all(m.namedParameters().map(async ([, x]) => Array.from(await x.data())));
    for (const [set, steps] of [
      [{}, { E: 1, G: 1, D: 1 }], // costs near log 2: both step
      [
        { equilibrium: 5, margin: 0.1 },
        { E: 1, G: 1, D: 0 },
      ], // costs below 4.9: D skipped
      [
        { equilibrium: -5, margin: 0.1 },
        { E: 1, G: 0, D: 1 },
      ], // costs above -4.9: G skipped
    ] as const) {
      const t = new GanTrainer({ objective: vaeGan, data, seed: 2, set });
      const before = { E: await snap(t.nets.E!), G: await snap(t.nets.G!), D: await snap(t.nets.D!) };
      const l = t.step();
      for (const p of ['E', 'G', 'D'] as const) {
        expect(t.optimizers[p]!.stepCount, `${JSON.stringify(set)} ${p}`).toBe(steps[p]);
        if (steps[p] === 1) expect(await snap(t.nets[p]!)).not.toEqual(before[p]);
        else expect(await snap(t.nets[p]!)).toEqual(before[p]);
      }
      expect((await l['D/stepped']!.data())[0]).toBe(steps.D);
      expect((await l['G/stepped']!.data())[0]).toBe(steps.G);
      disposeLosses(l);
      t.dispose();
    }
  });

  it('defaults: RMSprop 0.025 / 64, w 1e-6, real weight 0.5, rule 0.68 +- 0.35; image preset z 128', async () => {
    const t = new GanTrainer({ objective: vaeGan, data: await loadDataSource('ring'), seed: 1 });
    expect(t.hyper.optimizers.D).toEqual({ kind: 'rmsprop', lr: 0.025 / 64, alpha: 0.9 });
    expect([t.hyper.reconVsGanWeight, t.hyper.realVsGenWeight, t.hyper.equilibrium, t.hyper.margin]).toEqual([
      1e-6, 0.5, 0.68, 0.35,
    ]);
    expect(t.hyper.discriminateReconstructions).toBe(false);
    expect(t.hyper.batchSize).toBe(64);
    expect(vaeGan.presets?.image?.latentDim).toBe(128);
    expect(() => new GanTrainer({ objective: vaeGan, data: t.data, set: { reconVsGanWeight: 2 } })).toThrow(
      /reconVsGanWeight must be in \[0, 1\]/,
    );
    t.dispose();
  });

  it('3 ring steps give finite losses; a run resumed from a checkpoint ends bitwise equal', async () => {
    const data = await loadDataSource('ring');
    const set = { batchSize: 16, latentDim: 4, 'net.hidden': 16 };
    const run = async (t: GanTrainer, n: number) => {
      const rows: Record<string, number>[] = [];
      for (let i = 0; i < n; i++) {
        const l = t.step();
        const row: Record<string, number> = {};
        for (const [k, v] of Object.entries(l)) row[k] = (await v.data())[0]!;
        rows.push(row);
        disposeLosses(l);
      }
      return rows;
    };
    const full = new GanTrainer({ objective: vaeGan, data, seed: 3, set });
    const rows = await run(full, 4);
    for (const r of rows.slice(0, 3)) for (const v of Object.values(r)) expect(Number.isFinite(v)).toBe(true);
    const first = new GanTrainer({ objective: vaeGan, data, seed: 3, set });
    await run(first, 2);
    const bytes = await first.checkpoint();
    first.dispose();
    const resumed = new GanTrainer({ objective: vaeGan, data, seed: 3, set });
    resumed.restore(bytes);
    expect(await run(resumed, 2)).toEqual(rows.slice(2));
    for (const p of ['E', 'G', 'D']) {
      const a = await Promise.all(full.nets[p]!.namedParameters().map(async ([, x]) => Array.from(await x.data())));
      const b = await Promise.all(resumed.nets[p]!.namedParameters().map(async ([, x]) => Array.from(await x.data())));
      expect(b).toEqual(a);
      expect(resumed.optimizers[p]!.stepCount).toBe(full.optimizers[p]!.stepCount);
    }
    full.dispose();
    resumed.dispose();
  });
});

describe('vae-gan on image data', () => {
  it('DCGAN D features before the last conv; one step on 28x28 images moves every player, finite losses', async () => {
    const data = fakeImages();
    const t = new GanTrainer({
      objective: vaeGan,
      data,
      seed: 0,
      set: { batchSize: 4, latentDim: 8, 'net.ngf': 4, 'net.ndf': 4, 'net.hidden': 8 },
    });
    // 28x28 DCGAN D: conv 1->4 (14x14), conv 4->8 + BN (7x7), then the 7x7 conv to one logit.
    const f = discriminatorFeatures(t.nets.D!, t.nets.D!.parameters(), data.sample(4, t.rng).x);
    expect(f.shape).toEqual([4, 8 * 7 * 7]);
    const l = t.step();
    for (const [k, v] of Object.entries(l)) expect(Number.isFinite((await v.data())[0]!), k).toBe(true);
    for (const p of ['E', 'G', 'D']) expect(t.optimizers[p]!.stepCount).toBe(1);
    disposeLosses(l);
    t.dispose();
  });
});
