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
  cpuThreads,
  dispose,
  grad,
  memory,
  setBackend,
  setCpuThreads,
  type Tensor,
  tensor,
} from '../../src/index.js';
import { threadStats } from '../../src/kernels/cpu/threads.js';
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

/**
 * Runs `steps` Adam steps from the given start on the CPU, fused or op by op; returns all bits.
 * Gradients are kernel outputs (as in training: with threads on they live in shared memory).
 */
function run(h: AdamOptions, p0: ArrayLike<number>, grads: ArrayLike<number>[], fused: boolean): Uint32Array[] {
  const was = setFusedUpdates(fused);
  try {
    let params: Record<string, Tensor> = { w: tensor(Float32Array.from(p0)) };
    let state = adam.init(params, h);
    for (const g of grads) {
      const gt = tensor(Float32Array.from(g));
      const gk = gt.add(0);
      gt.dispose();
      const next = adam.step(params, { w: gk }, state, h);
      gk.dispose();
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

  it('splits large parameters across CPU threads with bit-identical results, every variant', async () => {
    // 20,000 elements (above the threshold), 3 steps: from the second step on, parameters, slots and
    // gradients are kernel outputs in shared memory, so the update runs on the caller and a worker.
    const n = 20_000;
    let s = 12345;
    const next = () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const u = s / 2 ** 32;
      return u < 0.01 ? 0 : u < 0.012 ? Number.NaN : (u - 0.5) * 8;
    };
    const p0 = Float32Array.from({ length: n }, next);
    const grads = [0, 1, 2].map(() => Float32Array.from({ length: n }, next));
    try {
      setCpuThreads(2);
      if (cpuThreads() < 2) return expect.fail('worker threads are unavailable in this Node process');
      // The worker starts asynchronously; until it is up the caller runs every chunk itself.
      const start = threadStats.workerChunks;
      for (let i = 0; i < 100 && threadStats.workerChunks === start; i++) {
        run(VARIANTS[0]![1], p0, grads, true);
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const [name, h] of VARIANTS) {
        setCpuThreads(1);
        const ops = run(h, p0, grads, false);
        // A sleeping worker may wake after the caller took both ranges: repeat until it took one.
        const before = threadStats.workerChunks;
        for (let i = 0; i < 20 && threadStats.workerChunks === before; i++) {
          setCpuThreads(2);
          expect(run(h, p0, grads, true), name).toEqual(ops);
        }
        expect(threadStats.workerChunks, name).toBeGreaterThan(before);
      }
      // No worker failed on the way (a failure turns threads off for good).
      setCpuThreads(2);
      expect(cpuThreads()).toBe(2);
    } finally {
      setCpuThreads(1);
    }
  });

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
