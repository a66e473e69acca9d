// Classifier-output scores: the Inception score with a classifier of our own ("classifier score"),
// Che et al.'s MODE score, PresGAN's label-distribution KL and the classes / triples captured.
import { fail } from '../errors.js';
import { checkMatrix, type Matrix } from './matrix.js';
import { reverseKLToUniform } from './modes.js';

/** Row sums of a probability matrix may differ from 1 by this much (float32 softmax round-off). */
export const PROBABILITY_TOLERANCE = 1e-3;

/** Checks that every row of `p` is a probability vector (finite, >= 0, sums to 1 within PROBABILITY_TOLERANCE). */
function checkProbs(op: string, what: string, p: Matrix, cols?: number): void {
  checkMatrix(op, what, p, cols === undefined ? {} : { cols });
  const k = p.cols;
  for (let i = 0; i < p.rows; i++) {
    let s = 0;
    for (let j = 0; j < k; j++) {
      const v = p.data[i * k + j]!;
      if (v < 0) fail(op, `${what} has a negative probability ${v} at row ${i}, column ${j}`);
      s += v;
    }
    if (Math.abs(s - 1) > PROBABILITY_TOLERANCE)
      fail(op, `${what} row ${i} sums to ${s}, not 1: pass softmax outputs, not logits`);
  }
}

/** Average of the rows start..end-1 of p, in float64. */
function meanRows(p: Matrix, start = 0, end = p.rows): Float64Array {
  const k = p.cols;
  const m = new Float64Array(k);
  for (let i = start; i < end; i++) for (let j = 0; j < k; j++) m[j] += p.data[i * k + j]!;
  for (let j = 0; j < k; j++) m[j]! /= end - start;
  return m;
}

/**
 * KL(p || q) = sum_y p(y) log(p(y) / q(y)), natural log, 0 log 0 = 0; Infinity when q(y) = 0 < p(y).
 *
 * @example
 * ```ts
 * klDivergence([1, 0], [0.5, 0.5]); // Math.log(2)
 * ```
 */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) fail('klDivergence', `distributions of ${p.length} and ${q.length} classes`);
  let kl = 0;
  for (let j = 0; j < p.length; j++) {
    const pj = p[j]!;
    if (pj > 0) kl += pj * Math.log(pj / q[j]!);
  }
  return kl;
}

/** Mean over rows start..end-1 of KL(p(y|x_i) || marginal). */
function meanRowKL(p: Matrix, marginal: Float64Array, start = 0, end = p.rows): number {
  const k = p.cols;
  let total = 0;
  for (let i = start; i < end; i++) {
    for (let j = 0; j < k; j++) {
      const v = p.data[i * k + j]!;
      if (v > 0) total += v * Math.log(v / marginal[j]!);
    }
  }
  return total / (end - start);
}

export interface ClassifierScore {
  /** Mean over splits of exp(E_x KL(p(y|x) || p(y))). */
  mean: number;
  /** Population standard deviation over splits (as Salimans et al.'s reference code, np.std). */
  std: number;
  splits: number;
}

/**
 * The Inception score of Salimans et al. (2016), computed with OUR classifier's softmax outputs in
 * place of Inception-v3's, so report it as the "classifier score" (e.g. "MNIST-classifier score"),
 * never as IS: exp(E_x KL(p(y|x) || p(y))), p(y) the mean of p(y|x) over the samples (Che et al.
 * 2017, Eq. 3). The rows are cut into `splits` contiguous groups (default 10, as the reference code
 * and torch-fidelity): each gets its own p(y) and score; mean and std over groups are returned.
 * 1 for a constant classifier, K for confident predictions spread evenly over K classes.
 *
 * @example
 * ```ts
 * const { mean } = inceptionScore(matrix(softmaxOutputs, n, 10), { splits: 1 });
 * ```
 */
export function inceptionScore(probs: Matrix, opts: { splits?: number } = {}): ClassifierScore {
  const op = 'inceptionScore';
  const splits = opts.splits ?? 10;
  if (!Number.isInteger(splits) || splits < 1) fail(op, `splits must be a positive integer, got ${splits}`);
  checkProbs(op, 'probs', probs);
  if (probs.rows < splits) fail(op, `${probs.rows} samples cannot be cut into ${splits} splits`);
  const scores: number[] = [];
  for (let s = 0; s < splits; s++) {
    const start = Math.floor((s * probs.rows) / splits);
    const end = Math.floor(((s + 1) * probs.rows) / splits);
    scores.push(Math.exp(meanRowKL(probs, meanRows(probs, start, end), start, end)));
  }
  const mean = scores.reduce((a, b) => a + b, 0) / splits;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) * (b - mean), 0) / splits);
  return { mean, std, splits };
}

/**
 * MODE score, Che et al. (ICLR 2017) Eq. 4 as printed:
 *
 *   exp( E_x KL(p(y|x) || p(y)) - KL(p*(y) || p(y)) )
 *
 * with p(y|x) the classifier's output on generated samples (`probs`), p*(y) their mean (the label
 * distribution of generated samples, as p* denotes in their Eq. 3) and p(y) the label distribution
 * of the training data, taken as the mean classifier output over `referenceProbs` (training images;
 * pass one-hot labels to use the true label frequencies). Later code (xuqiantong/GAN-Metrics)
 * computes a different quantity, with the generated marginal inside the first KL; we follow the paper.
 * Fails when p(y) is 0 for a class the generated samples use (the score would be infinite).
 *
 * @example
 * ```ts
 * const score = modeScore(generatedProbs, trainingProbs); // up to K for a perfect generator
 * ```
 */
export function modeScore(probs: Matrix, referenceProbs: Matrix): number {
  const op = 'modeScore';
  checkProbs(op, 'probs', probs);
  checkProbs(op, 'referenceProbs', referenceProbs, probs.cols);
  const pTrain = meanRows(referenceProbs);
  const pGen = meanRows(probs);
  for (let j = 0; j < probs.cols; j++) {
    if (pTrain[j] === 0 && pGen[j]! > 0)
      fail(op, `class ${j} has probability 0 in referenceProbs but ${pGen[j]} in probs: the score is infinite`);
  }
  return Math.exp(meanRowKL(probs, pTrain) - klDivergence(pGen, pTrain));
}

export interface LabelDistributionKLOptions {
  /**
   * 'generatedToTest' (default): KL(mean generated output || mean test output), the order in which
   * PresGAN's Section 5 names the two distributions; 'testToGenerated' the reverse.
   */
  direction?: 'generatedToTest' | 'testToGenerated';
}

/**
 * PresGAN's label-distribution KL (Dieng et al. 2019, Section 5.1): the KL divergence between the
 * empirical average of the classifier's soft outputs on generated images and the average on test
 * images. The paper names the two distributions in that order but prints no formula; we read it as
 * KL(p_gen || p_test) (option `direction` flips it). For Stacked MNIST pass 1000-way outputs
 * (see stackedTripleProbs). Infinity when the second distribution has a zero where the first does not.
 *
 * @example
 * ```ts
 * const kl = labelDistributionKL(generatedProbs, testProbs); // 0 when the averages agree
 * ```
 */
export function labelDistributionKL(
  probsGenerated: Matrix,
  probsTest: Matrix,
  opts: LabelDistributionKLOptions = {},
): number {
  const op = 'labelDistributionKL';
  checkProbs(op, 'probsGenerated', probsGenerated);
  checkProbs(op, 'probsTest', probsTest, probsGenerated.cols);
  const g = meanRows(probsGenerated);
  const t = meanRows(probsTest);
  const direction = opts.direction ?? 'generatedToTest';
  if (direction !== 'generatedToTest' && direction !== 'testToGenerated')
    fail(op, `direction must be 'generatedToTest' or 'testToGenerated', got ${String(direction)}`);
  return direction === 'generatedToTest' ? klDivergence(g, t) : klDivergence(t, g);
}

/**
 * Soft outputs over the classes^channels label combinations from per-channel outputs: row i of
 * `channelProbs` ([N * channels, classes], the channels of sample i consecutive) gives
 * p(d_1, ..., d_c | x_i) = prod_c p_c(d_c | x_i), with d_1 the most significant digit (the triple
 * (d_R, d_G, d_B) is class 100 d_R + 10 d_G + d_B for Stacked MNIST).
 *
 * @example
 * ```ts
 * const triples = stackedTripleProbs(matrix(perChannelSoftmax, 3 * n, 10)); // n x 1000
 * const kl = labelDistributionKL(triples, testTriples);
 * ```
 */
export function stackedTripleProbs(channelProbs: Matrix, channels = 3): Matrix {
  const op = 'stackedTripleProbs';
  if (!Number.isInteger(channels) || channels < 1) fail(op, `channels must be a positive integer, got ${channels}`);
  checkProbs(op, 'channelProbs', channelProbs);
  if (channelProbs.rows % channels !== 0)
    fail(op, `${channelProbs.rows} rows are not a whole number of samples of ${channels} channels`);
  const k = channelProbs.cols;
  const n = channelProbs.rows / channels;
  const total = k ** channels;
  if (total > 2 ** 24) fail(op, `${k}^${channels} combinations is too many`);
  const out = new Float64Array(n * total);
  for (let i = 0; i < n; i++) {
    let cur = new Float64Array([1]);
    for (let c = 0; c < channels; c++) {
      const row = (i * channels + c) * k;
      const next = new Float64Array(cur.length * k);
      for (let a = 0; a < cur.length; a++)
        for (let b = 0; b < k; b++) next[a * k + b] = cur[a]! * channelProbs.data[row + b]!;
      cur = next;
    }
    out.set(cur, i * total);
  }
  return { data: out, rows: n, cols: total };
}

export interface DistinctModes {
  /** Classes that are the argmax of at least one sample (PresGAN / VEEGAN "modes captured"). */
  modes: number;
  numClasses: number;
  /** Samples per argmax class. */
  histogram: number[];
  /** KL(argmax histogram || uniform over the classes) (VEEGAN / PacGAN's reverse KL), natural log. */
  reverseKL: number;
}

/**
 * Modes captured from classifier outputs: a class is captured when it is the argmax for at least
 * one sample (PresGAN Section 5.1, following VEEGAN), with the argmax histogram and its reverse KL
 * to uniform. For Stacked MNIST, use countStackedModes on per-channel argmax labels.
 *
 * @example
 * ```ts
 * countDistinctModes(matrix(probs, n, 10)).modes; // 10 when every digit appears
 * ```
 */
export function countDistinctModes(probs: Matrix): DistinctModes {
  const op = 'countDistinctModes';
  checkMatrix(op, 'probs', probs);
  const k = probs.cols;
  const histogram = new Array<number>(k).fill(0);
  for (let i = 0; i < probs.rows; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (probs.data[i * k + j]! > probs.data[i * k + best]!) best = j;
    histogram[best]!++;
  }
  return {
    modes: histogram.filter((c) => c > 0).length,
    numClasses: k,
    histogram,
    reverseKL: reverseKLToUniform(histogram),
  };
}
