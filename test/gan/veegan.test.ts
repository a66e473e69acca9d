// VEEGAN objective: hand-computed losses on a fixed tiny fixture, gradient routing and the
// simultaneity of the D and G+F updates, F pre-training, ring training and exact resume.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { valueAndGrad } from '../../src/autograd/transforms.js';
import { TesseraError } from '../../src/errors.js';
import { loadDataSource } from '../../src/gan/data.js';
import type { DataInfo } from '../../src/gan/objective.js';
import { type VeeganHyper, veegan } from '../../src/gan/objectives/veegan.js';
import { disposeLosses, GanTrainer } from '../../src/gan/trainer.js';
import type { Module } from '../../src/nn/module.js';
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

/** The JS layers and the ParamTree of a Sequential [Linear, ReLU, Linear]. */

/** JS layers read back from a Sequential's parameter tree. */

/** Every reference loss of the fixture, from the formulas (spec 2.1-2.2). */
function referenceLosses(
  G: Layer[],
  F: Layer[],
  D: Layer[],
  d: { real: Mat; z: Mat; eps: Mat; zNoise: Mat },
  form: 'gaussian' | 'squared-l2',
) {
  const n = d.real.length;
  const half = form === 'gaussian' ? 0.5 : 1;
  const lGen: number[] = [];
  const lReal: number[] = [];
  const rec: number[] = [];
  for (let i = 0; i < n; i++) {
    const z = d.z[i]!;
    const xg = mlpForward(G, [...z, ...d.eps[i]!]);
    lGen.push(mlpForward(D, [...z, ...xg])[0]!);
    const zHat = mlpForward(F, d.real[i]!).map((v, k) => v + d.zNoise[i]![k]!);
    lReal.push(mlpForward(D, [...zHat, ...d.real[i]!])[0]!);
    rec.push(half * sqDist(z, mlpForward(F, xg)));
  }
  return {
    D: mean(lGen.map((l) => softplus(-l))) + mean(lReal.map(softplus)),
    GF: mean(lGen) + mean(rec),
    adversarial: mean(lGen),
    reconstruction: mean(rec),
  };
}

// ------------------------------------------------------------------ fixture

const TINY: Partial<VeeganHyper> = {
  batchSize: 3,
  latentDim: 2,
  extraNoiseDim: 1,
  net: { hidden: 3, layers: 1, activation: 'relu', ngf: 8, ndf: 8 },
  discriminatorLayers: 1,
};
const tinyHyper = (extra: Partial<VeeganHyper> = {}): VeeganHyper =>
  ({ ...veegan.defaults, ...TINY, ...extra }) as VeeganHyper;

// G: [z(2); eps(1)] -> 3 -> 2; F: x(2) -> 3 -> z(2); D: [z(2); x(2)] -> 3 -> 1.
const G = twoLayer(
  [
    [0.5, -0.3, 0.2],
    [-0.4, 0.8, 0.1],
    [0.3, 0.3, -0.6],
  ],
  [0.1, -0.2, 0.05],
  [
    [0.7, -0.5, 0.4],
    [0.2, 0.6, -0.3],
  ],
  [0.0, 0.1],
);
const F = twoLayer(
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
const D = twoLayer(
  [
    [0.4, -0.3, 0.5, 0.2],
    [-0.6, 0.2, 0.1, -0.4],
    [0.3, 0.5, -0.2, 0.6],
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
  eps: [[0.5], [-1.0], [0.2]],
  zNoise: [
    [0.1, -0.3],
    [-0.6, 0.2],
    [0.4, 0.5],
  ],
};

const fixtureContext = (nets: Record<string, Module>, hyper: VeeganHyper, params: Record<string, ParamTree>) =>
  stepContext(nets, hyper, params, drawTensors(DRAWS));

const FIXED = { G: G.tree, F: F.tree, D: D.tree };

const update = (hyper: VeeganHyper, name: string) => findUpdate(veegan, hyper, name);

/** loss and gradients of one update with respect to EVERY player. */
function gradAll(hyper: VeeganHyper, name: string) {
  const nets = veegan.build(RING, hyper, new Generator(1));
  const u = update(hyper, name);
  return tidy(() => {
    const [loss, grads] = valueAndGrad((p: Record<string, ParamTree>) =>
      lossOf(u.loss(fixtureContext(nets, hyper, p))),
    )(FIXED);
    const norms = Object.fromEntries(
      Object.entries(grads).map(([k, t]) => [
        k,
        flattenTree(t).reduce((s, [, g]) => s + Array.from(g.dataSync()).reduce((a, v) => a + Math.abs(v), 0), 0),
      ]),
    );
    return { loss: loss.dataSync()[0]!, norms };
  });
}

describe('veegan: fixture losses (hand-computed)', () => {
  for (const form of ['gaussian', 'squared-l2'] as const) {
    it(`D, GF and F-pretrain losses match the formulas (reconstruction '${form}')`, () => {
      const h = tinyHyper({ reconstruction: form });
      const nets = veegan.build(RING, h, new Generator(1));
      const ref = referenceLosses(G.js, F.js, D.js, DRAWS, form);
      tidy(() => {
        const c = fixtureContext(nets, h, FIXED);
        const dLoss = update(h, 'D').loss(c);
        expect(lossOf(dLoss).dataSync()[0]).toBeCloseTo(ref.D, 5);
        const gf = update(h, 'GF').loss(c);
        if (gf instanceof Tensor) throw new Error('GF logs its terms');
        expect(gf.loss.dataSync()[0]).toBeCloseTo(ref.GF, 5);
        expect(gf.logs!.adversarial!.dataSync()[0]).toBeCloseTo(ref.adversarial, 5);
        expect(gf.logs!.reconstruction!.dataSync()[0]).toBeCloseTo(ref.reconstruction, 5);
        expect(lossOf(update(h, 'F-pretrain').loss(c)).dataSync()[0]).toBeCloseTo(ref.reconstruction, 5);
      });
      // The fixture exercises both ReLU branches and a non-trivial reconstruction.
      expect(ref.reconstruction).toBeGreaterThan(0.1);
    });
  }

  it("'squared-l2' is exactly twice 'gaussian' on the reconstruction", () => {
    const a = referenceLosses(G.js, F.js, D.js, DRAWS, 'gaussian');
    const b = referenceLosses(G.js, F.js, D.js, DRAWS, 'squared-l2');
    expect(b.reconstruction).toBeCloseTo(2 * a.reconstruction, 12);
  });

  it('sample appends the extra noise dimension to z', () => {
    const h = tinyHyper();
    const nets = veegan.build(RING, h, new Generator(1));
    tidy(() => {
      const z = tensor([[0.3, -1.2]]);
      const rng = new Generator(5);
      const x = veegan.sample({ nets, hyper: h, state: {}, data: RING }, z, rng);
      const eps = new Generator(5).normal([1, 1]).dataSync()[0]!;
      const want = mlpForward(readLayers(nets.G!.parameters()), [0.3, -1.2, eps]);
      expect(Array.from(x.dataSync())).toEqual(want.map((v) => expect.closeTo(v, 5)));
    });
  });
});

describe('veegan: gradient routing', () => {
  it("D's loss sends no gradient to G or F (x_g and z_hat are constants)", () => {
    const { norms } = gradAll(tinyHyper(), 'D');
    expect(norms.D).toBeGreaterThan(0);
    expect(norms.G).toBe(0);
    expect(norms.F).toBe(0);
  });

  it("GF's loss reaches G and F; F-pretrain's reaches F only", () => {
    const gf = gradAll(tinyHyper(), 'GF');
    expect(gf.norms.G).toBeGreaterThan(0);
    expect(gf.norms.F).toBeGreaterThan(0);
    const pre = gradAll(tinyHyper(), 'F-pretrain');
    expect(pre.norms.F).toBeGreaterThan(0);
    expect(pre.norms.G).toBe(0);
    expect(pre.norms.D).toBe(0);
  });
});

// ------------------------------------------------------------------ trainer

const TINY_SET = { batchSize: 4, latentDim: 2, 'net.hidden': 3, 'net.layers': 1 };

describe('veegan: trainer', async () => {
  const ring = await loadDataSource('ring');

  it('one iteration steps D, G and F once each, all from the same batch and noise', () => {
    const t = new GanTrainer({ objective: veegan, data: ring, seed: 3, set: TINY_SET });
    const before = flatParams(t);
    const losses = t.step();
    const after = flatParams(t);
    for (const p of ['G', 'F', 'D']) expect(after[p]).not.toEqual(before[p]);
    expect(stepCounts(t)).toEqual({ G: 1, F: 1, D: 1 });
    expect(Object.keys(losses).sort()).toEqual(['D', 'GF', 'GF/adversarial', 'GF/reconstruction']);
    disposeLosses(losses);
    t.dispose();
  });

  it('D and G+F are simultaneous: both logged losses equal the hand computation at the pre-step parameters', () => {
    const t = new GanTrainer({ objective: veegan, data: ring, seed: 4, set: TINY_SET });
    const n = t.hyper.batchSize;
    const rng = Generator.fromState(t.rng.getState());
    const s = ring.sample(n, rng);
    s.labels?.dispose();
    const draws = {
      real: rows(s.x),
      z: rows(rng.normal([n, 2])),
      eps: rows(rng.normal([n, 1])),
      zNoise: rows(rng.normal([n, 2])),
    };
    s.x.dispose();
    const pre = Object.fromEntries(Object.entries(t.params()).map(([p, tree]) => [p, readLayers(tree)]));
    const want = referenceLosses(pre.G!, pre.F!, pre.D!, draws, 'gaussian');
    const losses = t.step();
    const got = lossValues(losses);
    disposeLosses(losses);
    expect(got.D).toBeCloseTo(want.D, 5);
    expect(got.GF).toBeCloseTo(want.GF, 5);
    // Sequential updates (G+F against the stepped D) would give another value: the check discriminates.
    const post = readLayers(t.nets.D!.parameters());
    const sequential = referenceLosses(pre.G!, pre.F!, post, draws, 'gaussian');
    expect(Math.abs(sequential.GF - want.GF)).toBeGreaterThan(1e-4);
    t.dispose();
  });

  it('pretrainF: the first iterations step F alone on the reconstruction', () => {
    const t = new GanTrainer({ objective: veegan, data: ring, seed: 5, set: { ...TINY_SET, pretrainF: 2 } });
    for (let i = 0; i < 2; i++) {
      const before = flatParams(t);
      const losses = t.step();
      expect(Object.keys(losses)).toEqual(['F-pretrain']);
      disposeLosses(losses);
      const after = flatParams(t);
      expect(after.F).not.toEqual(before.F);
      expect(after.G).toEqual(before.G);
      expect(after.D).toEqual(before.D);
    }
    expect(stepCounts(t)).toEqual({ G: 0, F: 2, D: 0 });
    disposeLosses(t.step());
    expect(stepCounts(t)).toEqual({ G: 1, F: 3, D: 1 });
    t.dispose();
  });

  it('three iterations on the ring with the default (notebook) settings give finite losses', () => {
    const t = new GanTrainer({ objective: veegan, data: ring, seed: 0 });
    expect(t.hyper.latentDim).toBe(254);
    expect(t.hyper.batchSize).toBe(500);
    for (let i = 0; i < 3; i++) {
      const losses = t.step();
      for (const [k, v] of Object.entries(lossValues(losses))) expect(Number.isFinite(v), k).toBe(true);
      disposeLosses(losses);
    }
    const x = t.sample(64);
    expect(x.shape).toEqual([64, 2]);
    expect(Array.from(x.dataSync()).every(Number.isFinite)).toBe(true);
    x.dispose();
    t.dispose();
  });

  it('resuming from a checkpoint after iteration 2 continues bit for bit', async () => {
    const set = { batchSize: 16, latentDim: 8, pretrainF: 1 };
    const a = new GanTrainer({ objective: veegan, data: ring, seed: 6, set });
    await stepRows(a, 2);
    const bytes = await a.checkpoint();
    const la = await stepRows(a, 2);
    const b = new GanTrainer({ objective: veegan, data: ring, seed: 6, set });
    b.restore(bytes);
    expect(b.stepCount).toBe(2);
    expect(await stepRows(b, 2)).toEqual(la);
    expect(flatParams(b)).toEqual(flatParams(a));
    expect(stepCounts(b)).toEqual(stepCounts(a));
    a.dispose();
    b.dispose();
  });

  it('rejects image data and bad settings by name', () => {
    expect(() => veegan.validate!(veegan.defaults, { shape: [1, 28, 28], kind: 'image' })).toThrow(TesseraError);
    expect(() => new GanTrainer({ objective: veegan, data: ring, set: { extraNoiseDim: -1 } })).toThrow(
      /extraNoiseDim/,
    );
    expect(() => new GanTrainer({ objective: veegan, data: ring, set: { reconstruction: 'l1' } })).toThrow(
      /reconstruction/,
    );
  });
});
