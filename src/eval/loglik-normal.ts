// Normal-distribution pieces of the predictive log-likelihood, as tensor ops on any backend: a
// stable log(Phi(b) - Phi(a)), the truncated Gaussian on [-1, 1] and the plain Gaussian log-density.

import { fail } from '../errors.js';
import { add, div, exp, expm1, gt, le, log, log1p, neg, sub, where } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';

const LOG_HALF = Math.log(0.5);
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * log erfc(u) for u >= 0: the Chebyshev fit of Numerical Recipes (Press et al. 2007, section 6.2.2,
 * `erfccheb`'s predecessor `erfcc`), erfc(u) = t exp(-u^2 + P(t)), t = 1 / (1 + u / 2), with a
 * relative error below 1.2e-7 for every u >= 0. Written in log form, so it never underflows: log
 * erfc(40) = -1604.2 is as accurate as log erfc(1).
 */
export function logErfcNonNegative(u: Tensor): Tensor {
  const t = div(1, u.mul(0.5).add(1));
  const coefficients = [
    0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196, 1.00002368,
    -1.26551223,
  ];
  let p: Tensor = t.mul(coefficients[0]!);
  for (let i = 1; i < coefficients.length; i++) {
    p = p.add(coefficients[i]!);
    if (i < coefficients.length - 1) p = p.mul(t);
  }
  return log(t).sub(u.square()).add(p);
}

/**
 * erf(u) for u >= 0 without cancellation near 0: the Maclaurin series (through u^13, relative error
 * below 2e-9) for u < 0.5, 1 - erfc(u) above (where erf >= 0.52, so erfc's relative error stays one).
 */
export function erfNonNegative(u: Tensor): Tensor {
  const small = le(u, 0.5);
  const us = where(small, u, 0);
  const u2 = us.square();
  // 2/sqrt(pi) sum_n (-1)^n u^(2n+1) / (n! (2n+1)), Horner in u^2.
  const terms = [1, -1 / 3, 1 / 10, -1 / 42, 1 / 216, -1 / 1320, 1 / 9360];
  let s: Tensor = u2.mul(terms[terms.length - 1]!);
  for (let i = terms.length - 2; i >= 0; i--) {
    s = s.add(terms[i]!);
    if (i > 0) s = s.mul(u2);
  }
  const series = s.mul(us).mul(TWO_OVER_SQRT_PI);
  const ul = where(small, 1, u);
  const complement = exp(logErfcNonNegative(ul)).neg().add(1);
  return where(small, series, complement);
}

/** log Q(x) = log(1 - Phi(x)) = log(erfc(x / sqrt 2) / 2) for x >= 0. */
function logUpperTail(x: Tensor): Tensor {
  return logErfcNonNegative(x.mul(Math.SQRT1_2)).add(LOG_HALF);
}

/** log(1 - exp(d)) for d <= 0 (Maechler 2012: expm1 near 0, log1p below -log 2). */
export function log1mExp(d: Tensor): Tensor {
  const near = gt(d, -Math.LN2);
  const dNear = where(near, d, -1);
  const dFar = where(near, -1, d);
  return where(near, log(neg(expm1(dNear))), log1p(neg(exp(dFar))));
}

/**
 * log(Phi(b) - Phi(a)) elementwise for a < b (Phi the standard normal CDF), stable everywhere:
 * both bounds in the upper tail (a >= 0): log Q(a) + log(1 - Q(b)/Q(a)); both in the lower tail
 * (b <= 0): the mirror image; straddling 0: log((erf(b/sqrt 2) + erf(-a/sqrt 2)) / 2), a sum of two
 * positive terms. Each branch sees placeholder bounds where it is not selected, so no branch makes
 * an infinity or NaN that the gradient of `where` would turn into NaN. Relative accuracy about
 * 1e-7 (that of `logErfcNonNegative`); differentiable (the gradient is that of the approximation).
 */
export function logNormalCdfDifference(a: Tensor, b: Tensor): Tensor {
  const upper = gt(a, 0);
  const lower = le(b, 0);
  const aU = where(upper, a, 0);
  const bU = where(upper, b, 1);
  const logQa = logUpperTail(aU);
  const upperValue = add(logQa, log1mExp(sub(logUpperTail(bU), logQa)));
  const aL = where(lower, a, -1);
  const bL = where(lower, b, 0);
  const logQnb = logUpperTail(neg(bL));
  const lowerValue = add(logQnb, log1mExp(sub(logUpperTail(neg(aL)), logQnb)));
  const aM = where(upper, -1, where(lower, -1, a));
  const bM = where(upper, 1, where(lower, 1, b));
  const middleValue = log(add(erfNonNegative(bM.mul(Math.SQRT1_2)), erfNonNegative(neg(aM).mul(Math.SQRT1_2)))).add(
    LOG_HALF,
  );
  return where(upper, upperValue, where(lower, lowerValue, middleValue));
}

/** Elementwise log N(x; mu, sigma^2) (broadcasting). */
export function gaussianLogDensityElementwise(x: Tensor, mu: Tensor, sigma: Tensor): Tensor {
  const r = sub(x, mu).div(sigma);
  return r.square().mul(-0.5).sub(log(sigma)).sub(HALF_LOG_2PI);
}

/**
 * Elementwise log density of the Gaussian N(mu, sigma^2) truncated to [lo, hi] at x in [lo, hi]:
 * log N(x; mu, sigma^2) - log(Phi((hi - mu)/sigma) - Phi((lo - mu)/sigma)) (../shared/spec/presgan.md
 * section 5, with lo = -1, hi = 1 for images scaled to [-1, 1]). x outside [lo, hi] is not checked
 * here (the caller checks its data once).
 */
export function truncatedGaussianLogDensity(x: Tensor, mu: Tensor, sigma: Tensor, lo = -1, hi = 1): Tensor {
  if (!(lo < hi)) fail('truncatedGaussianLogDensity', `need lo < hi, got [${lo}, ${hi}]`);
  const a = sub(lo, mu).div(sigma);
  const b = sub(hi, mu).div(sigma);
  return gaussianLogDensityElementwise(x, mu, sigma).sub(logNormalCdfDifference(a, b));
}

/** sum over every axis but the first: `[n, ...] -> [n]`. */
export function sumPerExample(x: Tensor): Tensor {
  if (x.rank <= 1) return x;
  return x.reshape([x.shape[0]!, -1]).sum(1);
}
