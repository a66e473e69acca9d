// The primitive set and its parameters: the ops every backend implements and autodiff
// differentiates.
import type { DType } from './dtype.js';

/**
 * The primitive set. Every other op in the library is a composition of these; each primitive has
 * one gradient rule (src/autograd/rules.ts), one CPU kernel (src/kernels/cpu) and one WGSL kernel
 * (src/kernels/wgsl). Families (unary, binary, compare, reduce) carry their member as a parameter
 * and have per-member tables, so a missing member is a compile error too.
 */
export const UNARY_OPS = [
  'neg',
  'exp',
  'log',
  'log1p',
  'expm1',
  'sqrt',
  'rsqrt',
  'abs',
  'sign',
  'sin',
  'cos',
  'tanh',
  'sigmoid',
  'relu',
  'floor',
  'ceil',
  'round',
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

/**
 * `tanhBackward(y, g)` = g (1 - y^2), the gradient of tanh from its output: one fused pass where
 * the rule would otherwise run three kernels (square, sub, mul), each allocating a result.
 */
export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'atan2', 'tanhBackward'] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

export const COMPARE_OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
export type CompareOp = (typeof COMPARE_OPS)[number];

export const REDUCE_OPS = ['sum', 'max', 'min'] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];

export type ArgReduceOp = 'argmax' | 'argmin';

/** 2-D convolution geometry (NCHW input, OIHW filter: [outC, inC/groups, kH, kW]). */
export interface Conv2dParams {
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}

/** Parameters of each primitive. Shapes of inputs and output travel separately. */
export interface PrimitiveParams {
  /** y = f(x), same shape and dtype (float). */
  unary: { op: UnaryOp };
  /** z = f(x, y) with NumPy broadcasting; both inputs share a dtype. */
  binary: { op: BinaryOp };
  /** bool result with broadcasting. */
  compare: { op: CompareOp };
  /** where(cond, a, b), all three broadcast together. */
  where: Record<string, never>;
  cast: { dtype: DType };
  /** Reduction over `axes`; the output keeps the reduced axes with size 1. max/min propagate NaN. */
  reduce: { op: ReduceOp; axes: number[] };
  /** Index of the first max/min along `axis` (kept with size 1), int32. */
  argReduce: { op: ArgReduceOp; axis: number };
  /** Batched matmul [..., m, k] x [..., k, n] with broadcast batch dims and transpose flags. */
  matmul: { transA: boolean; transB: boolean };
  /** x [N, C, H, W], w [O, C/groups, kH, kW] -> [N, O, oH, oW]. */
  conv2d: Conv2dParams;
  /** The adjoint of conv2d in x (transposed convolution): dy [N, O, oH, oW], w -> dx [N, C, H, W]. */
  conv2dBackwardInput: Conv2dParams & { inputShape: number[] };
  /** The adjoint of conv2d in w: x, dy -> dw [O, C/groups, kH, kW]. */
  conv2dBackwardFilter: Conv2dParams & { filterShape: number[] };
  /** Same elements, new shape (shares storage). */
  reshape: { shape: number[] };
  permute: { perm: number[] };
  /** Broadcast to a larger shape (NumPy rules). */
  expand: { shape: number[] };
  /** out[i] = x[starts + i * steps] per axis, steps >= 1. */
  slice: { starts: number[]; steps: number[]; shape: number[] };
  /**
   * The transpose of slice, with a fill value: out is `shape` filled with `value`, and
   * out[before + i * steps] = x[i]. steps > 1 is interior padding.
   */
  pad: { before: number[]; steps: number[]; shape: number[]; value: number };
  concat: { axis: number };
  flip: { axes: number[] };
  /** take_along_axis: out[..., j, ...] = x[..., idx[..., j, ...], ...]; idx has x's rank. */
  gather: { axis: number };
  /** out = base; out[..., idx[..., j, ...], ...] += src[..., j, ...] (collisions accumulate). */
  scatterAdd: { axis: number };
  /**
   * Per-channel batch statistics of x [N, C, ...] (axis 1): out [2, C] = (mean, biased variance),
   * rounded like the composite mean(x) and mean(square(x - mean)). See src/tensor/ops/fused-nn.ts.
   */
  batchNormStats: Record<string, never>;
  /**
   * Training-mode batch normalisation: inputs (x, stats, weight?, bias?), stats = batchNormStats(x)
   * by contract (weight and bias [C], both or neither): (x - mean) rsqrt(var + eps) (* weight + bias).
   */
  batchNorm: { eps: number };
  /** The x-cotangent of batchNorm (through the statistics too): inputs (x, stats, g, weight?). */
  batchNormBackward: { eps: number };
  /** [2, C] = (sum g * xhat, sum g) per channel: the weight and bias cotangents of batchNorm; inputs (x, stats, g). */
  batchNormParamGrad: { eps: number };
  /** x where x > 0, else x * slope. */
  leakyRelu: { slope: number };
  /** g where x > 0, else g * slope (exactly 0 when slope is 0: the ReLU gradient); inputs (x, g). */
  leakyReluBackward: { slope: number };
  /**
   * Philox-4x32-10 uniform draws in [0, 1): element i uses word i % 4 of the block with counter
   * (floor(i / 4) + offset, 0, stream[0], stream[1]) and key `key`; see src/random/philox.ts.
   */
  randomUniform: {
    key: [number, number];
    stream: [number, number];
    offset: number;
    /**
     * With a second stream: standard normals (float32) by the Box-Muller transform of
     * src/random/box-muller.ts, u1 from `stream` and u2 from this stream (same bits on every backend).
     */
    angleStream?: [number, number];
  };
}

export type PrimitiveName = keyof PrimitiveParams;

/** The primitives that run a kernel (reshape only relabels storage). */
export type KernelName = Exclude<PrimitiveName, 'reshape'>;
