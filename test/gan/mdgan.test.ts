// MDGAN objective: hand-computed manifold and diffusion losses with G's two BatchNorm streams,
// their separate running statistics and shared affine parameters, gradient routing, ring training, resume.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { valueAndGrad } from '../../src/autograd/transforms.js';
import { resolveHyper } from '../../src/gan/config.js';
import { loadDataSource } from '../../src/gan/data.js';
import type { DataInfo } from '../../src/gan/objective.js';
import { type MdganHyper, mdgan } from '../../src/gan/objectives/mdgan.js';
import { disposeLosses, GanTrainer } from '../../src/gan/trainer.js';
import { BatchNormBase } from '../../src/nn/layers.js';
import type { Module } from '../../src/nn/module.js';
import { Generator } from '../../src/random/generator.js';
import { tidy } from '../../src/tensor/engine.js';
import { tensor } from '../../src/tensor/ops/convert.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { flattenTree, type ParamTree } from '../../src/tensor/tree.js';
import {
  affine,
  changedPlayers,
  expectNear,
  findUpdate,
  isZero,
  lossOf,
  type Mat,
  mean,
  type Net,
  netForward,
  netTree,
  nonZero,
  num,
  phasesOnly,
  relu,
  snapshotPlayers,
  softplus,
  sqDist,
  stepContext,
} from './reference.js';

const RING: DataInfo = { shape: [2], kind: 'vector' };
const LAMBDA = 0.6;
const EPS = 1e-5; // BatchNorm's default
const MOMENTUM = 0.1;

// ------------------------------------------------------------------ plain-JS reference

// G: z(1) -> Linear (no bias) -> BatchNorm(2) -> ReLU -> Linear -> x(2).
const G = {
  W0: [[1.0], [-0.5]],
  gamma: [1.5, 0.5],
  beta: [0.2, -0.1],
  W1: [
    [0.8, -0.6],
    [0.4, 1.1],
  ],
  b1: [0.05, -0.2],
};
const E: Net = {
  W0: [
    [0.5, -0.25],
    [0.6, 0.4],
  ],
  b0: [0.1, -0.2],
  W1: [[0.9, -0.7]],
  b1: [0.05],
};
const D1: Net = {
  W0: [
    [0.7, -0.4],
    [-0.3, 0.9],
  ],
  b0: [0.1, -0.05],
  W1: [[1.2, -0.8]],
  b1: [0.2],
};
const D2: Net = {
  W0: [
    [-0.2, 0.9],
    [0.6, 0.3],
  ],
  b0: [-0.1, 0.2],
  W1: [[0.7, -1.1]],
  b1: [-0.15],
};
const REAL: Mat = [
  [1.0, 2.0],
  [-1.0, 0.5],
  [0.3, -1.0],
];
const Z: Mat = [[0.4], [-1.2], [2.0]];

/** G on a batch with batch statistics; also the batch mean and unbiased variance of the BN input. */
function gBatch(zs: Mat) {
  const pre = zs.map((z) => affine(G.W0, [0, 0], z));
  const n = pre.length;
  const mu = [0, 1].map((j) => mean(pre.map((r) => r[j]!)));
  const v = [0, 1].map((j) => mean(pre.map((r) => (r[j]! - mu[j]!) ** 2)));
  const out = pre.map((r) => {
    const h = r.map((u, j) => relu(((u - mu[j]!) / Math.sqrt(v[j]! + EPS)) * G.gamma[j]! + G.beta[j]!));
    return affine(G.W1, G.b1, h);
  });
  return { out, mu, unbiasedVar: v.map((x) => (x * n) / (n - 1)) };
}

function reference() {
  const enc = gBatch(REAL.map((x) => netForward(E, x)));
  const prior = gBatch(Z);
  const rec = enc.out;
  const recon = mean(REAL.map((x, i) => sqDist(x, rec[i]!)));
  const l1Real = REAL.map((x) => netForward(D1, x)[0]!);
  const l1Rec = rec.map((r) => netForward(D1, r)[0]!);
  const l2Rec = rec.map((r) => netForward(D2, r)[0]!);
  const l2Fake = prior.out.map((r) => netForward(D2, r)[0]!);
  const adv = LAMBDA * mean(l1Rec.map((l) => softplus(-l))); // -lambda log D1(G(E(x)))
  return {
    D1: mean(l1Real.map((l) => softplus(-l))) + mean(l1Rec.map(softplus)),
    'G-manifold': adv + recon,
    adv,
    recon,
    E: recon,
    D2: mean(l2Rec.map((l) => softplus(-l))) + mean(l2Fake.map(softplus)),
    'G-diffusion': mean(l2Fake.map((l) => softplus(-l))),
    enc,
    prior,
  };
}

// ------------------------------------------------------------------ fixture

const hyper = (): MdganHyper =>
  resolveHyper(mdgan, RING, { latentDim: 1, batchSize: 3, 'net.hidden': 2, 'net.layers': 1, lambda: LAMBDA });

function fixtureNets(h: MdganHyper): Record<string, Module> {
  const nets = mdgan.build(RING, h, new Generator(5));
  nets.G!.setParameters({
    '0': { weight: tensor(G.W0) },
    '1': { weight: tensor(G.gamma), bias: tensor(G.beta) },
    '3': { weight: tensor(G.W1), bias: tensor(G.b1) },
  });
  nets.E!.setParameters(netTree(E));
  nets.D1!.setParameters(netTree(D1));
  nets.D2!.setParameters(netTree(D2));
  return nets;
}

/** One update's loss, logs and gradients with respect to every player (flattened, by path). */
function evaluate(nets: Record<string, Module>, h: MdganHyper, name: string) {
  const u = findUpdate(mdgan, h, name);
  const all = Object.fromEntries(Object.entries(nets).map(([p, n]) => [p, n.parameters()]));
  return tidy(() => {
    const [[loss, logs], grads] = valueAndGrad(
      (params: Record<string, ParamTree>) => {
        const r = u.loss(stepContext(nets, h, params, { real: tensor(REAL), z: tensor(Z) }));
        return [lossOf(r), r instanceof Tensor ? {} : (r.logs ?? {})] as const;
      },
      { hasAux: true },
    )(all);
    const g = Object.fromEntries(
      Object.entries(grads).map(([p, t]) => [
        p,
        Object.fromEntries(flattenTree(t).map(([k, x]) => [k, Array.from(x.dataSync())])),
      ]),
    );
    const l = Object.fromEntries(Object.entries(logs).map(([k, v]) => [k, num(v)]));
    return { loss: num(loss), logs: l, grads: g };
  });
}
const allGrads = (g: Record<string, number[]>) => Object.values(g).flat();

/** G's BatchNorm layer and its two streams' running statistics as numbers. */
function stats(nets: Record<string, Module>) {
  const bn = nets.G!.getModule('1') as BatchNormBase;
  const read = (s: string) => {
    const r = bn.runningStats(s);
    const suf = s === 'default' ? '' : `_${s}`;
    return {
      mean: Array.from(r.mean.dataSync()),
      var: Array.from(r.var.dataSync()),
      count: bn
        .namedBuffers()
        .find(([k]) => k === `num_batches_tracked${suf}`)![1]
        .dataSync()[0],
    };
  };
  return { bn, default: read('default'), encoded: read('encoded') };
}
const FRESH = { mean: [0, 0], var: [1, 1], count: 0 };
function expectStats(s: { mean: number[]; var: number[]; count: number | undefined }, e: typeof FRESH) {
  for (const [i, m] of e.mean.entries()) expectNear(s.mean[i]!, m);
  for (const [i, v] of e.var.entries()) expectNear(s.var[i]!, v);
  expect(s.count).toBe(e.count);
}
const updated = (b: { mu: number[]; unbiasedVar: number[] }) => ({
  mean: b.mu.map((m) => MOMENTUM * m),
  var: b.unbiasedVar.map((v) => 1 - MOMENTUM + MOMENTUM * v),
  count: 1,
});

// ------------------------------------------------------------------ tests

describe('mdgan: fixture (Appendix A, Appendix B batch norm)', () => {
  it('every update matches the hand computation; each BatchNorm stream moves only in its G update', () => {
    const h = hyper();
    const nets = fixtureNets(h);
    const ref = reference();
    const s0 = stats(nets);
    // One set of affine parameters, two sets of running statistics.
    expect(s0.bn.namedParameters().map(([k]) => k)).toEqual(['weight', 'bias']);
    expect(s0.bn.streams).toEqual(['default', 'encoded']);

    const d1 = evaluate(nets, h, 'D1');
    expectNear(d1.loss, ref.D1);
    expectStats(stats(nets).default, FRESH);
    expectStats(stats(nets).encoded, FRESH);

    const gm = evaluate(nets, h, 'G-manifold');
    expectNear(gm.loss, ref['G-manifold']);
    expectNear(gm.logs.adv!, ref.adv);
    expectNear(gm.logs.recon!, ref.recon);
    expectStats(stats(nets).default, FRESH);
    expectStats(stats(nets).encoded, updated(ref.enc));

    const e = evaluate(nets, h, 'E');
    expectNear(e.loss, ref.E);
    expectStats(stats(nets).encoded, updated(ref.enc));

    const d2 = evaluate(nets, h, 'D2');
    expectNear(d2.loss, ref.D2);
    expectStats(stats(nets).default, FRESH);

    const gd = evaluate(nets, h, 'G-diffusion');
    expectNear(gd.loss, ref['G-diffusion']);
    expectStats(stats(nets).default, updated(ref.prior));
    expectStats(stats(nets).encoded, updated(ref.enc));
    // The two streams' statistics differ (different inputs), the affine parameters are shared:
    // both G losses reach the same BatchNorm weight and bias.
    expect(stats(nets).default.mean).not.toEqual(stats(nets).encoded.mean);
    for (const k of ['1.weight', '1.bias']) {
      expect(nonZero(gm.grads.G![k]!)).toBe(true);
      expect(nonZero(gd.grads.G![k]!)).toBe(true);
    }

    // Gradient routing where no gradient may flow (constants or unused players).
    expect(nonZero(allGrads(d1.grads.D1!))).toBe(true);
    for (const p of ['G', 'E', 'D2']) expect(isZero(allGrads(d1.grads[p]!))).toBe(true);
    expect(nonZero(allGrads(d2.grads.D2!))).toBe(true);
    for (const p of ['G', 'E', 'D1']) expect(isZero(allGrads(d2.grads[p]!))).toBe(true);
    expect(nonZero(allGrads(e.grads.E!))).toBe(true);
    for (const p of ['D1', 'D2']) expect(isZero(allGrads(e.grads[p]!))).toBe(true);
    for (const p of ['E', 'D1']) expect(isZero(allGrads(gd.grads[p]!))).toBe(true);
    expect(isZero(allGrads(gm.grads.D2!))).toBe(true);
    for (const n of Object.values(nets)) n.dispose();
  });
});

// ------------------------------------------------------------------ trainer

const SMALL = { batchSize: 16, 'net.hidden': 16 };

describe('mdgan: training', () => {
  it('each phase steps exactly its players (G and E together in the manifold step)', async () => {
    const data = await loadDataSource('ring');
    const expected = [['D1'], ['E', 'G'], ['D2'], ['G']];
    let before: Map<string, Float32Array> | undefined;
    for (let k = 0; k <= 4; k++) {
      const t = new GanTrainer({ objective: phasesOnly(mdgan, 0, k), data, seed: 4, set: SMALL });
      disposeLosses(t.step());
      const snap = await snapshotPlayers(t);
      if (before !== undefined) expect(changedPlayers(before, snap)).toEqual(expected[k - 1]);
      before = snap;
      if (k === 4) {
        expect(mdgan.players.map((p) => t.optimizers[p]!.stepCount)).toEqual([2, 1, 1, 1]);
        // After a step the two streams of every G BatchNorm were updated once each, apart.
        const bns = t.nets.G!.modules().filter((m): m is [string, BatchNormBase] => m[1] instanceof BatchNormBase);
        expect(bns.length).toBe(2);
        for (const [, bn] of bns) {
          const buf = new Map(bn.namedBuffers());
          expect(buf.get('num_batches_tracked')!.dataSync()[0]).toBe(1);
          expect(buf.get('num_batches_tracked_encoded')!.dataSync()[0]).toBe(1);
          expect(Array.from(buf.get('running_mean')!.dataSync())).not.toEqual(
            Array.from(buf.get('running_mean_encoded')!.dataSync()),
          );
          expect(bn.namedParameters().map(([n]) => n)).toEqual(['weight', 'bias']);
        }
      }
      t.dispose();
    }
  });

  it('3 ring steps give finite losses; samples are finite and leave the statistics alone', async () => {
    const data = await loadDataSource('ring');
    const t = new GanTrainer({ objective: mdgan, data, seed: 2 });
    for (let i = 0; i < 3; i++) {
      const l = t.step();
      expect(Object.keys(l).sort()).toEqual([
        'D1',
        'D2',
        'E',
        'G-diffusion',
        'G-manifold',
        'G-manifold/adv',
        'G-manifold/recon',
      ]);
      for (const v of Object.values(l)) expect(Number.isFinite((await v.data())[0])).toBe(true);
      disposeLosses(l);
    }
    const before = await snapshotPlayers(t);
    const s = t.sample(100);
    expect(s.shape).toEqual([100, 2]);
    expect(Array.from(await s.data()).every(Number.isFinite)).toBe(true);
    s.dispose();
    expect(changedPlayers(before, await snapshotPlayers(t))).toEqual([]);
    t.dispose();
  });

  it('resumes bit for bit (parameters and BatchNorm statistics) from a checkpoint after step 2', async () => {
    const data = await loadDataSource('ring');
    const setup = { objective: mdgan, data, seed: 7, set: SMALL };
    const a = new GanTrainer(setup);
    for (let i = 0; i < 2; i++) disposeLosses(a.step());
    const bytes = await a.checkpoint();
    for (let i = 0; i < 2; i++) disposeLosses(a.step());
    const b = new GanTrainer(setup);
    b.restore(bytes);
    for (let i = 0; i < 2; i++) disposeLosses(b.step());
    const sa = await snapshotPlayers(a);
    expect([...sa.keys()].some((k) => k.endsWith('running_mean_encoded'))).toBe(true);
    expect(changedPlayers(sa, await snapshotPlayers(b))).toEqual([]);
    a.dispose();
    b.dispose();
  });

  it('uses the documented defaults: lambda from Reg-GAN ratios, Appendix C toy settings', () => {
    const v = resolveHyper(mdgan, RING);
    expect([v.lambda, v.latentDim, v.latentDistribution, v.discriminatorLayers]).toEqual([1, 3, 'uniform', 1]);
    const img = resolveHyper(mdgan, { shape: [1, 28, 28], kind: 'image' });
    expect([img.lambda, img.latentDim, img.latentDistribution]).toEqual([2, 200, 'normal']);
    expect(() => resolveHyper(mdgan, RING, { lambda: -1 })).toThrow(/lambda/);
  });
});
