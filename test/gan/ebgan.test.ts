// EBGAN objective: hand-computed energies, hinge and pull-away term on linear autoencoder nets,
// gradient routing per phase, ring training and exact resume.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { valueAndGrad } from '../../src/autograd/transforms.js';
import { TesseraError } from '../../src/errors.js';
import { loadDataSource } from '../../src/gan/data.js';
import { ebgan, pullAwayTerm, reconstructionEnergy } from '../../src/gan/objectives/ebgan.js';
import { disposeLosses, GanTrainer } from '../../src/gan/trainer.js';
import { tensor } from '../../src/tensor/ops/convert.js';
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

const dot = (a: number[], b: number[]) => a.reduce((s, ai, k) => s + ai * b[k]!, 0);
const ptJs = (S: Mat) => {
  const n = S.length;
  let s = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++)
      if (i !== j) s += (dot(S[i]!, S[j]!) / Math.sqrt(dot(S[i]!, S[i]!) * dot(S[j]!, S[j]!))) ** 2;
  return s / (n * (n - 1));
};

// Linear nets (net.layers = 0, codeDim 2, latentDim 1): G z -> x, encoder D x -> code, decoder Dec code -> x.
const energyJs = (x: number[]) => mean(affine(Wdec, bdec, affine(We, be, x)).map((r, k) => (r - x[k]!) ** 2));
const fake = z.map((zi) => affine(Wg, bg, zi));
const fakeEnergies = fake.map(energyJs);
// A margin between the generated energies, so the hinge is active for some examples only.
const MARGIN = [...fakeEnergies].sort((a, b) => a - b)[1]! + 0.05;

async function fixture(set: Record<string, unknown> = {}) {
  const data = await loadDataSource('ring');
  const t = new GanTrainer({
    objective: ebgan,
    data,
    seed: 0,
    set: { latentDim: 1, codeDim: 2, 'net.layers': 0, margin: MARGIN, ...set },
  });
  t.nets.G!.setParameters(linearTree(Wg, bg));
  t.nets.D!.setParameters(linearTree(We, be));
  t.nets.Dec!.setParameters(linearTree(Wdec, bdec));
  const draws = { real: tensor(real), z: tensor(z) };
  const update = (name: string) => findUpdate(ebgan, t.hyper, name);
  const loss = (name: string, params: Record<string, ParamTree> = t.params()) =>
    lossOf(update(name).loss(t.context(draws, params)));
  return { t, loss };
}

describe('EBGAN objective (Zhao et al. 2017)', () => {
  it('the energy is the per-example mean squared reconstruction error; the pull-away term by hand', () => {
    const x = [
      [1, 2, 3],
      [0, -1, 4],
    ];
    const r = [
      [1.5, 2, 2],
      [0.5, 0, 4],
    ];
    const e = Array.from(reconstructionEnergy(tensor(x), tensor(r)).dataSync());
    expect(e[0]).toBeCloseTo((0.25 + 0 + 1) / 3, 6);
    expect(e[1]).toBeCloseTo((0.25 + 1 + 0) / 3, 6);
    const S = [
      [1, 0.5, -0.2],
      [0.3, -1, 0.7],
      [2, 0.1, 0.4],
      [-0.5, 0.6, 1.2],
    ];
    expect(pullAwayTerm(tensor(S)).dataSync()[0]!).toBeCloseTo(ptJs(S), 6);
    expect(
      pullAwayTerm(
        tensor([
          [1, 0],
          [0, 3],
        ]),
      ).dataSync()[0]!,
    ).toBeCloseTo(0, 6);
    expect(
      pullAwayTerm(
        tensor([
          [1, 2],
          [-2, -4],
          [3, 6],
        ]),
      ).dataSync()[0]!,
    ).toBeCloseTo(1, 5);
  });

  it('D loss = mean D(x) + mean [m - D(G(z))]^+; G loss = mean D(G(z)) + 0.1 PT(Enc(G(z))), by hand', async () => {
    const hinge = fakeEnergies.map((e) => Math.max(MARGIN - e, 0));
    expect(hinge.some((h) => h === 0) && hinge.some((h) => h > 0)).toBe(true);
    const { t, loss } = await fixture();
    expect(t.hyper.lambdaPT).toBe(0.1);
    expect(loss('D').dataSync()[0]!).toBeCloseTo(mean(real.map(energyJs)) + mean(hinge), 5);
    const codes = fake.map((x) => affine(We, be, x));
    expect(loss('G').dataSync()[0]!).toBeCloseTo(mean(fakeEnergies) + 0.1 * ptJs(codes), 5);
    t.dispose();
    const plain = await fixture({ lambdaPT: 0 });
    expect(plain.loss('G').dataSync()[0]!).toBeCloseTo(mean(fakeEnergies), 5);
    plain.t.dispose();
  });

  it("gradients: D's loss gives G exactly zero and reaches D and Dec; G's loss reaches G", async () => {
    const { t, loss } = await fixture();
    const all = t.params();
    const nonzero = (tree: ParamTree) =>
      flattenTree(tree).some(([, g]) => Array.from(g.dataSync()).some((v) => v !== 0));
    const [, gD] = valueAndGrad((p: Record<string, ParamTree>) => loss('D', p))(all);
    expect(flattenTree(gD.G!).every(([, g]) => Array.from(g.dataSync()).every((v) => v === 0))).toBe(true);
    expect(nonzero(gD.D!) && nonzero(gD.Dec!)).toBe(true);
    const [, gG] = valueAndGrad((p: Record<string, ParamTree>) => loss('G', p))(all);
    expect(nonzero(gG.G!)).toBe(true);
    t.dispose();
  });

  it('each phase alone moves only its players, once', async () => {
    const data = await loadDataSource('ring');
    for (const [k, moved, still] of [
      [0, ['D', 'Dec'], ['G']],
      [1, ['G'], ['D', 'Dec']],
    ] as const) {
      const t = new GanTrainer({ objective: phasesOnly(ebgan, k, k + 1), data, seed: 2 });
      expectStepMovesOnly(t, moved, still);
      t.dispose();
    }
  });

  it('three iterations on the ring give finite losses', async () => {
    const data = await loadDataSource('ring');
    const t = new GanTrainer({ objective: ebgan, data, seed: 0 });
    for (let i = 0; i < 3; i++) {
      const l = t.step();
      const v = lossValues(l);
      expect(Object.keys(v).sort()).toEqual(['D', 'D/energyReal', 'D/hinge', 'G', 'G/energyFake', 'G/pullAway']);
      for (const [k, x] of Object.entries(v)) expect(Number.isFinite(x), k).toBe(true);
      disposeLosses(l);
    }
    expect([t.optimizers.D!.stepCount, t.optimizers.Dec!.stepCount, t.optimizers.G!.stepCount]).toEqual([3, 3, 3]);
    t.dispose();
  });

  it('resuming from a checkpoint after iteration 2 continues bit for bit', async () => {
    const data = await loadDataSource('ring');
    const set = { batchSize: 16 };
    const a = new GanTrainer({ objective: ebgan, data, seed: 6, set });
    await stepRows(a, 2);
    const bytes = await a.checkpoint();
    const la = await stepRows(a, 2);
    const b = new GanTrainer({ objective: ebgan, data, seed: 6, set });
    b.restore(bytes);
    expect(await stepRows(b, 2)).toEqual(la);
    for (const p of ebgan.players) expect(paramArrays(b.nets[p]!)).toEqual(paramArrays(a.nets[p]!));
    a.dispose();
    b.dispose();
  });

  it('defaults and validation', async () => {
    expect(ebgan.presets?.image?.margin).toBe(10);
    const data = await loadDataSource('ring');
    expect(() => new GanTrainer({ objective: ebgan, data, set: { margin: -1 } })).toThrow(TesseraError);
    expect(() => new GanTrainer({ objective: ebgan, data, set: { batchSize: 1 } })).toThrow(/pull-away/);
  });
});
