// HMC step-size adaptation on the device: the PresGAN rule and dual averaging.
import { fail } from '../errors.js';
import { add, exp, log, mul, sub } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * The PresGAN step-size rule (official code, hmc.py): h <- h + rate * (acceptRate - target) * h.
 * `acceptRate` is the fraction of chains accepted at this transition (a scalar tensor for a
 * shared h, `[chains, 1, ...]` for per-chain h) or a number. Computed on the device.
 *
 * @example
 * presganStepSizeUpdate(h, 1, 0.02, 0.67); // from h = 0.01: 0.010066
 */
export function presganStepSizeUpdate(h: Tensor, acceptRate: Tensor | number, rate = 0.02, target = 0.67): Tensor {
  if (typeof acceptRate === 'number') return add(h, mul(h, rate * (acceptRate - target)));
  return add(h, mul(mul(sub(acceptRate, target), rate), h));
}

/** Dual-averaging settings (Hoffman and Gelman 2014, Algorithm 5; Stan's defaults). */
export interface DualAveragingOptions {
  /** Shrinkage scale gamma (default 0.05). */
  gamma?: number;
  /** Iteration offset t0 that damps the first iterations (default 10). */
  t0?: number;
  /** Decay exponent kappa of the averaging weights (default 0.75). */
  kappa?: number;
  /** The shrinkage point mu = log(muFactor * h0) (default 10). */
  muFactor?: number;
}

/** Dual-averaging state; every tensor has the step size's shape and lives on the device. */
export interface DualAveragingState {
  mu: Tensor;
  /** Running average of (target - acceptance), H-bar. */
  hBar: Tensor;
  /** log of the averaged step size, log x-bar. */
  logHAvg: Tensor;
  /** Iterations so far (a JS number: known without reading the device). */
  m: number;
  gamma: number;
  t0: number;
  kappa: number;
}

export function checkDualAveraging(op: string, o: DualAveragingOptions): Required<DualAveragingOptions> {
  const r = { gamma: o.gamma ?? 0.05, t0: o.t0 ?? 10, kappa: o.kappa ?? 0.75, muFactor: o.muFactor ?? 10 };
  if (!(r.gamma > 0) || !Number.isFinite(r.gamma)) fail(op, `dualAveraging.gamma must be positive, got ${r.gamma}`);
  if (!(r.t0 >= 0) || !Number.isFinite(r.t0)) fail(op, `dualAveraging.t0 must be >= 0, got ${r.t0}`);
  if (!(r.kappa > 0.5 && r.kappa <= 1)) fail(op, `dualAveraging.kappa must be in (0.5, 1], got ${r.kappa}`);
  if (!(r.muFactor > 0) || !Number.isFinite(r.muFactor)) {
    fail(op, `dualAveraging.muFactor must be positive, got ${r.muFactor}`);
  }
  return r;
}

/** Starts dual averaging at step size h0 (a tensor of the step size's shape). */
export function dualAveragingInit(h0: Tensor, o: Required<DualAveragingOptions>): DualAveragingState {
  return {
    mu: log(mul(h0, o.muFactor)),
    hBar: mul(h0, 0),
    logHAvg: mul(h0, 0),
    m: 0,
    gamma: o.gamma,
    t0: o.t0,
    kappa: o.kappa,
  };
}

/**
 * One dual-averaging iteration with acceptance statistic `alpha` (broadcasting to the step
 * size's shape) and target acceptance `target`:
 *   H <- (1 - 1/(m + t0)) H + (target - alpha) / (m + t0);  log h = mu - sqrt(m)/gamma H;
 *   log h-bar <- m^-kappa log h + (1 - m^-kappa) log h-bar.
 * Returns the new state and the step size for the next transition, exp(log h).
 */
export function dualAveragingUpdate(
  s: DualAveragingState,
  alpha: Tensor,
  target: number,
): { state: DualAveragingState; h: Tensor } {
  const m = s.m + 1;
  const w = 1 / (m + s.t0);
  const hBar = add(mul(s.hBar, 1 - w), mul(sub(target, alpha), w));
  const logH = sub(s.mu, mul(hBar, Math.sqrt(m) / s.gamma));
  const eta = m ** -s.kappa;
  const logHAvg = add(mul(logH, eta), mul(s.logHAvg, 1 - eta));
  return { state: { ...s, hBar, logHAvg, m }, h: exp(logH) };
}

/** The adapted step size at the end of burn-in: the averaged iterate exp(log h-bar). */
export function dualAveragingFinal(s: DualAveragingState): Tensor {
  return exp(s.logHAvg);
}
