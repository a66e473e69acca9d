// The objective abstraction of the GAN layer: a method as plain data (players, the paper's
// defaults, an update schedule of phases and updates) that the one trainer runs. Types only.
import type { ForwardOptions, Module } from '../nn/module.js';
import type { OptimizerState, PureOptimizer } from '../optim/functional.js';
import type { Generator } from '../random/generator.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ParamTree } from '../tensor/tree.js';

/** A player: a network named by the papers' letter (`G`, `D`, `E`, `F`, `D1`, ...) or a parameter group (`sigma`). */
export type PlayerName = string;

/** An optimiser for one player, as plain data (it goes into `report.json` and checkpoints). */
export interface OptimizerSpec {
  kind: 'adam' | 'rmsprop' | 'sgd' | 'adadelta';
  lr: number;
  /** Adam's (beta1, beta2). */
  betas?: [number, number];
  eps?: number;
  /** RMSprop's smoothing constant. */
  alpha?: number;
  momentum?: number;
  weightDecay?: number;
}

/** What an objective needs to know of the data to build its networks. */
export interface DataInfo {
  /** Shape of one example: `[2]` for the ring, `[1, 28, 28]` for MNIST, `[3, 28, 28]` for Stacked MNIST. */
  readonly shape: readonly number[];
  readonly kind: 'vector' | 'image';
}

/** Network sizes for vector data (MLPs) and image data (DCGAN), shared by every objective. */
export interface NetworkHyper {
  /** Hidden units per layer of the MLPs (vector data). */
  hidden: number;
  /** Hidden layers of the MLPs (vector data). */
  layers: number;
  /** Hidden activation of the MLPs. */
  activation: 'tanh' | 'relu' | 'leakyRelu';
  /** DCGAN widths (image data). */
  ngf: number;
  ndf: number;
}

/** Settings every objective's hyperparameters carry (each objective adds its own). */
export interface BaseHyper {
  /** Examples per batch (real and generated). */
  batchSize: number;
  /** Dimension of the latent z ~ N(0, I). */
  latentDim: number;
  /** Default number of training iterations (one iteration = every phase once). */
  steps: number;
  /** One optimiser per player. */
  optimizers: Record<PlayerName, OptimizerSpec>;
  net: NetworkHyper;
}

/** Everything a loss may read. Losses are pure: they read this and return tensors. */
export interface StepContext<H> {
  /**
   * Every player's current parameters. Inside an update, the update's own players' trees are the
   * ones being differentiated; the others are constants.
   */
  readonly params: Readonly<Record<PlayerName, ParamTree>>;
  readonly nets: Readonly<Record<PlayerName, Module>>;
  readonly hyper: H;
  /** Tensors drawn once per repetition of the phase (`Phase.draw`), shared by its updates. */
  readonly draws: Readonly<Record<string, Tensor>>;
  /** Objective state carried across iterations and checkpointed (e.g. PresGAN's HMC step size). */
  readonly state: Readonly<Record<string, Tensor>>;
  /** Iteration index, from 0. */
  readonly step: number;
  /** The run's random stream, for draws a loss makes itself (HMC momenta). */
  readonly rng: Generator;
  /**
   * Every player's optimiser, to read only: its state and hyperparameters replay its update
   * differentiably (`opt.impl.step(params, grads, opt.getState(), opt.hyperparameters())`, the
   * unrolled GAN). Losses never step an optimiser; the trainer does. (Optional only so that
   * hand-made contexts in tests may leave it out; the trainer always sets it.)
   */
  readonly optimizers?: Readonly<Record<PlayerName, OptimizerView>>;
  /** Applies a player's network with the parameters in `params` (so gradients reach them). */
  apply(player: PlayerName, x: Tensor, opts?: ForwardOptions): Tensor;
}

/** What a loss may read of an optimiser (the stateful optimisers are this). */
export interface OptimizerView {
  readonly impl: PureOptimizer<never>;
  getState(): OptimizerState<ParamTree>;
  hyperparameters(): unknown;
  readonly stepCount: number;
}

/** What a loss returns: the scalar to minimise, or that with logged values and new state. */
export type LossOutput =
  | Tensor
  | {
      loss: Tensor;
      /** Extra scalars to log under `<update>/<key>` (constants). */
      logs?: Record<string, Tensor>;
      /** New values of objective state, committed after the phase's steps. */
      state?: Record<string, Tensor>;
    };

/** One update: the players it differentiates and steps, and the loss they minimise. */
export interface Update<H> {
  /** Name in logs and reports, e.g. `'D'`, `'G'`, `'GF'`. */
  readonly name: string;
  /** The players whose parameters this loss is differentiated with respect to and stepped. */
  readonly players: readonly PlayerName[];
  loss(ctx: StepContext<H>): LossOutput;
}

/** What draws and hooks see. */
export interface PhaseContext<H> {
  readonly nets: Readonly<Record<PlayerName, Module>>;
  /** The data's shape and kind (to size noise like the data). */
  readonly data: DataInfo;
  readonly hyper: H;
  readonly state: Readonly<Record<string, Tensor>>;
  readonly step: number;
  readonly rng: Generator;
  /** `n` real examples from the data set, drawn with `rng`. */
  sampleReal(n: number): Tensor;
}

/**
 * A phase: one or more updates run `repeat` times. Several updates in one phase are
 * simultaneous: every loss is evaluated at the same parameters, then every optimiser steps.
 */
export interface Phase<H> {
  readonly name: string;
  readonly updates: readonly Update<H>[];
  /** Repetitions per iteration (critic steps): a number, or a function of the iteration index. */
  repeat?(step: number, hyper: H): number;
  /** Tensors drawn once per repetition and shared by the updates (real batch, z, eta). */
  draw(ctx: PhaseContext<H>): Record<string, Tensor>;
  /** Runs before each repetition (e.g. weight clipping). May replace parameters in place. */
  before?(ctx: PhaseContext<H>): void;
  /** Runs after each repetition's steps (e.g. sigma truncation). */
  after?(ctx: PhaseContext<H>): void;
  /**
   * Decides which updates step, from the values of this repetition's losses: called after every
   * update's loss is evaluated, before any optimiser steps, with `values` = update name -> loss and
   * `<update>/<log key>` -> logged scalar, read back synchronously. An update mapped to `false` does
   * not step its optimisers (their state is unchanged); its loss, logs and state are still recorded,
   * and `<update>/stepped` (1 or 0) is logged. Names left out step. (VAE/GAN's balancing rule.)
   * Gated phases read back from the device inside the step, so they need a backend with synchronous
   * reads (the CPU backend); the trainer throws a TesseraError on others (WebGPU reads only with `await`).
   */
  gate?(values: Readonly<Record<string, number>>, ctx: PhaseContext<H>): Readonly<Record<string, boolean>>;
}

/** What `Objective.sample` sees: the trained networks in eval use. */
export interface SampleContext<H> {
  readonly nets: Readonly<Record<PlayerName, Module>>;
  readonly hyper: H;
  readonly state: Readonly<Record<string, Tensor>>;
  readonly data: DataInfo;
}

/**
 * A GAN method as plain data: its players, the paper's defaults and its update schedule. The
 * trainer differentiates each update only with respect to its players and steps only their
 * optimisers; it never branches on the objective. Add one as a file in `src/gan/objectives/`,
 * one line in `registry.ts` and one test.
 */
export interface Objective<H extends BaseHyper = BaseHyper> {
  /** Registry name, kebab-case (`'presgan'`, `'reg-gan'`). */
  readonly name: string;
  /** Display name (`'PresGAN'`). */
  readonly title: string;
  /** The paper, with the equations the losses follow. */
  readonly paper: string;
  readonly players: readonly PlayerName[];
  /** The paper's defaults (with our documented changes). */
  readonly defaults: H;
  /** Overrides of the defaults per data kind (e.g. image data get the DCGAN settings). */
  readonly presets?: Partial<Record<DataInfo['kind'], Partial<H>>>;
  /** Checks a resolved configuration; throws a TesseraError naming the bad key. */
  validate?(hyper: H, data: DataInfo): void;
  /** Builds every player, initialised from `rng`. */
  build(data: DataInfo, hyper: H, rng: Generator): Record<PlayerName, Module>;
  /** Initial objective state (checkpointed with the players). */
  initState?(hyper: H, data: DataInfo, nets: Readonly<Record<PlayerName, Module>>): Record<string, Tensor>;
  /** The update schedule of one iteration. */
  phases(hyper: H): readonly Phase<H>[];
  /** Model samples from latents `z` `[n, latentDim]` (what the metrics and plots score). */
  sample(ctx: SampleContext<H>, z: Tensor, rng: Generator): Tensor;
}
