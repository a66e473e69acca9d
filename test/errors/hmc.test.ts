/**
 * issue 14, HMC: a mass-matrix diagonal with zero, negative or NaN entries is rejected up front;
 * at run time (hmc reads nothing back) chains whose log-density or energy is not finite are
 * reported as divergent transitions (`divergent`, `divergences`), as NumPyro and Stan do, instead
 * of freezing silently. Expected counts are derived by hand from the targets, not from the sampler.
 */
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { hmc, MAX_DELTA_ENERGY } from '../../src/hmc/index.js';
import { Generator, type Tensor, tensor, where, zeros } from '../../src/index.js';
import { expectTesseraError } from './expect-error.js';

const stdNormal = (z: Tensor): Tensor => z.square().sum(1).mul(-0.5);

describe('mass-matrix options', () => {
  const run = (massDiag: number[]) => () =>
    hmc(stdNormal, { initial: zeros([2, 2]), numSamples: 1, massDiag, rng: new Generator(1) });
  it('a zero entry', () => {
    expectTesseraError(run([1, 0]), 'hmc', 'massDiag must hold positive finite numbers', '1: 0');
  });
  it('a negative entry', () => {
    expectTesseraError(run([-2, 1]), 'hmc', 'massDiag', '0: -2');
  });
  it('a NaN entry', () => {
    expectTesseraError(run([1, Number.NaN]), 'hmc', 'massDiag', '1: NaN');
  });
  it('an infinite entry', () => {
    expectTesseraError(run([Number.POSITIVE_INFINITY, 1]), 'hmc', 'massDiag', '0: Infinity');
  });
  it('a string entry', () => {
    expectTesseraError(run(['1', 1] as unknown as number[]), 'hmc', 'massDiag must be a tensor or an array of numbers');
  });
});

describe('non-finite log-density or energy at run time: divergences', () => {
  it('MAX_DELTA_ENERGY is the 1000 of Stan and NumPyro', () => {
    expect(MAX_DELTA_ENERGY).toBe(1000);
  });

  it('a chain whose log-density is NaN at the start: every kept transition divergent, no others', async () => {
    // Chain 1 starts at z = 5 where this target is NaN; chain 0 starts in a finite region.
    const logProb = (z: Tensor): Tensor => {
      const lp = stdNormal(z);
      return where(z.sum(1).gt(4), Number.NaN, lp);
    };
    const r = hmc(logProb, {
      initial: tensor([
        [0, 0],
        [5, 0],
      ]),
      numBurnin: 2,
      numSamples: 6,
      stepSize: 0.1,
      rng: new Generator(3),
    });
    // log alpha = lp* - NaN is NaN for chain 1 at every transition: 6 divergences after burn-in, 8 in all.
    expect(Array.from(await r.divergences.data())).toEqual([0, 6]);
    const perTransition = (await r.divergent.array()) as number[][];
    expect(perTransition.map((row) => row[1])).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(Array.from(await r.acceptRate.data())[1]).toBe(0);
  });

  it('a tensor mass with a zero entry (not read up front) shows up as divergences', async () => {
    // Mass 0 -> inverse mass Infinity -> 0 * Infinity = NaN position -> NaN energy at every transition.
    const r = hmc(stdNormal, {
      initial: zeros([3, 2]),
      numSamples: 4,
      massDiag: tensor([1, 0]),
      rng: new Generator(4),
    });
    expect(Array.from(await r.divergences.data())).toEqual([4, 4, 4]);
  });

  it('an energy error above 1000 counts (a far too large step on a narrow Gaussian)', async () => {
    // log pi = -z^2 / (2 * 1e-4): one leapfrog step of h = 10 from z = 1 lands near |z| ~ 1e6, an
    // energy error of order 1e15 >> 1000, with finite numbers.
    const narrow = (z: Tensor): Tensor =>
      z
        .square()
        .sum(1)
        .mul(-0.5 / 1e-4);
    const r = hmc(narrow, {
      initial: tensor([[1], [1]], { dtype: 'float64' }),
      numSamples: 3,
      numLeapfrogSteps: 1,
      stepSize: 10,
      adapt: 'none',
      rng: new Generator(5),
    });
    expect(Array.from(await r.divergences.data())).toEqual([3, 3]);
  });

  it('a well-posed target with a small step has no divergences', async () => {
    const r = hmc(stdNormal, {
      initial: zeros([4, 3]),
      numBurnin: 5,
      numSamples: 10,
      stepSize: 0.1,
      rng: new Generator(6),
    });
    expect(Array.from(await r.divergences.data())).toEqual([0, 0, 0, 0]);
    expect(r.divergent.shape).toEqual([15, 4]);
  });
});
