// Evaluations that train a small real-vs-generated classifier: the classifier two-sample test
// (Lopez-Paz and Oquab 2017) and Che et al.'s noisy third-party discriminator (missing modes).
import { valueAndGrad } from '../autograd/transforms.js';
import { fail, fmtShape } from '../errors.js';
import { mlp } from '../nn/builders.js';
import { functionalCall, type Module } from '../nn/module.js';
import { Adam } from '../optim/index.js';
import { Generator, rngOption } from '../random/generator.js';
import { keep, noGrad, tidy } from '../tensor/engine.js';
import { tensor } from '../tensor/ops/convert.js';
import { take } from '../tensor/ops/indexing.js';
import { binaryCrossEntropyWithLogits } from '../tensor/ops/losses.js';
import { concat } from '../tensor/ops/movement.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ParamTree } from '../tensor/tree.js';

/**
 * One-sided exact binomial tail P(X >= k) for X ~ Binomial(n, 1/2), summed in log space (no
 * overflow for any n). The C2ST's p-value of `k` correct answers out of `n` under the null.
 */
export function binomialTailHalf(k: number, n: number): number {
  if (!Number.isInteger(n) || n < 0) fail('binomialTailHalf', `n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(k)) fail('binomialTailHalf', `k must be an integer, got ${k}`);
  if (k <= 0) return 1;
  if (k > n) return 0;
  const logFact = new Float64Array(n + 1);
  for (let i = 1; i <= n; i++) logFact[i] = logFact[i - 1]! + Math.log(i);
  const terms: number[] = [];
  for (let j = k; j <= n; j++) terms.push(logFact[n]! - logFact[j]! - logFact[n - j]! - n * Math.LN2);
  const top = Math.max(...terms);
  let s = 0;
  for (const t of terms) s += Math.exp(t - top);
  return Math.min(1, Math.exp(top + Math.log(s)));
}

export interface BinaryTrainingOptions {
  /** Passes over the training examples (default 20). */
  epochs?: number;
  /** Minibatch size (default 64). */
  batchSize?: number;
  /** Adam learning rate (default 1e-3). */
  lr?: number;
  /** Std of Gaussian noise added to the inputs of every training batch (default 0: none). */
  noiseStd?: number;
}

/**
 * Trains `net` (one logit per example; label 1 = real) with Adam on the binary cross-entropy over
 * balanced real and generated examples; minibatches are shuffled with `rng`. No read-back.
 */
export async function trainRealVsFake(
  net: Module,
  real: Tensor,
  fake: Tensor,
  rng: Generator,
  opts: BinaryTrainingOptions = {},
): Promise<void> {
  const op = 'trainRealVsFake';
  const epochs = opts.epochs ?? 20;
  const batchSize = opts.batchSize ?? 64;
  const lr = opts.lr ?? 1e-3;
  const noiseStd = opts.noiseStd ?? 0;
  if (!Number.isInteger(epochs) || epochs < 1) fail(op, `epochs must be a positive integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) fail(op, `batchSize must be a positive integer, got ${batchSize}`);
  if (!(noiseStd >= 0)) fail(op, `noiseStd must be >= 0, got ${noiseStd}`);
  const x = keep(concat([real, fake], 0));
  const n = x.shape[0]!;
  const labels = keep(
    tensor(
      Float32Array.from({ length: n }, (_, i) => (i < real.shape[0]! ? 1 : 0)),
      { shape: [n, 1] },
    ),
  );
  const opt = new Adam(net, { lr });
  net.train();
  try {
    for (let e = 0; e < epochs; e++) {
      const order = rng.permutation(n);
      const idx = Int32Array.from(await order.data());
      order.dispose();
      for (let s = 0; s < n; s += batchSize) {
        const batch = idx.subarray(s, Math.min(n, s + batchSize));
        tidy(() => {
          const ids = tensor(batch, { dtype: 'int32' });
          let xb = take(x, ids, 0);
          if (noiseStd > 0)
            xb = xb.add(rng.normal(xb.shape, 0, noiseStd, { dtype: xb.dtype === 'float64' ? 'float64' : 'float32' }));
          const yb = take(labels, ids, 0);
          const [, grads] = valueAndGrad((p: ParamTree) =>
            binaryCrossEntropyWithLogits(functionalCall(net, p, xb).reshape([batch.length, 1]), yb),
          )(net.parameters());
          opt.step(grads);
        });
      }
    }
  } finally {
    opt.dispose();
    x.dispose();
    labels.dispose();
    net.eval();
  }
}

/** P(real) = sigmoid(logit) of `net` on `x`, in batches, read back once. */
export async function realProbabilities(net: Module, x: Tensor, batchSize = 500): Promise<Float64Array> {
  const n = x.shape[0]!;
  const parts: Tensor[] = [];
  for (let s = 0; s < n; s += batchSize) {
    const e = Math.min(n, s + batchSize);
    parts.push(
      keep(
        tidy(() =>
          noGrad(() =>
            net
              .forward(x.slice([[s, e]]))
              .reshape([e - s])
              .sigmoid(),
          ),
        ),
      ),
    );
  }
  const all = tidy(() => keep(concat(parts, 0)));
  try {
    return Float64Array.from((await all.data()) as ArrayLike<number>);
  } finally {
    all.dispose();
    for (const p of parts) if (!p.isDisposed) p.dispose();
  }
}

export interface TwoSampleOptions extends BinaryTrainingOptions {
  /** Fraction of each sample used for training; the rest is the held-out test set (default 0.5). */
  trainFraction?: number;
  /** Hidden layer sizes of the MLP on flattened inputs (default [64, 64], ReLU). */
  hidden?: readonly number[];
  /** Test level: `reject` when the p-value is below it (default 0.05). */
  level?: number;
  /** Splits, initial weights and minibatches (default a Generator seeded 0). */
  rng?: Generator;
}

export interface TwoSampleResult {
  /** Held-out accuracy of the real-vs-generated classifier. */
  accuracy: number;
  /** Exact one-sided P(accuracy >= observed) under H0 (accuracy ~ Binomial(nTest, 1/2) / nTest). */
  pValue: number;
  reject: boolean;
  level: number;
  nTrain: number;
  nTest: number;
  protocol: {
    hidden: number[];
    epochs: number;
    batchSize: number;
    lr: number;
    trainFraction: number;
    standardised: true;
  };
}

/**
 * The classifier two-sample test (Lopez-Paz and Oquab, ICLR 2017, Section 2): equal numbers of
 * real and generated examples (the smaller count of the two), each shuffled and split into a
 * training and a test part; an MLP on flattened inputs standardised with the training part's
 * mean and std is trained to tell them apart; its held-out accuracy t has, under H0 (same
 * distribution), n_test t ~ Binomial(n_test, 1/2), so the p-value is the exact binomial tail.
 *
 * @example
 * const rng = new Generator(0);
 * const r = await classifierTwoSampleTest(rng.normal([400, 2]), rng.normal([400, 2], 1), { rng: new Generator(1) });
 * r.reject; // true: the means differ by 1
 */
export async function classifierTwoSampleTest(
  real: Tensor,
  fake: Tensor,
  opts: TwoSampleOptions = {},
): Promise<TwoSampleResult> {
  const op = 'classifierTwoSampleTest';
  if (real.rank < 2 || fake.rank < 2 || real.size / real.shape[0]! !== fake.size / fake.shape[0]!)
    fail(
      op,
      `real and fake must be [n, ...] with the same example size, got ${fmtShape(real.shape)} and ${fmtShape(fake.shape)}`,
    );
  const trainFraction = opts.trainFraction ?? 0.5;
  const level = opts.level ?? 0.05;
  const hidden = [...(opts.hidden ?? [64, 64])];
  if (!(trainFraction > 0 && trainFraction < 1)) fail(op, `trainFraction must be in (0, 1), got ${trainFraction}`);
  if (!(level > 0 && level < 1)) fail(op, `level must be in (0, 1), got ${level}`);
  const rng = rngOption(op, opts) ?? new Generator(0);
  const [splitRng, initRng, batchRng] = rng.split(3);
  const n = Math.min(real.shape[0]!, fake.shape[0]!);
  const nTrain = Math.floor(n * trainFraction);
  const nTestEach = n - nTrain;
  if (nTrain < 1 || nTestEach < 1)
    fail(op, `needs at least 2 examples of each kind, got ${real.shape[0]} and ${fake.shape[0]}`);
  const d = real.size / real.shape[0]!;
  const split = async (x: Tensor) => {
    const perm = splitRng!.permutation(x.shape[0]!);
    const idx = Int32Array.from(await perm.data());
    perm.dispose();
    return tidy(() => {
      const flat = x.reshape([x.shape[0]!, d]);
      const tr = keep(take(flat, tensor(idx.subarray(0, nTrain), { dtype: 'int32' }), 0));
      const te = keep(take(flat, tensor(idx.subarray(nTrain, n), { dtype: 'int32' }), 0));
      return [tr, te] as const;
    });
  };
  const [rTrain, rTest] = await split(real);
  const [fTrain, fTest] = await split(fake);
  const net = mlp([d, ...hidden, 1], { rng: initRng! });
  try {
    // Standardise with the training part's statistics (both classes together).
    const [mu, sd] = tidy(() => {
      const all = concat([rTrain, fTrain], 0);
      const m = all.mean(0);
      const s = all.sub(m).square().mean(0).sqrt().add(1e-6);
      return [keep(m), keep(s)];
    });
    const standardise = (x: Tensor) => tidy(() => keep(x.sub(mu).div(sd)));
    const [a, b, c, e] = [standardise(rTrain), standardise(fTrain), standardise(rTest), standardise(fTest)];
    mu.dispose();
    sd.dispose();
    await trainRealVsFake(net, a, b, batchRng!, opts);
    const pr = await realProbabilities(net, c);
    const pf = await realProbabilities(net, e);
    for (const t of [a, b, c, e]) t.dispose();
    let correct = 0;
    for (const p of pr) if (p > 0.5) correct++;
    for (const p of pf) if (p <= 0.5) correct++;
    const nTest = 2 * nTestEach;
    const pValue = binomialTailHalf(correct, nTest);
    return {
      accuracy: correct / nTest,
      pValue,
      reject: pValue < level,
      level,
      nTrain: 2 * nTrain,
      nTest,
      protocol: {
        hidden,
        epochs: opts.epochs ?? 20,
        batchSize: opts.batchSize ?? 64,
        lr: opts.lr ?? 1e-3,
        trainFraction,
        standardised: true,
      },
    };
  } finally {
    net.dispose();
    for (const t of [rTrain, rTest, fTrain, fTest]) t.dispose();
  }
}

export interface NoisyDiscriminatorOptions extends BinaryTrainingOptions {
  /** A test image is on a missing mode when D*(t) = P(real) is above this (default 0.99). */
  threshold?: number;
  /** Initial weights and minibatches (default a Generator seeded 0). */
  rng?: Generator;
}

export interface NoisyDiscriminatorResult {
  /** Test examples scored above the threshold (Che et al.'s "images on missing modes"). */
  missing: number;
  /** missing / test examples: the estimate of the probability mass on missing modes. */
  missingFraction: number;
  meanScore: number;
  threshold: number;
  noiseStd: number;
  testExamples: number;
  /** The test examples with the highest scores (indices, best first, at most 16): for a person to look at. */
  topIndices: number[];
  protocol: { epochs: number; batchSize: number; lr: number };
}

/**
 * Che et al. (ICLR 2017) Sections 3.4 and 4.2.1: a fresh third-party discriminator D*
 * (`makeNet`, one logit; the GAN's own architecture in `evaluateTrainer`) is trained on real
 * versus generated examples with zero-mean Gaussian noise of std `noiseStd` added to its inputs,
 * then scores clean test examples; D*(t) read as P(t is real) (objectives.md 11: Eq. 5's
 * p_g / (p_g + p_d) contradicts the paper's reading) close to 1 puts t on a mode the generator misses.
 *
 * @example
 * const r = await noisyDiscriminatorMissingModes((rng) => mlp([2, 64, 1], { rng }), real, fake, test, { noiseStd: 0.1 });
 * r.missing; // test examples with D*(t) > 0.99
 */
export async function noisyDiscriminatorMissingModes(
  makeNet: (rng: Generator) => Module,
  real: Tensor,
  fake: Tensor,
  test: Tensor,
  opts: NoisyDiscriminatorOptions = {},
): Promise<NoisyDiscriminatorResult> {
  const op = 'noisyDiscriminatorMissingModes';
  const threshold = opts.threshold ?? 0.99;
  if (!(threshold > 0 && threshold < 1)) fail(op, `threshold must be in (0, 1), got ${threshold}`);
  const noiseStd = opts.noiseStd ?? 0;
  const rng = rngOption(op, opts) ?? new Generator(0);
  const [initRng, batchRng] = rng.split(2);
  const net = makeNet(initRng!);
  try {
    await trainRealVsFake(net, real, fake, batchRng!, { ...opts, noiseStd });
    const scores = await realProbabilities(net, test);
    let missing = 0;
    let sum = 0;
    for (const s of scores) {
      if (s > threshold) missing++;
      sum += s;
    }
    const topIndices = Array.from(scores.keys())
      .sort((i, j) => scores[j]! - scores[i]! || i - j)
      .slice(0, 16);
    return {
      missing,
      missingFraction: missing / scores.length,
      meanScore: sum / scores.length,
      threshold,
      noiseStd,
      testExamples: scores.length,
      topIndices,
      protocol: { epochs: opts.epochs ?? 20, batchSize: opts.batchSize ?? 64, lr: opts.lr ?? 1e-3 },
    };
  } finally {
    net.dispose();
  }
}
