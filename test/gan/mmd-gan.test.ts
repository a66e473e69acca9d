// MMD-GAN objective: hand-computed D and G losses (biased RBF-mixture MMD on encoder codes, one-sided
// term, reconstruction errors), gradient routing, encoder clipping, the critic schedule, ring, resume.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { valueAndGrad } from '../../src/autograd/transforms.js';
import { TesseraError } from '../../src/errors.js';
import { loadDataSource } from '../../src/gan/data.js';
import { mixRbfMmd2 } from '../../src/gan/mmd.js';
import type { Objective, PhaseContext } from '../../src/gan/objective.js';
import { type MmdGanHyper, mmdCriticSteps, mmdGan } from '../../src/gan/objectives/mmd-gan.js';
import { disposeLosses, GanTrainer } from '../../src/gan/trainer.js';
import { tensor } from '../../src/tensor/ops/convert.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { flattenTree, type ParamTree } from '../../src/tensor/tree.js';
import {
  affine,
  bdec,
  be,
  bg,
  expectStepMovesOnly,
  findUpdate,
  linearTree,
  lossOf,
  lossValues,
  type Mat,
  mean,
  paramArrays,
  phasesOnly,
  real,
  stepRows,
  Wdec,
  We,
  Wg,
  z,
} from './reference.js';

const SIGMAS = [1, 2, 4, 8, 16];
const kern = (a: number[], b: number[]) => {
  const d = a.reduce((s, ai, k) => s + (ai - b[k]!) ** 2, 0);
  return SIGMAS.reduce((s, sg) => s + Math.exp(-d / (2 * sg * sg)), 0);
};
const meanK = (A: Mat, B: Mat) => mean(A.flatMap((a) => B.map((b) => kern(a, b))));
const mmd2Js = (X: Mat, Y: Mat) => meanK(X, X) + meanK(Y, Y) - 2 * meanK(X, Y);
const oneSidedJs = (X: Mat, Y: Mat) =>
  -mean(X[0]!.map((_, k) => Math.max(-(mean(X.map((x) => x[k]!)) - mean(Y.map((y) => y[k]!))), 0)));
const mseJs = (A: Mat, B: Mat) => mean(A.flatMap((a, i) => a.map((v, k) => (v - B[i]![k]!) ** 2)));

// Linear nets (net.layers = 0, codeDim 2, latentDim 1): G z -> x, encoder D x -> code, decoder Dec code -> x.
const SMALL = { batchSize: 16, warmupCriticSteps: 2, criticSteps: 1, warmupIterations: 1 };

async function fixture() {
  const data = await loadDataSource('ring');
  const t = new GanTrainer({ objective: mmdGan, data, seed: 0, set: { latentDim: 1, codeDim: 2, 'net.layers': 0 } });
  t.nets.G!.setParameters(linearTree(Wg, bg));
  t.nets.D!.setParameters(linearTree(We, be));
  t.nets.Dec!.setParameters(linearTree(Wdec, bdec));
  const draws = { real: tensor(real), z: tensor(z) };
  const update = (name: string) => findUpdate(mmdGan, t.hyper, name);
  const loss = (name: string, params: Record<string, ParamTree> = t.params()) =>
    update(name).loss(t.context(draws, params));
  return { t, loss };
}

describe('MMD-GAN objective (Li et al. 2017)', () => {
  it('the biased mixture-RBF MMD^2 matches the hand computation', () => {
    const X = [
      [0.1, 0.2],
      [1.0, -0.5],
      [0.3, 0.3],
    ];
    const Y = [
      [2.0, 1.0],
      [-1.0, 0.4],
    ];
    expect(mixRbfMmd2(tensor(X), tensor(Y)).dataSync()[0]!).toBeCloseTo(mmd2Js(X, Y), 5);
  });

  it('D loss = -(sqrt MMD^2 + 16 r - 8 AE_x - 8 AE_y) and G loss = sqrt MMD^2 + 16 r, by hand', async () => {
    const { t, loss } = await fixture();
    const fake = z.map((zi) => affine(Wg, bg, zi));
    const fx = real.map((x) => affine(We, be, x));
    const fy = fake.map((y) => affine(We, be, y));
    const mmd = Math.sqrt(Math.max(mmd2Js(fx, fy), 0));
    const r = oneSidedJs(fx, fy);
    const aeX = mseJs(
      fx.map((c) => affine(Wdec, bdec, c)),
      real,
    );
    const aeY = mseJs(
      fy.map((c) => affine(Wdec, bdec, c)),
      fake,
    );
    expect(r).toBeLessThan(0); // the fixture exercises the one-sided term
    const d = loss('D') as { loss: Tensor; logs: Record<string, Tensor> };
    const expectedD = -(mmd + 16 * r - 8 * aeX - 8 * aeY);
    expect(Math.abs(d.loss.dataSync()[0]! - expectedD) / Math.abs(expectedD)).toBeLessThan(1e-6); // float32
    expect(d.logs.mmd!.dataSync()[0]!).toBeCloseTo(mmd, 5);
    expect(d.logs.oneSided!.dataSync()[0]!).toBeCloseTo(r, 5);
    expect(d.logs.aeReal!.dataSync()[0]!).toBeCloseTo(aeX, 4);
    expect(d.logs.aeFake!.dataSync()[0]!).toBeCloseTo(aeY, 4);
    expect(lossOf(loss('G')).dataSync()[0]!).toBeCloseTo(mmd + 16 * r, 5);
    t.dispose();
  });

  it("gradients: D's loss gives G zero and reaches D and Dec; G's loss gives Dec zero", async () => {
    const { t, loss } = await fixture();
    const all = t.params();
    const nonzero = (tree: ParamTree) =>
      flattenTree(tree).some(([, g]) => Array.from(g.dataSync()).some((v) => v !== 0));
    const zero = (tree: ParamTree) =>
      flattenTree(tree).every(([, g]) => Array.from(g.dataSync()).every((v) => v === 0));
    const [, gD] = valueAndGrad((p: Record<string, ParamTree>) => lossOf(loss('D', p)))(all);
    expect(zero(gD.G!)).toBe(true);
    expect(nonzero(gD.D!)).toBe(true);
    expect(nonzero(gD.Dec!)).toBe(true);
    const [, gG] = valueAndGrad((p: Record<string, ParamTree>) => lossOf(loss('G', p)))(all);
    expect(nonzero(gG.G!)).toBe(true);
    expect(zero(gG.Dec!)).toBe(true);
    t.dispose();
  });

  it('each phase alone moves only its players', async () => {
    const data = await loadDataSource('ring');
    for (const [k, moved, still] of [
      [0, ['D', 'Dec'], ['G']],
      [1, ['G'], ['D', 'Dec']],
    ] as const) {
      const t = new GanTrainer({
        objective: phasesOnly(mmdGan, k, k + 1),
        data,
        seed: 2,
        set: { ...SMALL, warmupCriticSteps: 1 },
      });
      expectStepMovesOnly(t, moved, still);
      t.dispose();
    }
  });

  it('clipping: before each D step the encoder lies in [-0.01, 0.01]; the decoder is not clipped', async () => {
    const data = await loadDataSource('ring');
    // D's learning rate 0: after the D phase the encoder holds exactly what the clipping left.
    const cut: Objective<MmdGanHyper> = { ...mmdGan, phases: (h) => mmdGan.phases(h).slice(0, 1) };
    const t = new GanTrainer({ objective: cut, data, seed: 4, set: { ...SMALL, 'optimizers.D.lr': 0 } });
    const enc0 = paramArrays(t.nets.D!).flat();
    expect(enc0.some((v) => Math.abs(v) > 0.01)).toBe(true);
    disposeLosses(t.step());
    const enc = paramArrays(t.nets.D!).flat();
    expect(enc).toEqual(enc0.map((v) => Math.fround(Math.min(Math.max(v, -0.01), 0.01))));
    expect(
      paramArrays(t.nets.Dec!)
        .flat()
        .some((v) => Math.abs(v) > 0.05),
    ).toBe(true);
    // The hook alone, on a context of the trainer's nets: clips D only, never Dec or G.
    const t2 = new GanTrainer({ objective: mmdGan, data, seed: 5 });
    const dec = paramArrays(t2.nets.Dec!);
    const g = paramArrays(t2.nets.G!);
    mmdGan.phases(t2.hyper)[0]!.before!({ nets: t2.nets, hyper: t2.hyper } as PhaseContext<MmdGanHyper>);
    expect(
      paramArrays(t2.nets.D!)
        .flat()
        .every((v) => Math.abs(v) <= Math.fround(0.01)),
    ).toBe(true);
    expect(paramArrays(t2.nets.Dec!)).toEqual(dec);
    expect(paramArrays(t2.nets.G!)).toEqual(g);
    t.dispose();
    t2.dispose();
  });

  it("the reference code's critic schedule: 100 D steps while iteration < 25 or every 500th, else 5", async () => {
    const h = mmdGan.defaults;
    expect([0, 24, 25, 499, 500, 501, 1000].map((s) => mmdCriticSteps(s, h))).toEqual([100, 100, 5, 5, 100, 5, 100]);
    const data = await loadDataSource('ring');
    const t = new GanTrainer({
      objective: mmdGan,
      data,
      seed: 1,
      set: { ...SMALL, warmupCriticSteps: 3, criticSteps: 2 },
    });
    disposeLosses(t.step());
    expect([t.optimizers.D!.stepCount, t.optimizers.Dec!.stepCount, t.optimizers.G!.stepCount]).toEqual([3, 3, 1]);
    disposeLosses(t.step());
    expect([t.optimizers.D!.stepCount, t.optimizers.Dec!.stepCount, t.optimizers.G!.stepCount]).toEqual([5, 5, 2]);
    t.dispose();
  });

  it('three iterations on the ring with the default settings (100 D steps each) give finite losses', async () => {
    const data = await loadDataSource('ring');
    const t = new GanTrainer({ objective: mmdGan, data, seed: 0 });
    expect(t.hyper.optimizers.D).toEqual({ kind: 'rmsprop', lr: 5e-5 });
    for (let i = 0; i < 3; i++) {
      const l = t.step();
      for (const [k, v] of Object.entries(lossValues(l))) expect(Number.isFinite(v), k).toBe(true);
      disposeLosses(l);
    }
    expect(t.optimizers.D!.stepCount).toBe(300);
    const x = t.sample(64);
    expect(x.shape).toEqual([64, 2]);
    expect(Array.from(x.dataSync()).every(Number.isFinite)).toBe(true);
    x.dispose();
    t.dispose();
  });

  it('resuming from a checkpoint after iteration 2 continues bit for bit', async () => {
    const data = await loadDataSource('ring');
    const a = new GanTrainer({ objective: mmdGan, data, seed: 6, set: SMALL });
    await stepRows(a, 2);
    const bytes = await a.checkpoint();
    const la = await stepRows(a, 2);
    const b = new GanTrainer({ objective: mmdGan, data, seed: 6, set: SMALL });
    b.restore(bytes);
    expect(await stepRows(b, 2)).toEqual(la);
    for (const p of mmdGan.players) {
      expect(paramArrays(b.nets[p]!)).toEqual(paramArrays(a.nets[p]!));
      expect(b.optimizers[p]!.stepCount).toBe(a.optimizers[p]!.stepCount);
    }
    a.dispose();
    b.dispose();
  });

  it('rejects bad settings by name', async () => {
    const data = await loadDataSource('ring');
    expect(() => new GanTrainer({ objective: mmdGan, data, set: { sigmas: [1, -2] } })).toThrow(TesseraError);
    expect(() => new GanTrainer({ objective: mmdGan, data, set: { clip: 0 } })).toThrow(/clip/);
    expect(() => new GanTrainer({ objective: mmdGan, data, set: { warmupEvery: 0 } })).toThrow(/warmupEvery/);
  });
});
