// Fronts of the fused neural-network primitives (training-mode batch norm, LeakyReLU and their
// gradients), and the composite formulas their higher-order gradient rules differentiate.
import { fail, fmtShape } from '../../errors.js';
import { isFloat } from '../dtype.js';
import { runPrimitive } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { add, mul, rsqrt, square, sub } from './elementwise.js';
import { concat, reshape, slicePrimitive } from './movement.js';
import { mean, sum } from './reduce.js';

function checkBatchNormInput(op: string, x: Tensor): void {
  if (!isFloat(x.dtype) || x.rank < 2 || x.rank > 4) {
    fail(op, `expected a float [N, C], [N, C, L] or [N, C, H, W] tensor, got ${x.dtype} ${fmtShape(x.shape)}`);
  }
}

function checkChannelVector(op: string, x: Tensor, t: Tensor, name: string): void {
  if (t.dtype !== x.dtype || t.rank !== 1 || t.shape[0] !== x.shape[1]) {
    fail(op, `${name} must be ${x.dtype} [${x.shape[1]}], got ${t.dtype} ${fmtShape(t.shape)}`);
  }
}

/** Per-channel (axis 1) mean and biased variance of x as [2, C], rounded like the composite. */
export function batchNormStats(x: Tensor): Tensor {
  checkBatchNormInput('batchNorm', x);
  return runPrimitive('batchNormStats', [x], {}, [2, x.shape[1]!], x.dtype);
}

/**
 * (x - mean) rsqrt(var + eps) (* weight + bias), with stats = batchNormStats(x) ([2, C]: mean,
 * biased var). Its gradient rule differentiates through the statistics as well (so stats gets no
 * cotangent from it), which is right only for the stats of this x; hence stats are never taken
 * from the caller but made here and returned beside y (BatchNorm's running averages read them).
 */
export function batchNormTrain(x: Tensor, eps: number, weight?: Tensor, bias?: Tensor): { y: Tensor; stats: Tensor } {
  const op = 'batchNorm';
  checkBatchNormInput(op, x);
  if ((weight === undefined) !== (bias === undefined)) fail(op, 'weight and bias go together');
  if (weight !== undefined && bias !== undefined) {
    checkChannelVector(op, x, weight, 'weight');
    checkChannelVector(op, x, bias, 'bias');
  }
  const stats = batchNormStats(x);
  const inputs = weight !== undefined && bias !== undefined ? [x, stats, weight, bias] : [x, stats];
  return { y: runPrimitive('batchNorm', inputs, { eps }, x.shape, x.dtype), stats };
}

/** Row `i` of a [2, C] statistics tensor as [C]. */
export function statsRow(stats: Tensor, i: number): Tensor {
  const c = stats.shape[1]!;
  return reshape(slicePrimitive(stats, [i, 0], [1, 1], [1, c]), [c]);
}

/** The x-cotangent of batchNorm (through the statistics too) for stats = batchNormStats(x). */
export function batchNormBackward(x: Tensor, stats: Tensor, g: Tensor, eps: number, weight?: Tensor): Tensor {
  const inputs = weight === undefined ? [x, stats, g] : [x, stats, g, weight];
  return runPrimitive('batchNormBackward', inputs, { eps }, x.shape, x.dtype);
}

/** [2, C] = (sum g * xhat, sum g): batchNorm's weight and bias cotangents. */
export function batchNormParamGrad(x: Tensor, stats: Tensor, g: Tensor, eps: number): Tensor {
  return runPrimitive('batchNormParamGrad', [x, stats, g], { eps }, [2, x.shape[1]!], x.dtype);
}

/** g where x > 0, else g * slope (+0 with slope 0: the ReLU gradient), in one pass. */
export function leakyReluBackward(x: Tensor, g: Tensor, slope: number): Tensor {
  return runPrimitive('leakyReluBackward', [x, g], { slope }, x.shape, x.dtype);
}

// ------------------------------------------------------------------ composite references

/** The axes the statistics reduce over (all but 1) and the broadcast shape of a [C] vector. */
function layout(x: Tensor): { axes: number[]; bshape: number[] } {
  return {
    axes: x.shape.map((_, i) => i).filter((i) => i !== 1),
    bshape: x.shape.map((d, i) => (i === 1 ? d : 1)),
  };
}

/** mean, centred x and rstd with ordinary ops (what BatchNorm computed before the fused kernels). */
function compositeNormalise(x: Tensor, eps: number): { xhat: Tensor; rstd: Tensor; axes: number[] } {
  const { axes } = layout(x);
  const mu = mean(x, axes, { keepdims: true });
  const centred = sub(x, mu);
  const rstd = rsqrt(add(mean(square(centred), axes, { keepdims: true }), eps));
  return { xhat: mul(centred, rstd), rstd, axes };
}

/** batchNormStats with ordinary ops. */
export function compositeStats(x: Tensor): Tensor {
  const { axes } = layout(x);
  const c = x.shape[1]!;
  const mu = mean(x, axes, { keepdims: true });
  const v = mean(square(sub(x, mu)), axes, { keepdims: true });
  return concat([reshape(mu, [1, c]), reshape(v, [1, c])], 0);
}

/** batchNormBackward with ordinary ops: w rstd (g - mean(g) - xhat mean(g xhat)). */
export function compositeBackward(x: Tensor, g: Tensor, eps: number, weight?: Tensor): Tensor {
  const { xhat, rstd, axes } = compositeNormalise(x, eps);
  const mg = mean(g, axes, { keepdims: true });
  const mgx = mean(mul(g, xhat), axes, { keepdims: true });
  const dx = mul(rstd, sub(sub(g, mg), mul(xhat, mgx)));
  return weight === undefined ? dx : mul(dx, reshape(weight, layout(x).bshape));
}

/** batchNormParamGrad with ordinary ops. */
export function compositeParamGrad(x: Tensor, g: Tensor, eps: number): Tensor {
  const { xhat, axes } = compositeNormalise(x, eps);
  const c = x.shape[1]!;
  return concat([reshape(sum(mul(g, xhat), axes), [1, c]), reshape(sum(g, axes), [1, c])], 0);
}
