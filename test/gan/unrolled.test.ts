// The unrolled GAN: hand-computed D loss and unrolled G loss (K Adam steps from a non-zero state)
// on linear nets; gradient routing; the G gradient through K steps against finite differences (float64).
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { grad, valueAndGrad } from '../../src/autograd/transforms.js';
import { loadDataSource } from '../../src/gan/data.js';
import type { OptimizerView, StepContext } from '../../src/gan/objective.js';
import { type UnrolledHyper, unrolled, unrolledGeneratorLoss } from '../../src/gan/objectives/unrolled.js';
import { disposeLosses, GanTrainer } from '../../src/gan/trainer.js';
import { unrollOptimizer } from '../../src/gan/unroll.js';
import { mlp } from '../../src/nn/builders.js';
import { functionalCall, type Module } from '../../src/nn/module.js';
import { Adam } from '../../src/optim/optimizers.js';
import { Generator } from '../../src/random/generator.js';
import { tidy } from '../../src/tensor/engine.js';
import { tensor } from '../../src/tensor/ops/convert.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { flattenTree, mapTree, type ParamTree } from '../../src/tensor/tree.js';
import { bg, findUpdate, gJs, lossOf, mean, real, sigmoid, softplus, Wg, z } from './reference.js';

// Linear nets (net.layers = 0): G z(1) -> x(2) = Wg z + bg; D x(2) -> logit = w . x + b.
const Wd = [0.9, -0.6];
const bd = -0.3;
// D's Adam state before the step: one earlier step with this gradient (t = 1, m = 0.5 g0, v = 0.001 g0^2).
const g0 = [0.3, -0.2, 0.1]; // dw1, dw2, db
const LR = 1e-4;
const B1 = 0.5;
const B2 = 0.999;
const EPS = 1e-8;
const fake = z.map(gJs);

/** L(theta) = mean softplus(-D(x)) + mean softplus(D(G(z))) and its gradient [dw1, dw2, db], by hand. */
function dLossJs(th: number[]): { L: number; g: number[] } {
  const d = (x: number[]) => th[0]! * x[0]! + th[1]! * x[1]! + th[2]!;
  const L = mean(real.map((x) => softplus(-d(x)))) + mean(fake.map((x) => softplus(d(x))));
  const g = [0, 1, 2].map((k) => {
    const feat = (x: number[]) => (k < 2 ? x[k]! : 1);
    return mean(real.map((x) => -sigmoid(-d(x)) * feat(x))) + mean(fake.map((x) => sigmoid(d(x)) * feat(x)));
  });
  return { L, g };
}

/** K steps of torch-style Adam from (t = 1, m = (1 - b1) g0, v = (1 - b2) g0^2), by hand. */
function unrolledJs(K: number): number {
  let th = [Wd[0]!, Wd[1]!, bd];
  let m = g0.map((g) => (1 - B1) * g);
  let v = g0.map((g) => (1 - B2) * g * g);
  for (let k = 0; k < K; k++) {
    const t = 2 + k;
    const { g } = dLossJs(th);
    m = m.map((mi, i) => B1 * mi + (1 - B1) * g[i]!);
    v = v.map((vi, i) => B2 * vi + (1 - B2) * g[i]! * g[i]!);
    const bc1 = 1 - B1 ** t;
    const bc2 = 1 - B2 ** t;
    th = th.map((p, i) => p - (LR / bc1) * (m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(bc2) + EPS)));
  }
  return dLossJs(th).L;
}

async function fixture(set: Record<string, unknown> = {}) {
  const data = await loadDataSource('ring');
  const t = new GanTrainer({ objective: unrolled, data, seed: 0, set: { latentDim: 1, 'net.layers': 0, ...set } });
  t.nets.G!.setParameters({ '0': { weight: tensor(Wg), bias: tensor(bg) } });
  // One earlier D step with gradient g0 gives the optimiser state (t = 1, m, v); then D is reset.
  t.optimizers.D!.step({ '0': { weight: tensor([[g0[0]!, g0[1]!]]), bias: tensor([g0[2]!]) } });
  t.nets.D!.setParameters({ '0': { weight: tensor([Wd]), bias: tensor([bd]) } });
  const draws = { real: tensor(real), z: tensor(z) };
  const update = (name: string) => findUpdate(t.objective, t.hyper, name);
  return { t, draws, update };
}

describe('unrolled GAN (Metz et al. 2017)', () => {
  it('D loss = mean softplus(-D(x)) + mean softplus(D(G(z))), by hand', async () => {
    const { t, draws, update } = await fixture();
    const got = await lossOf(update('D').loss(t.context(draws))).item();
    expect(got).toBeCloseTo(dLossJs([Wd[0]!, Wd[1]!, bd]).L, 6);
    t.dispose();
  });

  it('G loss = -L(theta_K): K Adam steps from the current (m, v, t) on the same batch, by hand (K = 5 and 2)', async () => {
    for (const K of [5, 2]) {
      const { t, draws, update } = await fixture({ unrollSteps: K });
      expect(t.optimizers.D!.stepCount).toBe(1);
      const got = await lossOf(update('G').loss(t.context(draws))).item();
      expect(got).toBeCloseTo(-unrolledJs(K), 6);
      // K = 0 would be the plain saturating loss; K steps moved D measurably (a non-vacuous check).
      expect(Math.abs(unrolledJs(K) - dLossJs([Wd[0]!, Wd[1]!, bd]).L)).toBeGreaterThan(1e-5);
      t.dispose();
    }
  });

  it('the stored D update is the first unrolled step: one Adam step equals theta_1 of the replay', async () => {
    const { t, draws, update } = await fixture();
    const c = t.context(draws);
    const dLoss = (d: ParamTree) => lossOf(update('D').loss(t.context(draws, { ...t.params(), D: d })));
    const theta1 = unrollOptimizer(c.params.D!, dLoss, t.optimizers.D!, 1);
    const [, gD] = valueAndGrad((p: Record<string, ParamTree>) =>
      lossOf(update('D').loss(t.context(draws, { ...t.params(), ...p }))),
    )({
      D: t.params().D!,
    });
    t.optimizers.D!.step(gD.D!);
    const stepped = flattenTree(t.nets.D!.parameters());
    const replay = new Map(flattenTree(theta1));
    for (const [k, v] of stepped) expect(Array.from(await v.data())).toEqual(Array.from(await replay.get(k)!.data()));
    t.dispose();
  });

  it('gradients: the D loss gives G exactly zero; one step moves D and G once each (one simultaneous phase)', async () => {
    const { t, draws, update } = await fixture();
    const [, gD] = valueAndGrad((p: Record<string, ParamTree>) => lossOf(update('D').loss(t.context(draws, p))))(
      t.params(),
    );
    for (const [, g] of flattenTree(gD.G!)) expect(Array.from(await g.data()).every((v) => v === 0)).toBe(true);
    const [, gG] = valueAndGrad((p: Record<string, ParamTree>) =>
      lossOf(update('G').loss(t.context(draws, { ...t.params(), ...p }))),
    )({
      G: t.params().G!,
    });
    expect(flattenTree(gG.G!).some(([, g]) => Array.from(g.dataSync()).some((v) => v !== 0))).toBe(true);
    t.dispose();

    const tt = new GanTrainer({
      objective: unrolled,
      data: await loadDataSource('ring'),
      seed: 2,
      set: { batchSize: 16, latentDim: 4, 'net.hidden': 16 },
    });
    expect(tt.objective.phases(tt.hyper)).toHaveLength(1);
    const snap = async (m: Module) => Promise.all(m.namedParameters().map(async ([, x]) => Array.from(await x.data())));
    const before = { G: await snap(tt.nets.G!), D: await snap(tt.nets.D!) };
    const losses = tt.step();
    for (const v of Object.values(losses)) expect(Number.isFinite(await v.item())).toBe(true);
    disposeLosses(losses);
    expect(await snap(tt.nets.G!)).not.toEqual(before.G);
    expect(await snap(tt.nets.D!)).not.toEqual(before.D);
    expect(tt.optimizers.G!.stepCount).toBe(1);
    expect(tt.optimizers.D!.stepCount).toBe(1);
    for (let i = 0; i < 2; i++) {
      const l = tt.step();
      for (const v of Object.values(l)) expect(Number.isFinite(await v.item())).toBe(true);
      disposeLosses(l);
    }
    tt.dispose();
  });

  it('resumes bit for bit (parameters and both Adam states) from a checkpoint after step 2', async () => {
    const data = await loadDataSource('ring');
    const set = { batchSize: 16, latentDim: 4, 'net.hidden': 16, unrollSteps: 3 };
    const make = () => new GanTrainer({ objective: unrolled, data, seed: 3, set });
    const rows = async (t: GanTrainer, n: number) => {
      const out: number[][] = [];
      for (let i = 0; i < n; i++) {
        const l = t.step();
        out.push(Object.values(l).map((x) => x.dataSync()[0]!));
        disposeLosses(l);
      }
      return out;
    };
    const snapAll = (t: GanTrainer) =>
      ['G', 'D'].map((p) => t.nets[p]!.namedParameters().map(([, x]) => Array.from(x.dataSync())));
    const full = make();
    const fullRows = await rows(full, 4);
    const a = make();
    await rows(a, 2);
    const bytes = await a.checkpoint();
    a.dispose();
    const b = make();
    b.restore(bytes);
    expect(await rows(b, 2)).toEqual(fullRows.slice(2));
    expect(snapAll(b)).toEqual(snapAll(full));
    full.dispose();
    b.dispose();
  });

  it('defaults: the notebook (K 5, z 256, batch 512, tanh 2x128, orthogonal gain 1.4, Adam D 1e-4 / G 1e-3, beta1 0.5)', async () => {
    const d = unrolled.defaults;
    expect([d.unrollSteps, d.secondOrder, d.latentDim, d.batchSize, d.initGain]).toEqual([5, true, 256, 512, 1.4]);
    expect(d.net).toMatchObject({ hidden: 128, layers: 2, activation: 'tanh' });
    expect(d.optimizers.D).toEqual({ kind: 'adam', lr: 1e-4, betas: [0.5, 0.999] });
    expect(d.optimizers.G).toEqual({ kind: 'adam', lr: 1e-3, betas: [0.5, 0.999] });
    const t = new GanTrainer({ objective: unrolled, data: await loadDataSource('ring'), seed: 1 });
    // Orthogonal init with gain 1.4: W W^T = 1.4^2 I for the square 128 x 128 layer.
    const w = t.nets.D!.parameters()['2'] as ParamTree;
    const W = Array.from(await (w.weight as Tensor).data());
    let dot00 = 0;
    let dot01 = 0;
    for (let j = 0; j < 128; j++) {
      dot00 += W[j]! * W[j]!;
      dot01 += W[j]! * W[128 + j]!;
    }
    expect(dot00).toBeCloseTo(1.96, 4);
    expect(dot01).toBeCloseTo(0, 4);
    expect(Array.from(await (w.bias as Tensor).data()).every((v) => v === 0)).toBe(true);
    t.dispose();
  });
});

describe('unrolled GAN: the G gradient through K Adam steps (float64)', () => {
  /** Tiny float64 nets and a context with D's Adam in a non-zero state (t = 3). */
  function tiny(K: number, secondOrder: boolean) {
    const rng = new Generator(7);
    const G = mlp([1, 3, 2], { activation: 'tanh', rng, dtype: 'float64' });
    const D = mlp([2, 3, 1], { activation: 'tanh', rng, dtype: 'float64' });
    const opt = new Adam(D, { lr: 0.05, betas: [0.5, 0.999] });
    for (let i = 0; i < 3; i++)
      opt.step(mapTree(D.parameters(), (p) => rng.normal(p.shape, 0, 0.5, { dtype: 'float64' })));
    const draws = {
      real: tensor(
        [
          [1.0, 0.5],
          [-0.7, 1.2],
          [0.2, -0.9],
          [1.4, -0.3],
        ],
        { dtype: 'float64' },
      ),
      z: tensor([[0.3], [-1.1], [0.8], [1.9]], { dtype: 'float64' }),
    };
    const hyper = { ...unrolled.defaults, unrollSteps: K, secondOrder } as UnrolledHyper;
    const nets = { G, D };
    const ctx = (g: ParamTree): StepContext<UnrolledHyper> => {
      const params = { G: g, D: D.parameters() };
      return {
        params,
        nets,
        hyper,
        draws,
        state: {},
        step: 0,
        rng,
        optimizers: { D: opt as unknown as OptimizerView },
        apply: (p, x, o) => functionalCall(nets[p as 'G' | 'D'], params[p as 'G' | 'D'], x, o),
      };
    };
    const f = (g: ParamTree) => unrolledGeneratorLoss(ctx(g));
    return {
      G,
      f,
      dispose: () => {
        for (const x of [G, D, opt]) x.dispose();
      },
    };
  }

  const flat = (tree: ParamTree) => flattenTree(tree).flatMap(([, t]) => Array.from(t.dataSync()));
  const norm = (v: number[]) => Math.sqrt(v.reduce((a, b) => a + b * b, 0));

  it('matches central finite differences with second-order terms; the first-order variant differs measurably', () => {
    const K = 5;
    const second = tiny(K, true);
    const analytic = tidy(() => flat(grad(second.f)(second.G.parameters()) as ParamTree));
    // Central differences, element by element, h = 1e-5.
    const h = 1e-5;
    const leaves = flattenTree(second.G.parameters());
    const fd: number[] = [];
    for (const [path, leaf] of leaves) {
      const base = Array.from(leaf.dataSync());
      for (let i = 0; i < base.length; i++) {
        const at = (delta: number) =>
          tidy(() => {
            const moved = base.slice();
            moved[i]! += delta;
            const tree = Object.fromEntries(
              leaves.map(([p, t]) => [p, p === path ? tensor(Float64Array.from(moved), { shape: [...t.shape] }) : t]),
            );
            const nested: ParamTree = {};
            for (const [p, t] of Object.entries(tree)) {
              const [layer, name] = p.split('.') as [string, string];
              nested[layer] = { ...((nested[layer] as ParamTree | undefined) ?? {}), [name]: t };
            }
            return second.f(nested).dataSync()[0]!;
          });
        fd.push((at(h) - at(-h)) / (2 * h));
      }
    }
    const scale = norm(analytic);
    const errSecond = norm(analytic.map((a, i) => a - fd[i]!)) / scale;
    expect(scale).toBeGreaterThan(1e-3);
    expect(errSecond).toBeLessThan(1e-6);

    const first = tiny(K, false);
    const firstGrad = tidy(() => flat(grad(first.f)(first.G.parameters()) as ParamTree));
    const diff = norm(analytic.map((a, i) => a - firstGrad[i]!)) / scale;
    const errFirst = norm(firstGrad.map((a, i) => a - fd[i]!)) / scale;
    console.log(
      `unrolled G gradient (K = ${K}, float64): |g_2nd| = ${scale.toExponential(6)}, |g_1st| = ${norm(firstGrad).toExponential(6)}, ` +
        `|g_2nd - g_1st| / |g_2nd| = ${diff.toExponential(4)}; vs finite differences: 2nd ${errSecond.toExponential(3)}, 1st ${errFirst.toExponential(3)}`,
    );
    expect(diff).toBeGreaterThan(1e-2);
    expect(errFirst).toBeGreaterThan(1e-2);
    second.dispose();
    first.dispose();
  });
});
