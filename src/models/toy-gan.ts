// The toy-GAN recipe: MLP generator and discriminator on a Gaussian mixture (ToyGan) and its
// training loop with mode metrics (trainToyGan).
import { valueAndGrad } from '../autograd/transforms.js';
import { type GaussianMixture, gridMixture, ringMixture, sampleMixture } from '../data/synthetic.js';
import { fail } from '../errors.js';
import { type ModeMetrics, modeMetrics } from '../metrics/modes.js';
import { mlp } from '../nn/builders.js';
import { functionalCall, type Module } from '../nn/module.js';
import { Adam } from '../optim/index.js';
import { Generator } from '../random/generator.js';
import { getBackend, noGrad, tidy } from '../tensor/engine.js';
import { binaryCrossEntropyWithLogits } from '../tensor/ops/losses.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ParamTree } from '../tensor/tree.js';

/** Settings of the toy GAN (every field has a default; see DEFAULT_TOY_GAN). */
export interface ToyGanConfig {
  data: 'ring' | 'grid';
  steps: number;
  batchSize: number;
  seed: number;
  latentDim: number;
  hidden: number;
  lrG: number;
  lrD: number;
  beta1: number;
  beta2: number;
  /** Ring radius and std (ring only; grid uses spacing 2, std 0.05). */
  radius: number;
  std: number;
  /** Samples drawn (from fixed latents) for the metrics and plots. */
  evalSamples: number;
  /** High-quality threshold in std (../shared/spec/objectives.md 8.1). */
  threshold: number;
}

/**
 * Defaults: PresGAN's ring (../shared/spec/presgan.md 10.7: 8 Gaussians, radius 2, std 0.02; 3
 * fully connected tanh layers; latent dimension 10; Adam with beta1 = 0.5), the benchmark
 * networks (G 10-128-128-2, D 2-128-128-1, tanh), batch 64, 2,500 evaluation samples (VEEGAN /
 * PacGAN).
 */
export const DEFAULT_TOY_GAN: ToyGanConfig = {
  data: 'ring',
  steps: 2000,
  batchSize: 64,
  seed: 0,
  latentDim: 10,
  hidden: 128,
  lrG: 1e-3,
  lrD: 1e-3,
  beta1: 0.5,
  beta2: 0.999,
  radius: 2,
  std: 0.02,
  evalSamples: 2500,
  threshold: 3,
};

/** The mixture a config trains on. */
export function toyGanMixture(cfg: Pick<ToyGanConfig, 'data' | 'radius' | 'std'>): GaussianMixture {
  if (cfg.data === 'ring') return ringMixture({ radius: cfg.radius, std: cfg.std });
  if (cfg.data === 'grid') return gridMixture();
  return fail('toyGan', `data must be 'ring' or 'grid', got '${String(cfg.data)}'`);
}

/** Fills in defaults and checks the settings. */
export function resolveToyGanConfig(overrides: Partial<ToyGanConfig> = {}): ToyGanConfig {
  const cfg = { ...DEFAULT_TOY_GAN, ...overrides };
  const ints: (keyof ToyGanConfig)[] = ['steps', 'batchSize', 'latentDim', 'hidden', 'evalSamples'];
  for (const k of ints) {
    const v = cfg[k] as number;
    if (!Number.isInteger(v) || v < 1) fail('toyGan', `${k} must be a positive integer, got ${v}`);
  }
  if (!Number.isSafeInteger(cfg.seed) || cfg.seed < 0)
    fail('toyGan', `seed must be a non-negative integer, got ${cfg.seed}`);
  for (const k of ['lrG', 'lrD', 'radius', 'std', 'threshold'] as const) {
    if (!(Number.isFinite(cfg[k]) && cfg[k] > 0)) fail('toyGan', `${k} must be a positive number, got ${cfg[k]}`);
  }
  for (const k of ['beta1', 'beta2'] as const) {
    if (!(cfg[k] >= 0 && cfg[k] < 1)) fail('toyGan', `${k} must be in [0, 1), got ${cfg[k]}`);
  }
  toyGanMixture(cfg);
  return cfg;
}

/**
 * The two networks, the optimisers and one training iteration of a standard GAN with the
 * non-saturating generator loss: a D step on BCE(D(x), 1) + BCE(D(G(z)), 0), then a G step on
 * BCE(D(G(z')), 1) with fresh z' and the updated D (as PyTorch's DCGAN example does).
 */
export class ToyGan {
  readonly config: ToyGanConfig;
  readonly mixture: GaussianMixture;
  readonly generator: Module;
  readonly discriminator: Module;
  readonly rng: Generator;
  readonly #optG: Adam;
  readonly #optD: Adam;

  constructor(overrides: Partial<ToyGanConfig> = {}) {
    const cfg = resolveToyGanConfig(overrides);
    this.config = cfg;
    this.mixture = toyGanMixture(cfg);
    const [initRng, dataRng] = new Generator(cfg.seed).split(2);
    this.rng = dataRng!;
    const h = cfg.hidden;
    this.generator = mlp([cfg.latentDim, h, h, this.mixture.dim], { activation: 'tanh', rng: initRng! });
    this.discriminator = mlp([this.mixture.dim, h, h, 1], { activation: 'tanh', rng: initRng! });
    const betas = [cfg.beta1, cfg.beta2] as const;
    this.#optG = new Adam(this.generator, { lr: cfg.lrG, betas });
    this.#optD = new Adam(this.discriminator, { lr: cfg.lrD, betas });
  }

  /** One D step then one G step; returns the two losses as scalar tensors (the caller disposes them). */
  step(): { d: Tensor; g: Tensor } {
    const cfg = this.config;
    const G = this.generator;
    const D = this.discriminator;
    return tidy(() => {
      const real = sampleMixture(this.mixture, cfg.batchSize, this.rng).x;
      const fake = noGrad(() => G.forward(this.rng.normal([cfg.batchSize, cfg.latentDim])));
      const [dLoss, dGrads] = valueAndGrad((p: ParamTree) =>
        binaryCrossEntropyWithLogits(functionalCall(D, p, real), 1).add(
          binaryCrossEntropyWithLogits(functionalCall(D, p, fake), 0),
        ),
      )(D.parameters());
      this.#optD.step(dGrads);
      const z = this.rng.normal([cfg.batchSize, cfg.latentDim]);
      const [gLoss, gGrads] = valueAndGrad((p: ParamTree) =>
        binaryCrossEntropyWithLogits(D.forward(functionalCall(G, p, z)), 1),
      )(G.parameters());
      this.#optG.step(gGrads);
      return { d: dLoss, g: gLoss };
    });
  }

  /** Generator samples [n, dim] from latents drawn with `seed` (fixed latents for evaluation). */
  sample(n: number, seed = 2333): Tensor {
    return tidy(() => noGrad(() => this.generator.forward(new Generator(seed).normal([n, this.config.latentDim]))));
  }

  dispose(): void {
    this.generator.dispose();
    this.discriminator.dispose();
    this.#optG.dispose();
    this.#optD.dispose();
  }
}

export interface ToyGanHooks {
  onStart?(cfg: ToyGanConfig): void;
  /** Called after each recorded step with the losses (every `lossEvery` steps and at the end). */
  onProgress?(step: number, dLoss: number, gLoss: number): void;
}

export interface ToyGanResult {
  config: ToyGanConfig;
  mixture: GaussianMixture;
  /** Generator samples [evalSamples * dim], from fixed latents (seed 2333, as PacGAN). */
  samples: Float32Array;
  /** The same number of training-data samples, for comparison plots. */
  realSamples: Float32Array;
  metrics: ModeMetrics;
  lossSteps: number[];
  lossesD: number[];
  lossesG: number[];
  finalLosses: { d: number; g: number };
  timings: { totalSeconds: number; trainSeconds: number; stepsPerSecond: number; evalSeconds: number };
}

/**
 * Trains a toy GAN end to end and scores it with the ring/grid metrics
 * (../shared/spec/objectives.md 8.1: modes captured and % high-quality samples within `threshold`
 * std).
 */
export async function trainToyGan(
  overrides: Partial<ToyGanConfig> = {},
  hooks: ToyGanHooks = {},
): Promise<ToyGanResult> {
  const t0 = performance.now();
  const gan = new ToyGan(overrides);
  const cfg = gan.config;
  hooks.onStart?.(cfg);
  const lossEvery = Math.max(1, Math.floor(cfg.steps / 500));
  const lossSteps: number[] = [];
  const lossesD: number[] = [];
  const lossesG: number[] = [];
  const progressEvery = Math.max(1, Math.floor(cfg.steps / 200));
  for (let s = 1; s <= cfg.steps; s++) {
    const { d, g } = gan.step();
    if (s % lossEvery === 0 || s === cfg.steps) {
      const [dv, gv] = [(await d.data())[0]!, (await g.data())[0]!];
      lossSteps.push(s);
      lossesD.push(dv);
      lossesG.push(gv);
      if (s % progressEvery === 0 || s === cfg.steps) hooks.onProgress?.(s, dv, gv);
    }
    d.dispose();
    g.dispose();
  }
  await getBackend().sync();
  const t1 = performance.now();
  const fake = gan.sample(cfg.evalSamples);
  const samples = Float32Array.from(await fake.data());
  fake.dispose();
  const real = sampleMixture(gan.mixture, cfg.evalSamples, new Generator(cfg.seed + 1));
  const realSamples = Float32Array.from(await real.x.data());
  real.x.dispose();
  real.modes.dispose();
  const metrics = modeMetrics(samples, gan.mixture, { threshold: cfg.threshold });
  gan.dispose();
  const t2 = performance.now();
  return {
    config: cfg,
    mixture: gan.mixture,
    samples,
    realSamples,
    metrics,
    lossSteps,
    lossesD,
    lossesG,
    finalLosses: { d: lossesD[lossesD.length - 1]!, g: lossesG[lossesG.length - 1]! },
    timings: {
      totalSeconds: (t2 - t0) / 1000,
      trainSeconds: (t1 - t0) / 1000,
      stepsPerSecond: cfg.steps / ((t1 - t0) / 1000),
      evalSeconds: (t2 - t1) / 1000,
    },
  };
}
