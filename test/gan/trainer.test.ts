// The trainer's contract on a hand-made objective: simultaneous updates, per-update players,
// repeat counts, hooks, objective state, overrides and their errors.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { applyOverrides, parseSetValue } from '../../src/gan/config.js';
import { loadDataSource } from '../../src/gan/data.js';
import type { BaseHyper, Objective } from '../../src/gan/objective.js';
import { ParameterGroup } from '../../src/gan/players.js';
import { OBJECTIVES } from '../../src/gan/registry.js';
import { disposeLosses, GanTrainer } from '../../src/gan/trainer.js';
import { tensor } from '../../src/tensor/ops/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import type { ParamTree } from '../../src/tensor/tree.js';

/** The tensor at `key` of a player's tree. */
const leaf = (tree: ParamTree | undefined, key: string): Tensor => tree![key] as Tensor;

const sgd = { kind: 'sgd' as const, lr: 0.1 };
const events: string[] = [];

/** Players A = {a: 1} and B = {b: 2}; phase 1 updates both simultaneously on (a b)^2. */
const toy: Objective<BaseHyper & { reps: number }> = {
  name: 'toy',
  title: 'toy',
  paper: 'none',
  players: ['A', 'B', 'C'],
  defaults: {
    batchSize: 1,
    latentDim: 1,
    steps: 1,
    optimizers: { A: sgd, B: sgd, C: sgd },
    net: { hidden: 1, layers: 1, activation: 'tanh', ngf: 1, ndf: 1 },
    reps: 2,
  },
  build: () => ({
    A: new ParameterGroup({ a: tensor([1]) }),
    B: new ParameterGroup({ b: tensor([2]) }),
    C: new ParameterGroup({ c: tensor([5]) }),
  }),
  initState: () => ({ count: tensor([0]) }),
  phases: (h) => [
    {
      name: 'simultaneous',
      draw: () => ({}),
      updates: [
        { name: 'A', players: ['A'], loss: (c) => leaf(c.params.A, 'a').mul(leaf(c.params.B, 'b')).square().sum() },
        {
          name: 'B',
          players: ['B'],
          loss: (c) => ({
            loss: leaf(c.params.A, 'a').mul(leaf(c.params.B, 'b')).square().sum(),
            state: { count: c.state.count!.add(1) },
          }),
        },
      ],
    },
    {
      name: 'repeated',
      repeat: (step) => step + h.reps - 1,
      before: () => events.push('before'),
      after: () => events.push('after'),
      draw: () => ({}),
      updates: [{ name: 'C', players: ['C'], loss: (c) => leaf(c.params.C, 'c').sum() }],
    },
  ],
  sample: (_c, z) => z,
};

describe('GanTrainer', () => {
  it('evaluates every update of a phase at the same parameters, steps only its players, repeats, calls hooks', async () => {
    events.length = 0;
    const t = new GanTrainer({ objective: toy, data: await loadDataSource('ring') });
    const l = t.step();
    // d/da (ab)^2 = 2ab^2 = 8, d/db = 2a^2b = 4 at (1, 2): a = 1 - 0.8, b = 2 - 0.4 (not 2 - 0.1 * 2 * 0.04 * 2).
    expect((await leaf(t.nets.A!.parameters(), 'a').data())[0]).toBeCloseTo(0.2, 6);
    expect((await leaf(t.nets.B!.parameters(), 'b').data())[0]).toBeCloseTo(1.6, 6);
    // repeat(0) = 1: C takes one step of lr * 1.
    expect((await leaf(t.nets.C!.parameters(), 'c').data())[0]).toBeCloseTo(4.9, 6);
    expect(events).toEqual(['before', 'after']);
    expect((await l.A!.data())[0]).toBe(4);
    expect((await l.B!.data())[0]).toBe(4);
    expect((await t.state.count!.data())[0]).toBe(1);
    disposeLosses(l);
    disposeLosses(t.step()); // repeat(1) = 2
    expect(events).toEqual(['before', 'after', 'before', 'after', 'before', 'after']);
    expect((await leaf(t.nets.C!.parameters(), 'c').data())[0]).toBeCloseTo(4.7, 5);
    expect(t.optimizers.A!.stepCount).toBe(2);
    expect(t.optimizers.C!.stepCount).toBe(3);
    expect(t.stepCount).toBe(2);
    t.dispose();
  });

  it('takes overrides by dotted name and rejects unknown names and wrong types', async () => {
    const data = await loadDataSource('ring');
    const t = new GanTrainer({ objective: toy, data, set: { reps: 3, 'optimizers.A.lr': 0.5 } });
    expect(t.hyper.reps).toBe(3);
    expect(t.hyper.optimizers.A!.lr).toBe(0.5);
    expect(toy.defaults.optimizers.A!.lr).toBe(0.1);
    t.dispose();
    expect(() => new GanTrainer({ objective: toy, data, set: { rep: 3 } })).toThrow(
      /unknown setting 'rep'; settings here: .*reps/,
    );
    expect(() => new GanTrainer({ objective: toy, data, set: { reps: 'many' } })).toThrow(
      /'reps' must be a number, got "many"/,
    );
    expect(() => new GanTrainer({ objective: toy, data, set: { batchSize: 0 } })).toThrow(
      /batchSize must be a positive integer/,
    );
    expect(() => new GanTrainer({ objective: toy, data, set: { 'optimizers.A.kind': 'adagrad' } })).toThrow(
      /kind must be one of/,
    );
    expect(() => new GanTrainer({ objective: toy, data, seed: -1 })).toThrow(/seed must be a non-negative integer/);
    expect(applyOverrides('x', { a: { b: 1 } }, { 'a.b': 2 })).toEqual({ a: { b: 2 } });
    expect(parseSetValue('1e-4')).toBe(1e-4);
    expect(parseSetValue('true')).toBe(true);
    expect(parseSetValue('[0.5, 0.9]')).toEqual([0.5, 0.9]);
    expect(parseSetValue('prior-only')).toBe('prior-only');
  });

  it('refuses a checkpoint of another run', async () => {
    const data = await loadDataSource('ring');
    const a = new GanTrainer({ objective: OBJECTIVES.gan, data, seed: 1 });
    const b = new GanTrainer({ objective: OBJECTIVES.gan, data, seed: 2 });
    const bytes = await a.checkpoint();
    expect(() => b.restore(bytes)).toThrow(/the checkpoint is of another run/);
    a.dispose();
    b.dispose();
  });
});

describe('package entry', () => {
  it("exposes the GAN layer as the 'gan' namespace and its entry points by name", async () => {
    const tessera = await import('../../src/index.js');
    expect(tessera.gan.GanTrainer).toBe(GanTrainer);
    expect(tessera.GanTrainer).toBe(GanTrainer);
    expect(Object.keys(tessera.gan.OBJECTIVES)).toEqual(tessera.gan.objectiveNames());
    expect(tessera.gan.objectiveNames().slice(0, 6)).toEqual([
      'gan',
      'presgan',
      'reg-gan',
      'mdgan',
      'veegan',
      'ldmgan',
    ]);
    expect(typeof tessera.runTrainer).toBe('function');
    expect(typeof tessera.presganEntropySurrogate).toBe('function');
  });
});
