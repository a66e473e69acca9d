// Shared pieces of the GAN objective tests: plain-JS reference arithmetic (activations, affine
// layers, MLPs), hand-made step contexts, objectives cut to some phases, snapshots and resume checks.
import '../../src/index.js'; // registers the CPU backend
import { expect } from 'vitest';
import { loadDataSource } from '../../src/gan/data.js';
import type { BaseHyper, LossOutput, Objective, StepContext } from '../../src/gan/objective.js';
import { disposeLosses, GanTrainer, type TrainerSetup } from '../../src/gan/trainer.js';
import { functionalCall, type Module } from '../../src/nn/module.js';
import { Generator } from '../../src/random/generator.js';
import { tensor } from '../../src/tensor/ops/convert.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { flattenTree, type ParamTree } from '../../src/tensor/tree.js';
import { runSteps, snapshot } from './registry-helpers.js';

// ------------------------------------------------------------------ plain-JS reference

export type Mat = number[][];
/** One affine layer y = W x + b, as plain arrays. */
export interface Layer {
  W: Mat;
  b: number[];
}

export const softplus = (u: number) => Math.log1p(Math.exp(u));
export const sigmoid = (u: number) => 1 / (1 + Math.exp(-u));
export const relu = (u: number) => Math.max(u, 0);
export const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
export const sqDist = (a: number[], b: number[]) => a.reduce((s, ai, k) => s + (ai - b[k]!) ** 2, 0);
/** W h + b on one example. */
export const affine = (W: Mat, b: number[], h: number[]) =>
  W.map((row, o) => row.reduce((s, w, k) => s + w * h[k]!, b[o]!));

/** A ReLU MLP on one example, layers [in -> h, ..., h -> out], linear output. */
export function mlpForward(layers: Layer[], x: number[]): number[] {
  let h = x;
  layers.forEach((l, i) => {
    const y = affine(l.W, l.b, h);
    h = i < layers.length - 1 ? y.map(relu) : y;
  });
  return h;
}

/** The JS layers and the ParamTree of a Sequential [Linear, ReLU, Linear]. */
export function twoLayer(W0: Mat, b0: number[], W1: Mat, b1: number[]): { js: Layer[]; tree: ParamTree } {
  return {
    js: [
      { W: W0, b: b0 },
      { W: W1, b: b1 },
    ],
    tree: {
      '0': { weight: tensor(W0), bias: tensor(b0) },
      '2': { weight: tensor(W1), bias: tensor(b1) },
    },
  };
}

/** JS layers read back from a Sequential's parameter tree. */
export function readLayers(tree: ParamTree): Layer[] {
  const flat = new Map(flattenTree(tree));
  const keys = [...new Set([...flat.keys()].map((k) => k.split('.')[0]!))].sort((a, b) => Number(a) - Number(b));
  return keys.map((k) => ({
    W: flat.get(`${k}.weight`)!.arraySync() as Mat,
    b: Array.from(flat.get(`${k}.bias`)!.dataSync()),
  }));
}

/** A 2-D tensor's rows. */
export const rows = (t: Tensor) => t.arraySync() as Mat;

// ------------------------------------------------------------------ losses and contexts

/** The scalar loss of a loss function's output. */
export const lossOf = (out: LossOutput): Tensor => (out instanceof Tensor ? out : out.loss);

/**
 * A hand-made context at `params` with these draws: no state, step 0, a fresh Generator(0) and no
 * optimisers (what a loss sees in the fixtures that build their networks without a trainer).
 */
export function stepContext<H>(
  nets: Record<string, Module>,
  hyper: H,
  params: Record<string, ParamTree>,
  draws: Record<string, Tensor>,
): StepContext<H> {
  return {
    params,
    nets,
    hyper,
    draws,
    state: {},
    step: 0,
    rng: new Generator(0),
    apply: (p, x, opts) => functionalCall(nets[p]!, params[p]!, x, opts),
  };
}

/** Every row of `draws` as a tensor. */
export const drawTensors = (draws: Record<string, Mat>): Record<string, Tensor> =>
  Object.fromEntries(Object.entries(draws).map(([k, v]) => [k, tensor(v)]));

/** The update `name` of the objective's schedule under `hyper`. */
export function findUpdate<H extends BaseHyper>(objective: Objective<H>, hyper: H, name: string) {
  const u = objective
    .phases(hyper)
    .flatMap((p) => p.updates)
    .find((x) => x.name === name);
  if (u === undefined) throw new Error(`no update ${name}`);
  return u;
}

// ------------------------------------------------------------------ phases, snapshots, resume

/** The objective cut to its phases [from, to). */
export function phasesOnly<H extends BaseHyper>(objective: Objective<H>, from: number, to: number): Objective<H> {
  return { ...objective, phases: (h) => objective.phases(h).slice(from, to) };
}

/** Every player's parameters and buffers as host arrays, by '<player>.<path>'. */
export async function snapshotPlayers<H extends BaseHyper>(t: GanTrainer<H>): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const p of t.objective.players) {
    const m = t.nets[p]!;
    for (const [k, x] of [...m.namedParameters(), ...m.namedBuffers()])
      out.set(`${p}.${k}`, Float32Array.from(await x.data()));
  }
  return out;
}

/** Players whose tensors differ between two snapshots (Object.is per element), sorted. */
export function changedPlayers(a: Map<string, Float32Array>, b: Map<string, Float32Array>): string[] {
  const out = new Set<string>();
  for (const [k, v] of a) if (v.some((x, i) => !Object.is(x, b.get(k)![i]))) out.add(k.split('.')[0]!);
  return [...out].sort();
}

/** The registry snapshot (parameters only) of any trainer. */
export const paramSnapshot = <H extends BaseHyper>(t: GanTrainer<H>) => snapshot(t as unknown as GanTrainer);
/** `runSteps` of any trainer. */
export const stepRows = <H extends BaseHyper>(t: GanTrainer<H>, n: number) => runSteps(t as unknown as GanTrainer, n);

/**
 * Runs one step of the objective cut to phase `k` (1-based) and checks that it moves `moved` and
 * not `still`, and that their optimisers stepped `steps` and 0 times.
 */
export async function expectPhaseMovesOnly<H extends BaseHyper>(
  setup: TrainerSetup<H>,
  k: number,
  moved: string,
  still: string,
  steps = 1,
): Promise<void> {
  const tt = new GanTrainer({ ...setup, objective: phasesOnly(setup.objective, k - 1, k) });
  const before = await paramSnapshot(tt);
  disposeLosses(tt.step());
  const after = await paramSnapshot(tt);
  const changed = (p: string) =>
    [...before].some(([n, v]) => n.startsWith(`${p}.`) && after.get(n)!.some((x, i) => x !== v[i]));
  expect(changed(moved)).toBe(true);
  expect(changed(still)).toBe(false);
  expect(tt.optimizers[moved]!.stepCount).toBe(steps);
  expect(tt.optimizers[still]!.stepCount).toBe(0);
  tt.dispose();
}

/** Each step's losses are all finite numbers. */
export function expectFiniteRows(rows: Record<string, number>[]): void {
  for (const row of rows) for (const v of Object.values(row)) expect(Number.isFinite(v)).toBe(true);
}

/**
 * Runs `setup` for 2 steps, checkpoints, runs 2 more; a second trainer restored from the checkpoint
 * must give the same 2 losses and end with the same parameters.
 */
export async function runAndCheckResume<H extends BaseHyper>(setup: TrainerSetup<H>): Promise<void> {
  const a = new GanTrainer(setup);
  await stepRows(a, 2);
  const bytes = await a.checkpoint();
  const tail = await stepRows(a, 2);
  const b = new GanTrainer(setup);
  b.restore(bytes);
  expect(await stepRows(b, 2)).toEqual(tail);
  expect(await paramSnapshot(b)).toEqual(await paramSnapshot(a));
  a.dispose();
  b.dispose();
}

/** Every player's parameters, flattened, by player. */
export function flatParams<H extends BaseHyper>(t: GanTrainer<H>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [p, tree] of Object.entries(t.params()))
    out[p] = flattenTree(tree).flatMap(([, x]) => Array.from(x.dataSync()));
  return out;
}
/** Every player's optimiser step count, by player. */
export const stepCounts = <H extends BaseHyper>(t: GanTrainer<H>) =>
  Object.fromEntries(Object.entries(t.optimizers).map(([p, o]) => [p, o.stepCount]));
/** One step's losses as numbers. */
export const lossValues = (l: Record<string, Tensor>) =>
  Object.fromEntries(Object.entries(l).map(([k, v]) => [k, v.dataSync()[0]!]));

/** The first element of a tensor. */
export const num = (t: Tensor) => t.dataSync()[0]!;
/** `a` within a relative 1e-5 of `e`. */
export const expectNear = (a: number, e: number) => expect(Math.abs(a - e)).toBeLessThan(1e-5 * (1 + Math.abs(e)));

// ------------------------------------------------------------------ the linear fixture

// Linear nets (net.layers = 0): G z(1) -> x(2) = Wg z + bg; D x(2) -> Wd . x + bd; or, for the
// auto-encoder critics (codeDim 2), encoder x -> We x + be and decoder c -> Wdec c + bdec.
export const Wg = [[0.7], [-1.2]];
export const bg = [0.1, 0.4];
export const Wd = [[0.9, -0.6]];
export const bd = [-0.3];
export const We = [
  [0.9, -0.6],
  [0.3, 0.8],
];
export const be = [-0.3, 0.2];
export const Wdec = [
  [0.5, -0.4],
  [1.1, 0.2],
];
export const bdec = [0.05, -0.1];
export const real = [
  [1.5, 0.2],
  [-0.4, 2.0],
  [0.3, -1.1],
];
export const z = [[0.5], [-1.0], [2.0]];
/** The linear G on one latent. */
export const gJs = (zi: number[]) => [Wg[0]![0]! * zi[0]! + bg[0]!, Wg[1]![0]! * zi[0]! + bg[1]!];
/** The linear D on one point. */
export const dJs = (x: number[]) => Wd[0]![0]! * x[0]! + Wd[0]![1]! * x[1]! + bd[0]!;
/** The parameter tree of a Sequential holding one Linear layer. */
export const linearTree = (W: Mat, b: number[]): ParamTree => ({ '0': { weight: tensor(W), bias: tensor(b) } });
/** A module's parameters as plain arrays, in order. */
export const paramArrays = (m: Module) => m.namedParameters().map(([, x]) => Array.from(x.dataSync()));

/** Runs one step of `t` and checks that it moves (and steps once) exactly the players `moved`, not `still`. */
export function expectStepMovesOnly<H extends BaseHyper>(
  t: GanTrainer<H>,
  moved: readonly string[],
  still: readonly string[],
): void {
  const before = Object.fromEntries(t.objective.players.map((p) => [p, paramArrays(t.nets[p]!)]));
  disposeLosses(t.step());
  for (const p of moved) {
    expect(paramArrays(t.nets[p]!), p).not.toEqual(before[p]);
    expect(t.optimizers[p]!.stepCount).toBe(1);
  }
  for (const p of still) {
    expect(paramArrays(t.nets[p]!), p).toEqual(before[p]);
    expect(t.optimizers[p]!.stepCount).toBe(0);
  }
}

/**
 * A trainer of `objective` on the ring with the linear G and D above (latentDim 1, net.layers 0,
 * then `set`), the fixture draws, the hand-made context a loss sees at `params`, and the updates.
 */
export async function linearFixture<H extends BaseHyper>(objective: Objective<H>, set: Record<string, unknown> = {}) {
  const data = await loadDataSource('ring');
  const t = new GanTrainer({ objective, data, seed: 0, set: { latentDim: 1, 'net.layers': 0, ...set } });
  t.nets.G!.setParameters(linearTree(Wg, bg));
  t.nets.D!.setParameters(linearTree(Wd, bd));
  const draws = { real: tensor(real), z: tensor(z) };
  const ctx = (params: Record<string, ParamTree>) => stepContext(t.nets, t.hyper, params, draws);
  const update = (name: string) => findUpdate(t.objective, t.hyper, name);
  return { t, draws, ctx, update };
}

/**
 * Runs `make()` 4 steps uninterrupted, and another 2 steps, checkpoints and restores into a third
 * trainer, which must then give the uninterrupted run's last 2 losses; returns both to compare further.
 */
export async function resumeAgainstFull<H extends BaseHyper>(make: () => GanTrainer<H>) {
  const full = make();
  const fullRows = await stepRows(full, 4);
  const first = make();
  await stepRows(first, 2);
  const bytes = await first.checkpoint();
  first.dispose();
  const resumed = make();
  resumed.restore(bytes);
  expect(await stepRows(resumed, 2)).toEqual(fullRows.slice(2));
  return { full, resumed };
}

/** A data source of uniform noise images in [-1, 1], 1x28x28. */
export const fakeImages = () => ({
  name: 'fake-images',
  description: 'uniform noise in [-1, 1], 1x28x28',
  info: { shape: [1, 28, 28], kind: 'image' as const },
  sample: (n: number, rng: Generator) => ({ x: rng.uniform([n, 1, 28, 28], -1, 1) }),
  dispose: () => {},
});

/** A Sequential [Linear, ReLU, Linear] as plain arrays. */
export interface Net {
  W0: Mat;
  b0: number[];
  W1: Mat;
  b1: number[];
}
/** Linear -> ReLU -> Linear on one example. */
export const netForward = (n: Net, x: number[]) => affine(n.W1, n.b1, affine(n.W0, n.b0, x).map(relu));
/** The parameter tree of a Net. */
export const netTree = (n: Net): ParamTree => ({
  '0': { weight: tensor(n.W0), bias: tensor(n.b0) },
  '2': { weight: tensor(n.W1), bias: tensor(n.b1) },
});
export const isZero = (v: number[]) => v.every((x) => x === 0);
export const nonZero = (v: number[]) => v.some((x) => x !== 0);
