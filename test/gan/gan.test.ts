// The GAN objective: hand-computed D loss and both generator losses on linear networks with fixed
// weights, gradient routing per phase, the networks it builds, and its defaults.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { valueAndGrad } from '../../src/autograd/transforms.js';
import { loadDataSource } from '../../src/gan/data.js';
import { gan } from '../../src/gan/objectives/gan.js';
import { disposeLosses, GanTrainer } from '../../src/gan/trainer.js';
import type { Module } from '../../src/nn/module.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { flattenTree, type ParamTree } from '../../src/tensor/tree.js';
import {
  dJs,
  expectPhaseMovesOnly,
  gJs,
  linearFixture,
  lossOf,
  mean,
  real,
  sigmoid,
  softplus,
  Wd,
  z,
} from './reference.js';

// Linear nets (net.layers = 0): G z(1) -> x(2) = Wg z + bg; D x(2) -> logit = Wd . x + bd.

const fixture = async (set: Record<string, unknown> = {}) => ({ ...(await linearFixture(gan, set)), lossOf });

describe('gan objective (Goodfellow et al. 2014)', () => {
  it('D loss = mean softplus(-D(x)) + mean softplus(D(G(z))), by hand', async () => {
    const { t, ctx, update, lossOf } = await fixture();
    const expected = mean(real.map((x) => softplus(-dJs(x)))) + mean(z.map((zi) => softplus(dJs(gJs(zi)))));
    const got = await lossOf(update('D').loss(ctx(t.params()))).item();
    expect(got).toBeCloseTo(expected, 6);
    t.dispose();
  });

  it('G loss: non-saturating mean softplus(-D(G(z))) by default, saturating -mean softplus(D(G(z))) as an option', async () => {
    const ns = await fixture();
    const expectedNs = mean(z.map((zi) => softplus(-dJs(gJs(zi)))));
    expect(await ns.lossOf(ns.update('G').loss(ns.ctx(ns.t.params()))).item()).toBeCloseTo(expectedNs, 6);
    ns.t.dispose();
    const sat = await fixture({ generatorLoss: 'saturating' });
    const expectedSat = -mean(z.map((zi) => softplus(dJs(gJs(zi)))));
    expect(await sat.lossOf(sat.update('G').loss(sat.ctx(sat.t.params()))).item()).toBeCloseTo(expectedSat, 6);
    sat.t.dispose();
  });

  it('gradients: the D loss gives G exactly zero; the G loss reaches G, and D is not stepped by it', async () => {
    const { t, ctx, update, lossOf } = await fixture();
    const all = t.params();
    const [, gD] = valueAndGrad((p: Record<string, ParamTree>) => lossOf(update('D').loss(ctx(p))))(all);
    for (const [, g] of flattenTree(gD.G!)) expect(Array.from(await g.data()).every((v) => v === 0)).toBe(true);
    const [, gG] = valueAndGrad((p: Record<string, ParamTree>) => lossOf(update('G').loss(ctx(p))))(all);
    // d/dbg of mean softplus(-D(G(z))) = -mean sigmoid(-D(G(z))) * Wd, by hand.

    const s = mean(z.map((zi) => sigmoid(-dJs(gJs(zi)))));
    const gb = Array.from(await ((gG.G!['0'] as ParamTree).bias as Tensor).data());
    expect(gb[0]).toBeCloseTo(-s * Wd[0]![0]!, 6);
    expect(gb[1]).toBeCloseTo(-s * Wd[0]![1]!, 6);
    // One phase at a time: the D phase moves only D, the G phase only G.
    for (const [k, moved, still] of [
      [1, 'D', 'G'],
      [2, 'G', 'D'],
    ] as const)
      await expectPhaseMovesOnly({ objective: gan, data: t.data, seed: 2 }, k, moved, still);
    t.dispose();
  });

  it('builds the toy networks G 10-128-128-2 and D 2-128-128-1 (tanh) and the DCGAN nets for images', async () => {
    const t = new GanTrainer({ objective: gan, data: await loadDataSource('ring'), seed: 1 });
    const shapes = (m: Module) => m.namedParameters().map(([n, x]) => `${n}:${x.shape.join('x')}`);
    expect(shapes(t.nets.G!)).toEqual([
      '0.weight:128x10',
      '0.bias:128',
      '2.weight:128x128',
      '2.bias:128',
      '4.weight:2x128',
      '4.bias:2',
    ]);
    expect(shapes(t.nets.D!)).toEqual([
      '0.weight:128x2',
      '0.bias:128',
      '2.weight:128x128',
      '2.bias:128',
      '4.weight:1x128',
      '4.bias:1',
    ]);
    expect(t.hyper.optimizers.G).toEqual({ kind: 'adam', lr: 1e-3, betas: [0.5, 0.999] });
    t.dispose();
    expect(gan.presets?.image?.optimizers?.D).toEqual({ kind: 'adam', lr: 2e-4, betas: [0.5, 0.999] });
  });
});

describe('gan objective: an untrained D', () => {
  it('starts near 2 log 2 (D) and log 2 (G): logits near 0', async () => {
    const t = new GanTrainer({ objective: gan, data: await loadDataSource('ring'), seed: 3, set: { batchSize: 32 } });
    const l = t.step();
    expect(Math.abs((await l.D!.item()) - 2 * Math.log(2))).toBeLessThan(0.3);
    expect(Math.abs((await l.G!.item()) - Math.log(2))).toBeLessThan(0.3);
    disposeLosses(l);
    t.dispose();
  });
});
