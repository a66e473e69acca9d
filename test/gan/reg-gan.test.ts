// Reg-GAN objective: hand-computed D, G and E losses for both mode-regulariser signs, gradient
// routing per phase, shared draws, settings, ring training and exact resume.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { valueAndGrad } from '../../src/autograd/transforms.js';
import { TesseraError } from '../../src/errors.js';
import { resolveHyper } from '../../src/gan/config.js';
import { loadDataSource } from '../../src/gan/data.js';
import type { DataInfo, PhaseContext } from '../../src/gan/objective.js';
import { type RegGanHyper, regGan, sharedDraw } from '../../src/gan/objectives/reg-gan.js';
import { disposeLosses, GanTrainer } from '../../src/gan/trainer.js';
import type { Module } from '../../src/nn/module.js';
import { Generator } from '../../src/random/generator.js';
import { tidy } from '../../src/tensor/engine.js';
import { tensor } from '../../src/tensor/ops/convert.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { flattenTree, type ParamTree } from '../../src/tensor/tree.js';
import {
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
  snapshotPlayers,
  softplus,
  sqDist,
  stepContext,
} from './reference.js';

const RING: DataInfo = { shape: [2], kind: 'vector' };

// ------------------------------------------------------------------ plain-JS reference

// G: z(1) -> 2 -> x(2); D: x(2) -> 2 -> 1; E: x(2) -> 2 -> z(1). Some ReLUs are off on the batch.
const G: Net = {
  W0: [[1.0], [-0.5]],
  b0: [0.1, 0.3],
  W1: [
    [0.8, -0.6],
    [0.4, 1.1],
  ],
  b1: [0.05, -0.2],
};
const D: Net = {
  W0: [
    [0.7, -0.4],
    [-0.3, 0.9],
  ],
  b0: [0.1, -0.05],
  W1: [[1.2, -0.8]],
  b1: [0.2],
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
const REAL: Mat = [
  [1.0, 2.0],
  [-1.0, 0.5],
  [0.3, -1.0],
];
const Z: Mat = [[0.4], [-1.2], [2.0]];

/** The reference losses of Eq. 1 and 2 (s = -1 intended, +1 printed) and D's logistic loss. */
function reference(h: { lambda1: number; lambda2: number; sign: 'intended' | 'printed' }) {
  const lReal = REAL.map((x) => netForward(D, x)[0]!);
  const lFake = Z.map((z) => netForward(D, netForward(G, z))[0]!);
  const recs = REAL.map((x) => netForward(G, netForward(E, x)));
  const lRec = recs.map((r) => netForward(D, r)[0]!);
  const d = mean(REAL.map((x, i) => sqDist(x, recs[i]!)));
  const logD = mean(lRec.map((l) => -softplus(-l))); // log sigmoid(l)
  const s = h.sign === 'intended' ? -1 : 1;
  const metric = h.lambda1 * d;
  const mode = s * h.lambda2 * logD;
  const adv = mean(lFake.map((l) => softplus(-l))); // -log D(G(z))
  return {
    D: mean(lReal.map((l) => softplus(-l))) + mean(lFake.map(softplus)),
    G: adv + metric + mode,
    E: metric + mode,
    adv,
    metric,
    mode,
  };
}

// ------------------------------------------------------------------ fixture

const hyper = (extra: Record<string, unknown> = {}): RegGanHyper =>
  resolveHyper(regGan, RING, {
    latentDim: 1,
    batchSize: 3,
    'net.hidden': 2,
    'net.layers': 1,
    lambda1: 0.3,
    lambda2: 0.7,
    ...extra,
  });

function fixtureNets(h: RegGanHyper): Record<string, Module> {
  const nets = regGan.build(RING, h, new Generator(5));
  nets.G!.setParameters(netTree(G));
  nets.D!.setParameters(netTree(D));
  nets.E!.setParameters(netTree(E));
  return nets;
}

const context = (nets: Record<string, Module>, h: RegGanHyper, params: Record<string, ParamTree>) =>
  stepContext(nets, h, params, { real: tensor(REAL), z: tensor(Z) });

const update = (h: RegGanHyper, name: string) => findUpdate(regGan, h, name);

/** One update's loss, logs and gradients with respect to every player. */
function evaluate(h: RegGanHyper, name: string) {
  const nets = fixtureNets(h);
  const u = update(h, name);
  const all = Object.fromEntries(Object.entries(nets).map(([p, n]) => [p, n.parameters()]));
  const out = tidy(() => {
    const [[loss, logs], grads] = valueAndGrad(
      (p: Record<string, ParamTree>) => {
        const r = u.loss(context(nets, h, p));
        return [lossOf(r), r instanceof Tensor ? {} : (r.logs ?? {})] as const;
      },
      { hasAux: true },
    )(all);
    const g = Object.fromEntries(
      Object.entries(grads).map(([p, t]) => [p, flattenTree(t).flatMap(([, x]) => Array.from(x.dataSync()))]),
    );
    const l = Object.fromEntries(Object.entries(logs).map(([k, v]) => [k, num(v)]));
    return { loss: num(loss), logs: l, grads: g };
  });
  for (const n of Object.values(nets)) n.dispose();
  return out;
}

// ------------------------------------------------------------------ tests

describe('reg-gan: fixture losses (Eq. 1 and 2)', () => {
  for (const sign of ['intended', 'printed'] as const) {
    it(`D, G and E losses match the hand computation (${sign} sign)`, () => {
      const h = hyper({ modeRegularizerSign: sign });
      const ref = reference({ lambda1: 0.3, lambda2: 0.7, sign });
      const d = evaluate(h, 'D');
      const g = evaluate(h, 'G');
      const e = evaluate(h, 'E');
      expectNear(d.loss, ref.D);
      expectNear(g.loss, ref.G);
      expectNear(g.logs.adv!, ref.adv);
      expectNear(g.logs.metric!, ref.metric);
      expectNear(g.logs.mode!, ref.mode);
      expectNear(e.loss, ref.E);
      expectNear(e.logs.mode!, ref.mode);
      // The signs differ: intended adds -lambda2 log D (positive), printed +lambda2 log D (negative).
      expect(Math.sign(ref.mode)).toBe(sign === 'intended' ? 1 : -1);
    });
  }

  it('the two signs flip only the mode term: their mean gradient is that of lambda2 = 0', () => {
    for (const name of ['G', 'E']) {
      const a = evaluate(hyper({ modeRegularizerSign: 'intended' }), name).grads[name]!;
      const b = evaluate(hyper({ modeRegularizerSign: 'printed' }), name).grads[name]!;
      const m = evaluate(hyper({ lambda2: 0 }), name).grads[name]!;
      expect(nonZero(a.map((v, i) => v - b[i]!))).toBe(true);
      for (const [i, v] of a.entries()) expectNear((v + b[i]!) / 2, m[i]!);
    }
  });

  it("no gradient reaches G or E from D's loss (G(z) is a constant there)", () => {
    const d = evaluate(hyper(), 'D');
    expect(nonZero(d.grads.D!)).toBe(true);
    expect(isZero(d.grads.G!)).toBe(true);
    expect(isZero(d.grads.E!)).toBe(true);
    expect(nonZero(evaluate(hyper(), 'G').grads.G!)).toBe(true);
    expect(nonZero(evaluate(hyper(), 'E').grads.E!)).toBe(true);
  });
});

// ------------------------------------------------------------------ trainer

const SMALL = { batchSize: 16, 'net.hidden': 16 };

describe('reg-gan: training', () => {
  for (const batch of ['shared', 'fresh'] as const) {
    it(`each phase steps exactly its players (batch: ${batch})`, async () => {
      const data = await loadDataSource('ring');
      const set = { ...SMALL, batch };
      const expected = [['D'], ['G'], ['E']];
      let before: Map<string, Float32Array> | undefined;
      for (let k = 0; k <= 3; k++) {
        const t = new GanTrainer({ objective: phasesOnly(regGan, 0, k), data, seed: 4, set });
        disposeLosses(t.step());
        const snap = await snapshotPlayers(t);
        if (before !== undefined) expect(changedPlayers(before, snap)).toEqual(expected[k - 1]);
        before = snap;
        if (k === 3) expect(regGan.players.map((p) => t.optimizers[p]!.stepCount)).toEqual([1, 1, 1]);
        t.dispose();
      }
    });
  }

  it('3 ring steps give finite losses for both signs; samples are finite', async () => {
    const data = await loadDataSource('ring');
    for (const sign of ['intended', 'printed']) {
      const t = new GanTrainer({ objective: regGan, data, seed: 2, set: { modeRegularizerSign: sign } });
      for (let i = 0; i < 3; i++) {
        const l = t.step();
        expect(Object.keys(l).sort()).toEqual(['D', 'E', 'E/metric', 'E/mode', 'G', 'G/adv', 'G/metric', 'G/mode']);
        for (const v of Object.values(l)) expect(Number.isFinite((await v.data())[0])).toBe(true);
        disposeLosses(l);
      }
      const s = t.sample(100);
      expect(s.shape).toEqual([100, 2]);
      expect(Array.from(await s.data()).every(Number.isFinite)).toBe(true);
      s.dispose();
      t.dispose();
    }
  });

  it('resumes bit for bit from a checkpoint after step 2', async () => {
    const data = await loadDataSource('ring');
    const setup = { objective: regGan, data, seed: 7, set: SMALL };
    const a = new GanTrainer(setup);
    for (let i = 0; i < 2; i++) disposeLosses(a.step());
    const bytes = await a.checkpoint();
    for (let i = 0; i < 2; i++) disposeLosses(a.step());
    const b = new GanTrainer(setup);
    b.restore(bytes);
    expect(b.stepCount).toBe(2);
    for (let i = 0; i < 2; i++) disposeLosses(b.step());
    const sa = await snapshotPlayers(a);
    const sb = await snapshotPlayers(b);
    expect(changedPlayers(sa, sb)).toEqual([]);
    a.dispose();
    b.dispose();
  });
});

describe('reg-gan: settings and draws', () => {
  it('uses the paper defaults: Appendix C for vectors, the MNIST grid search for images', () => {
    const v = resolveHyper(regGan, RING);
    expect([v.lambda1, v.lambda2, v.latentDim, v.latentDistribution]).toEqual([0.005, 0.005, 3, 'uniform']);
    expect([v.optimizers.G!.lr, v.optimizers.D!.lr, v.optimizers.E!.lr]).toEqual([1e-4, 1e-4, 1e-4]);
    expect(v.modeRegularizerSign).toBe('intended');
    const img = resolveHyper(regGan, { shape: [1, 28, 28], kind: 'image' });
    expect([img.lambda1, img.lambda2, img.latentDistribution]).toEqual([0.2, 0.4, 'normal']);
    const nets = regGan.build(RING, v, new Generator(0));
    const shapes = (m: Module) => m.namedParameters().map(([n, t]) => `${n}:${t.shape.join('x')}`);
    expect(shapes(nets.G!)).toEqual([
      '0.weight:128x3',
      '0.bias:128',
      '2.weight:128x128',
      '2.bias:128',
      '4.weight:2x128',
      '4.bias:2',
    ]);
    expect(shapes(nets.D!)).toEqual(['0.weight:128x2', '0.bias:128', '2.weight:1x128', '2.bias:1']);
    for (const n of Object.values(nets)) n.dispose();
  });

  it('rejects bad settings', () => {
    expect(() => resolveHyper(regGan, RING, { modeRegularizerSign: 'minus' })).toThrow(TesseraError);
    expect(() => resolveHyper(regGan, RING, { latentDistribution: 'cauchy' })).toThrow(/latentDistribution/);
    expect(() => resolveHyper(regGan, RING, { batch: 'once' })).toThrow(/batch/);
    expect(() => resolveHyper(regGan, RING, { lambda1: -1 })).toThrow(/lambda1/);
  });

  it('sharedDraw replays the first draw of the iteration without moving the stream', () => {
    const rng = new Generator(3);
    const ctx = (step: number): PhaseContext<unknown> => ({
      nets: {},
      data: RING,
      hyper: {},
      state: {},
      step,
      rng,
      sampleReal: (n) => rng.normal([n, 2]),
    });
    const s = sharedDraw((c) => ({ x: c.sampleReal(4), z: c.rng.uniform([4, 1]) }));
    expect(() => s.again(ctx(0))).toThrow(/no earlier phase/);
    const a = s.first(ctx(0));
    const after = rng.getState();
    const b = s.again(ctx(0));
    expect(rng.getState()).toEqual(after);
    expect(Array.from(b.x!.dataSync())).toEqual(Array.from(a.x!.dataSync()));
    expect(Array.from(b.z!.dataSync())).toEqual(Array.from(a.z!.dataSync()));
    expect(() => s.again(ctx(1))).toThrow(/no earlier phase/);
  });
});
