// PresGAN objective: hand-computed D and G losses (data noising, adversarial term, the entropy
// surrogate on HMC samples), gradient routing, the sigma sign check and scalars of presgan.md 9,
// truncation, presets, and ring training with exact resume.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { valueAndGrad } from '../../src/autograd/transforms.js';
import { TesseraError } from '../../src/errors.js';
import { resolveHyper } from '../../src/gan/config.js';
import { type DataSource, loadDataSource } from '../../src/gan/data.js';
import { presganPosteriorSamples } from '../../src/gan/entropy.js';
import type { DataInfo, Objective, StepContext } from '../../src/gan/objective.js';
import { type PresganHyper, presgan, rhoFromSigma, sigmaFromRho } from '../../src/gan/objectives/presgan.js';
import { disposeLosses, GanTrainer } from '../../src/gan/trainer.js';
import { functionalCall, type Module } from '../../src/nn/module.js';
import { Generator } from '../../src/random/generator.js';
import { tidy } from '../../src/tensor/engine.js';
import { tensor } from '../../src/tensor/ops/convert.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { flattenTree, type ParamTree } from '../../src/tensor/tree.js';
import { type Layer, lossOf, type Mat, mean, resumeAgainstFull, softplus, stepRows } from './reference.js';

const RING: DataInfo = { shape: [2], kind: 'vector' };

// ------------------------------------------------------------------ fixture: tanh MLPs 2 -> 3 -> 2 and 2 -> 3 -> 1

function mlpJs(layers: Layer[], x: number[]): number[] {
  let h = x;
  layers.forEach((l, i) => {
    const y = l.W.map((row, o) => row.reduce((s, w, k) => s + w * h[k]!, l.b[o]!));
    h = i < layers.length - 1 ? y.map(Math.tanh) : y;
  });
  return h;
}
const G: Layer[] = [
  {
    W: [
      [0.5, -0.3],
      [-0.4, 0.8],
      [0.3, 0.3],
    ],
    b: [0.1, -0.2, 0.05],
  },
  {
    W: [
      [0.7, -0.5, 0.4],
      [0.2, 0.6, -0.3],
    ],
    b: [0.0, 0.1],
  },
];
const D: Layer[] = [
  {
    W: [
      [0.4, -0.3],
      [-0.6, 0.2],
      [0.3, 0.5],
    ],
    b: [0.1, 0.0, -0.2],
  },
  { W: [[0.8, -0.7, 0.5]], b: [0.15] },
];
const tree = (ls: Layer[]): ParamTree => ({
  '0': { weight: tensor(ls[0]!.W), bias: tensor(ls[0]!.b) },
  '2': { weight: tensor(ls[1]!.W), bias: tensor(ls[1]!.b) },
});
const RHO = [-1, -0.5];
const DRAWS = {
  real: [
    [1.0, 0.0],
    [0.0, -1.0],
    [-0.7, 0.7],
  ],
  eta: [
    [0.5, -1.0],
    [0.2, 0.3],
    [-0.8, 1.1],
  ],
  etaFake: [
    [-0.4, 0.6],
    [1.2, -0.1],
    [0.3, 0.9],
  ],
  z: [
    [0.3, -1.2],
    [1.5, 0.4],
    [-0.8, 0.9],
  ],
};
const tinyHyper = (extra: Partial<PresganHyper> = {}): PresganHyper =>
  ({
    ...presgan.defaults,
    batchSize: 3,
    latentDim: 2,
    net: { hidden: 3, layers: 1, activation: 'tanh', ngf: 8, ndf: 8 },
    ...extra,
  }) as PresganHyper;
const FIXED = (): Record<string, ParamTree> => ({ G: tree(G), D: tree(D), sigma: { rho: tensor(RHO) } });

function fixtureContext(
  nets: Record<string, Module>,
  hyper: PresganHyper,
  params: Record<string, ParamTree>,
  draws: Record<string, Mat>,
  rng = new Generator(0),
): StepContext<PresganHyper> {
  return {
    params,
    nets,
    hyper,
    draws: Object.fromEntries(Object.entries(draws).map(([k, v]) => [k, tensor(v)])),
    state: { stepSize: tensor(0.3) },
    step: 0,
    rng,
    apply: (p, x, opts) => functionalCall(nets[p]!, params[p]!, x, opts),
  };
}
const update = (h: PresganHyper, name: string) =>
  presgan
    .phases(h)
    .flatMap((p) => p.updates)
    .find((u) => u.name === name)!;
const sig = RHO.map(softplus);

describe('presgan: scalars (presgan.md 9.6) and presets', () => {
  it('softplus(-1) = 0.3132617; truncation bounds softplus^-1(0.01) = -4.6001660, softplus^-1(0.3) = -1.0502256', () => {
    expect(sigmaFromRho(tensor([-1], { dtype: 'float64' }), 'softplus').dataSync()[0]).toBeCloseTo(0.3132617, 7);
    expect(rhoFromSigma(0.01, 'softplus')).toBeCloseTo(-4.600166, 6);
    expect(rhoFromSigma(0.3, 'softplus')).toBeCloseTo(-1.0502256, 7);
    expect(sigmaFromRho(tensor([-1], { dtype: 'float64' }), 'exp').dataSync()[0]).toBeCloseTo(Math.exp(-1), 12);
    expect(rhoFromSigma(0.3, 'exp')).toBeCloseTo(Math.log(0.3), 12);
  });

  it('vector data: gan settings, sigma per dimension truncated to [0.01, 0.3], h0 = 1/latentDim; images: DCGAN, per pixel, no truncation, h0 = 0.01', () => {
    const v = resolveHyper(presgan, RING);
    expect([v.latentDim, v.batchSize, v.net.hidden, v.net.layers, v.net.activation]).toEqual([10, 64, 128, 2, 'tanh']);
    expect(v.optimizers).toEqual({
      G: { kind: 'adam', lr: 1e-3, betas: [0.5, 0.999] },
      D: { kind: 'adam', lr: 1e-3, betas: [0.5, 0.999] },
      sigma: { kind: 'adam', lr: 2e-4, betas: [0.5, 0.999] },
    });
    expect([v.lambda, v.sigmaShape, v.truncateSigma, v.sigmaMin, v.sigmaMax, v.rhoInit]).toEqual([
      0.01,
      'per-dimension',
      true,
      0.01,
      0.3,
      -1,
    ]);
    expect(v.hmc).toMatchObject({ burnin: 2, samples: 2, leapfrogSteps: 5, adaptRate: 0.02, targetAccept: 0.67 });
    expect(v.hmc.leapfrogGradient).toBe('full');
    expect(presgan.initState!(v, RING, {}).stepSize!.dataSync()[0]).toBeCloseTo(0.1, 7);
    const img: DataInfo = { shape: [3, 32, 32], kind: 'image' };
    const i = resolveHyper(presgan, img);
    expect([i.latentDim, i.sigmaShape, i.truncateSigma, i.lambda]).toEqual([100, 'per-pixel', false, 0.01]);
    expect(i.optimizers.G!.lr).toBe(2e-4);
    expect(i.optimizers.sigma!.lr).toBe(2e-4);
    expect(presgan.initState!(i, img, {}).stepSize!.dataSync()[0]).toBeCloseTo(0.01, 9);
    expect(() => resolveHyper(presgan, RING, { sigmaShape: 'per-pixel' })).toThrow(/per-pixel/);
    expect(() => resolveHyper(presgan, RING, { lambda: -1 })).toThrow(TesseraError);
    expect(() => resolveHyper(presgan, RING, { 'hmc.leapfrogGradient': 'none' })).toThrow(/leapfrogGradient/);
    expect(() => resolveHyper(presgan, RING, { sigmaMin: 0.5 })).toThrow(/sigmaMin/);
  });
});

describe('presgan: fixture losses (hand-computed)', () => {
  for (const shared of [false, true]) {
    it(`D loss: real noised with sg(sigma) eta, fake G(z) + sigma eta' (sharedDiscriminatorNoise ${shared})`, () => {
      const h = tinyHyper({ sharedDiscriminatorNoise: shared });
      const nets = presgan.build(RING, h, new Generator(1));
      const lr: number[] = [];
      const lf: number[] = [];
      for (let b = 0; b < 3; b++) {
        const xr = DRAWS.real[b]!.map((v, i) => v + sig[i]! * DRAWS.eta[b]![i]!);
        const ef = shared ? DRAWS.eta[b]! : DRAWS.etaFake[b]!;
        const xf = mlpJs(G, DRAWS.z[b]!).map((v, i) => v + sig[i]! * ef[i]!);
        lr.push(mlpJs(D, xr)[0]!);
        lf.push(mlpJs(D, xf)[0]!);
      }
      const want = mean(lr.map((l) => softplus(-l))) + mean(lf.map(softplus));
      tidy(() => {
        const got = lossOf(update(h, 'D').loss(fixtureContext(nets, h, FIXED(), DRAWS))).dataSync()[0]!;
        expect(got).toBeCloseTo(want, 5);
      });
    });
  }

  it('G loss with lambda = 0: the non-saturating -mean log D(G(z) + sigma eta), no HMC', () => {
    const h = tinyHyper({ lambda: 0 });
    const nets = presgan.build(RING, h, new Generator(1));
    const x = DRAWS.z.map((z, b) => mlpJs(G, z).map((v, i) => v + sig[i]! * DRAWS.eta[b]![i]!));
    const logits = x.map((xb) => mlpJs(D, xb)[0]!);
    const want = mean(logits.map((l) => softplus(-l)));
    tidy(() => {
      const out = update(h, 'G').loss(fixtureContext(nets, h, FIXED(), { z: DRAWS.z, eta: DRAWS.eta }));
      if (out instanceof Tensor) throw new Error('G logs its terms');
      expect(out.loss.dataSync()[0]).toBeCloseTo(want, 5);
      expect(out.state).toBeUndefined(); // no HMC: the step size is left alone
    });
  });

  it('G loss with lambda > 0: L_adv - lambda E, E on the HMC samples started at z (recomputed by hand)', () => {
    const h = tinyHyper({ lambda: 0.5 });
    const nets = presgan.build(RING, h, new Generator(1));
    const rng = new Generator(9);
    const saved = rng.getState();
    tidy(() => {
      const c = fixtureContext(nets, h, FIXED(), { z: DRAWS.z, eta: DRAWS.eta }, rng);
      const out = update(h, 'G').loss(c);
      if (out instanceof Tensor) throw new Error('G logs its terms');
      // The same HMC run, replayed from the same random state.
      const replay = new Generator(0);
      replay.setState(saved);
      const x: Mat = DRAWS.z.map((z, b) => mlpJs(G, z).map((v, i) => v + sig[i]! * DRAWS.eta[b]![i]!));
      // x and sigma as the loss computes them (float32), so that the replay is the same chain.
      const sigmaT = sigmaFromRho(tensor(RHO), 'softplus');
      const r = presganPosteriorSamples({
        G: (v: Tensor) => functionalCall(nets.G!, FIXED().G!, v),
        x: functionalCall(nets.G!, FIXED().G!, tensor(DRAWS.z)).add(sigmaT.mul(tensor(DRAWS.eta))),
        sigma: sigmaT,
        z: tensor(DRAWS.z),
        stepSize: 0.3,
        rng: replay,
      });
      const zs = r.samples.arraySync() as number[][][];
      let E = 0;
      for (let b = 0; b < 3; b++) {
        const m0 = mlpJs(G, zs[0]![b]!);
        const m1 = mlpJs(G, zs[1]![b]!);
        for (let i = 0; i < 2; i++) {
          const xi = x[b]![i]!;
          E += (((xi - (m0[i]! + m1[i]!) / 2) / sig[i]! ** 2) * xi) / 3;
        }
      }
      const logits = x.map((xb) => mlpJs(D, xb)[0]!);
      const adv = mean(logits.map((l) => softplus(-l)));
      expect(out.logs!.adversarial!.dataSync()[0]).toBeCloseTo(adv, 5);
      expect(out.logs!.entropySurrogate!.dataSync()[0]).toBeCloseTo(E, 4);
      expect(out.loss.dataSync()[0]).toBeCloseTo(adv - 0.5 * E, 4);
      expect(out.state!.stepSize!.dataSync()[0]).toBe(r.stepSize.dataSync()[0]);
      const acc = out.logs!.acceptRate!.dataSync()[0]!;
      expect(acc).toBeGreaterThanOrEqual(0);
      expect(acc).toBeLessThanOrEqual(1);
    });
  });

  it('sample: the mean G(z) by default, G(z) + sigma eta with sampleNoise', () => {
    for (const sampleNoise of [false, true]) {
      const h = tinyHyper({ sampleNoise });
      const nets = presgan.build(RING, h, new Generator(1));
      nets.G!.setParameters(tree(G));
      nets.sigma!.setParameters({ rho: tensor(RHO) });
      tidy(() => {
        const x = presgan.sample({ nets, hyper: h, state: {}, data: RING }, tensor(DRAWS.z), new Generator(5));
        const eta = new Generator(5).normal([3, 2]).arraySync() as Mat;
        const got = x.arraySync() as Mat;
        for (let b = 0; b < 3; b++) {
          const want = mlpJs(G, DRAWS.z[b]!).map((v, i) => v + (sampleNoise ? sig[i]! * eta[b]![i]! : 0));
          for (let i = 0; i < 2; i++) expect(got[b]![i]!).toBeCloseTo(want[i]!, 5);
        }
      });
    }
  });
});

// ------------------------------------------------------------------ routing and training

/** Sum of |gradient| per player of one update's loss, differentiated with respect to every player. */
function gradNorms(h: PresganHyper, name: string, draws: Record<string, Mat>): Record<string, number> {
  const nets = presgan.build(RING, h, new Generator(1));
  const u = update(h, name);
  return tidy(() => {
    const [, grads] = valueAndGrad((p: Record<string, ParamTree>) => lossOf(u.loss(fixtureContext(nets, h, p, draws))))(
      FIXED(),
    );
    return Object.fromEntries(
      Object.entries(grads).map(([k, t]) => [
        k,
        flattenTree(t).reduce((s, [, g]) => s + Array.from(g.dataSync()).reduce((a, v) => a + Math.abs(v), 0), 0),
      ]),
    );
  });
}

async function values(t: GanTrainer): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const p of t.objective.players)
    for (const [k, x] of t.nets[p]!.namedParameters()) out.set(`${p}.${k}`, Array.from(await x.data()));
  return out;
}
const changed = (a: Map<string, number[]>, b: Map<string, number[]>, player: string) =>
  [...a].some(([k, v]) => k.startsWith(`${player}.`) && v.some((x, i) => x !== b.get(k)![i]));
const TINY_SET = { batchSize: 16, latentDim: 4, 'net.hidden': 16 };

describe('presgan: gradient routing', () => {
  it("D's loss sends no gradient to G or sigma (sg(sigma) on the real noise, the fake batch detached)", () => {
    for (const shared of [false, true]) {
      const n = gradNorms(tinyHyper({ sharedDiscriminatorNoise: shared }), 'D', DRAWS);
      expect(n.D).toBeGreaterThan(0);
      expect(n.G).toBe(0);
      expect(n.sigma).toBe(0);
    }
  });

  it("G's loss reaches G and sigma (adversarial and entropy terms)", () => {
    for (const lambda of [0, 0.5]) {
      const n = gradNorms(tinyHyper({ lambda }), 'G', { z: DRAWS.z, eta: DRAWS.eta });
      expect(n.G).toBeGreaterThan(0);
      expect(n.sigma).toBeGreaterThan(0);
    }
  });

  it('one trainer step of each phase moves exactly its players, each optimiser stepped once', async () => {
    const data = await loadDataSource('ring');
    const set = { ...TINY_SET, truncateSigma: false };
    for (const [phase, movers] of [
      [0, ['D']],
      [1, ['G', 'sigma']],
    ] as const) {
      const objective: Objective<PresganHyper> = { ...presgan, phases: (h) => [presgan.phases(h)[phase]!] };
      const t = new GanTrainer({ objective, data, seed: 1, set });
      const before = await values(t);
      disposeLosses(t.step());
      const after = await values(t);
      for (const p of ['G', 'D', 'sigma']) {
        const moves = (movers as readonly string[]).includes(p);
        expect(changed(before, after, p), `phase ${phase}: player ${p}`).toBe(moves);
        expect(t.optimizers[p]!.stepCount).toBe(moves ? 1 : 0);
      }
      t.dispose();
    }
  });
});

describe('presgan: sigma', () => {
  it('sign check (presgan.md 9.8): collapsed G (W = 0), constant D: one step on the entropy term raises every sigma; lambda = 0 leaves it', async () => {
    const data = await loadDataSource('ring');
    for (const lambda of [0.01, 0]) {
      const t = new GanTrainer({
        objective: presgan,
        data,
        seed: 2,
        set: { ...TINY_SET, lambda, truncateSigma: false, 'optimizers.D.lr': 0 },
      });
      tidy(() => {
        const zero = (net: Module, paths: (p: string) => boolean) =>
          net.setParameters(
            Object.fromEntries(
              net
                .namedParameters()
                .filter(([k]) => paths(k))
                .map(([k, v]) => [k, v.mul(0)]),
            ) as unknown as ParamTree,
          );
        zero(t.nets.G!, (k) => k.endsWith('weight')); // mu(z) = constant: W = 0
        zero(t.nets.D!, (k) => k.startsWith('4.')); // D's output layer: a constant logit
      });
      const s0 = Array.from(sigmaFromRho(t.nets.sigma!.getParameter('rho'), 'softplus').dataSync());
      disposeLosses(t.step());
      const s1 = Array.from(sigmaFromRho(t.nets.sigma!.getParameter('rho'), 'softplus').dataSync());
      for (let i = 0; i < 2; i++) {
        if (lambda > 0) expect(s1[i]!).toBeGreaterThan(s0[i]!);
        else expect(s1[i]!).toBe(s0[i]!);
      }
      t.dispose();
    }
  });

  it('truncation: rho is clamped after the G step (the initial 0.3133 > sigmaMax = 0.3 becomes 0.3); off, it is not', async () => {
    const data = await loadDataSource('ring');
    for (const truncateSigma of [true, false]) {
      const t = new GanTrainer({ objective: presgan, data, seed: 3, set: { ...TINY_SET, truncateSigma } });
      disposeLosses(t.step());
      const s = Array.from(sigmaFromRho(t.nets.sigma!.getParameter('rho'), 'softplus').dataSync());
      for (const v of s) {
        if (truncateSigma) expect(v).toBeCloseTo(0.3, 6);
        else expect(Math.abs(v - 0.3)).toBeGreaterThan(1e-3);
      }
      t.dispose();
    }
  });

  it('images: one sigma per pixel shared across channels, BatchNorm generator in the HMC, one step is finite', async () => {
    const info: DataInfo = { shape: [3, 28, 28], kind: 'image' };
    const fake: DataSource = {
      name: 'noise-images',
      description: 'uniform noise images',
      info,
      sample: (n, rng) => ({ x: rng.uniform([n, 3, 28, 28], -1, 1) }),
      dispose: () => {},
    };
    const t = new GanTrainer({
      objective: presgan,
      data: fake,
      seed: 4,
      set: { batchSize: 4, latentDim: 8, 'net.ngf': 4, 'net.ndf': 4 },
    });
    expect(t.nets.sigma!.getParameter('rho').shape).toEqual([1, 28, 28]);
    const l = t.step();
    for (const v of Object.values(l)) expect(Number.isFinite(v.dataSync()[0])).toBe(true);
    disposeLosses(l);
    expect(t.state.stepSize!.shape).toEqual([]);
    t.dispose();
  });
});

describe('presgan: training on the ring', () => {
  it('3 steps with the defaults give finite losses; the step size adapts and is carried as state', async () => {
    const t = new GanTrainer({ objective: presgan, data: await loadDataSource('ring'), seed: 1 });
    const h0 = t.state.stepSize!.dataSync()[0]!;
    const rows = await stepRows(t, 3);
    for (const row of rows) {
      for (const k of ['D', 'G', 'G/adversarial', 'G/entropySurrogate', 'G/acceptRate', 'G/stepSize', 'G/sigma'])
        expect(Number.isFinite(row[k]), `${k} = ${row[k]}`).toBe(true);
    }
    const h = t.state.stepSize!.dataSync()[0]!;
    expect(h).not.toBe(h0);
    expect(h).toBeCloseTo(rows[2]!['G/stepSize']!, 7);
    t.dispose();
  });

  for (const set of [{}, { 'hmc.leapfrogGradient': 'prior-only', 'hmc.perChainStepSize': true }]) {
    it(`checkpoint after step 2, restored into a fresh trainer: bitwise the uninterrupted run (${JSON.stringify(set)})`, async () => {
      const data = await loadDataSource('ring');
      const make = () => new GanTrainer({ objective: presgan, data, seed: 7, set });
      const { full, resumed } = await resumeAgainstFull(make);
      expect(await values(resumed)).toEqual(await values(full));
      expect(Array.from(resumed.state.stepSize!.dataSync())).toEqual(Array.from(full.state.stepSize!.dataSync()));
      full.dispose();
      resumed.dispose();
    });
  }
});
