// BiGAN / ALI: hand-computed joint-discriminator losses (deterministic and stochastic encoder),
// gradient routing (D vs E+G), the 2-D ALI networks, 3 ring steps and bitwise resume.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { valueAndGrad } from '../../src/autograd/transforms.js';
import { loadDataSource } from '../../src/gan/data.js';
import { type BiganHyper, bigan } from '../../src/gan/objectives/bigan.js';
import { FIXED_SET } from '../../src/gan/pack.js';
import { GanTrainer } from '../../src/gan/trainer.js';
import type { Module } from '../../src/nn/module.js';
import { tensor } from '../../src/tensor/ops/convert.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { flattenTree, type ParamTree } from '../../src/tensor/tree.js';
import {
  bg,
  findUpdate,
  gJs,
  lossOf,
  mean,
  paramArrays,
  real,
  resumeAgainstFull,
  softplus,
  stepRows,
  Wg,
  z,
} from './reference.js';

const TINY = {
  batchSize: 16,
  latentDim: 4,
  'net.hidden': 16,
  'maxout.units': 8,
  'maxout.pieces': 3,
  fixedSetSize: 300,
};
const isZero = (tree: ParamTree) => flattenTree(tree).every(([, g]) => Array.from(g.dataSync()).every((x) => x === 0));

// Linear nets: G z(1) -> x(2); E [x; eps](3) -> z(1) (eps weight used only when stochastic); D [x; z](3) -> logit.
const We = [0.4, -0.8, 0.5];
const be = 0.2;
const Wd = [0.9, -0.6, 1.1];
const bd = -0.3;
const eps = [[0.3], [-0.7], [1.4]];
const eJs = (x: number[], e: number | undefined) =>
  We[0]! * x[0]! + We[1]! * x[1]! + (e === undefined ? 0 : We[2]! * e) + be;
const dJs = (x: number[], zz: number) => Wd[0]! * x[0]! + Wd[1]! * x[1]! + Wd[2]! * zz + bd;

async function fixture(encoder: 'deterministic' | 'stochastic') {
  const t = new GanTrainer({
    objective: bigan,
    data: await loadDataSource('ring'),
    seed: 0,
    set: {
      latentDim: 1,
      'net.layers': 0,
      encoderLayers: 0,
      encoderNoiseDim: 1,
      encoder,
      discriminator: 'mlp',
      fixedSetSize: 10,
    },
  });
  t.nets.G!.setParameters({ '0': { weight: tensor(Wg), bias: tensor(bg) } });
  const we = encoder === 'stochastic' ? [We] : [We.slice(0, 2)];
  t.nets.E!.setParameters({ '0': { weight: tensor(we), bias: tensor([be]) } });
  t.nets.D!.setParameters({ '0': { weight: tensor([Wd]), bias: tensor([bd]) } });
  const draws: Record<string, Tensor> = { real: tensor(real), z: tensor(z) };
  if (encoder === 'stochastic') draws.eps = tensor(eps);
  const update = (name: string) => findUpdate(t.objective, t.hyper, name);
  const e = (i: number) => (encoder === 'stochastic' ? eps[i]![0]! : undefined);
  const lData = real.map((x, i) => dJs(x, eJs(x, e(i))));
  const lSample = z.map((zi) => dJs(gJs(zi), zi[0]!));
  return { t, draws, update, lData, lSample };
}

describe('BiGAN / ALI objective', () => {
  for (const encoder of ['stochastic', 'deterministic'] as const) {
    it(`${encoder} E: L_D = mean softplus(-D(x, E(x))) + mean softplus(D(G(z), z)); L_EG swaps the labels; by hand`, async () => {
      const { t, draws, update, lData, lSample } = await fixture(encoder);
      const lD = mean(lData.map((l) => softplus(-l))) + mean(lSample.map((l) => softplus(l)));
      const lEG = mean(lData.map((l) => softplus(l))) + mean(lSample.map((l) => softplus(-l)));
      expect(await lossOf(update('D').loss(t.context(draws))).item()).toBeCloseTo(lD, 6);
      expect(await lossOf(update('EG').loss(t.context(draws))).item()).toBeCloseTo(lEG, 6);
      t.dispose();
    });
  }

  it('gradients: L_D gives E and G exactly zero; L_EG reaches both E and G; one simultaneous step moves each player once', async () => {
    const { t, draws, update } = await fixture('stochastic');
    const gradOf = (name: string) =>
      valueAndGrad((p: Record<string, ParamTree>) => lossOf(update(name).loss(t.context(draws, p))))(t.params())[1];
    const gD = gradOf('D');
    expect(isZero(gD.E!)).toBe(true);
    expect(isZero(gD.G!)).toBe(true);
    expect(isZero(gD.D!)).toBe(false);
    const gEG = gradOf('EG');
    expect(isZero(gEG.E!)).toBe(false);
    expect(isZero(gEG.G!)).toBe(false);
    t.dispose();

    const tt = new GanTrainer({ objective: bigan, data: await loadDataSource('ring'), seed: 2, set: TINY });
    expect(tt.objective.phases(tt.hyper)).toHaveLength(1);
    expect(tt.objective.phases(tt.hyper)[0]!.updates.map((u) => [u.name, [...u.players]])).toEqual([
      ['D', ['D']],
      ['EG', ['E', 'G']],
    ]);
    const before = Object.fromEntries(['G', 'E', 'D'].map((p) => [p, paramArrays(tt.nets[p]!)]));
    const rows = await stepRows(tt, 3);
    for (const row of rows) for (const x of Object.values(row)) expect(Number.isFinite(x)).toBe(true);
    for (const p of ['G', 'E', 'D']) {
      expect(paramArrays(tt.nets[p]!)).not.toEqual(before[p]);
      expect(tt.optimizers[p]!.stepCount).toBe(3);
    }
    tt.dispose();
  });

  it('resumes bit for bit (parameters, BatchNorm statistics, fixed set) from a checkpoint after step 2', async () => {
    const data = await loadDataSource('ring');
    const make = () => new GanTrainer({ objective: bigan, data, seed: 3, set: TINY });
    const { full, resumed: b } = await resumeAgainstFull(make);
    for (const p of ['G', 'E', 'D']) {
      expect(b.nets[p]!.namedBuffers().map(([, x]) => Array.from(x.dataSync()))).toEqual(
        full.nets[p]!.namedBuffers().map(([, x]) => Array.from(x.dataSync())),
      );
      expect(paramArrays(b.nets[p]!)).toEqual(paramArrays(full.nets[p]!));
    }
    expect(Array.from(b.state[FIXED_SET]!.dataSync())).toEqual(Array.from(full.state[FIXED_SET]!.dataSync()));
    full.dispose();
    b.dispose();
  });

  it('defaults: spec 6.3 (stochastic E [x; eps] -> 2 x 400 -> z, maxout joint D on [x; z], Adam 1e-4 beta1 0.8)', async () => {
    const t = new GanTrainer({ objective: bigan, data: await loadDataSource('ring'), seed: 1 });
    const h = t.hyper as BiganHyper;
    expect([h.encoder, h.encoderNoiseDim, h.latentDim, h.batchSize, h.fixedSetSize]).toEqual([
      'stochastic',
      2,
      2,
      100,
      100000,
    ]);
    const shapes = (m: Module) => m.namedParameters().map(([n, x]) => `${n}:${x.shape.join('x')}`);
    expect(shapes(t.nets.D!)[0]).toBe('0.linear.weight:1000x4');
    expect(shapes(t.nets.D!).at(-2)).toBe('3.weight:1x200');
    const e = shapes(t.nets.E!);
    expect(e[0]).toBe('0.weight:400x4');
    expect(e.at(-2)).toMatch(/\.weight:2x400$/);
    expect(shapes(t.nets.G!)[0]).toBe('0.weight:400x2');
    for (const p of ['G', 'E', 'D']) expect(h.optimizers[p]).toEqual({ kind: 'adam', lr: 1e-4, betas: [0.8, 0.999] });
    t.dispose();
    await expect(
      (async () => new GanTrainer({ objective: bigan, data: await loadDataSource('mnist'), seed: 0 }))(),
    ).rejects.toThrow(/image/);
  });
});
