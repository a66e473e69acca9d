/**
 * The fused Adam update on WebGPU (src/kernels/wgsl/optim.ts via src/optim/fused.ts): the same
 * values as the op-by-op update on WebGPU and the CPU backend, for every Adam variant and for
 * sizes with and without the vec4 path; one dispatch per parameter; no leaked tensors; and the
 * op path (still differentiable) wherever something is being differentiated.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  Adam,
  type AdamOptions,
  AdamW,
  adam,
  dispose,
  functionalCall,
  Generator,
  grad,
  memory,
  mlp,
  type ParamTree,
  type Tensor,
  tidy,
  valueAndGrad,
  webgpuStats,
} from '../../src/index.js';
import { setFusedUpdates } from '../../src/optim/fused.js';
import { initWebGPU, onCpu, onGpu, releaseWebGPU, ulpDiff } from '../helpers/webgpu.js';

const gpu = await initWebGPU();
afterAll(releaseWebGPU);

const SHAPES: readonly (readonly number[])[] = [[16, 8], [3, 5], [1], [2], [6]];
const VARIANTS: [string, AdamOptions][] = [
  ['torch', { lr: 1e-3, betas: [0.5, 0.999] }],
  ['tf eps', { lr: 1e-2, epsMode: 'tf', eps: 1e-7 }],
  ['L2 weight decay', { lr: 1e-2, weightDecay: 0.1 }],
  ['AdamW', { lr: 1e-2, weightDecay: 0.05, decoupled: true }],
  ['amsgrad', { lr: 1e-2, amsgrad: true, beta2: 0.9 }],
];

type Flat = Record<string, Tensor>;

/** Deterministic values in [-2, 2) with a few exact zeros. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed * 7919 + 17;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = i % 11 === 3 ? 0 : (s / 2147483648) * 4 - 2;
  }
  return out;
}

/** Runs `steps` pure Adam steps on `make`'s backend; returns the final params and slots as arrays. */
async function runSteps(
  make: (data: Float32Array, shape: readonly number[]) => Tensor,
  h: AdamOptions,
  steps: number,
  dispatches: number[] = [],
): Promise<Record<string, Float32Array>> {
  let params: Flat = {};
  SHAPES.forEach((shape, i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    params[`w${i}`] = make(values(n, i + 1), shape);
  });
  let state = adam.init(params, h);
  for (let t = 0; t < steps; t++) {
    const grads: Flat = {};
    SHAPES.forEach((shape, i) => {
      const n = shape.reduce((a, b) => a * b, 1);
      grads[`w${i}`] = make(values(n, 100 * (t + 1) + i), shape);
    });
    const d0 = webgpuStats().dispatches;
    const next = adam.step(params, grads, state, h);
    dispatches.push(webgpuStats().dispatches - d0);
    dispose([params, grads, state.slots]);
    params = next.params;
    state = next.state;
  }
  const out: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(params)) out[`p.${k}`] = Float32Array.from(await v.data());
  for (const [slot, tree] of Object.entries(state.slots)) {
    for (const [k, v] of Object.entries(tree as Flat)) out[`${slot}.${k}`] = Float32Array.from(await v.data());
  }
  dispose([params, state.slots]);
  return out;
}

function maxUlp(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, ulpDiff(a[i]!, b[i]!));
  return worst;
}

describe.skipIf(gpu === undefined)('fused Adam on WebGPU', () => {
  const onG = (d: Float32Array, s: readonly number[]) => onGpu(gpu!, d, s, 'float32');
  const onC = (d: Float32Array, s: readonly number[]) => onCpu(d, s, 'float32');

  for (const [name, h] of VARIANTS) {
    it(`${name}: matches the op-by-op update on WebGPU and on the CPU`, async () => {
      const dispatches: number[] = [];
      const fused = await runSteps(onG, h, 4, dispatches);
      expect(dispatches).toEqual([5, 5, 5, 5]); // one per parameter
      const was = setFusedUpdates(false);
      let ops: Record<string, Float32Array>;
      try {
        ops = await runSteps(onG, h, 4);
      } finally {
        setFusedUpdates(was);
      }
      const cpu = await runSteps(onC, h, 4);
      expect(Object.keys(fused).sort()).toEqual(Object.keys(ops).sort());
      for (const k of Object.keys(ops)) {
        // Same float32 operations in the same order: bitwise equal on llvmpipe; a shader compiler
        // may contract a * b + c into an fma elsewhere, hence the slack.
        expect(maxUlp(fused[k]!, ops[k]!), `${k} fused vs ops`).toBeLessThanOrEqual(2);
        expect(maxUlp(fused[k]!, cpu[k]!), `${k} fused vs cpu`).toBeLessThanOrEqual(4);
      }
    });
  }

  it('runs one dispatch per parameter and leaks nothing (stateful Adam and AdamW)', async () => {
    for (const make of [
      (m: ReturnType<typeof mlp>) => new Adam(m, { lr: 1e-3 }),
      (m: ReturnType<typeof mlp>) => new AdamW(m),
    ]) {
      const net = mlp([3, 8, 2], { activation: 'tanh', rng: new Generator(1) });
      const opt = make(net);
      const x = onG(values(12, 5), [4, 3]);
      const lossGrads = () =>
        valueAndGrad((p: ParamTree) => functionalCall(net, p, x).square().mean())(net.parameters());
      // Warm up (compiles), then count.
      tidy(() => opt.step(lossGrads()[1]));
      const live = memory().numTensors;
      for (let i = 0; i < 3; i++) {
        const grads = tidy(() => lossGrads()[1]);
        const before = webgpuStats().dispatches;
        opt.step(grads);
        expect(webgpuStats().dispatches - before).toBe(net.namedParameters().length);
        dispose(grads);
      }
      expect(memory().numTensors).toBe(live);
      const before = await Promise.all(net.namedParameters().map(([, p]) => p.data()));
      expect(before.every((a) => a.every(Number.isFinite))).toBe(true);
      opt.dispose();
      net.dispose();
      x.dispose();
    }
  });

  it('keeps the op path, and its gradient, when differentiating through the step', async () => {
    const h: AdamOptions = { lr: 0.1, betas: [0.5, 0.9] };
    const g0 = onG(values(6, 3), [6]);
    const w0 = onG(values(6, 4), [6]);
    // d/dw of sum(adam step of w with gradient g0 * w): differentiates through m, v and the update.
    const f = (w: Tensor) => {
      const state = adam.init({ w }, h);
      const next = adam.step({ w }, { w: g0.mul(w) }, state, h);
      return (next.params.w as Tensor).square().sum();
    };
    const fused = await grad(f)(w0).data();
    const was = setFusedUpdates(false);
    let ops: ArrayLike<number>;
    try {
      ops = await grad(f)(w0).data();
    } finally {
      setFusedUpdates(was);
    }
    expect(Array.from(fused)).toEqual(Array.from(ops));
    expect(Array.from(fused).some((v) => v !== 0)).toBe(true);
    dispose([g0, w0]);
  });
});
