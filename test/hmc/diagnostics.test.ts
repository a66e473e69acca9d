import { describe, expect, it } from 'vitest';
import {
  acceptanceRates,
  autocorrelation,
  autocovariance,
  effectiveSampleSize,
  essOfChains,
  splitRHat,
  splitRHatOfChains,
  summary,
} from '../../src/hmc/index.js';
import { Generator, TesseraError, tensor } from '../../src/index.js';

/** M chains of N draws of a stationary AR(1) with coefficient phi and unit marginal variance. */
function ar1(seed: number, M: number, N: number, phi: number, shift: (c: number) => number = () => 0): Float64Array[] {
  const eps = new Generator(seed).normal([M, N], 0, 1, { dtype: 'float64' }).dataSync();
  return Array.from({ length: M }, (_, c) => {
    const x = new Float64Array(N);
    let v = eps[c * N]!;
    for (let t = 0; t < N; t++) {
      if (t > 0) v = phi * v + Math.sqrt(1 - phi * phi) * eps[c * N + t]!;
      x[t] = v + shift(c);
    }
    return x;
  });
}

describe('autocovariance', () => {
  it('matches the direct O(n^2) sum (biased, about the mean)', () => {
    const x = new Generator(1).normal([37], 0, 1, { dtype: 'float64' }).dataSync();
    const n = x.length;
    const mu = Array.from(x).reduce((a, v) => a + v, 0) / n;
    const got = autocovariance(x);
    for (let k = 0; k < n; k++) {
      let s = 0;
      for (let t = 0; t + k < n; t++) s += (x[t]! - mu) * (x[t + k]! - mu);
      expect(got[k]!).toBeCloseTo(s / n, 12);
    }
    expect(autocorrelation(x)[0]).toBeCloseTo(1, 14);
  });

  it('rejects an empty series', () => {
    expect(() => autocovariance([])).toThrow(TesseraError);
  });
});

describe('effective sample size', () => {
  // For AR(1), tau = (1 + phi) / (1 - phi). The relative standard deviation of a windowed tau
  // estimate is about sqrt(2 (2K + 1) / N_total) (Sokal 1997) with K the window (under 30 lags
  // here), i.e. about 3% for 64,000 draws: the tolerance below is 5 of those.
  it.each([
    ['independent draws', 0],
    ['positively correlated draws (phi 0.6)', 0.6],
    ['antithetic draws (phi -0.3)', -0.3],
  ])('recovers N (1 - phi) / (1 + phi) for %s', (_name, phi) => {
    const M = 16;
    const N = 4000;
    const ess = essOfChains(ar1(7, M, N, phi));
    const truth = (M * N * (1 - phi)) / (1 + phi);
    expect(Math.abs(ess / truth - 1)).toBeLessThan(0.15);
  });

  it('split and unsplit agree on stationary chains; split ESS drops on a drifting chain', () => {
    const chains = ar1(8, 8, 2000, 0.5);
    const a = essOfChains(chains);
    const b = essOfChains(chains, { split: true });
    expect(Math.abs(a / b - 1)).toBeLessThan(0.15);
    const drift = chains.map((c) => c.map((v, t) => v + (3 * t) / c.length));
    expect(essOfChains(drift, { split: true })).toBeLessThan(0.2 * b);
  });

  it('is NaN for a constant quantity and rejects ragged or short chains', () => {
    expect(essOfChains([new Float64Array(10).fill(2), new Float64Array(10).fill(2)])).toBeNaN();
    expect(() => essOfChains([new Float64Array(10), new Float64Array(9)])).toThrow(/equal lengths/);
    expect(() => essOfChains([new Float64Array(3)])).toThrow(/at least 4 draws/);
  });
});

describe('split R-hat', () => {
  it('is about 1 for chains from one distribution', () => {
    const r = splitRHatOfChains(ar1(9, 8, 2000, 0.3));
    expect(r).toBeGreaterThan(0.995);
    expect(r).toBeLessThan(1.01);
  });

  it('equals sqrt(1 + var(chain means)) for chains whose means differ by 1', () => {
    // Half the chains shifted by +1: with W ~ 1 and 2M halves, var+ / W ~ 1 + 0.25 * 2M / (2M - 1).
    const M = 8;
    const r = splitRHatOfChains(ar1(10, M, 4000, 0, (c) => (c < M / 2 ? 1 : 0)));
    expect(r).toBeCloseTo(Math.sqrt(1 + (0.25 * 2 * M) / (2 * M - 1)), 2);
  });

  it('flags a single chain that drifts', () => {
    const [c] = ar1(11, 1, 2000, 0);
    expect(splitRHatOfChains([c!.map((v, t) => v + (2 * t) / 2000)])).toBeGreaterThan(1.1);
  });
});

describe('diagnostics on hmc-shaped samples', () => {
  it('reads [draws, chains, ...event] tensors component by component', async () => {
    const S = 50;
    const C = 4;
    const chains0 = ar1(12, C, S, 0.2);
    const chains1 = ar1(13, C, S, 0.7);
    // Layout [S, C, 2]: component 0 from chains0, component 1 from chains1.
    const data = new Float64Array(S * C * 2);
    for (let s = 0; s < S; s++)
      for (let c = 0; c < C; c++) {
        data[(s * C + c) * 2] = chains0[c]![s]!;
        data[(s * C + c) * 2 + 1] = chains1[c]![s]!;
      }
    const t = tensor(data, { shape: [S, C, 2] });
    const ess = await effectiveSampleSize(t);
    expect(ess[0]).toBeCloseTo(essOfChains(chains0), 10);
    expect(ess[1]).toBeCloseTo(essOfChains(chains1), 10);
    const rhat = await splitRHat({ data, shape: [S, C, 2] });
    expect(rhat[1]).toBeCloseTo(splitRHatOfChains(chains1), 12);
    const rows = await summary(t);
    const all0 = chains0.flatMap((c) => Array.from(c));
    const mean0 = all0.reduce((a, v) => a + v, 0) / all0.length;
    expect(rows[0]!.mean).toBeCloseTo(mean0, 12);
    expect(rows[0]!.mcse).toBeCloseTo(rows[0]!.sd / Math.sqrt(rows[0]!.ess), 12);
    await expect(summary({ data, shape: [S, C] })).rejects.toThrow(/do not fill shape/);
  });

  it('acceptanceRates averages the accept indicators per chain', async () => {
    const acc = tensor([
      [1, 0, 1],
      [1, 1, 0],
      [0, 1, 0],
      [1, 1, 1],
    ]);
    expect(Array.from(await acceptanceRates(acc))).toEqual([0.75, 0.75, 0.5]);
    expect(Array.from(await acceptanceRates(acc, 2))).toEqual([0.5, 1, 0.5]);
    await expect(acceptanceRates(acc, 3, 3)).rejects.toThrow(/need 0 <= from < to <= 4/);
  });
});
