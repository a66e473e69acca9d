// Network builders: mlp, the DCGAN generator and discriminator, and re-initialisation (initWeights,
// dcganInit).

import { fail, fmtShape } from '../errors.js';
import { type Generator, type RngOptions, rngOption } from '../random/generator.js';
import { reshape } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ParamTree } from '../tensor/tree.js';
import { type FloatDType, normal, zeros } from './init.js';
import {
  type ActivationName,
  activation,
  BatchNorm1d,
  BatchNorm2d,
  BatchNormBase,
  type BatchNormOptions,
  Conv2d,
  ConvTranspose2d,
  Dropout,
  LeakyReLU,
  Linear,
  ReLU,
  Reshape,
  Sequential,
  Sigmoid,
  Tanh,
} from './layers.js';
import { type ForwardOptions, Module } from './module.js';

/** Which layers `initWeights` touches. */
export type InitTarget = 'linear' | 'conv' | 'batchnorm';

export interface InitWeightsOptions {
  /** New weight for a Linear/Conv2d/ConvTranspose2d layer, given the weight's shape. */
  weight?: (shape: readonly number[], layer: Module) => Tensor;
  /** New bias (default: keep the layer's own). */
  bias?: (shape: readonly number[], layer: Module) => Tensor;
  /** Layer kinds to touch (default linear and conv). */
  layers?: readonly InitTarget[];
}

/**
 * Re-initialises the weights (and optionally biases) of every Linear / Conv2d / ConvTranspose2d in
 * `module`, replacing (and disposing) the old tensors. For BatchNorm layers (when listed in
 * `layers`), `weight` and `bias` get the scale and shift shapes.
 */
export function initWeights(module: Module, opts: InitWeightsOptions): Module {
  const kinds = new Set(opts.layers ?? ['linear', 'conv']);
  for (const [, m] of module.modules()) {
    const kind: InitTarget | null =
      m instanceof Linear
        ? 'linear'
        : m instanceof Conv2d || m instanceof ConvTranspose2d
          ? 'conv'
          : m instanceof BatchNormBase && m.affine
            ? 'batchnorm'
            : null;
    if (kind === null || !kinds.has(kind)) continue;
    const own = m.parameters();
    const next: ParamTree = {};
    const w = own.weight as Tensor | undefined;
    const b = own.bias as Tensor | undefined;
    if (opts.weight && w) next.weight = opts.weight(w.shape, m);
    if (opts.bias && b) next.bias = opts.bias(b.shape, m);
    m.setParameters(next);
  }
  return module;
}

/**
 * DCGAN initialisation (Radford et al.; PresGAN's `weights_init`): conv and transposed-conv weights
 * ~ N(0, 0.02), BatchNorm scale ~ N(1, 0.02) and shift 0. With `linear: true` also Linear weights
 * ~ N(0, 0.02) with zero biases (PacGAN's 2-D networks). Conv biases (if any) are set to 0.
 */
export function dcganInit(module: Module, opts: RngOptions & { linear?: boolean; std?: number } = {}): Module {
  const std = opts.std ?? 0.02;
  const g = { rng: rngOption('dcganInit', opts) };
  const dt = (m: Module): { dtype: FloatDType } => ({ dtype: (m as unknown as { dtype: FloatDType }).dtype });
  initWeights(module, {
    layers: opts.linear ? ['linear', 'conv'] : ['conv'],
    weight: (s, m) => normal(s, 0, std, { ...g, ...dt(m) }),
    bias: (s, m) => zeros(s, dt(m)),
  });
  initWeights(module, {
    layers: ['batchnorm'],
    weight: (s, m) => normal(s, 1, std, { ...g, ...dt(m) }),
    bias: (s, m) => zeros(s, dt(m)),
  });
  return module;
}

// ------------------------------------------------------------------ MLP

/** Options of `mlp`; `rng` draws the initial weights (default: the global default generator). */
export interface MlpOptions extends RngOptions {
  /** Hidden activation (default 'relu'), or a factory for one. */
  activation?: ActivationName | (() => Module);
  /** Slope of 'leakyRelu' / alpha of 'elu' / beta of 'softplus'. */
  activationParam?: number;
  /** Activation after the last layer (default none). */
  outputActivation?: ActivationName | (() => Module);
  /** BatchNorm1d after each hidden Linear, before the activation; those Linears then have no bias (default false). */
  batchNorm?: boolean;
  /** Options of those BatchNorm layers (momentum, eps, streams, ...). */
  batchNormOptions?: Omit<BatchNormOptions, 'dtype'>;
  /** Dropout probability after each hidden activation (default none). */
  dropout?: number;
  /** Random-number generator for dropout (default: the global one at call time). */
  dropoutRng?: Generator;
  dtype?: FloatDType;
}

function act(a: ActivationName | (() => Module), param: number | undefined): Module {
  return typeof a === 'function' ? a() : activation(a, param);
}

/**
 * A multilayer perceptron: `sizes = [in, h1, ..., out]` gives Linear layers in -> h1 -> ... -> out
 * with the activation between them, as one Sequential (layer names '0', '1', ...).
 *
 * @example
 * const net = mlp([2, 128, 128, 1], { activation: 'tanh', rng: new Generator(0) });
 */
export function mlp(sizes: readonly number[], opts: MlpOptions = {}): Sequential {
  if (sizes.length < 2) fail('mlp', `sizes must list at least input and output sizes, got [${sizes.join(', ')}]`);
  const lo = { dtype: opts.dtype ?? 'float32', rng: rngOption('mlp', opts) } as const;
  const layers: Module[] = [];
  for (let i = 0; i < sizes.length - 1; i++) {
    const last = i === sizes.length - 2;
    if (last) {
      layers.push(new Linear(sizes[i]!, sizes[i + 1]!, lo));
      if (opts.outputActivation !== undefined && opts.outputActivation !== 'identity')
        layers.push(act(opts.outputActivation, opts.activationParam));
    } else {
      layers.push(new Linear(sizes[i]!, sizes[i + 1]!, { ...lo, bias: !opts.batchNorm }));
      if (opts.batchNorm) layers.push(new BatchNorm1d(sizes[i + 1]!, { ...opts.batchNormOptions, dtype: lo.dtype }));
      layers.push(act(opts.activation ?? 'relu', opts.activationParam));
      if (opts.dropout !== undefined && opts.dropout > 0)
        layers.push(new Dropout(opts.dropout, { rng: opts.dropoutRng }));
    }
  }
  return new Sequential(...layers);
}

// ------------------------------------------------------------------ DCGAN

export type DcganImageSize = 28 | 32 | 64;

/**
 * Options of the DCGAN networks; `rng` draws the initial weights (default: the global default
 * generator).
 */
export interface DcganOptions extends RngOptions {
  /** Output (generator) or input (discriminator) image side: 28, 32 or 64. */
  imageSize: DcganImageSize;
  /** Image channels (default 3). */
  nc?: number;
  /**
   * 'pytorch' (default): 4x4 kernels as in the PyTorch DCGAN example and PresGAN's nets.py.
   * 'tf' (28 only): DCGAN-tensorflow as used by PacGAN / VEEGAN on Stacked MNIST
   * (a Linear to 2x2x8ngf, then 5x5 transposed convolutions; the discriminator ends in a Linear).
   */
  variant?: 'pytorch' | 'tf';
  /** Initialise with `dcganInit` (default true); otherwise PyTorch's layer defaults. */
  dcganInit?: boolean;
  dtype?: FloatDType;
  /** Extra BatchNorm statistics streams (see BatchNormOptions.streams). */
  bnStreams?: readonly string[];
  /** Options of every BatchNorm layer (e.g. `{momentum: 0.1, eps: 1e-5}`). */
  bnOptions?: Omit<BatchNormOptions, 'dtype'>;
}

export interface DcganGeneratorOptions extends DcganOptions {
  /** Latent size (default 100). */
  nz?: number;
  /** Width (default 64). */
  ngf?: number;
}

export interface DcganDiscriminatorOptions extends DcganOptions {
  /** Width (default 64). */
  ndf?: number;
  /** Append a sigmoid, returning probabilities instead of logits (default false). */
  sigmoid?: boolean;
  /** LeakyReLU slope (default 0.2). */
  slope?: number;
}

/**
 * DCGAN generator: z [N, nz] or [N, nz, 1, 1] -> images [N, nc, S, S] in (-1, 1). Layers live in
 * `main` (a Sequential), so parameter names match PyTorch's DCGAN (`main.0.weight`, ...).
 * For S = 64 it is PresGAN's generator (section 1 of the spec); 32 drops one 2x stage; 28 starts
 * with a 7x7 transposed convolution (or the 'tf' variant).
 */
export class DCGANGenerator extends Module {
  readonly nz: number;
  readonly imageSize: DcganImageSize;
  readonly variant: 'pytorch' | 'tf';
  readonly main: Sequential;

  constructor(opts: DcganGeneratorOptions) {
    super();
    const op = 'DCGANGenerator';
    const nz = opts.nz ?? 100;
    const ngf = opts.ngf ?? 64;
    const nc = opts.nc ?? 3;
    const S = opts.imageSize;
    const variant = opts.variant ?? 'pytorch';
    if (S !== 28 && S !== 32 && S !== 64) fail(op, `imageSize must be 28, 32 or 64, got ${String(S)}`);
    if (variant === 'tf' && S !== 28) fail(op, `variant 'tf' is defined for imageSize 28, got ${S}`);
    this.nz = nz;
    this.imageSize = S;
    this.variant = variant;
    const c = { dtype: opts.dtype ?? 'float32', rng: rngOption(op, opts) } as const;
    const bn: BatchNormOptions = {
      ...opts.bnOptions,
      dtype: c.dtype,
      ...(opts.bnStreams ? { streams: opts.bnStreams } : {}),
    };
    const layers: Module[] = [];
    const up = (cin: number, cout: number, k: number, s: number, p: number, op2 = 0): void => {
      layers.push(
        new ConvTranspose2d(cin, cout, k, { ...c, stride: s, padding: p, outputPadding: op2, bias: false }),
        new BatchNorm2d(cout, bn),
        new ReLU(),
      );
    };
    if (variant === 'tf') {
      // z -> Linear 2x2x8ngf, BN, ReLU -> 4x4x4ngf -> 7x7x2ngf -> 14x14xngf -> 28x28xnc (5x5, stride 2).
      layers.push(
        new Linear(nz, 4 * 8 * ngf, c),
        new BatchNorm1d(4 * 8 * ngf, bn),
        new ReLU(),
        new Reshape([8 * ngf, 2, 2]),
      );
      up(8 * ngf, 4 * ngf, 5, 2, 2, 1);
      up(4 * ngf, 2 * ngf, 5, 2, 2, 0);
      up(2 * ngf, ngf, 5, 2, 2, 1);
      layers.push(new ConvTranspose2d(ngf, nc, 5, { ...c, stride: 2, padding: 2, outputPadding: 1 }), new Tanh());
    } else if (S === 64) {
      up(nz, 8 * ngf, 4, 1, 0);
      up(8 * ngf, 4 * ngf, 4, 2, 1);
      up(4 * ngf, 2 * ngf, 4, 2, 1);
      up(2 * ngf, ngf, 4, 2, 1);
      layers.push(new ConvTranspose2d(ngf, nc, 4, { ...c, stride: 2, padding: 1, bias: false }), new Tanh());
    } else if (S === 32) {
      up(nz, 4 * ngf, 4, 1, 0);
      up(4 * ngf, 2 * ngf, 4, 2, 1);
      up(2 * ngf, ngf, 4, 2, 1);
      layers.push(new ConvTranspose2d(ngf, nc, 4, { ...c, stride: 2, padding: 1, bias: false }), new Tanh());
    } else {
      up(nz, 2 * ngf, 7, 1, 0);
      up(2 * ngf, ngf, 4, 2, 1);
      layers.push(new ConvTranspose2d(ngf, nc, 4, { ...c, stride: 2, padding: 1, bias: false }), new Tanh());
    }
    this.main = this.registerModule('main', new Sequential(...layers));
    if (opts.dcganInit ?? true) dcganInit(this, { rng: c.rng, linear: true });
  }

  forward(z: Tensor, opts?: ForwardOptions): Tensor {
    const op = 'DCGANGenerator';
    const ok = (z.rank === 2 || (z.rank === 4 && z.shape[2] === 1 && z.shape[3] === 1)) && z.shape[1] === this.nz;
    if (!ok) fail(op, `z must be [N, ${this.nz}] or [N, ${this.nz}, 1, 1], got ${fmtShape(z.shape)}`);
    const input = this.variant === 'tf' ? reshape(z, [z.shape[0]!, this.nz]) : reshape(z, [z.shape[0]!, this.nz, 1, 1]);
    return this.main.forward(input, opts);
  }
}

/**
 * DCGAN discriminator: images [N, nc, S, S] -> logits [N] (probabilities with `sigmoid: true`).
 * For S = 64 it is PresGAN's discriminator: 4x4 stride-2 convolutions nc -> ndf (LeakyReLU 0.2,
 * no BatchNorm) -> 2ndf -> 4ndf -> 8ndf (BatchNorm, LeakyReLU), then a 4x4 valid convolution to 1.
 */
export class DCGANDiscriminator extends Module {
  readonly imageSize: DcganImageSize;
  readonly nc: number;
  readonly main: Sequential;

  constructor(opts: DcganDiscriminatorOptions) {
    super();
    const op = 'DCGANDiscriminator';
    const ndf = opts.ndf ?? 64;
    const nc = opts.nc ?? 3;
    const S = opts.imageSize;
    const slope = opts.slope ?? 0.2;
    const variant = opts.variant ?? 'pytorch';
    if (S !== 28 && S !== 32 && S !== 64) fail(op, `imageSize must be 28, 32 or 64, got ${String(S)}`);
    if (variant === 'tf' && S !== 28) fail(op, `variant 'tf' is defined for imageSize 28, got ${S}`);
    this.imageSize = S;
    this.nc = nc;
    const c = { dtype: opts.dtype ?? 'float32', rng: rngOption(op, opts) } as const;
    const bn: BatchNormOptions = {
      ...opts.bnOptions,
      dtype: c.dtype,
      ...(opts.bnStreams ? { streams: opts.bnStreams } : {}),
    };
    const layers: Module[] = [];
    const down = (cin: number, cout: number, k: number, p: number, withBn: boolean): void => {
      layers.push(new Conv2d(cin, cout, k, { ...c, stride: 2, padding: p, bias: variant === 'tf' }));
      if (withBn) layers.push(new BatchNorm2d(cout, bn));
      layers.push(new LeakyReLU(slope));
    };
    if (variant === 'tf') {
      // 28 -> 14 (ndf) -> 7 (2ndf) -> 4 (4ndf) -> 2 (8ndf), 5x5 stride 2, then Linear to a logit.
      down(nc, ndf, 5, 2, false);
      down(ndf, 2 * ndf, 5, 2, true);
      down(2 * ndf, 4 * ndf, 5, 2, true);
      down(4 * ndf, 8 * ndf, 5, 2, true);
      layers.push(new Reshape([8 * ndf * 4]), new Linear(8 * ndf * 4, 1, c));
    } else {
      const widths = S === 64 ? [ndf, 2 * ndf, 4 * ndf, 8 * ndf] : S === 32 ? [ndf, 2 * ndf, 4 * ndf] : [ndf, 2 * ndf];
      let cin = nc;
      widths.forEach((w, i) => {
        down(cin, w, 4, 1, i > 0);
        cin = w;
      });
      layers.push(new Conv2d(cin, 1, S === 28 ? 7 : 4, { ...c, stride: 1, padding: 0, bias: false }));
    }
    if (opts.sigmoid) layers.push(new Sigmoid());
    this.main = this.registerModule('main', new Sequential(...layers));
    if (opts.dcganInit ?? true) dcganInit(this, { rng: c.rng, linear: true });
  }

  forward(x: Tensor, opts?: ForwardOptions): Tensor {
    const S = this.imageSize;
    if (x.rank !== 4 || x.shape[1] !== this.nc || x.shape[2] !== S || x.shape[3] !== S)
      fail('DCGANDiscriminator', `input must be [N, ${this.nc}, ${S}, ${S}], got ${fmtShape(x.shape)}`);
    const y = this.main.forward(x, opts);
    return reshape(y, [x.shape[0]!]);
  }
}

/** `new DCGANGenerator(opts)`. */
export function dcganGenerator(opts: DcganGeneratorOptions): DCGANGenerator {
  return new DCGANGenerator(opts);
}

/** `new DCGANDiscriminator(opts)`. */
export function dcganDiscriminator(opts: DcganDiscriminatorOptions): DCGANDiscriminator {
  return new DCGANDiscriminator(opts);
}
