// PresGAN's entropy-gradient estimator: the surrogate by hand, its mean against the closed forms
// of presgan.md 9.1-9.3 with exact posterior samples, and the HMC bias of 9.4.
import { describe, expect, it } from 'vitest';
import { BIAS_ROWS, closedForm, estimatorMean, relativeBias } from '../../bench/presgan-bias.js';
import { presganEntropySurrogate, presganPosteriorSamples } from '../../src/gan/entropy.js';
import { Generator, matmul, type Tensor, tensor, valueAndGrad } from '../../src/index.js';

const f64 = { dtype: 'float64' } as const;

describe('presganEntropySurrogate', () => {
  // Tiny linear generator mu(z) = W z + b, z in R^2, x in R^3; B = 2 examples, S = 2 posterior samples.
  const Wj = [
    [0.7, -0.2],
    [0.1, 0.4],
    [-0.5, 0.3],
  ];
  const bj = [0.05, -0.1, 0.2];
  const sj = [0.4, 0.25, 0.6];
  const zj = [
    [0.3, -1.1],
    [1.4, 0.2],
  ];
  const ej = [
    [0.5, -0.7, 1.2],
    [-0.9, 0.1, 0.3],
  ];
  const samplesJ = [
    [
      [0.2, -0.9],
      [1.1, 0.5],
    ],
    [
      [0.6, -1.3],
      [1.7, -0.1],
    ],
  ];
  const mu = (z: number[]) => Wj.map((row, i) => row[0]! * z[0]! + row[1]! * z[1]! + bj[i]!);

  /** Everything by hand: x, c = (x - mbar) / sigma^2, E, and the gradients of E. */
  function byHand() {
    const xs = zj.map((z, b) => mu(z).map((m, i) => m + sj[i]! * ej[b]![i]!));
    const cs = xs.map((x, b) => {
      const mbar = [0, 1, 2].map((i) => (mu(samplesJ[0]![b]!)[i]! + mu(samplesJ[1]![b]!)[i]!) / 2);
      return x.map((v, i) => (v - mbar[i]!) / sj[i]! ** 2);
    });
    const E =
      (cs[0]!.reduce((s, c, i) => s + c * xs[0]![i]!, 0) + cs[1]!.reduce((s, c, i) => s + c * xs[1]![i]!, 0)) / 2;
    const gW = [0, 1, 2].map((i) => [0, 1].map((k) => (cs[0]![i]! * zj[0]![k]! + cs[1]![i]! * zj[1]![k]!) / 2));
    const gb = [0, 1, 2].map((i) => (cs[0]![i]! + cs[1]![i]!) / 2);
    const gs = [0, 1, 2].map((i) => (cs[0]![i]! * ej[0]![i]! + cs[1]![i]! * ej[1]![i]!) / 2);
    return { E, gW, gb, gs };
  }

  it('value and gradients (W, b, sigma) match the hand computation; a precomputed x gives the same', async () => {
    const want = byHand();
    const z = tensor(zj, f64);
    const eta = tensor(ej, f64);
    const samples = tensor(samplesJ, f64);
    for (const givenX of [false, true]) {
      const [E, g] = valueAndGrad((p: { W: Tensor; b: Tensor; s: Tensor }) => {
        const mean = (v: Tensor) => matmul(v, p.W, { transB: true }).add(p.b);
        const x = givenX ? mean(z).add(eta.mul(p.s)) : undefined;
        return presganEntropySurrogate({ mean, z, eta, sigma: p.s, posteriorSamples: samples, ...(x ? { x } : {}) });
      })({ W: tensor(Wj, f64), b: tensor(bj, f64), s: tensor(sj, f64) });
      expect(await E.item()).toBeCloseTo(want.E, 12);
      const [gW, gb, gs] = await Promise.all([g.W.data(), g.b.data(), g.s.data()]);
      for (const [i, v] of want.gW.flat().entries()) expect(gW[i]!).toBeCloseTo(v, 12);
      for (const [i, v] of want.gb.entries()) expect(gb[i]!).toBeCloseTo(v, 12);
      for (const [i, v] of want.gs.entries()) expect(gs[i]!).toBeCloseTo(v, 12);
    }
  });

  it('no gradient flows through c: the posterior samples and x - mbar are constants', async () => {
    const z = tensor(zj, f64);
    const eta = tensor(ej, f64);
    const [, g] = valueAndGrad((p: { samples: Tensor; W: Tensor }) =>
      presganEntropySurrogate({
        mean: (v) => matmul(v, p.W, { transB: true }),
        z,
        eta,
        sigma: 0.5,
        posteriorSamples: p.samples,
      }),
    )({ samples: tensor(samplesJ, f64), W: tensor(Wj, f64) });
    expect(Array.from(await g.samples.data()).every((v) => v === 0)).toBe(true);
  });

  it('rejects mis-shaped inputs', () => {
    const z = tensor(zj, f64);
    const eta = tensor(ej, f64);
    const mean = (v: Tensor) => matmul(v, tensor(Wj, f64), { transB: true });
    expect(() => presganEntropySurrogate({ mean, z, eta, sigma: 1, posteriorSamples: z })).toThrow(/posteriorSamples/);
    expect(() =>
      presganEntropySurrogate({ mean, z, eta: eta.slice([[0, 1]]), sigma: 1, posteriorSamples: tensor(samplesJ, f64) }),
    ).toThrow(/batch size/);
  });
});

describe('the estimator on the linear-Gaussian model (presgan.md 9)', () => {
  it('the closed forms reproduce the 9.3 numbers', () => {
    const cf = closedForm();
    expect(cf.H).toBeCloseTo(4.0219738, 6);
    const gW = [
      [0.694978, 0.273033],
      [-0.424664, 0.904511],
      [0.055982, -0.081574],
    ];
    for (const [i, v] of gW.flat().entries()) expect(cf.gradW.flat()[i]!).toBeCloseTo(v, 5);
    for (const [i, v] of [0.337012, 0.496641, 1.365963].entries()) expect(cf.gradSigma[i]!).toBeCloseTo(v, 5);
  });

  it('with exact independent posterior samples its mean matches grad_W H and dH/dsigma within 4 standard errors (9.2)', async () => {
    const cf = closedForm();
    const e = await estimatorMean(
      { label: 'exact', kind: 'exact', samples: 2 },
      { batches: 40, batchSize: 8192, seed: 11 },
    );
    const truth = [...cf.gradW.flat(), ...cf.gradSigma];
    const est = [...e.gradW, ...e.gradSigma];
    const se = [...e.seW, ...e.seSigma];
    for (let i = 0; i < 9; i++) {
      expect(se[i]!).toBeLessThan(0.01); // a tight check: 327,680 draws
      expect(Math.abs(est[i]! - truth[i]!)).toBeLessThan(4 * se[i]!);
    }
    // One sample per example is unbiased too (any S >= 1).
    const one = await estimatorMean(
      { label: 'exact', kind: 'exact', samples: 1 },
      { batches: 20, batchSize: 8192, seed: 12 },
    );
    const oneSe = [...one.seW, ...one.seSigma];
    for (const [i, v] of [...one.gradW, ...one.gradSigma].entries())
      expect(Math.abs(v - truth[i]!)).toBeLessThan(4 * oneSe[i]!);
  });

  it('HMC started at the generating z is biased: prior-only >> full gradient 2 + 2 > longer chains (9.4)', async () => {
    const cf = closedForm();
    const opts = { batches: 20, batchSize: 4096, seed: 2019 };
    const row = (label: string) => BIAS_ROWS.find((r) => r.label.startsWith(label))!;
    const exact = await estimatorMean(row('exact'), opts);
    const full = await estimatorMean(row('HMC full gradient, 2 burn-in + 2, h0 = 0.3'), opts);
    const longer = await estimatorMean(row('HMC full gradient, 20 burn-in + 2, h0 = 0.3'), opts);
    const prior = await estimatorMean(row('HMC prior-only, 2 burn-in + 2, h0 = 0.01'), opts);
    const stuck = await estimatorMean(row('stuck'), opts);
    const [bExact, bFull, bLong, bPrior, bStuck] = [exact, full, longer, prior, stuck].map(relativeBias);
    console.log(
      `relative bias of the estimator mean: exact ${bExact!.toFixed(3)}, full 2+2 ${bFull!.toFixed(3)}, ` +
        `full 20+2 ${bLong!.toFixed(3)}, prior-only 2+2 ${bPrior!.toFixed(3)}, stuck ${bStuck!.toFixed(3)}`,
    );
    // The noise floor: the relative error an unbiased estimator shows with these standard errors.
    const floor = Math.hypot(...exact.seW, ...exact.seSigma) / Math.hypot(...cf.gradW.flat(), ...cf.gradSigma);
    expect(bExact!).toBeLessThan(4 * floor);
    expect(bLong!).toBeLessThan(4 * floor);
    expect(bFull!).toBeGreaterThan(bLong! + 3 * floor);
    expect(bPrior!).toBeGreaterThan(10 * bFull!);
    // The official sampler is nearly a stuck chain: dH/dsigma_i -> 1/sigma_i, grad_W H -> 0 (9.4).
    expect(bStuck!).toBeGreaterThan(bPrior!);
    for (const [i, v] of [2, 1 / 0.3, 1 / 0.7].entries())
      expect(Math.abs(stuck.gradSigma[i]! - v)).toBeLessThan(4 * stuck.seSigma[i]!);
    expect(prior.gradSigma[1]!).toBeGreaterThan(0.9 * (1 / 0.3));
  }, 60_000);

  it('presganPosteriorSamples carries the step size in and out and keeps x, sigma, params constant', async () => {
    const rng = new Generator(5);
    const W = tensor(
      [
        [1, 0.5],
        [-0.3, 0.8],
        [0.2, -0.4],
      ],
      f64,
    );
    const z = rng.normal([32, 2], 0, 1, f64);
    const x = matmul(z, W, { transB: true }).add(rng.normal([32, 3], 0, 0.5, f64));
    const r = presganPosteriorSamples({
      G: (v: Tensor, p: { W: Tensor }) => matmul(v, p.W, { transB: true }),
      params: { W },
      x,
      sigma: 0.5,
      z,
      stepSize: 0.01,
      rng,
    });
    expect(r.samples.shape).toEqual([2, 32, 2]);
    expect(r.numTransitions).toBe(4);
    // Two burn-in adaptations of h <- h + 0.02 (a - 0.67) h from 0.01.
    const h = await r.stepSize.item();
    expect(h).toBeGreaterThan(0.01 * (1 - 0.02 * 0.67) ** 2 - 1e-12);
    expect(h).toBeLessThan(0.01 * (1 + 0.02 * 0.33) ** 2 + 1e-12);
    const r2 = presganPosteriorSamples({ G: (v: Tensor) => v, x: z, sigma: 1, z, stepSize: r.stepSize, numBurnin: 0 });
    expect(await r2.stepSize.item()).toBe(h);
    const perChain = presganPosteriorSamples({
      G: (v: Tensor) => v,
      x: z,
      sigma: 1,
      z,
      stepSize: 0.1,
      perChainStepSize: true,
    });
    expect(perChain.stepSize.shape).toEqual([32, 1]);
  });
});
