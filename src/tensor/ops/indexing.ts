// Indexing ops: gather, take, scatterAdd, indexAdd and oneHot.
import { fail, fmtShape } from '../../errors.js';
import { runPrimitive } from '../engine.js';
import { normalizeAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { checkInt, checkTensor, describeValue, publicOp } from './args.js';
import { arange } from './convert.js';
import { cast, eq } from './elementwise.js';
import { broadcastTo, reshape, unsqueeze } from './movement.js';

function checkIndexTensor(op: string, idx: Tensor, name = 'indices'): void {
  checkTensor(op, idx, name);
  if (idx.dtype !== 'int32') fail(op, `indices must be int32, got ${idx.dtype} of shape ${fmtShape(idx.shape)}`);
}

/**
 * take_along_axis: out[..., j, ...] = x[..., idx[..., j, ...], ...] along `axis`. `idx` has x's rank
 * and x's sizes on every other axis. Out-of-range indices are an error.
 */
export function gather(x: Tensor, idx: Tensor, axis: number): Tensor {
  const op = 'gather';
  checkTensor(op, x);
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
  checkTensor(op, x);
  checkIndexTensor(op, indices);
  const ax = normalizeAxis(op, axis, x.rank);
  const k = indices.size;
  const idxShape = x.shape.map((_d, i) => (i === ax ? k : 1));
  const full = x.shape.map((d, i) => (i === ax ? k : d));
  return publicOp(op, () => {
    const g = gather(x, broadcastTo(reshape(indices, idxShape), full), ax);
    return reshape(g, [...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)]);
  });
}

/**
 * out = base; out[..., idx[..., j, ...], ...] += src[..., j, ...] along `axis`. Collisions add up.
 * `idx` and `src` share a shape that matches `base` on every axis but `axis`.
 */
export function scatterAdd(base: Tensor, idx: Tensor, src: Tensor, axis: number): Tensor {
  const op = 'scatterAdd';
  checkTensor(op, base, 'base');
  checkTensor(op, src, 'src');
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
  checkTensor(op, base, 'base');
  checkTensor(op, src, 'src');
  checkIndexTensor(op, indices);
  const ax = normalizeAxis(op, axis, base.rank);
  if (indices.rank !== 1) fail(op, `indices must be 1-D, got ${fmtShape(indices.shape)}`);
  if (src.rank !== base.rank || src.shape[ax] !== indices.size) {
    fail(
      op,
      `src ${fmtShape(src.shape)} must have base ${fmtShape(base.shape)}'s rank and ${indices.size} entries (one per index) on axis ${ax}`,
    );
  }
  const idxShape = src.shape.map((_d, i) => (i === ax ? indices.size : 1));
  return publicOp(op, () => scatterAdd(base, broadcastTo(reshape(indices, idxShape), src.shape), src, ax));
}

/**
 * One-hot encoding of int32 labels along a new last axis (float32 by default). Every label must lie
 * in [0, depth): an out-of-range label is an error (not an all-zero row); on WebGPU it is reported
 * at the next read-back.
 *
 * @example
 * ```ts
 * oneHot(tensor([2, 0], { dtype: 'int32' }), 3);   // [[0, 0, 1], [1, 0, 0]]
 * oneHot(tensor([3], { dtype: 'int32' }), 3);      // throws: oneHot: label 3 at flat index 0 is out of range [0, 3)
 * ```
 */
export function oneHot(labels: Tensor, depth: number, dtype: 'float32' | 'float64' = 'float32'): Tensor {
  const op = 'oneHot';
  checkIndexTensor(op, labels, 'labels');
  checkInt(op, depth, 'depth', 1);
  if (dtype !== 'float32' && dtype !== 'float64')
    fail(op, `dtype must be float32 or float64, got ${describeValue(dtype)}`);
  return publicOp(op, () => {
    const classes = arange(0, depth, 1, 'int32');
    const readSync = labels.backend.readSync;
    if (readSync !== undefined) {
      const s = labels.storageRef();
      const values = readSync.call(labels.backend, s.data, 'int32', labels.size);
      for (let i = 0; i < values.length; i++) {
        const v = values[i]!;
        if (v < 0 || v >= depth) fail(op, `label ${v} at flat index ${i} is out of range [0, ${depth})`);
      }
    } else {
      // No synchronous read (WebGPU): a gather of the labels reports an out-of-range one at the next read-back.
      take(classes, reshape(labels, [labels.size])).dispose();
    }
    const out = cast(eq(unsqueeze(labels, -1), classes), dtype);
    classes.dispose();
    return out;
  });
}
