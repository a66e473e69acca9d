// The trainer's phase gate: decisions from the evaluated losses and logs, skipped updates leave
// their parameters and optimiser state untouched, `<update>/stepped` logs, and its errors.
import '../../src/index.js'; // registers the CPU backend
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TesseraError } from '../../src/errors.js';
import { loadDataSource } from '../../src/gan/data.js';
import type { BaseHyper, Objective } from '../../src/gan/objective.js';
import { ParameterGroup } from '../../src/gan/players.js';
import { disposeLosses, GanTrainer } from '../../src/gan/trainer.js';
import { memory } from '../../src/tensor/engine.js';
import { tensor } from '../../src/tensor/ops/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { flattenTree, type ParamTree } from '../../src/tensor/tree.js';

const leaf = (tree: ParamTree | undefined, key: string): Tensor => tree![key] as Tensor;
const adam = { kind: 'adam' as const, lr: 0.1, betas: [0.9, 0.999] as [number, number] };
const seen: Record<string, number>[] = [];

type GateHyper = BaseHyper & { threshold: number; bad: boolean };

/** A = {a: 1}, B = {b: 2}: update A on a^2 (logs 2a), update B on b^2; the gate skips B while a^2 > threshold. */
const gated: Objective<GateHyper> = {
  name: 'gated',
  title: 'gated',
  paper: 'none',
  players: ['A', 'B'],
  defaults: {
    batchSize: 1,
    latentDim: 1,
    steps: 1,
    optimizers: { A: { kind: 'sgd', lr: 0.1 }, B: adam },
    net: { hidden: 1, layers: 1, activation: 'tanh', ngf: 1, ndf: 1 },
    threshold: 0.5,
    bad: false,
  },
  build: () => ({ A: new ParameterGroup({ a: tensor([1]) }), B: new ParameterGroup({ b: tensor([2]) }) }),
  phases: (h) => [
    {
      name: 'AB',
      draw: () => ({}),
      updates: [
        {
          name: 'A',
          players: ['A'],
          loss: (c) => ({
            loss: leaf(c.params.A, 'a').square().sum(),
            logs: { twice: leaf(c.params.A, 'a').mul(2).sum() },
          }),
        },
        { name: 'B', players: ['B'], loss: (c) => leaf(c.params.B, 'b').square().sum() },
      ],
      gate: (v): Record<string, boolean> => {
        seen.push({ ...v });
        return h.bad ? { C: true } : { B: v.A! <= h.threshold };
      },
    },
  ],
  sample: (_c, z) => z,
};

async function values(t: ParamTree): Promise<number[][]> {
  return Promise.all(flattenTree(t).map(async ([, x]) => Array.from(await x.data())));
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Phase.gate', () => {
  it('reads every loss and log, skips the updates it maps to false (params and optimiser state unchanged), logs stepped', async () => {
    seen.length = 0;
    const t = new GanTrainer({ objective: gated, data: await loadDataSource('ring') });
    // Step 1: a^2 = 1 > 0.5, B skipped; A: a = 1 - 0.1 * 2 = 0.8.
    const l1 = t.step();
    expect(seen[0]).toEqual({ A: 1, 'A/twice': 2, B: 4 });
    expect((await leaf(t.nets.A!.parameters(), 'a').data())[0]).toBeCloseTo(0.8, 6);
    expect((await leaf(t.nets.B!.parameters(), 'b').data())[0]).toBe(2);
    expect(t.optimizers.A!.stepCount).toBe(1);
    expect(t.optimizers.B!.stepCount).toBe(0);
    const stateB = t.optimizers.B!.getState();
    expect(stateB.step).toBe(0);
    for (const slot of Object.values(stateB.slots))
      expect((await values(slot)).flat().every((v) => v === 0)).toBe(true);
    expect((await l1['A/stepped']!.data())[0]).toBe(1);
    expect((await l1['B/stepped']!.data())[0]).toBe(0);
    expect((await l1.B!.data())[0]).toBe(4); // a skipped update's loss is still logged
    disposeLosses(l1);
    // Steps 2-3: a = 0.8 (a^2 = 0.64, skip), then a = 0.64 (a^2 = 0.4096 <= 0.5): B steps once, by Adam's first step lr.
    disposeLosses(t.step());
    expect(t.optimizers.B!.stepCount).toBe(0);
    const l3 = t.step();
    expect(seen[2]!.A).toBeCloseTo(0.4096, 6);
    expect(t.optimizers.B!.stepCount).toBe(1);
    expect((await leaf(t.nets.B!.parameters(), 'b').data())[0]).toBeCloseTo(1.9, 5);
    expect((await l3['B/stepped']!.data())[0]).toBe(1);
    disposeLosses(l3);
    t.dispose();
  });

  it('an ungated phase logs no stepped flags', async () => {
    const plain: Objective<GateHyper> = {
      ...gated,
      phases: (h) => gated.phases(h).map(({ gate: _g, ...p }) => p),
    };
    const t = new GanTrainer({ objective: plain, data: await loadDataSource('ring') });
    const l = t.step();
    expect(Object.keys(l).sort()).toEqual(['A', 'A/twice', 'B']);
    expect(t.optimizers.B!.stepCount).toBe(1);
    disposeLosses(l);
    t.dispose();
  });

  it('stepAsync is step with awaited reads: bitwise the same losses and parameters, nothing leaked', async () => {
    const data = await loadDataSource('ring');
    const a = new GanTrainer({ objective: gated, data, seed: 3 });
    const b = new GanTrainer({ objective: gated, data, seed: 3 });
    const read = async (l: Record<string, Tensor>) => {
      const row = Object.fromEntries(
        await Promise.all(Object.entries(l).map(async ([k, v]) => [k, (await v.data())[0]])),
      );
      disposeLosses(l);
      return row;
    };
    await read(await b.stepAsync()); // warm-up: allocations of the first step are not leaks
    await read(a.step());
    const live = memory().numTensors;
    for (let i = 0; i < 3; i++) expect(await read(await b.stepAsync())).toEqual(await read(a.step()));
    expect(memory().numTensors).toBe(live);
    const flat = (t: GanTrainer) => flattenTree(t.params() as ParamTree).map(([k, v]) => [k, Array.from(v.dataSync())]);
    expect(flat(b)).toEqual(flat(a));
    a.dispose();
    b.dispose();
  });

  it('rejects a gate naming an unknown update', async () => {
    const t = new GanTrainer({ objective: gated, data: await loadDataSource('ring'), set: { bad: true } });
    expect(() => t.step()).toThrow(/gate names unknown update 'C'/);
    t.dispose();
  });

  it('throws a clear TesseraError on a backend without synchronous reads', async () => {
    const t = new GanTrainer({ objective: gated, data: await loadDataSource('ring') });
    vi.spyOn(Tensor.prototype, 'dataSync').mockImplementation(() => {
      throw new TesseraError('dataSync', 'the webgpu backend reads asynchronously; use await t.data()');
    });
    let err: unknown;
    try {
      t.step();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TesseraError);
    expect(String((err as Error).message)).toMatch(
      /a phase has a gate, which step\(\) reads back synchronously, and .*webgpu backend reads asynchronously.*stepAsync/,
    );
    vi.restoreAllMocks();
    expect(t.optimizers.A!.stepCount).toBe(0);
    t.dispose();
  });
});
