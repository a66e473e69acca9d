// Mode-coverage metrics for generated samples (modes captured, high-quality fraction, reverse KL)
// and Stacked-MNIST mode counts.
import { fail } from '../errors.js';
import type { Matrix } from './matrix.js';

/** The modes a sample set is scored against: centres and per-dimension standard deviations. */
export interface ModeSpec {
  means: readonly (readonly number[])[];
  /** Per-dimension std shared by all modes (length dim), or one number for isotropic modes. */
  std: readonly number[] | number;
}

/**
 * How the high-quality radius is measured. 'norm': the standardised Euclidean distance
 * sqrt(sum_d ((x_d - mu_d) / std_d)^2) is below the threshold (VEEGAN's 2-D rule). 'perCoordinate':
 * every standardised coordinate |x_d - mu_d| / std_d is below the threshold (our reading of VEEGAN's
 * "10 std" for 1200-D: in the norm, a real sample of 700 unit-variance coordinates sits at about
 * sqrt(700) = 26.5 std and would be rejected; per coordinate its largest deviation is about 3.2 std).
 */
export type ModeQualityRule = 'norm' | 'perCoordinate';

export interface ModeMetricsOptions {
  /**
   * High-quality radius in standard deviations (default 3 for data of at most 2 dimensions, 10 above:
   * VEEGAN's 3 std for 2-D and 10 std for 1200-D).
   */
  threshold?: number;
  /** How the radius is measured (default 'norm' for at most 2 dimensions, 'perCoordinate' above). */
  rule?: ModeQualityRule;
  /**
   * A mode is captured when at least this many high-quality samples are assigned to it (default 1,
   * VEEGAN / PacGAN; the LDMGAN paper counts a mode only with more than 20, i.e. 21).
   */
  minHighQuality?: number;
  /**
   * Standard deviation used for dimensions whose std is 0 (the constant coordinates of the 1200-D
   * set). Default 1, as PacGAN's code does (see ../shared/spec/objectives.md 8, 1200-D caveats).
   */
  zeroStdAs?: number;
}

export interface ModeMetrics {
  /** Number of samples scored. */
  total: number;
  /** Samples within `threshold` standardised distance of their nearest mode. */
  highQuality: number;
  /** highQuality / total, in [0, 1]. */
  hqFraction: number;
  /** Modes with at least `minHighQuality` high-quality samples (default 1: the VEEGAN / PacGAN rule). */
  modesCaptured: number;
  /** Modes with more than 20 high-quality samples (the LDMGAN rule, Section 5.1), whatever minHighQuality is. */
  modesCapturedLdmgan: number;
  numModes: number;
  /** High-quality samples assigned to each mode: the mode histogram PacGAN logs and the KL uses. */
  hqPerMode: number[];
  /** All samples by nearest mode. */
  nearestPerMode: number[];
  /**
   * KL(histogram of high-quality samples || uniform over the modes) = log K - H, natural log
   * (PacGAN's "reverse KL"); null when there is no high-quality sample.
   */
  reverseKL: number | null;
  threshold: number;
  rule: ModeQualityRule;
  minHighQuality: number;
}

/**
 * KL(p || uniform over K) = log K - H(p) in nats, p the normalised histogram (K = its length):
 * 0 for a uniform histogram, log K when all the mass is in one bin (PacGAN's / VEEGAN's "reverse KL").
 *
 * @example
 * ```ts
 * reverseKLToUniform([5, 0, 0, 0]); // Math.log(4)
 * ```
 */
export function reverseKLToUniform(histogram: ArrayLike<number>): number {
  const op = 'reverseKLToUniform';
  const k = histogram.length;
  if (k === 0) fail(op, 'needs a histogram of at least one bin');
  let total = 0;
  for (let j = 0; j < k; j++) {
    const c = histogram[j]!;
    if (!(c >= 0) || !Number.isFinite(c)) fail(op, `bin ${j} holds ${c}; counts must be finite and >= 0`);
    total += c;
  }
  if (total === 0) fail(op, 'the histogram is empty (all bins 0)');
  let kl = 0;
  for (let j = 0; j < k; j++) {
    const p = histogram[j]! / total;
    if (p > 0) kl += p * Math.log(p * k);
  }
  return Math.max(kl, 0);
}

/** Flattens samples to [n * dim] (rows of `dim` numbers). */
export function flattenSamples(
  op: string,
  samples: ArrayLike<number> | readonly (readonly number[])[] | Matrix,
  dim: number,
): Float64Array {
  if (!Array.isArray(samples) && 'rows' in samples && 'cols' in samples && 'data' in samples) {
    const m = samples as Matrix;
    if (m.cols !== dim) fail(op, `samples have ${m.cols} columns, expected ${dim}`);
    if (m.data.length !== m.rows * m.cols) fail(op, `samples hold ${m.data.length} values for ${m.rows} x ${m.cols}`);
    return Float64Array.from(m.data);
  }
  if (samples.length > 0 && typeof samples[0] !== 'number') {
    const rows = samples as readonly (readonly number[])[];
    const out = new Float64Array(rows.length * dim);
    rows.forEach((r, i) => {
      if (r.length !== dim) fail(op, `sample ${i} has ${r.length} coordinates, expected ${dim}`);
      out.set(r, i * dim);
    });
    return out;
  }
  const flat = samples as ArrayLike<number>;
  if (flat.length % dim !== 0) fail(op, `${flat.length} values are not a whole number of ${dim}-D samples`);
  return Float64Array.from(flat);
}

/**
 * Modes captured and % high-quality samples (../shared/spec/objectives.md 8.1): each sample goes to
 * the mode with the smallest standardised distance sqrt(sum_d (x_d - mu_d)^2 / std_d^2); it is high
 * quality when it lies within `threshold` std of that mode under `rule` (2-D: the distance is below 3;
 * 1200-D: every coordinate within 10 std, see ModeQualityRule); a mode is captured when it has at
 * least `minHighQuality` high-quality samples (LDMGAN's stricter count is always reported as
 * modesCapturedLdmgan). Non-finite samples count as low quality.
 *
 * @example
 * ```ts
 * const ring = ringMixture({ radius: 2, std: 0.02 });
 * const m = modeMetrics(samples, ring); // m.modesCaptured, m.hqFraction, m.reverseKL, m.hqPerMode
 * ```
 */
export function modeMetrics(
  samples: ArrayLike<number> | readonly (readonly number[])[] | Matrix,
  spec: ModeSpec,
  opts: ModeMetricsOptions = {},
): ModeMetrics {
  const op = 'modeMetrics';
  const k = spec.means.length;
  if (k === 0) fail(op, 'needs at least one mode');
  const dim = spec.means[0]!.length;
  for (const m of spec.means)
    if (m.length !== dim) fail(op, `modes have different dimensions (${dim} and ${m.length})`);
  const threshold = opts.threshold ?? (dim <= 2 ? 3 : 10);
  const rule: ModeQualityRule = opts.rule ?? (dim <= 2 ? 'norm' : 'perCoordinate');
  if (rule !== 'norm' && rule !== 'perCoordinate')
    fail(op, `rule must be 'norm' or 'perCoordinate', got ${String(rule)}`);
  const minHQ = opts.minHighQuality ?? 1;
  const zeroStd = opts.zeroStdAs ?? 1;
  if (!(threshold > 0)) fail(op, `threshold must be positive, got ${threshold}`);
  if (!Number.isInteger(minHQ) || minHQ < 1) fail(op, `minHighQuality must be a positive integer, got ${minHQ}`);
  if (!(zeroStd > 0)) fail(op, `zeroStdAs must be positive, got ${zeroStd}`);
  const stdArr = typeof spec.std === 'number' ? new Array<number>(dim).fill(spec.std) : [...spec.std];
  if (stdArr.length !== dim) fail(op, `std has ${stdArr.length} entries for ${dim}-D modes`);
  const inv = stdArr.map((s) => {
    if (!(s >= 0)) fail(op, `std must be non-negative, got ${s}`);
    return 1 / (s > 0 ? s : zeroStd);
  });
  const x = flattenSamples(op, samples, dim);
  const n = x.length / dim;
  const hqPerMode = new Array<number>(k).fill(0);
  const nearestPerMode = new Array<number>(k).fill(0);
  const t2 = threshold * threshold;
  let hq = 0;
  for (let i = 0; i < n; i++) {
    let best = Number.POSITIVE_INFINITY;
    let bestJ = -1;
    for (let j = 0; j < k; j++) {
      const m = spec.means[j]!;
      let d2 = 0;
      for (let d = 0; d < dim; d++) {
        const z = (x[i * dim + d]! - m[d]!) * inv[d]!;
        d2 += z * z;
        if (d2 >= best) break;
      }
      if (d2 < best) {
        best = d2;
        bestJ = j;
      }
    }
    if (bestJ < 0) continue; // NaN sample
    nearestPerMode[bestJ]!++;
    let isHQ: boolean;
    if (rule === 'norm') isHQ = best < t2;
    else {
      isHQ = true;
      const m = spec.means[bestJ]!;
      for (let d = 0; d < dim && isHQ; d++) isHQ = Math.abs((x[i * dim + d]! - m[d]!) * inv[d]!) < threshold;
    }
    if (isHQ) {
      hq++;
      hqPerMode[bestJ]!++;
    }
  }
  const reverseKL = hq > 0 ? reverseKLToUniform(hqPerMode) : null;
  return {
    total: n,
    highQuality: hq,
    hqFraction: n > 0 ? hq / n : 0,
    modesCaptured: hqPerMode.filter((c) => c >= minHQ).length,
    modesCapturedLdmgan: hqPerMode.filter((c) => c > 20).length,
    numModes: k,
    hqPerMode,
    nearestPerMode,
    reverseKL,
    threshold,
    rule,
    minHighQuality: minHQ,
  };
}

export interface StackedModeCount {
  /** Distinct label combinations seen (out of classes^channels). */
  modes: number;
  /** KL(histogram || uniform over all classes^channels combinations), natural log. */
  kl: number;
  histogram: Map<number, number>;
}

/**
 * Stacked-MNIST mode count and KL (../shared/spec/objectives.md 7): `labels` holds `channels` class
 * indices per sample (row-major [N, channels]); a mode is one combination (1000 for 3 channels of
 * 10 classes).
 */
export function countStackedModes(labels: ArrayLike<number>, channels = 3, classes = 10): StackedModeCount {
  const op = 'countStackedModes';
  if (!Number.isInteger(channels) || channels < 1) fail(op, `channels must be a positive integer, got ${channels}`);
  if (labels.length % channels !== 0 || labels.length === 0) {
    fail(op, `expected a non-empty [N, ${channels}] label array, got ${labels.length} values`);
  }
  const n = labels.length / channels;
  const histogram = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    let key = 0;
    for (let c = 0; c < channels; c++) {
      const l = labels[i * channels + c]!;
      if (!Number.isInteger(l) || l < 0 || l >= classes) fail(op, `label ${l} is outside [0, ${classes})`);
      key = key * classes + l;
    }
    histogram.set(key, (histogram.get(key) ?? 0) + 1);
  }
  const total = classes ** channels;
  let kl = 0;
  for (const c of histogram.values()) kl += (c / n) * Math.log((c / n) * total);
  return { modes: histogram.size, kl, histogram };
}
