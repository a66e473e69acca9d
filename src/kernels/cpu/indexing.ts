// CPU kernels for gather and scatterAdd.

import { fail, fmtShape } from '../../errors.js';
import type { Kernel } from '../../tensor/backend.js';
import { stridesOf } from '../../tensor/shape.js';
import { type Arr, alloc, stridedOffsets } from './util.js';

/** For idx of `shape`, the base offset into a tensor of `target` strides with the `axis` coordinate zeroed. */
function baseOffsets(shape: readonly number[], target: readonly number[], axis: number): Int32Array {
  const s = stridesOf(target);
  return stridedOffsets(
    shape,
    s.map((st, d) => (d === axis ? 0 : st)),
  );
}

function checkIndex(op: string, i: number, n: number, shape: readonly number[], axis: number): void {
  if (i < 0 || i >= n)
    fail(op, `index ${i} is out of range for axis ${axis} of size ${n} (input shape ${fmtShape(shape)})`);
}

export const gather: Kernel<'gather'> = (inputs, { axis }, out) => {
  const [x, idx] = inputs as [(typeof inputs)[0], (typeof inputs)[0]];
  const xd = x.data as Arr;
  const id = idx.data as Int32Array;
  const n = x.shape[axis]!;
  const step = stridesOf(x.shape)[axis]!;
  const base = baseOffsets(idx.shape, x.shape, axis);
  const y = alloc(out.dtype, out.shape);
  for (let i = 0; i < y.length; i++) {
    const k = id[i]!;
    checkIndex('gather', k, n, x.shape, axis);
    y[i] = xd[base[i]! + k * step]!;
  }
  return y;
};

export const scatterAdd: Kernel<'scatterAdd'> = (inputs, { axis }, out) => {
  const [b, idx, src] = inputs as [(typeof inputs)[0], (typeof inputs)[0], (typeof inputs)[0]];
  const y = alloc(out.dtype, out.shape);
  y.set(b.data as Arr);
  const id = idx.data as Int32Array;
  const sd = src.data as Arr;
  const n = b.shape[axis]!;
  const step = stridesOf(b.shape)[axis]!;
  const base = baseOffsets(idx.shape, b.shape, axis);
  for (let i = 0; i < sd.length; i++) {
    const k = id[i]!;
    checkIndex('scatterAdd', k, n, b.shape, axis);
    y[base[i]! + k * step]! += sd[i]!;
  }
  return y;
};
