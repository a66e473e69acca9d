// Indexing ops: gather, take, scatterAdd, indexAdd and oneHot.
import { fail, fmtShape } from '../../errors.js';
import { runPrimitive } from '../engine.js';
import { normalizeAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { arange } from './convert.js';
import { cast, eq } from './elementwise.js';
import { broadcastTo, reshape, unsqueeze } from './movement.js';

function checkIndexTensor(op: string, idx: Tensor): void {
  if (idx.dtype !== 'int32') fail(op, `indices must be int32, got ${idx.dtype} of shape ${fmtShape(idx.shape)}`);
}

/**
 * take_along_axis: out[..., j, ...] = x[..., idx[..., j, ...], ...] along `axis`. `idx` has x's rank
 * and x's sizes on every other axis. Out-of-range indices are an error.
 */
export function gather(x: Tensor, idx: Tensor, axis: number): Tensor {
  const op = 'gather';
  checkIndexTensor(op, idx);
  const ax = normalizeAxis(op, axis, x.rank);
  if (idx.rank !== x.rank || idx.shape.some((d, i) => i !== ax && d !== x.shape[i])) {
    fail(op, `indices of shape ${fmtShape(idx.shape)} must match input ${fmtShape(x.shape)} on every axis but ${ax}`);
  }
  return runPrimitive('gather', [x, idx], { axis: ax }, idx.shape, x.dtype);
}

/** Picks entries along `axis` by an int32 index tensor of any shape (NumPy's take). */
export function take(x: Tensor, indices: Tensor, axis = 0): Tensor {
  const op = 'take';
  checkIndexTensor(op, indices);
  const ax = normalizeAxis(op, axis, x.rank);
  const k = indices.size;
  const idxShape = x.shape.map((_d, i) => (i === ax ? k : 1));
  const full = x.shape.map((d, i) => (i === ax ? k : d));
  const g = gather(x, broadcastTo(reshape(indices, idxShape), full), ax);
  return reshape(g, [...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)]);
}

/**
 * out = base; out[..., idx[..., j, ...], ...] += src[..., j, ...] along `axis`. Collisions add up.
 * `idx` and `src` share a shape that matches `base` on every axis but `axis`.
 */
export function scatterAdd(base: Tensor, idx: Tensor, src: Tensor, axis: number): Tensor {
  const op = 'scatterAdd';
  checkIndexTensor(op, idx);
  const ax = normalizeAxis(op, axis, base.rank);
  if (idx.rank !== base.rank || idx.shape.some((d, i) => d !== src.shape[i] || (i !== ax && d !== base.shape[i]))) {
    fail(
      op,
      `indices ${fmtShape(idx.shape)} and source ${fmtShape(src.shape)} must have one shape matching base ${fmtShape(base.shape)} on every axis but ${ax}`,
    );
  }
  if (src.dtype !== base.dtype) fail(op, `source dtype ${src.dtype} differs from base dtype ${base.dtype}`);
  return runPrimitive('scatterAdd', [base, idx, src], { axis: ax }, base.shape, base.dtype);
}

/** out = base; out[..., indices[j], ...] += src[..., j, ...] along `axis` (torch.index_add). */
export function indexAdd(base: Tensor, axis: number, indices: Tensor, src: Tensor): Tensor {
  const op = 'indexAdd';
  checkIndexTensor(op, indices);
  const ax = normalizeAxis(op, axis, base.rank);
  if (indices.rank !== 1) fail(op, `indices must be 1-D, got ${fmtShape(indices.shape)}`);
  const idxShape = src.shape.map((_d, i) => (i === ax ? indices.size : 1));
  return scatterAdd(base, broadcastTo(reshape(indices, idxShape), src.shape), src, ax);
}

/** One-hot encoding of int32 labels along a new last axis (float32 by default). */
export function oneHot(labels: Tensor, depth: number, dtype: 'float32' | 'float64' = 'float32'): Tensor {
  checkIndexTensor('oneHot', labels);
  if (!Number.isInteger(depth) || depth <= 0) fail('oneHot', `depth must be a positive integer, got ${depth}`);
  const classes = arange(0, depth, 1, 'int32');
  const out = cast(eq(unsqueeze(labels, -1), classes), dtype);
  classes.dispose();
  return out;
}
