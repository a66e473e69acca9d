// LDMGAN objective: hand-computed losses (Algorithm 1, Eq. 10 batch KL) on a fixed tiny fixture,
// gradient routing (E fixed inside the LDM term), simultaneity of the three updates, ring, resume.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { valueAndGrad } from '../../src/autograd/transforms.js';
import { resolveHyper } from '../../src/gan/config.js';
import { loadDataSource } from '../../src/gan/data.js';
import { batchGaussianKL, meanSquaredError, squaredL2 } from '../../src/gan/latent.js';
import type { DataInfo, StepContext } from '../../src/gan/objective.js';
import { type LdmganHyper, ldmgan } from '../../src/gan/objectives/ldmgan.js';
import { disposeLosses, GanTrainer } from '../../src/gan/trainer.js';
import { functionalCall, type Module } from '../../src/nn/module.js';
import { Generator } from '../../src/random/generator.js';
import { tidy } from '../../src/tensor/engine.js';
import { tensor } from '../../src/tensor/ops/convert.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { flattenTree, type ParamTree } from '../../src/tensor/tree.js';
import {
  drawTensors,
  findUpdate,
  flatParams,
  type Layer,
  lossOf,
  lossValues,
  type Mat,
  mean,
  mlpForward,
  readLayers,
  rows,
  softplus,
  sqDist,
  stepContext,
  stepCounts,
  stepRows,
  twoLayer,
} from './reference.js';

const RING: DataInfo = { shape: [2], kind: 'vector' };

// ------------------------------------------------------------------ plain-JS reference

/** Eq. 10 on the ML diagonal Gaussian fitted to the rows of `c`. */
function klJs(c: Mat, eps: number): number {
  const n = c.length;
  let kl = 0;
  for (let k = 0; k < c[0]!.length; k++) {
    const mu = c.reduce((s, r) => s + r[k]!, 0) / n;
    const v = c.reduce((s, r) => s + (r[k]! - mu) ** 2, 0) / n;
    kl += 0.5 * (v + mu * mu - 1 - Math.log(v + eps));
  }
  return kl;
}

/** Every reference loss of Algorithm 1 (lines 10, 12, 14), from the formulas. */
function referenceLosses(
  E: Layer[],
  G: Layer[],
  D: Layer[],
  d: { real: Mat; z: Mat },
  h: Pick<LdmganHyper, 'lambda1' | 'lambda2' | 'adversarialLoss' | 'distance' | 'klEps'>,
) {
  const zHat = d.real.map((x) => mlpForward(E, x));
  const xHat = d.z.map((z) => mlpForward(G, z));
  const xRec = zHat.map((z) => mlpForward(G, z));
  const zRec = xHat.map((x) => mlpForward(E, x));
  const lReal = d.real.map((x) => mlpForward(D, x)[0]!);
  const lHat = xHat.map((x) => mlpForward(D, x)[0]!);
  const lRec = xRec.map((x) => mlpForward(D, x)[0]!);
  const dim = d.real[0]!.length;
  const rec = mean(d.real.map((x, i) => sqDist(x, xRec[i]!))) / (h.distance === 'mse' ? dim : 1);
  const adv = (l: number[]) =>
    h.adversarialLoss === 'saturating' ? -mean(l.map(softplus)) : mean(l.map((u) => softplus(-u)));
  const klHat = klJs(zHat, h.klEps);
  const ldm = klJs(zRec, h.klEps);
  return {
    D: mean(lReal.map((u) => softplus(-u))) + mean(lHat.map(softplus)) + mean(lRec.map(softplus)),
    E: rec + klHat,
    G: adv(lHat) + adv(lRec) + h.lambda1 * rec + h.lambda2 * ldm,
    rec,
    klHat,
    ldm,
  };
}

// ------------------------------------------------------------------ fixture

const TINY: Partial<LdmganHyper> = {
  batchSize: 3,
  latentDim: 2,
  net: { hidden: 3, layers: 1, activation: 'relu', ngf: 8, ndf: 8 },
  discriminatorLayers: 1,
  lambda1: 0.7,
  lambda2: 1.3,
};
const tinyHyper = (extra: Partial<LdmganHyper> = {}): LdmganHyper =>
  ({ ...ldmgan.defaults, ...TINY, ...extra }) as LdmganHyper;

// E: x(2) -> 3 -> z(2); G: z(2) -> 3 -> x(2); D: x(2) -> 3 -> 1.
const E = twoLayer(
  [
    [0.9, -0.2],
    [-0.5, 0.4],
    [0.3, 0.7],
  ],
  [0.05, 0.1, -0.1],
  [
    [0.6, -0.4, 0.2],
    [-0.3, 0.5, 0.8],
  ],
  [-0.05, 0.2],
);
const G = twoLayer(
  [
    [0.5, -0.3],
    [-0.4, 0.8],
    [0.3, 0.6],
  ],
  [0.1, -0.2, 0.05],
  [
    [0.7, -0.5, 0.4],
    [0.2, 0.6, -0.3],
  ],
  [0.0, 0.1],
);
const D = twoLayer(
  [
    [0.4, -0.3],
    [-0.6, 0.2],
    [0.3, 0.5],
  ],
  [0.1, 0.0, -0.2],
  [[0.8, -0.7, 0.5]],
  [0.15],
);
const DRAWS = {
  real: [
    [1.0, 0.0],
    [0.0, -1.0],
    [-0.7, 0.7],
  ],
  z: [
    [0.3, -1.2],
    [1.5, 0.4],
    [-0.8, 0.9],
  ],
};
const FIXED = { E: E.tree, G: G.tree, D: D.tree };

const fixtureContext = (
  nets: Record<string, Module>,
  hyper: LdmganHyper,
  params: Record<string, ParamTree>,
  draws: Record<string, Mat> = DRAWS,
) => stepContext(nets, hyper, params, drawTensors(draws));

const update = (hyper: LdmganHyper, name: string) => findUpdate(ldmgan, hyper, name);

/** Loss and flat gradients of one update with respect to EVERY player. */
function gradAll(hyper: LdmganHyper, name: string) {
  const nets = ldmgan.build(RING, hyper, new Generator(1));
  const u = update(hyper, name);
  return tidy(() => {
    const [loss, grads] = valueAndGrad((p: Record<string, ParamTree>) =>
      lossOf(u.loss(fixtureContext(nets, hyper, p))),
    )(FIXED);
    const flat = Object.fromEntries(
      Object.entries(grads).map(([k, t]) => [k, flattenTree(t).flatMap(([, g]) => Array.from(g.dataSync()))]),
    );
    return { loss: loss.dataSync()[0]!, grads: flat };
  });
}
const l1 = (v: number[]) => v.reduce((a, b) => a + Math.abs(b), 0);

describe('ldmgan: fixture losses (hand-computed)', () => {
  const cases: Partial<LdmganHyper>[] = [
    {},
    { adversarialLoss: 'non-saturating' },
    { distance: 'mse' },
    { lambda1: 0, lambda2: 0 },
  ];
  for (const extra of cases) {
    it(`D, E and G losses match Algorithm 1 (${JSON.stringify(extra)})`, () => {
      const h = tinyHyper(extra);
      const nets = ldmgan.build(RING, h, new Generator(1));
      const ref = referenceLosses(E.js, G.js, D.js, DRAWS, h);
      tidy(() => {
        const c = fixtureContext(nets, h, FIXED);
        expect(lossOf(update(h, 'D').loss(c)).dataSync()[0]).toBeCloseTo(ref.D, 5);
        const e = update(h, 'E').loss(c);
        if (e instanceof Tensor) throw new Error('E logs its terms');
        expect(e.loss.dataSync()[0]).toBeCloseTo(ref.E, 5);
        expect(e.logs!.kl!.dataSync()[0]).toBeCloseTo(ref.klHat, 5);
        const g = update(h, 'G').loss(c);
        if (g instanceof Tensor) throw new Error('G logs its terms');
        expect(g.loss.dataSync()[0]).toBeCloseTo(ref.G, 5);
        expect(g.logs!.reconstruction!.dataSync()[0]).toBeCloseTo(ref.rec, 5);
        expect(g.logs!.ldm!.dataSync()[0]).toBeCloseTo(ref.ldm, 5);
      });
      expect(ref.rec).toBeGreaterThan(0.1);
      expect(ref.ldm).toBeGreaterThan(0.1);
    });
  }

  it('batchGaussianKL is Eq. 10 and is zero for a batch with mean 0 and variance 1', () => {
    tidy(() => {
      const c = [
        [1, 2],
        [-1, 0],
        [0.5, -3],
        [0.25, 0.5],
      ];
      expect(batchGaussianKL(tensor(c)).dataSync()[0]).toBeCloseTo(klJs(c, 0), 5);
      expect(batchGaussianKL(tensor([[1], [-1]])).dataSync()[0]).toBeCloseTo(0, 6);
      // A collapsed batch stays finite with eps.
      expect(Number.isFinite(batchGaussianKL(tensor([[2], [2]]), 1e-8).dataSync()[0])).toBe(true);
      const a = tensor(DRAWS.real);
      const b = tensor(DRAWS.z);
      const sq = mean(DRAWS.real.map((x, i) => sqDist(x, DRAWS.z[i]!)));
      expect(squaredL2(a, b).dataSync()[0]).toBeCloseTo(sq, 5);
      expect(meanSquaredError(a, b).dataSync()[0]).toBeCloseTo(sq / 2, 5);
    });
  });
});

describe('ldmgan: gradient routing', () => {
  it("D's loss reaches D only; E's loss never reaches D", () => {
    const d = gradAll(tinyHyper(), 'D');
    expect(l1(d.grads.D!)).toBeGreaterThan(0);
    expect(l1(d.grads.G!)).toBe(0);
    expect(l1(d.grads.E!)).toBe(0);
    const e = gradAll(tinyHyper(), 'E');
    expect(l1(e.grads.E!)).toBeGreaterThan(0);
    expect(l1(e.grads.D!)).toBe(0);
  });

  it("G's LDM term sends no gradient into E (E held fixed), while it does move G", () => {
    const withLdm = gradAll(tinyHyper({ lambda2: 1.3 }), 'G');
    const without = gradAll(tinyHyper({ lambda2: 0 }), 'G');
    // Differentiated with respect to E too, E's gradient is the same with and without the term...
    expect(withLdm.grads.E!).toEqual(without.grads.E!.map((v) => expect.closeTo(v, 6)));
    expect(l1(withLdm.grads.E!)).toBeGreaterThan(0); // (E still gets the other terms' gradient here)
    // ...though the term depends on E (without the stop-gradient it would reach it)...
    const h = tinyHyper();
    const nets = ldmgan.build(RING, h, new Generator(1));
    const direct = tidy(() => {
      const [, g] = valueAndGrad((e: ParamTree) =>
        batchGaussianKL(functionalCall(nets.E!, e, functionalCall(nets.G!, G.tree, tensor(DRAWS.z))), h.klEps),
      )(E.tree);
      return l1(flattenTree(g).flatMap(([, t]) => Array.from(t.dataSync())));
    });
    expect(direct).toBeGreaterThan(1e-3);
    // ...and it changes G's gradient.
    const diff = withLdm.grads.G!.reduce((s, v, i) => s + Math.abs(v - without.grads.G![i]!), 0);
    expect(diff).toBeGreaterThan(1e-3);
  });
});

// ------------------------------------------------------------------ trainer

const TINY_SET = { batchSize: 4, latentDim: 2, 'net.hidden': 3, 'net.layers': 1 };

describe('ldmgan: trainer', async () => {
  const ring = await loadDataSource('ring');

  it('one iteration steps D, E and G once each', () => {
    const t = new GanTrainer({ objective: ldmgan, data: ring, seed: 3, set: TINY_SET });
    const before = flatParams(t);
    const losses = t.step();
    const after = flatParams(t);
    for (const p of ['G', 'E', 'D']) expect(after[p]).not.toEqual(before[p]);
    expect(stepCounts(t)).toEqual({ G: 1, E: 1, D: 1 });
    expect(Object.keys(losses).sort()).toEqual([
      'D',
      'E',
      'E/kl',
      'E/reconstruction',
      'G',
      'G/adversarial',
      'G/ldm',
      'G/reconstruction',
    ]);
    disposeLosses(losses);
    t.dispose();
  });

  it('the three updates are simultaneous: logged losses equal the hand computation at the pre-step parameters', () => {
    const t = new GanTrainer({ objective: ldmgan, data: ring, seed: 4, set: TINY_SET });
    const n = t.hyper.batchSize;
    const rng = Generator.fromState(t.rng.getState());
    const s = ring.sample(n, rng);
    s.labels?.dispose();
    const draws = { real: rows(s.x), z: rows(rng.normal([n, 2])) };
    s.x.dispose();
    const pre = Object.fromEntries(Object.entries(t.params()).map(([p, tree]) => [p, readLayers(tree)]));
    const want = referenceLosses(pre.E!, pre.G!, pre.D!, draws, t.hyper);
    const losses = t.step();
    const got = lossValues(losses);
    disposeLosses(losses);
    expect(got.D).toBeCloseTo(want.D, 5);
    expect(got.E).toBeCloseTo(want.E, 5);
    expect(got.G).toBeCloseTo(want.G, 5);
    // Against the stepped D and E (a sequential schedule) G's loss would differ.
    const post = Object.fromEntries(Object.entries(t.params()).map(([p, tree]) => [p, readLayers(tree)]));
    const sequential = referenceLosses(post.E!, pre.G!, post.D!, draws, t.hyper);
    expect(Math.abs(sequential.G - want.G)).toBeGreaterThan(1e-4);
    t.dispose();
  });

  it('three iterations on the ring with the defaults give finite losses', () => {
    const t = new GanTrainer({ objective: ldmgan, data: ring, seed: 0 });
    expect(t.hyper.latentDim).toBe(2);
    for (let i = 0; i < 3; i++) {
      const losses = t.step();
      for (const [k, v] of Object.entries(lossValues(losses))) expect(Number.isFinite(v), k).toBe(true);
      disposeLosses(losses);
    }
    const x = t.sample(64);
    expect(x.shape).toEqual([64, 2]);
    x.dispose();
    t.dispose();
  });

  it('resuming from a checkpoint after iteration 2 continues bit for bit', async () => {
    const a = new GanTrainer({ objective: ldmgan, data: ring, seed: 6 });
    await stepRows(a, 2);
    const bytes = await a.checkpoint();
    const la = await stepRows(a, 2);
    const b = new GanTrainer({ objective: ldmgan, data: ring, seed: 6 });
    b.restore(bytes);
    expect(await stepRows(b, 2)).toEqual(la);
    expect(flatParams(b)).toEqual(flatParams(a));
    a.dispose();
    b.dispose();
  });

  it('image data: DCGAN G and D with an MLP encoder; every loss is finite', () => {
    const info: DataInfo = { shape: [3, 28, 28], kind: 'image' };
    const h = resolveHyper(ldmgan, info, { batchSize: 2, 'net.ngf': 4, 'net.ndf': 4, 'net.hidden': 8 });
    expect(h.latentDim).toBe(64);
    const nets = ldmgan.build(info, h, new Generator(2));
    tidy(() => {
      const rng = new Generator(3);
      const params = Object.fromEntries(Object.entries(nets).map(([p, m]) => [p, m.parameters()]));
      const c: StepContext<LdmganHyper> = {
        ...fixtureContext(nets, h, params, {}),
        draws: { real: rng.uniform([2, 3, 28, 28], -1, 1), z: rng.normal([2, 64]) },
      };
      for (const name of ['D', 'E', 'G'])
        expect(Number.isFinite(lossOf(update(h, name).loss(c)).dataSync()[0])).toBe(true);
    });
  });

  it('rejects bad settings by name', () => {
    expect(() => new GanTrainer({ objective: ldmgan, data: ring, set: { lambda1: -1 } })).toThrow(/lambda1/);
    expect(() => new GanTrainer({ objective: ldmgan, data: ring, set: { distance: 'l1' } })).toThrow(/distance/);
    expect(() => new GanTrainer({ objective: ldmgan, data: ring, set: { batchSize: 1 } })).toThrow(/batchSize/);
  });
});
