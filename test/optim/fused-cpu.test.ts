/**
 * The CPU backend's fused Adam (src/kernels/cpu/optim.ts via src/optim/fused.ts) is bit-identical
 * to the op-by-op update on the CPU backend, for every Adam variant, on random values including
 * zeros, tiny and huge magnitudes and NaN; and the op path still runs where the step is
 * differentiated.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AdamOptions,
  adam,
  cpuBackend,
  dispose,
  grad,
  memory,
  setBackend,
  type Tensor,
  tensor,
} from '../../src/index.js';
import { setFusedUpdates } from '../../src/optim/fused.js';

beforeAll(async () => {
  await setBackend('cpu');
});

const VARIANTS: [string, AdamOptions][] = [
  ['torch', { lr: 1e-3, betas: [0.5, 0.999] }],
  ['tf eps', { lr: 1e-2, epsMode: 'tf', eps: 1e-7 }],
  ['L2 weight decay', { lr: 1e-2, weightDecay: 0.1 }],
  ['AdamW', { lr: 3e-2, weightDecay: 0.05, decoupled: true }],
  ['amsgrad', { lr: 1e-2, amsgrad: true, betas: [0.9, 0.9] }],
];

const float32 = fc.oneof(
  fc.float({ noDefaultInfinity: true, noNaN: true, min: -4, max: 4 }),
  fc.constantFrom(0, -0, 1e-30, -3e-38, 1e30, Number.NaN),
);

/** Runs `steps` Adam steps from the given start on the CPU, fused or op by op; returns all bits. */
function run(h: AdamOptions, p0: number[], grads: number[][], fused: boolean): Uint32Array[] {
  const was = setFusedUpdates(fused);
  try {
    let params: Record<string, Tensor> = { w: tensor(Float32Array.from(p0)) };
    let state = adam.init(params, h);
    for (const g of grads) {
      const next = adam.step(params, { w: tensor(Float32Array.from(g)) }, state, h);
      dispose([params, state.slots]);
      params = next.params as Record<string, Tensor>;
      state = next.state;
    }
    const out = [params.w!, ...Object.values(state.slots).map((s) => (s as Record<string, Tensor>).w!)].map(
      (t) => new Uint32Array(Float32Array.from(t.dataSync()).buffer),
    );
    dispose([params, state.slots]);
    return out;
  } finally {
    setFusedUpdates(was);
  }
}

describe('fused Adam on the CPU backend', () => {
  for (const [name, h] of VARIANTS) {
    it(`${name}: bit-identical to the op-by-op update (fast-check)`, () => {
      const arb = fc.integer({ min: 1, max: 9 }).chain((n) =>
        fc.record({
          p0: fc.array(float32, { minLength: n, maxLength: n }),
          grads: fc.array(fc.array(float32, { minLength: n, maxLength: n }), { minLength: 1, maxLength: 4 }),
        }),
      );
      fc.assert(
        fc.property(arb, ({ p0, grads }) => {
          const fused = run(h, p0, grads, true);
          const ops = run(h, p0, grads, false);
          expect(fused).toEqual(ops);
        }),
        { numRuns: 150 },
      );
    });
  }

  it('is what runs (no elementwise kernels), and leaks nothing', () => {
    const calls: string[] = [];
    const table = cpuBackend.kernels as unknown as Record<string, (...a: unknown[]) => unknown>;
    const saved = { ...table };
    for (const k of Object.keys(table)) {
      table[k] = (...a: unknown[]) => {
        calls.push(k);
        return saved[k]!(...a);
      };
    }
    try {
      const params = { a: tensor([[1, 2, 3]]), b: tensor([0.5]) };
      const g = { a: tensor([[0.1, -0.2, 0.3]]), b: tensor([1]) };
      const state = adam.init(params, { lr: 1e-3 });
      const live = memory().numTensors;
      calls.length = 0;
      const next = adam.step(params, g, state, { lr: 1e-3 });
      expect(calls).toEqual([]);
      expect(memory().numTensors).toBe(live + 6); // p', m', v' for two parameters
      // The same step op by op does call kernels (so the spy sees them).
      const was = setFusedUpdates(false);
      const byOps = adam.step(params, g, state, { lr: 1e-3 });
      setFusedUpdates(was);
      expect(calls.filter((c) => c === 'binary').length).toBeGreaterThan(10);
      dispose([params, g, state.slots, next.params, next.state.slots, byOps.params, byOps.state.slots]);
    } finally {
      Object.assign(table, saved);
    }
  });

  it('keeps the op path, and its gradient, when differentiating through the step', () => {
    const h: AdamOptions = { lr: 0.1, betas: [0.5, 0.9] };
    const g0 = tensor([0.3, -1, 2, 0.5]);
    const f = (w: Tensor) => {
      const next = adam.step({ w }, { w: g0.mul(w) }, adam.init({ w }, h), h);
      return (next.params.w as Tensor).square().sum();
    };
    const w0 = tensor([1, 2, -1, 0.25]);
    const fused = Array.from(grad(f)(w0).dataSync());
    const was = setFusedUpdates(false);
    const ops = Array.from(grad(f)(w0).dataSync());
    setFusedUpdates(was);
    expect(fused).toEqual(ops);
    expect(fused.some((v) => v !== 0)).toBe(true);
  });
});
