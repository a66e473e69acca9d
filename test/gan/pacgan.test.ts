// PacGAN: packing along the feature / channel axis, real packs from the fixed set, hand-computed
// losses with a maxout D, gradient routing, the paper's networks, 3 ring steps and exact resume.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { valueAndGrad } from '../../src/autograd/transforms.js';
import { loadDataSource } from '../../src/gan/data.js';
import type { PhaseContext } from '../../src/gan/objective.js';
import { type PacganHyper, pacgan } from '../../src/gan/objectives/pacgan.js';
import { FIXED_SET, pack, packedInfo, resamplePacks } from '../../src/gan/pack.js';
import { disposeLosses, GanTrainer } from '../../src/gan/trainer.js';
import type { Module } from '../../src/nn/module.js';
import { Generator } from '../../src/random/generator.js';
import { tensor } from '../../src/tensor/ops/convert.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { flattenTree, type ParamTree } from '../../src/tensor/tree.js';
import { bg, findUpdate, lossOf, mean, paramArrays, resumeAgainstFull, softplus, stepRows, Wg } from './reference.js';

const TINY = { batchSize: 16, latentDim: 4, 'net.hidden': 16, 'maxout.units': 8, 'maxout.pieces': 3 };

describe('packing helpers (Lin et al. 2018, section 3)', () => {
  it('vectors: m parts [n, d] -> [n, m d], row i = the i-th row of each part in order', async () => {
    const a = tensor([
      [1, 2],
      [3, 4],
    ]);
    const b = tensor([
      [5, 6],
      [7, 8],
    ]);
    const c = tensor([
      [9, 10],
      [11, 12],
    ]);
    expect(await pack([a, b, c]).array()).toEqual([
      [1, 2, 5, 6, 9, 10],
      [3, 4, 7, 8, 11, 12],
    ]);
    expect(packedInfo({ shape: [2], kind: 'vector' }, 3)).toEqual({ shape: [6], kind: 'vector' });
  });

  it('images: m parts [n, C, H, W] -> [n, m C, H, W], channel blocks in order', async () => {
    const a = tensor(
      Float32Array.from({ length: 2 * 2 * 4 }, (_, i) => i),
      { shape: [2, 2, 2, 2] },
    );
    const b = tensor(
      Float32Array.from({ length: 2 * 2 * 4 }, (_, i) => 100 + i),
      { shape: [2, 2, 2, 2] },
    );
    const p = pack([a, b]);
    expect(p.shape).toEqual([2, 4, 2, 2]);
    const arr = (await p.array()) as number[][][][];
    const A = (await a.array()) as number[][][][];
    const B = (await b.array()) as number[][][][];
    for (let i = 0; i < 2; i++) {
      expect(arr[i]!.slice(0, 2)).toEqual(A[i]);
      expect(arr[i]!.slice(2, 4)).toEqual(B[i]);
    }
    expect(packedInfo({ shape: [3, 28, 28], kind: 'image' }, 2)).toEqual({ shape: [6, 28, 28], kind: 'image' });
  });

  it('resamplePacks: every part of every pack is a row of the fixed set, the m parts drawn independently', async () => {
    const N = 20;
    const fixed = tensor(
      Float32Array.from({ length: N * 2 }, (_, i) => i),
      { shape: [N, 2] },
    );
    const rows = new Set(Array.from({ length: N }, (_, r) => `${2 * r},${2 * r + 1}`));
    const p = (await resamplePacks(fixed, 200, 3, new Generator(1)).array()) as number[][];
    expect(p).toHaveLength(200);
    let sameAll = 0;
    const seen = new Set<string>();
    for (const row of p) {
      expect(row).toHaveLength(6);
      const parts = [0, 1, 2].map((j) => `${row[2 * j]},${row[2 * j + 1]}`);
      for (const s of parts) {
        expect(rows.has(s)).toBe(true);
        seen.add(s);
      }
      if (parts[0] === parts[1] && parts[1] === parts[2]) sameAll++;
    }
    expect(sameAll).toBeLessThan(10); // independent draws: P(all equal) = 1/400 per pack
    expect(seen.size).toBe(N); // with replacement over the whole set
  });
});

// Fixture: m = 2, G linear z(1) -> x(2) (net.layers 0), D one maxout unit of 2 pieces on x(4) then a linear logit.
const A = [
  [0.5, -0.3, 0.2, 0.8],
  [-0.6, 0.4, 0.9, -0.1],
];
const cA = [0.05, -0.2];
const v = 1.3;
const bv = -0.4;
const realPacksJs = [
  [1.5, 0.2, -0.3, 0.9],
  [-0.4, 2.0, 1.1, -0.5],
  [0.3, -1.1, 0.6, 0.6],
];
const z0 = [[0.5], [-1.0], [2.0]];
const z1 = [[-0.3], [1.2], [0.4]];
const gJs = (z: number[]) => [Wg[0]![0]! * z[0]! + bg[0]!, Wg[1]![0]! * z[0]! + bg[1]!];
const dJs = (x: number[]) => {
  const pieces = A.map((row, k) => row.reduce((s, w, i) => s + w * x[i]!, cA[k]!));
  return v * Math.max(...pieces) + bv;
};
const fakePacksJs = z0.map((z, i) => [...gJs(z), ...gJs(z1[i]!)]);

async function fixture() {
  const t = new GanTrainer({
    objective: pacgan,
    data: await loadDataSource('ring'),
    seed: 0,
    set: { latentDim: 1, 'net.layers': 0, 'maxout.layers': 1, 'maxout.units': 1, 'maxout.pieces': 2, fixedSetSize: 10 },
  });
  t.nets.G!.setParameters({ '0': { weight: tensor(Wg), bias: tensor(bg) } });
  t.nets.D!.setParameters({
    '0': { linear: { weight: tensor(A), bias: tensor(cA) } },
    '1': { weight: tensor([[v]]), bias: tensor([bv]) },
  });
  const draws = { real: tensor(realPacksJs), z0: tensor(z0), z1: tensor(z1) };
  const update = (name: string) => findUpdate(t.objective, t.hyper, name);
  return { t, draws, update };
}

describe('PacGAN objective', () => {
  it('D loss on packs = mean softplus(-D(real pack)) + mean softplus(D(fake pack)), maxout D by hand', async () => {
    const { t, draws, update } = await fixture();
    const expected = mean(realPacksJs.map((x) => softplus(-dJs(x)))) + mean(fakePacksJs.map((x) => softplus(dJs(x))));
    expect(await lossOf(update('D').loss(t.context(draws))).item()).toBeCloseTo(expected, 6);
    t.dispose();
  });

  it('G loss = mean softplus(-D(fake pack)) (non-saturating), fake pack = [G(z0); G(z1)]', async () => {
    const { t, draws, update } = await fixture();
    const expected = mean(fakePacksJs.map((x) => softplus(-dJs(x))));
    expect(await lossOf(update('G').loss(t.context(draws))).item()).toBeCloseTo(expected, 6);
    t.dispose();
  });

  it('gradients: D loss gives G exactly zero; one simultaneous step moves D and G once each', async () => {
    const { t, draws, update } = await fixture();
    const [, gD] = valueAndGrad((p: Record<string, ParamTree>) => lossOf(update('D').loss(t.context(draws, p))))(
      t.params(),
    );
    for (const [, g] of flattenTree(gD.G!)) expect(Array.from(await g.data()).every((x) => x === 0)).toBe(true);
    expect(flattenTree(gD.D!).some(([, g]) => Array.from(g.dataSync()).some((x) => x !== 0))).toBe(true);
    t.dispose();
    const tt = new GanTrainer({ objective: pacgan, data: await loadDataSource('ring'), seed: 2, set: TINY });
    expect(tt.objective.phases(tt.hyper)).toHaveLength(1);
    const before = { G: paramArrays(tt.nets.G!), D: paramArrays(tt.nets.D!) };
    const rows = await stepRows(tt, 3);
    for (const row of rows) for (const x of Object.values(row)) expect(Number.isFinite(x)).toBe(true);
    expect(paramArrays(tt.nets.G!)).not.toEqual(before.G);
    expect(paramArrays(tt.nets.D!)).not.toEqual(before.D);
    expect([tt.optimizers.G!.stepCount, tt.optimizers.D!.stepCount]).toEqual([3, 3]);
    tt.dispose();
  });

  it('real packs come from the fixed set of N: drawn at the first iteration, kept as state, resampled after', async () => {
    const data = await loadDataSource('ring');
    const N = 30;
    const t = new GanTrainer({ objective: pacgan, data, seed: 5, set: { ...TINY, fixedSetSize: N, pack: 3 } });
    expect(t.state[FIXED_SET]!.shape).toEqual([N, 2]);
    expect(Array.from(t.state[FIXED_SET]!.dataSync()).every((x) => x === 0)).toBe(true); // placeholder
    disposeLosses(t.step());
    const fixed = Array.from(t.state[FIXED_SET]!.dataSync());
    expect(fixed.some((x) => x !== 0)).toBe(true);
    const rows = new Set(Array.from({ length: N }, (_, r) => `${fixed[2 * r]},${fixed[2 * r + 1]}`));
    // A later iteration's draw: reads the state, never the data source.
    const ctx: PhaseContext<PacganHyper> = {
      nets: t.nets,
      data: data.info,
      hyper: t.hyper as PacganHyper,
      state: t.state,
      step: 1,
      rng: new Generator(9),
      sampleReal: () => {
        throw new Error('the data source must not be read after the first iteration');
      },
    };
    const draws = pacgan.phases(t.hyper as PacganHyper)[0]!.draw(ctx);
    expect(draws[FIXED_SET]).toBeUndefined();
    expect(draws.real!.shape).toEqual([16, 6]);
    const real = (await draws.real!.array()) as number[][];
    for (const row of real) for (let j = 0; j < 3; j++) expect(rows.has(`${row[2 * j]},${row[2 * j + 1]}`)).toBe(true);
    expect(Object.keys(draws).sort()).toEqual(['real', 'z0', 'z1', 'z2']);
    disposeLosses(t.step());
    expect(Array.from(t.state[FIXED_SET]!.dataSync())).toEqual(fixed); // unchanged after
    t.dispose();
  });

  it('resumes bit for bit (parameters, BatchNorm statistics, fixed set) from a checkpoint after step 2', async () => {
    const data = await loadDataSource('ring');
    const make = () => new GanTrainer({ objective: pacgan, data, seed: 3, set: { ...TINY, fixedSetSize: 500 } });
    const { full, resumed: b } = await resumeAgainstFull(make);
    for (const p of ['G', 'D']) {
      expect(b.nets[p]!.namedBuffers().map(([, x]) => Array.from(x.dataSync()))).toEqual(
        full.nets[p]!.namedBuffers().map(([, x]) => Array.from(x.dataSync())),
      );
      expect(paramArrays(b.nets[p]!)).toEqual(paramArrays(full.nets[p]!));
    }
    expect(Array.from(b.state[FIXED_SET]!.dataSync())).toEqual(Array.from(full.state[FIXED_SET]!.dataSync()));
    full.dispose();
    b.dispose();
  });

  it('defaults: spec 6.2 networks (maxout D 3 x 200 x 5 on 2m inputs, G 4 x 400 BatchNorm ReLU), Adam 1e-4 beta1 0.8', async () => {
    const t = new GanTrainer({ objective: pacgan, data: await loadDataSource('ring'), seed: 1 });
    const shapes = (m: Module) => m.namedParameters().map(([n, x]) => `${n}:${x.shape.join('x')}`);
    expect(shapes(t.nets.D!)).toEqual([
      '0.linear.weight:1000x4',
      '0.linear.bias:1000',
      '1.linear.weight:1000x200',
      '1.linear.bias:1000',
      '2.linear.weight:1000x200',
      '2.linear.bias:1000',
      '3.weight:1x200',
      '3.bias:1',
    ]);
    const g = shapes(t.nets.G!);
    expect(g[0]).toBe('0.weight:400x2');
    expect(g.filter((s) => s.includes('bias')).length).toBe(5); // 4 BatchNorm shifts + the output bias
    expect(g.at(-2)).toMatch(/\.weight:2x400$/);
    expect(g.at(-1)).toMatch(/\.bias:2$/);
    expect(g.filter((s) => s.includes('weight:400x400')).length).toBe(3);
    expect(t.hyper.optimizers.D).toEqual({ kind: 'adam', lr: 1e-4, betas: [0.8, 0.999] });
    expect([t.hyper.pack, t.hyper.batchSize, t.hyper.latentDim, (t.hyper as PacganHyper).fixedSetSize]).toEqual([
      2, 100, 2, 100000,
    ]);
    // Weights N(0, 0.02^2), zero biases.
    const w = Array.from((flattenTree(t.nets.D!.parameters())[2]![1] as Tensor).dataSync());
    const sd = Math.sqrt(mean(w.map((x) => x * x)));
    expect(sd).toBeGreaterThan(0.018);
    expect(sd).toBeLessThan(0.022);
    t.dispose();
    // Images: D sees m C channels.
    const img = pacgan.build(
      { shape: [3, 28, 28], kind: 'image' },
      { ...pacgan.defaults, ...pacgan.presets!.image! } as PacganHyper,
      new Generator(0),
    );
    const first = img.D!.namedParameters().find(([, x]) => x.rank === 4)!;
    expect(first[1].shape[1]).toBe(6);
    for (const n of Object.values(img)) n.dispose();
  });
});
