// The normal-distribution pieces of the log-likelihood evaluator against high-precision float64
// references computed here (series and continued fraction for erfc): log erfc, erf, the stable
// log(Phi(b) - Phi(a)), and the truncated Gaussian on [-1, 1] (integrates to 1; plain Gaussian far from the bounds).
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import {
  erfNonNegative,
  gaussianLogDensityElementwise,
  logErfcNonNegative,
  logNormalCdfDifference,
  truncatedGaussianLogDensity,
} from '../../src/eval/loglik-normal.js';
import { grad, gradcheck, tensor } from '../../src/index.js';

/** erf(x), x >= 0, by the all-positive series 2/sqrt(pi) e^{-x^2} sum 2^n x^{2n+1} / (1 3 ... (2n+1)). */
function erfSeries(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-18) break;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}

/** log erfc(x), x >= 0: 1 - erf below 2, the Laplace continued fraction (modified Lentz) above. */
function logErfcRef(x: number): number {
  if (x < 2) return Math.log(1 - erfSeries(x));
  // erfc(x) = e^{-x^2}/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
  const tiny = 1e-300;
  let f = x;
  let C = f;
  let D = 0;
  for (let j = 1; j < 500; j++) {
    const a = j / 2;
    D = x + a * D;
    D = Math.abs(D) < tiny ? tiny : D;
    C = x + a / C;
    C = Math.abs(C) < tiny ? tiny : C;
    D = 1 / D;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return -x * x - 0.5 * Math.log(Math.PI) - Math.log(f);
}

/** log Q(x) = log(1 - Phi(x)) for any x (reference). */
function logQ(x: number): number {
  if (x >= 0) return Math.log(0.5) + logErfcRef(x / Math.SQRT2);
  return Math.log1p(-Math.exp(logQ(-x)));
}

/** log(Phi(b) - Phi(a)) (reference, float64). */
function logPhiDiffRef(a: number, b: number): number {
  if (a >= 0) return logQ(a) + Math.log1p(-Math.exp(logQ(b) - logQ(a)));
  if (b <= 0) return logQ(-b) + Math.log1p(-Math.exp(logQ(-a) - logQ(-b)));
  return Math.log1p(-Math.exp(logQ(b)) - Math.exp(logQ(-a)));
}

const f64 = (v: number[]) => tensor(v, { dtype: 'float64' });

describe('stable normal-CDF pieces', () => {
  it('the float64 reference reproduces tabulated erfc values', () => {
    const table: [number, number][] = [
      [0.5, 0.4795001221869535],
      [1, 0.15729920705028513],
      [3, 2.209049699858544e-5],
      [5, 1.5374597944280349e-12],
      [10, 2.088487583762545e-45],
    ];
    for (const [x, v] of table) expect(Math.abs(logErfcRef(x) - Math.log(v))).toBeLessThan(1e-13);
  });

  it('log erfc(u) within 1.2e-7 relative (its Chebyshev fit) from 0 to 40, and erf(u) near 0', async () => {
    const us = [0, 1e-6, 0.01, 0.1, 0.3, 0.49, 0.5, 0.51, 0.9, 1, 1.5, 2, 2.5, 3, 4, 6, 9, 15, 27, 40];
    const got = await logErfcNonNegative(f64(us)).data();
    for (const [i, u] of us.entries()) expect(Math.abs(got[i]! - logErfcRef(u))).toBeLessThan(1.3e-7);
    const erf = await erfNonNegative(f64(us)).data();
    for (const [i, u] of us.entries()) {
      const ref = u < 2 ? erfSeries(u) : 1 - Math.exp(logErfcRef(u));
      // The series below 0.5 keeps relative accuracy for tiny u (no 1 - erfc cancellation); above,
      // 1 - erfc inherits erfc's relative error 1.2e-7 as an absolute error of 1.2e-7 erfc(u).
      const tol = u < 0.5 ? 2e-9 * ref : 1.3e-7 * (1 - ref) + 1e-16;
      expect(Math.abs(erf[i]! - ref)).toBeLessThanOrEqual(tol);
    }
  });

  it('log(Phi(b) - Phi(a)) across both tails, straddling 0, and narrow intervals', async () => {
    const pairs: [number, number][] = [
      [-1, 1],
      [-0.001, 0.001],
      [-1e-5, 2e-5],
      [0.5, 3],
      [3, 5],
      [10, 12],
      [30, 200],
      [-200, -30],
      [-12, -10],
      [-5, -3],
      [-3, 0.2],
      [-200, 80],
      [-0.2, 1e3],
      [0, 1],
      [-1, 0],
      [1, 1.5],
      [-1.5, -1],
    ];
    const got = await logNormalCdfDifference(f64(pairs.map((p) => p[0])), f64(pairs.map((p) => p[1]))).data();
    pairs.forEach(([a, b], i) => {
      const ref = logPhiDiffRef(a, b);
      expect(Number.isFinite(got[i]!)).toBe(true);
      expect(Math.abs(got[i]! - ref)).toBeLessThan(1e-6 * Math.max(1, Math.abs(ref)));
    });
  });

  it('the truncated Gaussian on [-1, 1] integrates to 1 (composite Simpson, 20,001 nodes)', async () => {
    const settings: [number, number][] = [
      [0, 0.05],
      [0.3, 0.3],
      [0.95, 0.1],
      [-1, 0.2],
      [1.5, 0.3],
      [-2, 0.5],
      [0, 5],
      [0.7, 40],
    ];
    const nodes = 20001;
    const h = 2 / (nodes - 1);
    const xs = Array.from({ length: nodes }, (_, i) => -1 + i * h);
    for (const [mu, s] of settings) {
      const logp = await truncatedGaussianLogDensity(f64(xs), f64([mu]), f64([s])).data();
      let integral = 0;
      for (let i = 0; i < nodes; i++) {
        const w = i === 0 || i === nodes - 1 ? 1 : i % 2 === 1 ? 4 : 2;
        integral += w * Math.exp(logp[i]!);
      }
      integral *= h / 3;
      expect(Math.abs(integral - 1)).toBeLessThan(1e-6);
    }
  });

  it('equals the plain Gaussian when sigma is small against the distance to the bounds', async () => {
    const xs = f64([-0.3, 0.1, 0.25, 0.5]);
    const mu = f64([0.2]);
    for (const s of [0.01, 0.05]) {
      const t = await truncatedGaussianLogDensity(xs, mu, f64([s])).data();
      const g = await gaussianLogDensityElementwise(xs, mu, f64([s])).data();
      // The normaliser's log is log(1 - Q(80) - Q(120)) at s = 0.01 and about -Q(16) at 0.05: below 1e-50.
      for (const [i, v] of t.entries()) expect(Math.abs(v - g[i]!)).toBeLessThan(1e-12 * Math.max(1, Math.abs(g[i]!)));
      // And by hand: -((x - mu)/s)^2 / 2 - log s - log(2 pi) / 2.
      for (const [i, x] of [-0.3, 0.1, 0.25, 0.5].entries())
        expect(t[i]!).toBeCloseTo(-0.5 * ((x - 0.2) / s) ** 2 - Math.log(s) - 0.5 * Math.log(2 * Math.PI), 9);
    }
    // A wide sigma is far from the plain Gaussian: the mass outside [-1, 1] is renormalised.
    const wide = await truncatedGaussianLogDensity(f64([0]), f64([0]), f64([2])).data();
    expect(wide[0]! - (-Math.log(2) - 0.5 * Math.log(2 * Math.PI))).toBeCloseTo(-logPhiDiffRef(-0.5, 0.5), 6);
  });

  it('is differentiable in mu and sigma: finite differences agree, no NaN at the bounds or far out', async () => {
    const x = f64([-1, -0.4, 0.3, 1, 0.9, -0.99]);
    const f = (mu: ReturnType<typeof f64>, s: ReturnType<typeof f64>) => truncatedGaussianLogDensity(x, mu, s).sum();
    // Away from a branch switch (a = 0 or b = 0), where the approximants' 1e-7 seams would upset
    // a finite difference of step 1e-6; the switch itself is checked against the closed form below.
    const check = gradcheck(f, [f64([-0.5, 0.2, 0.97, 1.7, -3, 0.05]), f64([0.3, 0.05, 0.2, 2, 0.4, 9])]);
    expect(check.ok).toBe(true);
    // At mu = 1 (b = 0, a tanh output at its bound): d/dmu = (x - mu)/s^2 + (phi(b) - phi(a)) / (s Z).
    const [x0, s0] = [0.3, 0.2];
    const atBound = await grad((mu: ReturnType<typeof f64>) =>
      truncatedGaussianLogDensity(f64([x0]), mu, f64([s0])).sum(),
    )(f64([1])).data();
    const phi = (t: number) => Math.exp(-0.5 * t * t) / Math.sqrt(2 * Math.PI);
    const Z = Math.exp(logPhiDiffRef(-2 / s0, 0));
    // (The fit's derivative is good to about 1e-5 relative, less than its value's 1.2e-7.)
    expect(atBound[0]!).toBeCloseTo((x0 - 1) / s0 ** 2 + (phi(0) - phi(-2 / s0)) / (s0 * Z), 4);
    const g = await grad((mu: ReturnType<typeof f64>) => truncatedGaussianLogDensity(x, mu, f64([0.01])).sum())(
      f64([1, -1, 0, 1, 40, -40]),
    ).data();
    for (const v of g) expect(Number.isFinite(v)).toBe(true);
  });
});
