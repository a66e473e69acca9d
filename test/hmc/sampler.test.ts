import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  dualAveragingFinal,
  dualAveragingInit,
  dualAveragingUpdate,
  hmc,
  kineticEnergy,
  leapfrog,
  presganPosterior,
  presganStepSizeUpdate,
} from '../../src/hmc/index.js';
import {
  cpuBackend,
  eq,
  Generator,
  matmul,
  memory,
  type Tensor,
  TesseraError,
  tensor,
  tidy,
  where,
  zeros,
  zerosLike,
} from '../../src/index.js';

const f64 = { dtype: 'float64' } as const;
const stdNormal = (z: Tensor): Tensor => z.square().sum(1).mul(-0.5);
/** A non-Gaussian target: log pi(z) = -sum(z^2 / 2 + z^4 / 4) - 0.3 z_0 z_1 (chains independent). */
const quartic = (z: Tensor): Tensor => {
  const a = z.square().mul(0.5).add(z.pow(4).mul(0.25)).sum(1).neg();
  const cross = z
    .slice([null, [0, 1]])
    .mul(z.slice([null, [1, 2]]))
    .sum(1)
    .mul(-0.3);
  return a.add(cross);
};
const hamiltonian = (logProb: (z: Tensor) => Tensor, z: Tensor, p: Tensor): Tensor =>
  logProb(z).neg().add(kineticEnergy(p));

const arr = async (t: Tensor): Promise<number[]> => Array.from(await t.data());

afterEach(() => {
  vi.restoreAllMocks();
});

describe('hmc: validation', () => {
  const z = zeros([4, 2]);
  const ok = { initial: z, numSamples: 1 };
  it.each([
    ['a rank-1 initial state', { initial: zeros([4]), numSamples: 1 }, /initial must be \[chains, \.\.\.event\]/],
    ['an int32 initial state', { initial: zeros([4, 2], 'int32'), numSamples: 1 }, /float32 or float64/],
    ['numSamples 0', { ...ok, numSamples: 0 }, /numSamples must be an integer >= 1/],
    ['a fractional numBurnin', { ...ok, numBurnin: 1.5 }, /numBurnin must be an integer/],
    ['zero leapfrog steps', { ...ok, numLeapfrogSteps: 0 }, /numLeapfrogSteps/],
    ['a negative step size', { ...ok, stepSize: -0.1 }, /stepSize must be a positive finite number/],
    ['a step size of the wrong shape', { ...ok, stepSize: zeros([3]) }, /stepSize must be a scalar, \[4\] or \[4, 1\]/],
    ['an unknown adaptation', { ...ok, adapt: 'nuts' as 'none' }, /adapt must be/],
    ['targetAccept 1', { ...ok, targetAccept: 1 }, /targetAccept must be in \(0, 1\)/],
    ['a bad dual-averaging kappa', { ...ok, dualAveraging: { kappa: 0.4 } }, /kappa must be in/],
    ['a mass matrix of the wrong size', { ...ok, massDiag: [1, 2, 3] }, /massDiag \[3\] does not broadcast/],
    [
      'prior-only without a prior',
      { ...ok, leapfrogGradient: 'prior-only' as const },
      /needs a target with priorLogProb/,
    ],
  ])('rejects %s with a TesseraError', (_name, opts, msg) => {
    const call = () => hmc(stdNormal, opts);
    expect(call).toThrow(TesseraError);
    expect(call).toThrow(msg);
  });

  it('rejects a log-density that does not return one value per chain', () => {
    expect(() => hmc((x) => x.square().sum(), ok)).toThrow(
      /logProb must return one value per chain, shape \[4\], got \[\]/,
    );
    expect(() => hmc((x) => x.square(), ok)).toThrow(/got \[4,2\]/);
  });

  it('rejects a log-density of another dtype than the state', () => {
    expect(() => hmc((x) => x.square().sum(1).cast('float64'), ok)).toThrow(
      /logProb returned float64 for a float32 state/,
    );
  });

  it('does not dispose tensors a target returns that it owns', async () => {
    const g = zeros([4, 2]);
    const lp0 = zeros([4]);
    const r = hmc({ logProb: () => lp0, gradLogProb: () => g }, { ...ok, numSamples: 3 });
    expect(g.isDisposed || lp0.isDisposed).toBe(false);
    // A flat target accepts every proposal.
    expect(await r.accepted.sum().item()).toBe(12);
  });

  it('rejects a gradient of the wrong shape from a user gradLogProb', () => {
    expect(() => hmc({ logProb: stdNormal, gradLogProb: (x) => x.sum(1) }, ok)).toThrow(
      /gradient has shape \[4\], expected the state's \[4,2\]/,
    );
  });

  it('rejects a disposed initial state', () => {
    const d = zeros([2, 2]);
    d.dispose();
    expect(() => hmc(stdNormal, { initial: d, numSamples: 1 })).toThrow(TesseraError);
  });
});

describe('hmc: shapes, reproducibility, memory, read-backs', () => {
  it('returns the documented shapes for shared and per-chain step sizes', () => {
    const rng = new Generator(1);
    const z0 = rng.normal([5, 3]);
    const r = hmc(stdNormal, { initial: z0, numBurnin: 3, numSamples: 4, thin: 2, rng });
    expect(r.numTransitions).toBe(3 + 4 * 2);
    expect(r.samples.shape).toEqual([4, 5, 3]);
    expect(r.logProbs.shape).toEqual([4, 5]);
    expect(r.acceptRate.shape).toEqual([5]);
    expect(r.burninAcceptRate.shape).toEqual([5]);
    expect(r.accepted.shape).toEqual([11, 5]);
    expect(r.acceptProb.shape).toEqual([11, 5]);
    expect(r.stepSize.shape).toEqual([]);
    expect(r.stepSizes.shape).toEqual([11]);
    expect(r.finalState.shape).toEqual([5, 3]);
    const rc = hmc(stdNormal, { initial: z0, numBurnin: 2, numSamples: 2, perChainStepSize: true, rng });
    expect(rc.stepSize.shape).toEqual([5, 1]);
    expect(rc.stepSizes.shape).toEqual([4, 5]);
  });

  it('accepts an event shape of rank > 1 and a dtype of float64', async () => {
    const rng = new Generator(2);
    const z0 = rng.normal([3, 2, 2], 0, 1, f64);
    const r = hmc((x) => x.square().sum([1, 2]).mul(-0.5), { initial: z0, numSamples: 2, rng });
    expect(r.samples.shape).toEqual([2, 3, 2, 2]);
    expect(r.samples.dtype).toBe('float64');
    // log pi at the kept states is log pi of those states.
    const s = await arr(r.samples);
    const lp = await arr(r.logProbs);
    for (let k = 0; k < 6; k++) {
      const sq = s.slice(k * 4, k * 4 + 4).reduce((a, v) => a + v * v, 0);
      expect(lp[k]!).toBeCloseTo(-0.5 * sq, 12);
    }
  });

  it('is reproducible from the generator seed', async () => {
    const run = () => {
      const rng = new Generator(123);
      return hmc(quartic, { initial: rng.normal([4, 2], 0, 1, f64), numBurnin: 3, numSamples: 3, rng });
    };
    expect(await arr(run().samples)).toEqual(await arr(run().samples));
  });

  it('keeps exactly every thin-th post-burn-in state of the unthinned chain', async () => {
    const run = (thin: number, numSamples: number) => {
      const rng = new Generator(9);
      return hmc(quartic, {
        initial: rng.normal([3, 2], 0, 1, f64),
        numBurnin: 2,
        numSamples,
        thin,
        stepSize: 0.4,
        rng,
      });
    };
    const all = await arr(run(1, 9).samples);
    const thinned = await arr(run(3, 3).samples);
    const picked = [2, 5, 8].flatMap((k) => all.slice(k * 6, k * 6 + 6));
    expect(thinned).toEqual(picked);
  });

  it('reads nothing back from the CPU backend during a call (any adaptation, mass, gradient mode)', async () => {
    const rng = new Generator(4);
    const W = rng.normal([3, 2]);
    const x = rng.normal([16, 3]);
    const target = presganPosterior({ G: (z) => matmul(z, W, { transB: true }).tanh(), x, sigma: 0.5 });
    const read = vi.spyOn(cpuBackend, 'read');
    const readSync = vi.spyOn(cpuBackend, 'readSync');
    const initial = rng.normal([16, 2]);
    const results = [
      hmc(target, { initial, numBurnin: 3, numSamples: 3, rng }),
      hmc(target, {
        initial,
        numBurnin: 3,
        numSamples: 3,
        adapt: 'dual-averaging',
        perChainStepSize: true,
        rng,
      }),
      hmc(target, {
        initial,
        numBurnin: 3,
        numSamples: 3,
        leapfrogGradient: 'prior-only',
        massDiag: [2, 0.5],
        rng,
      }),
    ];
    expect(read).not.toHaveBeenCalled();
    expect(readSync).not.toHaveBeenCalled();
    // The spies do see read-backs: reading a result goes through them.
    await results[0]!.samples.data();
    results[1]!.stepSize.dataSync();
    expect(read).toHaveBeenCalledTimes(1);
    expect(readSync).toHaveBeenCalledTimes(1);
  });

  it('leaves only its outputs alive, however many transitions it runs', () => {
    const rng = new Generator(5);
    const z0 = rng.normal([8, 3]);
    const W = rng.normal([3, 3]);
    const target = (z: Tensor) => matmul(z, W).tanh().square().sum(1).neg().sub(z.square().sum(1));
    const leftover = (T: number): [number, number] => {
      const before = memory();
      const r = hmc(target, { initial: z0, numBurnin: 2, numSamples: T, adapt: 'dual-averaging', rng });
      const after = memory();
      const outputs = [
        r.samples,
        r.logProbs,
        r.acceptRate,
        r.burninAcceptRate,
        r.accepted,
        r.acceptProb,
        r.stepSize,
        r.stepSizes,
        r.finalState,
        r.finalLogProb,
        r.divergent,
        r.divergences,
      ];
      const bytes = outputs.reduce((s, t) => s + t.size * 4, 0);
      const counts: [number, number] = [after.numTensors - before.numTensors, after.numBytes - before.numBytes - bytes];
      for (const t of outputs) t.dispose();
      return counts;
    };
    expect(leftover(3)).toEqual([12, 0]);
    expect(leftover(30)).toEqual([12, 0]);
    // Inside a tidy, nothing survives.
    const before = memory().numTensors;
    tidy(() => {
      hmc(target, { initial: z0, numSamples: 5, rng });
    });
    expect(memory().numTensors).toBe(before);
  });
});

describe('leapfrog properties', () => {
  it('leapfrog, momentum flip, leapfrog, flip returns to the start (an involution)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.double({ min: 0.01, max: 0.3, noNaN: true }),
        fc.integer({ min: 1, max: 12 }),
        fc.boolean(),
        (seed, h, L, withMass) => {
          const [moved, scale, dz, dp] = tidy(() => {
            const rng = new Generator(seed);
            const z = rng.normal([6, 2], 0, 1, f64);
            const p = rng.normal([6, 2], 0, 1, f64);
            const opts = withMass ? { massDiag: tensor([0.5, 2], f64) } : {};
            const a = leapfrog(quartic, z, p, h, L, opts);
            const b = leapfrog(quartic, a.z, a.p.neg(), h, L, opts);
            const maxAbs = (t: Tensor): number => t.abs().max().dataSync()[0]!;
            return [
              maxAbs(a.z.sub(z)),
              Math.max(maxAbs(z), maxAbs(p), maxAbs(a.z), maxAbs(a.p)),
              maxAbs(b.z.sub(z)),
              maxAbs(b.p.neg().sub(p)),
            ];
          });
          // At the largest steps a few starts leave the integrator's stable range (|z| in the
          // hundreds, or overflow); reversibility is only a rounding statement where it is stable.
          fc.pre(Number.isFinite(scale) && scale < 1e3);
          // Only float64 rounding separates them (the map moved the state by O(1)); rounding
          // scales with the state's size: the worst of 3,000 random cases was 6.6e-12 x scale
          // (|z| reaching 52), a wrong half-step order gives O(h^2).
          expect(moved).toBeGreaterThan(1e-4);
          expect(dz).toBeLessThan(1e-10 * Math.max(1, scale));
          expect(dp).toBeLessThan(1e-10 * Math.max(1, scale));
        },
      ),
      // The first: a start that reaches |z| = 52 (error 3.4e-10; it failed an absolute 1e-11).
      { numRuns: 25, examples: [[1247304118, 0.2778593457174187, 10, true]] },
    );
  });

  it('the energy error over a fixed trajectory length shrinks as O(h^2)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.double({ min: 0.04, max: 0.1, noNaN: true }), (seed, h) => {
        tidy(() => {
          const rng = new Generator(seed);
          const z = rng.normal([64, 2], 0, 1, f64);
          const p = rng.normal([64, 2], 0, 1, f64);
          const H0 = hamiltonian(quartic, z, p);
          const err = (step: number, L: number): number => {
            const e = leapfrog(quartic, z, p, step, L);
            return hamiltonian(quartic, e.z, e.p).sub(H0).abs().mean().dataSync()[0]!;
          };
          const L = Math.round(1 / h);
          const e1 = err(1 / L, L);
          const e2 = err(1 / (2 * L), 2 * L);
          const e4 = err(1 / (4 * L), 4 * L);
          // Second order: halving h divides the error by 4 (log2 ratio 2), up to O(h^2) corrections.
          expect(Math.log2(e1 / e2)).toBeGreaterThan(1.85);
          expect(Math.log2(e1 / e2)).toBeLessThan(2.15);
          expect(Math.log2(e2 / e4)).toBeGreaterThan(1.9);
          expect(Math.log2(e2 / e4)).toBeLessThan(2.1);
        });
      }),
      { numRuns: 8 },
    );
  });

  it('acceptance tends to 1 as h -> 0 (trajectory length fixed)', async () => {
    const rejection: number[] = [];
    for (const L of [2, 4, 8, 16, 32]) {
      const rng = new Generator(11);
      const r = hmc(quartic, {
        initial: rng.normal([64, 2], 0, 1, f64),
        numSamples: 10,
        numLeapfrogSteps: L,
        stepSize: 1.2 / L,
        adapt: 'none',
        rng,
      });
      rejection.push(1 - (await r.acceptProb.mean().item()));
    }
    for (let i = 1; i < rejection.length; i++) expect(rejection[i]!).toBeLessThan(rejection[i - 1]!);
    // 1 - E[min(1, exp(-dH))] <= E|dH|, which is O(h^2): 16x smaller h, at least ~100x fewer rejections.
    expect(rejection[4]!).toBeLessThan(rejection[0]! / 100);
    expect(rejection[4]!).toBeLessThan(1e-3);
  });
});

describe('step-size adaptation', () => {
  it('presganStepSizeUpdate computes h + rate (a - target) h', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-4, max: 5, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 1e-3, max: 0.5, noNaN: true }),
        fc.double({ min: 0.05, max: 0.95, noNaN: true }),
        (h, a, rate, target) => {
          const got = tidy(() => presganStepSizeUpdate(tensor(h, f64), a, rate, target).dataSync()[0]!);
          expect(got).toBeCloseTo(h + rate * (a - target) * h, 12);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('reproduces the spec numbers: from h = 0.01, all accepted -> 0.010066, none -> 0.009866', async () => {
    const rng = new Generator(3);
    const z0 = rng.normal([32, 2], 0, 1, f64);
    const allAccept = hmc(stdNormal, {
      initial: z0,
      numBurnin: 1,
      numSamples: 1,
      numLeapfrogSteps: 5,
      stepSize: 0.01,
      rng,
    });
    expect(await allAccept.accepted.slice([0]).mean().item()).toBe(1);
    expect(await allAccept.stepSize.item()).toBeCloseTo(0.010066, 9);
    // A target that is -inf away from the starting points: every proposal is rejected.
    const sums = z0.sum(1);
    const stuck = { logProb: (z: Tensor) => where(eq(z.sum(1), sums), sums.mul(0), -Infinity), gradLogProb: zerosLike };
    const none = hmc(stuck, { initial: z0, numBurnin: 1, numSamples: 1, numLeapfrogSteps: 5, stepSize: 0.01 });
    expect(await none.accepted.sum().item()).toBe(0);
    expect(await none.stepSize.item()).toBeCloseTo(0.009866, 9);
    expect(await arr(none.finalState)).toEqual(await arr(z0));
  });

  it.each([
    ['shared step size, accept fraction', false, 'accepted'],
    ['per-chain step size, accept indicator', true, 'accepted'],
    ['shared step size, acceptance probability', false, 'probability'],
  ] as const)('inside the sampler, h follows the PresGAN rule during burn-in only (%s)', async (_n, perChain, stat) => {
    const rng = new Generator(21);
    const B = 12;
    const r = hmc(quartic, {
      initial: rng.normal([6, 2], 0, 1, f64),
      numBurnin: B,
      numSamples: 5,
      stepSize: 0.5,
      perChainStepSize: perChain,
      adaptRate: 0.05,
      targetAccept: 0.7,
      adaptStatistic: stat,
      rng,
    });
    const hs = (await r.stepSizes.array()) as number[] | number[][];
    const stats = (await (stat === 'accepted' ? r.accepted : r.acceptProb).array()) as number[][];
    const hOf = (t: number, c: number): number => (perChain ? (hs[t] as number[])[c]! : (hs[t] as number));
    const chains = perChain ? 6 : 1;
    for (let c = 0; c < chains; c++) {
      let h = 0.5;
      for (let t = 0; t < B + 5; t++) {
        expect(hOf(t, c)).toBeCloseTo(h, 12);
        if (t < B) {
          const a = perChain ? stats[t]![c]! : stats[t]!.reduce((s, v) => s + v, 0) / 6;
          h = h + 0.05 * (a - 0.7) * h;
        }
      }
      const final = (await r.stepSize.data())[c]!;
      expect(final).toBeCloseTo(h, 12);
    }
  });

  it('dual averaging follows Hoffman and Gelman (2014) Algorithm 5 and ends at the averaged iterate', async () => {
    const rng = new Generator(8);
    const B = 25;
    const r = hmc(quartic, {
      initial: rng.normal([8, 2], 0, 1, f64),
      numBurnin: B,
      numSamples: 3,
      stepSize: 0.05,
      adapt: 'dual-averaging',
      targetAccept: 0.8,
      rng,
    });
    const hs = Array.from(await r.stepSizes.data());
    const probs = (await r.acceptProb.array()) as number[][];
    // Reference, written from the paper: mu = log(10 h0), gamma 0.05, t0 10, kappa 0.75.
    const mu = Math.log(10 * 0.05);
    let hBar = 0;
    let logAvg = 0;
    let h = 0.05;
    for (let m = 1; m <= B; m++) {
      expect(hs[m - 1]!).toBeCloseTo(h, 10);
      const alpha = probs[m - 1]!.reduce((s, v) => s + v, 0) / 8;
      hBar = (1 - 1 / (m + 10)) * hBar + (0.8 - alpha) / (m + 10);
      const logH = mu - (Math.sqrt(m) / 0.05) * hBar;
      const eta = m ** -0.75;
      logAvg = eta * logH + (1 - eta) * logAvg;
      h = Math.exp(logH);
    }
    for (let t = B; t < B + 3; t++) expect(hs[t]!).toBeCloseTo(Math.exp(logAvg), 10);
    expect(await r.stepSize.item()).toBeCloseTo(Math.exp(logAvg), 10);
  });

  it('the dual-averaging helpers compose on their own', async () => {
    const h0 = tensor(0.2, f64);
    const s0 = dualAveragingInit(h0, { gamma: 0.05, t0: 10, kappa: 0.75, muFactor: 10 });
    const { state, h } = dualAveragingUpdate(s0, tensor(1, f64), 0.6);
    // H = (0.6 - 1) / 11; log h = log 2 - 1/0.05 H; x-bar weight 1 at m = 1.
    const logH = Math.log(2) - (1 / 0.05) * (-0.4 / 11);
    expect(await h.item()).toBeCloseTo(Math.exp(logH), 12);
    expect(await dualAveragingFinal(state).item()).toBeCloseTo(Math.exp(logH), 12);
  });

  it('dual averaging tracks the target: burn-in acceptance average, ordering of h and of acceptance', async () => {
    const rng = new Generator(13);
    const B = 150;
    const out: { h: number; acc: number }[] = [];
    for (const target of [0.6, 0.85]) {
      const r = hmc(quartic, {
        initial: rng.normal([32, 10], 0, 1, f64),
        numBurnin: B,
        numSamples: 100,
        stepSize: 0.05,
        adapt: 'dual-averaging',
        targetAccept: target,
        rng,
      });
      // Algorithm 5 makes H_m = sum_{i<=m} (target - alpha_i) / (m + t0) and log h_m = mu - sqrt(m)/gamma H_m,
      // so the average of alpha over the first m iterations is target - (m + t0) gamma (mu - log h_m) / m^1.5,
      // with h_m the step the sampler used at transition m (m = B - 1; mu = log(10 h0)).
      const hs = Array.from(await r.stepSizes.data());
      const probs = Array.from(
        await r.acceptProb
          .slice([[0, B]])
          .mean(1)
          .data(),
      );
      const m = B - 1;
      const avgM = probs.slice(0, m).reduce((a, v) => a + v, 0) / m;
      expect(avgM).toBeCloseTo(target - ((m + 10) * 0.05 * (Math.log(0.5) - Math.log(hs[m]!))) / m ** 1.5, 6);
      const avg = probs.reduce((a, v) => a + v, 0) / B;
      // After 150 iterations that average is within 0.02 of the target, as the paper's analysis says it converges.
      expect(Math.abs(avg - target)).toBeLessThan(0.02);
      expect(hs[B]!).toBe(await r.stepSize.item());
      out.push({
        h: await r.stepSize.item(),
        acc: await r.acceptProb
          .slice([[B, B + 100]])
          .mean()
          .item(),
      });
    }
    // A higher target gives a smaller step and a higher acceptance after burn-in.
    expect(out[1]!.h).toBeLessThan(out[0]!.h);
    expect(out[1]!.acc).toBeGreaterThan(out[0]!.acc);
  });

  it('stepSizeJitter randomises h in h (1 +- jitter) around the base step, which is what adapts', async () => {
    const rng = new Generator(15);
    const r = hmc(stdNormal, {
      initial: rng.normal([4, 2], 0, 1, f64),
      numBurnin: 0,
      numSamples: 200,
      stepSize: 0.5,
      stepSizeJitter: 0.2,
      rng,
    });
    const hs = Array.from(await r.stepSizes.data());
    expect(Math.min(...hs)).toBeGreaterThanOrEqual(0.4);
    expect(Math.max(...hs)).toBeLessThan(0.6);
    // Uniform on [0.4, 0.6): 200 draws span most of it.
    expect(Math.max(...hs) - Math.min(...hs)).toBeGreaterThan(0.18);
    expect(await r.stepSize.item()).toBe(0.5);
    expect(() => hmc(stdNormal, { initial: rng.normal([4, 2]), numSamples: 1, stepSizeJitter: 1 })).toThrow(
      /stepSizeJitter must be in \[0, 1\)/,
    );
  });

  it('the returned step size can be passed back in, shared or per chain', async () => {
    const rng = new Generator(14);
    const z0 = rng.normal([4, 2]);
    const a = hmc(stdNormal, { initial: z0, numBurnin: 4, numSamples: 1, rng });
    const b = hmc(stdNormal, {
      initial: a.finalState,
      numBurnin: 4,
      numSamples: 1,
      stepSize: a.stepSize,
      rng,
    });
    expect((await b.stepSizes.data())[0]).toBe(await a.stepSize.item());
    const c = hmc(stdNormal, { initial: z0, numBurnin: 4, numSamples: 1, perChainStepSize: true, rng });
    const d = hmc(stdNormal, {
      initial: c.finalState,
      numBurnin: 4,
      numSamples: 1,
      stepSize: c.stepSize,
      rng,
    });
    expect(Array.from(await d.stepSizes.slice([0]).data())).toEqual(Array.from(await c.stepSize.data()));
    expect(d.stepSize.shape).toEqual([4, 1]);
    // The caller's tensors are not consumed.
    expect(a.stepSize.isDisposed || c.stepSize.isDisposed || z0.isDisposed).toBe(false);
  });
});

describe('support constraints', () => {
  it('rejects proposals outside the support (log pi = -inf) instead of propagating them', async () => {
    // Half-normal on z > 0: E[z] = sqrt(2 / pi), Var[z] = 1 - 2 / pi.
    const rng = new Generator(17);
    const logProb = (z: Tensor) => where(z.gt(0), z.square().mul(-0.5), -Infinity).sum(1);
    const r = hmc(logProb, {
      initial: rng.uniform([64, 1], 0.5, 1.5, f64),
      numBurnin: 50,
      numSamples: 200,
      stepSize: 0.3,
      rng,
    });
    const s = await arr(r.samples);
    expect(s.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    const { essOfChains } = await import('../../src/hmc/index.js');
    const chains = Array.from({ length: 64 }, (_, c) => s.filter((_v, i) => i % 64 === c));
    const ess = essOfChains(chains);
    const mean = s.reduce((a, v) => a + v, 0) / s.length;
    const se = Math.sqrt((1 - 2 / Math.PI) / ess);
    expect(Math.abs(mean - Math.sqrt(2 / Math.PI))).toBeLessThan(5 * se);
  });
});
