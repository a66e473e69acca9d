// MCMC diagnostics on the host: autocorrelation, effective sample size, split R-hat, acceptance
// rates and summary.
import { fail, fmtShape } from '../errors.js';
import { sizeOf } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** Draws as a flat row-major array with shape `[draws, chains, ...event]` (what `hmc` returns as `samples`). */
export interface SampleArray {
  data: ArrayLike<number>;
  shape: readonly number[];
}

export interface EssOptions {
  /** Split every chain in two halves first, as ArviZ's ess(method='mean') does (default false, as NumPyro). */
  split?: boolean;
}

// ------------------------------------------------------------------ autocorrelation

/** In-place iterative radix-2 FFT of (re, im); length a power of two. `inverse` omits the 1/n. */
function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k;
        const b = a + len / 2;
        const xr = re[b]! * cr - im[b]! * ci;
        const xi = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
        const t = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = t;
      }
    }
  }
}

/**
 * Autocovariance of a series at lags 0..n-1 about its mean, with the biased 1/n normalisation
 * (the positive-definite estimate used by Stan, NumPyro and ArviZ), computed by FFT.
 */
export function autocovariance(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  if (n === 0) fail('autocovariance', 'the series is empty');
  let mu = 0;
  for (let i = 0; i < n; i++) mu += x[i]!;
  mu /= n;
  let size = 1;
  while (size < 2 * n) size <<= 1;
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  for (let i = 0; i < n; i++) re[i] = x[i]! - mu;
  fft(re, im, false);
  for (let i = 0; i < size; i++) {
    re[i] = re[i]! * re[i]! + im[i]! * im[i]!;
    im[i] = 0;
  }
  fft(re, im, true);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = re[i]! / size / n;
  return out;
}

/** Autocorrelation at lags 0..n-1 (autocovariance over the lag-0 value; NaN for a constant series). */
export function autocorrelation(x: ArrayLike<number>): Float64Array {
  const c = autocovariance(x);
  const c0 = c[0]!;
  return c.map((v) => v / c0);
}

// ------------------------------------------------------------------ ESS and R-hat on plain arrays

function checkChains(op: string, chains: readonly ArrayLike<number>[], minDraws: number): number {
  if (chains.length === 0) fail(op, 'needs at least one chain');
  const n = chains[0]!.length;
  for (const c of chains) {
    if (c.length !== n) fail(op, `chains must have equal lengths, got ${chains.map((x) => x.length).join(', ')}`);
  }
  if (n < minDraws) fail(op, `needs at least ${minDraws} draws per chain, got ${n}`);
  return n;
}

function splitHalves(chains: readonly ArrayLike<number>[]): Float64Array[] {
  const out: Float64Array[] = [];
  for (const c of chains) {
    const half = Math.floor(c.length / 2);
    const a = Float64Array.from({ length: half }, (_, i) => c[i]!);
    const b = Float64Array.from({ length: half }, (_, i) => c[c.length - half + i]!);
    out.push(a, b);
  }
  return out;
}

/**
 * Effective sample size of one scalar quantity from M chains of N draws (Stan's estimator,
 * Vehtari et al. 2021): autocorrelations combined across chains through the between- and
 * within-chain variances, truncated by Geyer's initial positive and monotone sequences.
 * The result is capped at M N log10(M N). NaN for a constant quantity.
 */
export function essOfChains(chains: readonly ArrayLike<number>[], opts: EssOptions = {}): number {
  const op = 'effectiveSampleSize';
  checkChains(op, chains, opts.split ? 8 : 4);
  const cs = opts.split ? splitHalves(chains) : chains;
  const m = cs.length;
  const n = cs[0]!.length;
  const acov = cs.map((c) => autocovariance(c));
  const means = cs.map((c) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += c[i]!;
    return s / n;
  });
  const meanAcov = (t: number): number => acov.reduce((s, a) => s + a[t]!, 0) / m;
  const meanVar = (meanAcov(0) * n) / (n - 1);
  let varPlus = (meanVar * (n - 1)) / n;
  if (m > 1) {
    const gm = means.reduce((s, v) => s + v, 0) / m;
    varPlus += means.reduce((s, v) => s + (v - gm) ** 2, 0) / (m - 1);
  }
  if (!(varPlus > 0)) return Number.NaN; // a constant quantity has no defined ESS
  const rho = new Float64Array(n);
  const rhoAt = (t: number): number => 1 - (meanVar - meanAcov(t)) / varPlus;
  rho[0] = 1;
  let even = 1;
  let odd = rhoAt(1);
  rho[1] = odd;
  let t = 1;
  while (t < n - 3 && even + odd > 0) {
    even = rhoAt(t + 1);
    odd = rhoAt(t + 2);
    if (even + odd >= 0) {
      rho[t + 1] = even;
      rho[t + 2] = odd;
    }
    t += 2;
  }
  const maxT = t - 2;
  if (even > 0) rho[maxT + 1] = even;
  // Geyer's initial monotone sequence.
  for (let k = 1; k <= maxT - 2; k += 2) {
    if (rho[k + 1]! + rho[k + 2]! > rho[k - 1]! + rho[k]!) {
      rho[k + 1] = (rho[k - 1]! + rho[k]!) / 2;
      rho[k + 2] = rho[k + 1]!;
    }
  }
  const total = m * n;
  let tau = -1;
  for (let k = 0; k <= maxT; k++) tau += 2 * rho[k]!;
  tau += rho[maxT + 1]!;
  tau = Math.max(tau, 1 / Math.log10(total));
  return total / tau;
}

/**
 * Split R-hat of one scalar quantity (Gelman et al., BDA3): every chain is cut in two halves and
 * R = sqrt(var+ / W) with W the mean within-half variance and var+ = (n-1)/n W + B/n.
 * Values near 1 mean the chains agree; above 1.01 (Vehtari et al. 2021) they have not mixed.
 */
export function splitRHatOfChains(chains: readonly ArrayLike<number>[]): number {
  checkChains('splitRHat', chains, 4);
  const cs = splitHalves(chains);
  const n = cs[0]!.length;
  const means = cs.map((c) => c.reduce((s, v) => s + v, 0) / n);
  const vars = cs.map((c, i) => c.reduce((s, v) => s + (v - means[i]!) ** 2, 0) / (n - 1));
  const W = vars.reduce((s, v) => s + v, 0) / cs.length;
  const gm = means.reduce((s, v) => s + v, 0) / cs.length;
  const B = (n * means.reduce((s, v) => s + (v - gm) ** 2, 0)) / (cs.length - 1);
  const varPlus = ((n - 1) / n) * W + B / n;
  return Math.sqrt(varPlus / W);
}

// ------------------------------------------------------------------ on hmc samples

/** Draws of every scalar component: `out[j][c]` is chain c's series for component j. */
export function componentChains(samples: SampleArray): Float64Array[][] {
  const { data, shape } = samples;
  if (shape.length < 2) fail('diagnostics', `samples must be [draws, chains, ...event], got ${fmtShape(shape)}`);
  const S = shape[0]!;
  const C = shape[1]!;
  const D = sizeOf(shape.slice(2));
  if (data.length !== S * C * D) fail('diagnostics', `${data.length} values do not fill shape ${fmtShape(shape)}`);
  const out: Float64Array[][] = [];
  for (let j = 0; j < D; j++) {
    const row: Float64Array[] = [];
    for (let c = 0; c < C; c++) {
      const x = new Float64Array(S);
      for (let s = 0; s < S; s++) x[s] = data[(s * C + c) * D + j]!;
      row.push(x);
    }
    out.push(row);
  }
  return out;
}

async function asArray(samples: Tensor | SampleArray): Promise<SampleArray> {
  if (samples instanceof Tensor) return { data: await samples.data(), shape: samples.shape };
  return samples;
}

/**
 * Effective sample size of every component of `samples` (`[draws, chains, ...event]`, as
 * returned by `hmc`), pooled across chains; one value per event element, row-major. Reads the
 * tensor back once.
 */
export async function effectiveSampleSize(samples: Tensor | SampleArray, opts: EssOptions = {}): Promise<Float64Array> {
  return Float64Array.from(componentChains(await asArray(samples)).map((cs) => essOfChains(cs, opts)));
}

/** Split R-hat of every component of `samples` (`[draws, chains, ...event]`), one value per event element. */
export async function splitRHat(samples: Tensor | SampleArray): Promise<Float64Array> {
  return Float64Array.from(componentChains(await asArray(samples)).map((cs) => splitRHatOfChains(cs)));
}

/** Per-chain acceptance rates from `accepted` (`[transitions, chains]`) over transitions [from, to). */
export async function acceptanceRates(accepted: Tensor | SampleArray, from = 0, to?: number): Promise<Float64Array> {
  const a = await asArray(accepted);
  if (a.shape.length !== 2) fail('acceptanceRates', `accepted must be [transitions, chains], got ${fmtShape(a.shape)}`);
  const [T, C] = a.shape as [number, number];
  const end = to ?? T;
  if (!(Number.isInteger(from) && Number.isInteger(end) && from >= 0 && end <= T && from < end)) {
    fail('acceptanceRates', `need 0 <= from < to <= ${T}, got [${from}, ${end})`);
  }
  const out = new Float64Array(C);
  for (let t = from; t < end; t++) for (let c = 0; c < C; c++) out[c]! += a.data[t * C + c]!;
  return out.map((v) => v / (end - from));
}

export interface SummaryRow {
  mean: number;
  sd: number;
  /** Monte Carlo standard error of the mean, sd / sqrt(ess). */
  mcse: number;
  ess: number;
  rhat: number;
}

/**
 * NumPyro-style summary of every component of `samples` (`[draws, chains, ...event]`): posterior
 * mean and standard deviation over all draws, Monte Carlo standard error, ESS and split R-hat.
 */
export async function summary(samples: Tensor | SampleArray, opts: EssOptions = {}): Promise<SummaryRow[]> {
  return componentChains(await asArray(samples)).map((cs) => {
    let n = 0;
    let s = 0;
    for (const c of cs) {
      for (const v of c) s += v;
      n += c.length;
    }
    const mu = s / n;
    let ss = 0;
    for (const c of cs) for (const v of c) ss += (v - mu) ** 2;
    const sd = Math.sqrt(ss / (n - 1));
    const ess = essOfChains(cs, opts);
    return { mean: mu, sd, mcse: sd / Math.sqrt(ess), ess, rhat: splitRHatOfChains(cs) };
  });
}
