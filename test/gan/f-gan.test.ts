// f-GAN objective: Table 2's activations and conjugates against Table 1's f, the variational bound
// with the optimal critic on two Gaussians, hand-computed losses, simultaneity, ring steps, resume.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { valueAndGrad } from '../../src/autograd/transforms.js';
import { TesseraError } from '../../src/errors.js';
import { loadDataSource } from '../../src/gan/data.js';
import { type FDivergence, type FganHyper, fGan, fganBound } from '../../src/gan/objectives/f-gan.js';
import { disposeLosses, GanTrainer } from '../../src/gan/trainer.js';
import { Generator } from '../../src/random/generator.js';
import { tensor } from '../../src/tensor/ops/convert.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { flattenTree, type ParamTree } from '../../src/tensor/tree.js';
import {
  bd,
  bg,
  dJs,
  findUpdate,
  gJs,
  linearTree,
  lossOf,
  lossValues,
  mean,
  paramArrays,
  real,
  stepRows,
  Wd,
  Wg,
  z,
} from './reference.js';

const DIVS: FDivergence[] = ['kl', 'reverse-kl', 'js', 'pearson'];
const variance = (v: number[]) => {
  const m = mean(v);
  return v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1);
};

// Table 1 generators f(u) and Table 2 (g_f, f*), written out as printed (no simplification).
const F: Record<FDivergence, (u: number) => number> = {
  kl: (u) => u * Math.log(u),
  'reverse-kl': (u) => -Math.log(u),
  js: (u) => -(u + 1) * Math.log((1 + u) / 2) + u * Math.log(u),
  pearson: (u) => (u - 1) ** 2,
};
const G_F: Record<FDivergence, (v: number) => number> = {
  kl: (v) => v,
  'reverse-kl': (v) => -Math.exp(-v),
  js: (v) => Math.LN2 - Math.log(1 + Math.exp(-v)),
  pearson: (v) => v,
};
const F_STAR: Record<FDivergence, (t: number) => number> = {
  kl: (t) => Math.exp(t - 1),
  'reverse-kl': (t) => -1 - Math.log(-t),
  js: (t) => -Math.log(2 - Math.exp(t)),
  pearson: (t) => (t * t) / 4 + t,
};
/** The raw output V with g_f(V(x)) = T*(x) = f'(r), r = p/q, from lr = log r. */
const V_OPT: Record<FDivergence, (lr: number) => number> = {
  kl: (lr) => 1 + lr, // f'(r) = 1 + log r
  'reverse-kl': (lr) => lr, // f'(r) = -1/r = -exp(-V)
  js: (lr) => lr, // f'(r) = log(2r/(1+r)) = log 2 - log(1 + 1/r)
  pearson: (lr) => 2 * (Math.exp(lr) - 1), // f'(r) = 2(r - 1)
};

describe("f-GAN's Table 2 (Nowozin et al. 2016)", () => {
  it('each f* is the convex conjugate sup_u (u t - f(u)) of its Table 1 f, on points of g_f range', () => {
    for (const div of DIVS) {
      for (const v of [-1.5, -0.3, 0.2, 0.9]) {
        const t = G_F[div](v);
        // sup over a fine log grid of u in [1e-4, 1e4].
        let best = -Infinity;
        for (let k = 0; k <= 400000; k++) {
          const u = 10 ** (-4 + (8 * k) / 400000);
          best = Math.max(best, u * t - F[div](u));
        }
        expect(Math.abs(best - F_STAR[div](t)), `${div} at v=${v}`).toBeLessThan(1e-6);
      }
    }
  });

  it('the library bound is E_P[g_f(v)] - E_Q[f*(g_f(v))] with the printed formulas', () => {
    const vr = [-1.2, 0.3, 2.0, 0.7];
    const vf = [0.4, -0.8, 1.1];
    for (const div of DIVS) {
      const expected = mean(vr.map(G_F[div])) - mean(vf.map((v) => F_STAR[div](G_F[div](v))));
      const got = fganBound(div, tensor(vr), tensor(vf)).dataSync()[0]!;
      expect(got, div).toBeCloseTo(expected, 5);
    }
  });

  it('with the optimal critic the bound equals D_f(P || Q) for P = N(0, 1), Q = N(1, 1.2^2), within 5 standard errors', () => {
    // Q's std 1.2 (not 1.5) keeps every term's variance finite (reverse KL's E_P[(q/p)^2] needs
    // sigma_q^2 < 2 sigma_p^2), so the standard errors below are honest.
    const [mp, sp, mq, sq] = [0, 1, 1, 1.2];
    const logN = (x: number, m: number, s: number) =>
      -0.5 * ((x - m) / s) ** 2 - Math.log(s) - 0.5 * Math.log(2 * Math.PI);
    const logRatio = (x: number) => logN(x, mp, sp) - logN(x, mq, sq);
    // "Closed forms": KL both ways exactly; JS and Pearson by quadrature of E_Q[f(p/q)] on a fine grid.
    const kl = (m1: number, s1: number, m2: number, s2: number) =>
      Math.log(s2 / s1) + (s1 * s1 + (m1 - m2) ** 2) / (2 * s2 * s2) - 0.5;
    const quad = (div: FDivergence) => {
      let s = 0;
      const h = 1e-3;
      for (let x = -30; x <= 30; x += h) {
        const q = Math.exp(logN(x, mq, sq));
        s += q === 0 ? 0 : q * F[div](Math.exp(logRatio(x)));
      }
      return s * h;
    };
    const closed: Record<FDivergence, number> = {
      kl: kl(mp, sp, mq, sq),
      'reverse-kl': kl(mq, sq, mp, sp),
      js: quad('js'),
      pearson: quad('pearson'),
    };
    // The quadrature agrees with the exact KL (checks the grid).
    expect(Math.abs(quad('kl') - closed.kl)).toBeLessThan(1e-8);
    expect(closed.js).toBeGreaterThan(0);
    expect(closed.js).toBeLessThan(2 * Math.LN2);

    const n = 200_000;
    const rng = new Generator(11);
    const xp = Array.from(rng.normal([n]).dataSync(), (e) => mp + sp * e);
    const xq = Array.from(rng.normal([n]).dataSync(), (e) => mq + sq * e);
    for (const div of DIVS) {
      const vReal = xp.map((x) => V_OPT[div](logRatio(x)));
      const vFake = xq.map((x) => V_OPT[div](logRatio(x)));
      const bound = fganBound(div, tensor(vReal), tensor(vFake)).dataSync()[0]!;
      const a = vReal.map(G_F[div]);
      const b = vFake.map((v) => F_STAR[div](G_F[div](v)));
      const se = Math.sqrt(variance(a) / n + variance(b) / n);
      // Non-vacuous: five standard errors are under a tenth of the divergence.
      expect(5 * se, `${div} standard error`).toBeLessThan(0.1 * closed[div]);
      expect(Math.abs(bound - closed[div]), `${div}: bound ${bound}, D_f ${closed[div]}, se ${se}`).toBeLessThan(
        5 * se,
      );
    }
  });
});

// Linear nets (net.layers = 0): G z(1) -> x(2) = Wg z + bg; D x(2) -> v = Wd . x + bd.

async function fixture(set: Record<string, unknown> = {}) {
  const data = await loadDataSource('ring');
  const t = new GanTrainer({ objective: fGan, data, seed: 0, set: { latentDim: 1, 'net.layers': 0, ...set } });
  t.nets.G!.setParameters(linearTree(Wg, bg));
  t.nets.D!.setParameters(linearTree(Wd, bd));
  const draws = { real: tensor(real), z: tensor(z) };
  const update = (name: string) => findUpdate(fGan, t.hyper, name);
  const loss = (name: string, params: Record<string, ParamTree> = t.params()) =>
    lossOf(update(name).loss(t.context(draws, params)));
  return { t, loss };
}

describe('f-GAN objective', () => {
  it('D loss = -F, G loss = F (minimax) or -mean g_f(V(G(z))) (alternative), by hand, for every divergence', async () => {
    for (const div of DIVS) {
      const F_ = mean(real.map((x) => G_F[div](dJs(x)))) - mean(z.map((zi) => F_STAR[div](G_F[div](dJs(gJs(zi))))));
      const mm = await fixture({ divergence: div });
      expect(mm.loss('D').dataSync()[0]!, div).toBeCloseTo(-F_, 5);
      expect(mm.loss('G').dataSync()[0]!, div).toBeCloseTo(F_, 5);
      mm.t.dispose();
      const alt = await fixture({ divergence: div, generatorLoss: 'alternative' });
      const expectedAlt = -mean(z.map((zi) => G_F[div](dJs(gJs(zi)))));
      expect(alt.loss('G').dataSync()[0]!, div).toBeCloseTo(expectedAlt, 5);
      alt.t.dispose();
    }
  });

  it("D's loss gives G exactly zero gradient; G's (hand-checked) gradient reaches G", async () => {
    const { t, loss } = await fixture({ divergence: 'pearson' });
    const all = t.params();
    const [, gD] = valueAndGrad((p: Record<string, ParamTree>) => loss('D', p))(all);
    for (const [, g] of flattenTree(gD.G!)) expect(Array.from(g.dataSync()).every((v) => v === 0)).toBe(true);
    expect(flattenTree(gD.D!).some(([, g]) => Array.from(g.dataSync()).some((v) => v !== 0))).toBe(true);
    const [, gG] = valueAndGrad((p: Record<string, ParamTree>) => loss('G', p))(all);
    // Pearson: dF/dbg = -mean (v/2 + 1) * Wd, v = D(G(z)).
    const s = mean(z.map((zi) => dJs(gJs(zi)) / 2 + 1));
    const gb = Array.from(((gG.G!['0'] as ParamTree).bias as Tensor).dataSync());
    expect(gb[0]).toBeCloseTo(-s * Wd[0]![0]!, 5);
    expect(gb[1]).toBeCloseTo(-s * Wd[0]![1]!, 5);
    t.dispose();
  });

  it('one iteration steps D and G once each, simultaneously: the logged D loss is exactly -G loss', async () => {
    const data = await loadDataSource('ring');
    const t = new GanTrainer<FganHyper>({ objective: fGan, data, seed: 3 });
    const before = { G: paramArrays(t.nets.G!), D: paramArrays(t.nets.D!) };
    const l = lossValues(t.step());
    expect(l.D).toBe(-l.G!);
    expect(l['D/bound']).toBe(l.G);
    for (const p of ['G', 'D'] as const) {
      expect(paramArrays(t.nets[p]!)).not.toEqual(before[p]);
      expect(t.optimizers[p]!.stepCount).toBe(1);
    }
    t.dispose();
  });

  it('three iterations on the ring give finite losses for every divergence and G loss', async () => {
    const data = await loadDataSource('ring');
    for (const div of DIVS) {
      for (const generatorLoss of ['minimax', 'alternative']) {
        const t = new GanTrainer({ objective: fGan, data, seed: 1, set: { divergence: div, generatorLoss } });
        for (let i = 0; i < 3; i++) {
          const l = t.step();
          for (const [k, v] of Object.entries(lossValues(l))) expect(Number.isFinite(v), `${div} ${k}`).toBe(true);
          disposeLosses(l);
        }
        t.dispose();
      }
    }
  });

  it('resuming from a checkpoint after iteration 2 continues bit for bit', async () => {
    const data = await loadDataSource('ring');
    const set = { batchSize: 16, divergence: 'js' };
    const a = new GanTrainer({ objective: fGan, data, seed: 6, set });
    await stepRows(a, 2);
    const bytes = await a.checkpoint();
    const la = await stepRows(a, 2);
    const b = new GanTrainer({ objective: fGan, data, seed: 6, set });
    b.restore(bytes);
    expect(await stepRows(b, 2)).toEqual(la);
    for (const p of ['G', 'D']) expect(paramArrays(b.nets[p]!)).toEqual(paramArrays(a.nets[p]!));
    a.dispose();
    b.dispose();
  });

  it('defaults and validation', async () => {
    expect(fGan.defaults.divergence).toBe('kl');
    expect(fGan.defaults.generatorLoss).toBe('minimax');
    const data = await loadDataSource('ring');
    expect(() => new GanTrainer({ objective: fGan, data, set: { divergence: 'hellinger' } })).toThrow(TesseraError);
    expect(() => new GanTrainer({ objective: fGan, data, set: { generatorLoss: 'nope' } })).toThrow(TesseraError);
  });
});
