// The layers: Linear, Conv2d, ConvTranspose2d, BatchNorm1d/2d, Dropout, Maxout and the
// activations.
import { fail, fmtShape } from '../errors.js';
import { type Generator, getDefaultGenerator, type RngOptions, rngOption } from '../random/generator.js';
import { noGrad, tidy } from '../tensor/engine.js';
import { batchNormTrain, statsRow } from '../tensor/ops/fused-nn.js';
import {
  add,
  conv2d,
  convTranspose2d,
  elu,
  leakyRelu,
  matmul,
  max,
  maxPool2d,
  mul,
  type Pair,
  relu,
  reshape,
  rsqrt,
  sigmoid,
  softplus,
  stopGradient,
  sub,
  tanh,
  where,
  zeros,
} from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { type FloatDType, fans, ones, torchDefaultBias, torchDefaultWeight, zeros as zerosInit } from './init.js';
import { type ForwardOptions, Module } from './module.js';

/**
 * Options shared by layers with parameters; `rng` draws the default initialisation (default: the
 * global default generator).
 */
export interface LayerOptions extends RngOptions {
  /** Parameter dtype (default float32; float64 on the CPU backend for gradient checks). */
  dtype?: FloatDType;
}

function checkFloatInput(op: string, x: Tensor, dtype: FloatDType): void {
  if (x.dtype !== dtype) fail(op, `input is ${x.dtype} ${fmtShape(x.shape)}, the layer's parameters are ${dtype}`);
}

function posInt(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) fail(op, `${name} must be a positive integer, got ${v}`);
}

// ------------------------------------------------------------------ Linear

export interface LinearOptions extends LayerOptions {
  /** Add a bias (default true). */
  bias?: boolean;
}

/**
 * y = x W^T + b with W [out, in] (PyTorch's layout) and b [out]. Default init is PyTorch's:
 * W, b ~ U(-1/sqrt(in), 1/sqrt(in)). Input [..., in] -> [..., out].
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly dtype: FloatDType;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    posInt('Linear', 'inFeatures', inFeatures);
    posInt('Linear', 'outFeatures', outFeatures);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.dtype = opts.dtype ?? 'float32';
    const io = { dtype: this.dtype, rng: rngOption('Linear', opts) };
    this.registerParameter('weight', torchDefaultWeight([outFeatures, inFeatures], io));
    if (opts.bias ?? true) this.registerParameter('bias', torchDefaultBias(outFeatures, inFeatures, io));
  }

  get weight(): Tensor {
    return this.param('weight');
  }
  get bias(): Tensor | undefined {
    return this.hasParam('bias') ? this.param('bias') : undefined;
  }

  forward(x: Tensor): Tensor {
    const op = 'Linear';
    checkFloatInput(op, x, this.dtype);
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.inFeatures) {
      fail(op, `input ${fmtShape(x.shape)} must end in ${this.inFeatures} features ([..., ${this.inFeatures}])`);
    }
    const y = matmul(x, this.weight, { transB: true });
    const b = this.bias;
    return b === undefined ? y : add(y, b);
  }
}

// ------------------------------------------------------------------ convolutions

export interface Conv2dLayerOptions extends LayerOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

function kernelPair(op: string, k: Pair): [number, number] {
  const p: [number, number] = typeof k === 'number' ? [k, k] : [k[0], k[1]];
  if (!p.every((v) => Number.isInteger(v) && v > 0)) fail(op, `kernel size must be positive integers, got ${k}`);
  return p;
}

function checkGroups(op: string, cin: number, cout: number, groups: number): void {
  posInt(op, 'groups', groups);
  if (cin % groups !== 0 || cout % groups !== 0)
    fail(op, `in channels ${cin} and out channels ${cout} must be divisible by groups ${groups}`);
}

/** What Conv2d and ConvTranspose2d share: geometry fields, checks, PyTorch default init, weight/bias. */
abstract class ConvLayer extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly groups: number;
  readonly dtype: FloatDType;
  readonly #op: string;

  /** `transposed`: the weight is [in, out/groups, kH, kW] (PyTorch's ConvTranspose layout). */
  protected constructor(
    op: string,
    inChannels: number,
    outChannels: number,
    kernelSize: Pair,
    opts: Conv2dLayerOptions,
    transposed: boolean,
  ) {
    super();
    this.#op = op;
    posInt(op, 'inChannels', inChannels);
    posInt(op, 'outChannels', outChannels);
    this.groups = opts.groups ?? 1;
    checkGroups(op, inChannels, outChannels, this.groups);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = kernelPair(op, kernelSize);
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
    this.dtype = opts.dtype ?? 'float32';
    const io = { dtype: this.dtype, rng: rngOption(op, opts) };
    const shape = transposed
      ? [inChannels, outChannels / this.groups, ...this.kernelSize]
      : [outChannels, inChannels / this.groups, ...this.kernelSize];
    this.registerParameter('weight', torchDefaultWeight(shape, io));
    if (opts.bias ?? true) this.registerParameter('bias', torchDefaultBias(outChannels, fans(shape).fanIn, io));
  }

  get weight(): Tensor {
    return this.param('weight');
  }
  get bias(): Tensor | undefined {
    return this.hasParam('bias') ? this.param('bias') : undefined;
  }

  /** Checks the input and returns the options shared by both convolutions. */
  protected convOptions(x: Tensor): { stride: Pair; padding: Pair; dilation: Pair; groups: number; bias?: Tensor } {
    checkFloatInput(this.#op, x, this.dtype);
    if (x.rank !== 4 || x.shape[1] !== this.inChannels)
      fail(this.#op, `input must be [N, ${this.inChannels}, H, W], got ${fmtShape(x.shape)}`);
    const b = this.bias;
    return {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
      ...(b ? { bias: b } : {}),
    };
  }
}

/** 2-D convolution layer, NCHW; weight [out, in/groups, kH, kW] and bias [out] (PyTorch layout and default init). */
export class Conv2d extends ConvLayer {
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: Conv2dLayerOptions = {}) {
    super('Conv2d', inChannels, outChannels, kernelSize, opts, false);
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.convOptions(x));
  }
}

export interface ConvTranspose2dLayerOptions extends Conv2dLayerOptions {
  outputPadding?: Pair;
}

/** Transposed 2-D convolution layer; weight [in, out/groups, kH, kW] and bias [out] (PyTorch layout and default init). */
export class ConvTranspose2d extends ConvLayer {
  readonly outputPadding: Pair;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: ConvTranspose2dLayerOptions = {}) {
    super('ConvTranspose2d', inChannels, outChannels, kernelSize, opts, true);
    this.outputPadding = opts.outputPadding ?? 0;
  }

  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, { ...this.convOptions(x), outputPadding: this.outputPadding });
  }
}

/** Max pooling over k x k windows with stride k, as a layer. */
export class MaxPool2d extends Module {
  constructor(readonly kernel: number) {
    super();
    if (!Number.isInteger(kernel) || kernel < 1) fail('MaxPool2d', `kernel must be a positive integer, got ${kernel}`);
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernel);
  }
}

// ------------------------------------------------------------------ batch norm

export interface BatchNormOptions {
  dtype?: FloatDType;
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Weight of the new batch in the running statistics (default 0.1, as PyTorch). */
  momentum?: number;
  /** Learnable scale `weight` and shift `bias` (default true). */
  affine?: boolean;
  /** Keep running statistics for eval mode (default true); without them eval mode uses batch statistics. */
  trackRunningStats?: boolean;
  /**
   * Extra statistics streams besides 'default'. Each stream has its own running statistics
   * (buffers `running_mean_<stream>`, ...) and shares the affine parameters; select one with
   * `forward(x, {stream})`. MDGAN's generator uses one stream per kind of input.
   */
  streams?: readonly string[];
}

/**
 * Batch normalisation over the channel axis 1 (shared by BatchNorm1d and BatchNorm2d).
 * Train mode normalises with the batch mean and biased variance and updates the running
 * statistics as PyTorch does: running = (1 - momentum) running + momentum batch, with the
 * unbiased batch variance for running_var (outside autodiff). Eval mode uses the running statistics.
 */
export abstract class BatchNormBase extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  readonly streams: readonly string[];
  readonly dtype: FloatDType;
  protected abstract readonly ranks: readonly number[];

  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    const op = this.name;
    posInt(op, 'numFeatures', numFeatures);
    this.numFeatures = numFeatures;
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    if (!(this.eps >= 0)) fail(op, `eps must be non-negative, got ${this.eps}`);
    if (!(this.momentum >= 0 && this.momentum <= 1)) fail(op, `momentum must be in [0, 1], got ${this.momentum}`);
    this.affine = opts.affine ?? true;
    this.trackRunningStats = opts.trackRunningStats ?? true;
    this.dtype = opts.dtype ?? 'float32';
    const extra = [...(opts.streams ?? [])];
    for (const s of extra) {
      if (!/^[A-Za-z0-9_-]+$/.test(s) || s === 'default')
        fail(op, `stream names must be non-empty [A-Za-z0-9_-] and not 'default', got '${s}'`);
    }
    if (new Set(extra).size !== extra.length) fail(op, `stream names repeat: [${extra.join(', ')}]`);
    this.streams = ['default', ...extra];
    const d = { dtype: this.dtype };
    if (this.affine) {
      this.registerParameter('weight', ones([numFeatures], d));
      this.registerParameter('bias', zerosInit([numFeatures], d));
    }
    if (this.trackRunningStats) {
      for (const s of this.streams) {
        const suf = s === 'default' ? '' : `_${s}`;
        this.registerBuffer(`running_mean${suf}`, zerosInit([numFeatures], d));
        this.registerBuffer(`running_var${suf}`, ones([numFeatures], d));
        this.registerBuffer(`num_batches_tracked${suf}`, zeros([], 'int32'));
      }
    }
  }

  get weight(): Tensor | undefined {
    return this.affine ? this.param('weight') : undefined;
  }
  get bias(): Tensor | undefined {
    return this.affine ? this.param('bias') : undefined;
  }

  /** The running mean and variance of a stream. */
  runningStats(stream = 'default'): { mean: Tensor; var: Tensor } {
    this.#checkStream(stream);
    if (!this.trackRunningStats) return fail(this.name, 'was built with trackRunningStats: false');
    const suf = stream === 'default' ? '' : `_${stream}`;
    return { mean: this.buffer(`running_mean${suf}`), var: this.buffer(`running_var${suf}`) };
  }

  #checkStream(stream: string): void {
    if (!this.streams.includes(stream))
      fail(this.name, `unknown stream '${stream}'; declared streams are [${this.streams.join(', ')}]`);
  }

  forward(x: Tensor, opts: ForwardOptions = {}): Tensor {
    const op = this.name;
    checkFloatInput(op, x, this.dtype);
    if (!this.ranks.includes(x.rank) || x.shape[1] !== this.numFeatures) {
      const want = this.ranks.map((r) => (r === 2 ? '[N, C]' : r === 3 ? '[N, C, L]' : '[N, C, H, W]')).join(' or ');
      fail(op, `input must be ${want} with C = ${this.numFeatures}, got ${fmtShape(x.shape)}`);
    }
    const stream = opts.stream ?? 'default';
    this.#checkStream(stream);
    const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
    const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
    const n = axes.reduce((k, a) => k * x.shape[a]!, 1);
    if (this.training || !this.trackRunningStats) {
      if (this.training && n <= 1)
        fail(op, `expected more than 1 value per channel when training, got input ${fmtShape(x.shape)}`);
      // Fused kernels (src/tensor/ops/fused-nn.ts): statistics, normalise and affine in three passes
      // over x, and a fused backward; the same values as mean / sub / square / rsqrt / mul / add.
      const r = batchNormTrain(x, this.eps, this.weight, this.bias);
      if (this.training && this.trackRunningStats && (opts.updateStats ?? true)) this.#update(stream, r.stats, n);
      return r.y;
    }
    const rs = this.runningStats(stream);
    let y = mul(sub(x, reshape(rs.mean, bshape)), rsqrt(add(reshape(rs.var, bshape), this.eps)));
    if (this.affine) y = add(mul(y, reshape(this.weight!, bshape)), reshape(this.bias!, bshape));
    return y;
  }

  /** Running averages from the batch statistics [2, C] (mean, biased var) of batchNormTrain. */
  #update(stream: string, stats: Tensor, n: number): void {
    const suf = stream === 'default' ? '' : `_${stream}`;
    const m = this.momentum;
    const [rm, rv, nb] = noGrad(() =>
      tidy(() => {
        const st = stopGradient(stats);
        const bm = statsRow(st, 0);
        const bv = mul(statsRow(st, 1), n / (n - 1));
        return [
          add(mul(this.buffer(`running_mean${suf}`), 1 - m), mul(bm, m)),
          add(mul(this.buffer(`running_var${suf}`), 1 - m), mul(bv, m)),
          add(this.buffer(`num_batches_tracked${suf}`), 1),
        ] as const;
      }),
    );
    this.setBuffer(`running_mean${suf}`, rm);
    this.setBuffer(`running_var${suf}`, rv);
    this.setBuffer(`num_batches_tracked${suf}`, nb);
  }
}

/** BatchNorm over [N, C] or [N, C, L] inputs (statistics per channel C). */
export class BatchNorm1d extends BatchNormBase {
  protected readonly ranks = [2, 3] as const;
}

/** BatchNorm over [N, C, H, W] inputs (statistics per channel C). */
export class BatchNorm2d extends BatchNormBase {
  protected readonly ranks = [4] as const;
}

// ------------------------------------------------------------------ dropout, maxout

/**
 * Dropout: in train mode zeroes each element with probability p and scales the rest by 1/(1-p);
 * the identity in eval mode. Draws come from `rng` (default: the global default generator at call
 * time), so a seeded generator makes runs reproducible.
 */
export class Dropout extends Module {
  readonly p: number;
  readonly rng: Generator | undefined;

  constructor(p = 0.5, opts: RngOptions = {}) {
    super();
    if (!(p >= 0 && p <= 1)) fail('Dropout', `p must be in [0, 1], got ${p}`);
    this.p = p;
    this.rng = rngOption('Dropout', opts);
  }

  /** @deprecated Renamed `rng`; still readable for this release. */
  get generator(): Generator | undefined {
    return this.rng;
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    if (this.p === 1) return mul(x, 0);
    const rng = this.rng ?? getDefaultGenerator();
    const keepMask = rng.bernoulli(1 - this.p, x.shape);
    const y = where(keepMask, mul(x, 1 / (1 - this.p)), 0);
    // The mask is an input of y's autodiff node when y is being differentiated: tie it to y.
    if (y.node?.inputs.includes(keepMask)) y.adopt(keepMask);
    else keepMask.dispose();
    return y;
  }
}

/**
 * Maxout (PacGAN's discriminator): a linear map to units * pieces values, then the max over each
 * group of `pieces` consecutive values. Input [N, in] -> [N, units].
 */
export class Maxout extends Module {
  readonly units: number;
  readonly pieces: number;
  readonly linear: Linear;

  constructor(inFeatures: number, units: number, pieces: number, opts: LinearOptions = {}) {
    super();
    posInt('Maxout', 'units', units);
    posInt('Maxout', 'pieces', pieces);
    this.units = units;
    this.pieces = pieces;
    this.linear = this.registerModule('linear', new Linear(inFeatures, units * pieces, opts));
  }

  forward(x: Tensor): Tensor {
    const y = this.linear.forward(x);
    return max(reshape(y, [...y.shape.slice(0, -1), this.units, this.pieces]), -1);
  }
}

// ------------------------------------------------------------------ activations and reshaping

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

export class LeakyReLU extends Module {
  constructor(readonly slope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.slope);
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

export class ELU extends Module {
  constructor(readonly alpha = 1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return elu(x, this.alpha);
  }
}

/** softplus(beta x) / beta. */
export class Softplus extends Module {
  constructor(readonly beta = 1) {
    super();
    if (!(beta > 0)) fail('Softplus', `beta must be positive, got ${beta}`);
  }
  forward(x: Tensor): Tensor {
    return this.beta === 1 ? softplus(x) : mul(softplus(mul(x, this.beta)), 1 / this.beta);
  }
}

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** [N, ...] -> [N, prod(...)]. */
export class Flatten extends Module {
  forward(x: Tensor): Tensor {
    if (x.rank < 1) fail('Flatten', `input must have a batch axis, got ${fmtShape(x.shape)}`);
    return reshape(x, [x.shape[0]!, x.size / Math.max(x.shape[0]!, 1)]);
  }
}

/** [N, ...] -> [N, ...shape] (the batch axis is kept). */
export class Reshape extends Module {
  readonly shape: readonly number[];
  constructor(shape: readonly number[]) {
    super();
    this.shape = [...shape];
  }
  forward(x: Tensor): Tensor {
    if (x.rank < 1) fail('Reshape', `input must have a batch axis, got ${fmtShape(x.shape)}`);
    return reshape(x, [x.shape[0]!, ...this.shape]);
  }
}

/** Activation names accepted by `activation()` and `mlp()`. */
export type ActivationName = 'relu' | 'leakyRelu' | 'tanh' | 'sigmoid' | 'elu' | 'softplus' | 'identity';

/** An activation module by name (`leakyRelu` takes its slope from `param`, default 0.01; `elu` its alpha). */
export function activation(name: ActivationName, param?: number): Module {
  switch (name) {
    case 'relu':
      return new ReLU();
    case 'leakyRelu':
      return new LeakyReLU(param ?? 0.01);
    case 'tanh':
      return new Tanh();
    case 'sigmoid':
      return new Sigmoid();
    case 'elu':
      return new ELU(param ?? 1);
    case 'softplus':
      return new Softplus(param ?? 1);
    case 'identity':
      return new Identity();
    default:
      return fail('activation', `unknown activation '${String(name)}'`);
  }
}

// ------------------------------------------------------------------ containers

/** Applies its children in order; they are named '0', '1', ... (as PyTorch's nn.Sequential). */
export class Sequential extends Module {
  readonly layers: readonly Module[];

  constructor(...layers: Module[]) {
    super();
    layers.forEach((m, i) => {
      this.registerModule(String(i), m);
    });
    this.layers = layers;
  }

  get length(): number {
    return this.layers.length;
  }

  at(i: number): Module {
    const m = this.layers[i < 0 ? this.layers.length + i : i];
    if (m === undefined) return fail('Sequential', `index ${i} out of range for ${this.layers.length} layers`);
    return m;
  }

  /** Passes `opts` (e.g. the BatchNorm stream) on to every child. */
  forward(x: Tensor, opts?: ForwardOptions): Tensor {
    let y = x;
    for (const m of this.layers) y = m.forward(y, opts);
    return y;
  }
}
