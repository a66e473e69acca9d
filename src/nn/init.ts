// Parameter initialisers (PyTorch's nn.init): constant, uniform, normal, Xavier, Kaiming,
// orthogonal and the layer defaults.

import { fail, fmtShape } from '../errors.js';
import { type Generator, getDefaultGenerator, type RngOptions, rngOption } from '../random/generator.js';
import { noGrad, tensorFromArray, tidy } from '../tensor/engine.js';
import { full } from '../tensor/ops/index.js';
import { sizeOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Float dtypes parameters can have. */
export type FloatDType = 'float32' | 'float64';

/** Options of the initialisers; `rng` defaults to the global default generator (see `seed()`). */
export interface InitOptions extends RngOptions {
  dtype?: FloatDType;
}

export type Nonlinearity =
  | 'linear'
  | 'conv1d'
  | 'conv2d'
  | 'conv_transpose2d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leaky_relu'
  | 'selu';

export type FanMode = 'fan_in' | 'fan_out';

function gen(opts: InitOptions): Generator {
  return rngOption('init', opts) ?? getDefaultGenerator();
}

function checkDims(op: string, shape: readonly number[], min: number): void {
  if (shape.length < min) fail(op, `needs a tensor shape with at least ${min} dimensions, got ${fmtShape(shape)}`);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) fail(op, `invalid shape ${fmtShape(shape)}`);
}

/**
 * Fan-in and fan-out as PyTorch computes them: for a weight [d0, d1, ...rest],
 * fanIn = d1 * prod(rest), fanOut = d0 * prod(rest). (For ConvTranspose2d's [Cin, Cout/g, kH, kW]
 * this takes Cout/g as the fan-in, as PyTorch does.)
 */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  checkDims('fans', shape, 2);
  const rf = sizeOf(shape.slice(2));
  return { fanIn: shape[1]! * rf, fanOut: shape[0]! * rf };
}

/** PyTorch's `calculate_gain`: the recommended scale for a nonlinearity (`param` is the leaky slope). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'conv_transpose2d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const s = param ?? 0.01;
      return Math.sqrt(2 / (1 + s * s));
    }
    case 'selu':
      return 3 / 4;
    default:
      return fail('calculateGain', `unknown nonlinearity '${String(nonlinearity)}'`);
  }
}

/** Constant fill. */
export function constant(shape: readonly number[], value: number, opts: InitOptions = {}): Tensor {
  return full(shape, value, opts.dtype ?? 'float32');
}

export function zeros(shape: readonly number[], opts: InitOptions = {}): Tensor {
  return constant(shape, 0, opts);
}

export function ones(shape: readonly number[], opts: InitOptions = {}): Tensor {
  return constant(shape, 1, opts);
}

/** U(low, high) draws. */
export function uniform(shape: readonly number[], low = 0, high = 1, opts: InitOptions = {}): Tensor {
  if (!(high >= low)) fail('init.uniform', `needs low <= high, got ${low}, ${high}`);
  return noGrad(() => tidy(() => gen(opts).uniform(shape, low, high, { dtype: opts.dtype ?? 'float32' })));
}

/** N(mean, std^2) draws. */
export function normal(shape: readonly number[], mean = 0, std = 1, opts: InitOptions = {}): Tensor {
  if (!(std >= 0)) fail('init.normal', `std must be non-negative, got ${std}`);
  return noGrad(() => tidy(() => gen(opts).normal(shape, mean, std, { dtype: opts.dtype ?? 'float32' })));
}

/** Glorot/Xavier uniform: U(-a, a) with a = gain sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform(shape: readonly number[], gain = 1, opts: InitOptions = {}): Tensor {
  const { fanIn, fanOut } = fans(shape);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(shape, -a, a, opts);
}

/** Glorot/Xavier normal: N(0, std^2) with std = gain sqrt(2 / (fanIn + fanOut)). */
export function xavierNormal(shape: readonly number[], gain = 1, opts: InitOptions = {}): Tensor {
  const { fanIn, fanOut } = fans(shape);
  return normal(shape, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), opts);
}

export interface KaimingOptions extends InitOptions {
  /** Negative slope of the leaky ReLU (default 0). */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

function kaimingStd(op: string, shape: readonly number[], o: KaimingOptions): number {
  const { fanIn, fanOut } = fans(shape);
  const mode = o.mode ?? 'fan_in';
  if (mode !== 'fan_in' && mode !== 'fan_out') fail(op, `mode must be 'fan_in' or 'fan_out', got '${String(mode)}'`);
  const fan = mode === 'fan_in' ? fanIn : fanOut;
  if (fan === 0) fail(op, `cannot initialise a tensor with zero ${mode} (shape ${fmtShape(shape)})`);
  const gain = calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0);
  return gain / Math.sqrt(fan);
}

/** He/Kaiming uniform: U(-b, b) with b = gain sqrt(3 / fan) (PyTorch's `kaiming_uniform_`). */
export function kaimingUniform(shape: readonly number[], opts: KaimingOptions = {}): Tensor {
  const b = Math.sqrt(3) * kaimingStd('kaimingUniform', shape, opts);
  return uniform(shape, -b, b, opts);
}

/** He/Kaiming normal: N(0, (gain / sqrt(fan))^2). */
export function kaimingNormal(shape: readonly number[], opts: KaimingOptions = {}): Tensor {
  return normal(shape, 0, kaimingStd('kaimingNormal', shape, opts), opts);
}

/**
 * A (semi-)orthogonal matrix scaled by `gain`, as PyTorch's `orthogonal_`: the weight is viewed as
 * [d0, prod(rest)]; a Gaussian matrix is orthonormalised (QR by modified Gram-Schmidt on the host,
 * in float64, signs fixed by diag(R)), transposed when d0 < prod(rest).
 * The draws are made on the CPU and uploaded, so the result is the same on every backend.
 */
export function orthogonal(shape: readonly number[], gain = 1, opts: InitOptions = {}): Tensor {
  checkDims('orthogonal', shape, 2);
  const rows = shape[0]!;
  const cols = sizeOf(shape.slice(1));
  const g = gen(opts);
  // Gaussian draws on the CPU backend (same Philox bits as any backend would give).
  const flat = noGrad(() =>
    tidy(() => Float64Array.from(g.normal([rows, cols], 0, 1, { dtype: 'float64', backend: 'cpu' }).dataSync())),
  );
  // Work on the tall matrix A [n x k] with n >= k; columns are orthonormalised.
  const tall = rows >= cols;
  const n = tall ? rows : cols;
  const k = tall ? cols : rows;
  const A = new Float64Array(n * k);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = flat[r * cols + c]!;
      if (tall) A[r * k + c] = v;
      else A[c * k + r] = v;
    }
  }
  // Modified Gram-Schmidt: Q's columns in place; the sign of R's diagonal is the sign of the norm
  // before normalising, which is positive, so Q * sign(diag R) = Q.
  for (let j = 0; j < k; j++) {
    for (let i = 0; i < j; i++) {
      let dot = 0;
      for (let r = 0; r < n; r++) dot += A[r * k + i]! * A[r * k + j]!;
      for (let r = 0; r < n; r++) A[r * k + j] = A[r * k + j]! - dot * A[r * k + i]!;
    }
    let nrm = 0;
    for (let r = 0; r < n; r++) nrm += A[r * k + j]! ** 2;
    nrm = Math.sqrt(nrm);
    if (nrm === 0) fail('orthogonal', 'degenerate Gaussian draw (zero column); use another generator state');
    for (let r = 0; r < n; r++) A[r * k + j] = A[r * k + j]! / nrm;
  }
  const dtype = opts.dtype ?? 'float32';
  const out = dtype === 'float64' ? new Float64Array(rows * cols) : new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[r * cols + c] = gain * (tall ? A[r * k + c]! : A[c * k + r]!);
  }
  return tensorFromArray(out, shape, dtype);
}

/** PyTorch's default weight init for Linear and Conv layers: kaiming_uniform with a = sqrt(5), i.e. U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
export function torchDefaultWeight(shape: readonly number[], opts: InitOptions = {}): Tensor {
  return kaimingUniform(shape, { ...opts, a: Math.sqrt(5) });
}

/** PyTorch's default bias init: U(-1/sqrt(fanIn), 1/sqrt(fanIn)) with the weight's fan-in (0 when fanIn is 0). */
export function torchDefaultBias(size: number, fanIn: number, opts: InitOptions = {}): Tensor {
  const b = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return uniform([size], -b, b, opts);
}
