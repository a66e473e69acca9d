// CPU kernels for the movement primitives: permute, expand, slice, pad, concat and flip.
import type { Kernel } from '../../tensor/backend.js';
import { sizeOf, stridesOf } from '../../tensor/shape.js';
import { type Arr, alloc, broadcastStrides, stridedOffsets } from './util.js';

function gatherBy(x: Arr, offsets: Int32Array, y: Arr): Arr {
  for (let i = 0; i < y.length; i++) y[i] = x[offsets[i]!]!;
  return y;
}

export const permute: Kernel<'permute'> = (inputs, { perm }, out) => {
  const x = inputs[0]!;
  const s = stridesOf(x.shape);
  return gatherBy(
    x.data as Arr,
    stridedOffsets(
      out.shape,
      perm.map((p) => s[p]!),
    ),
    alloc(out.dtype, out.shape),
  );
};

export const expand: Kernel<'expand'> = (inputs, _p, out) => {
  const x = inputs[0]!;
  return gatherBy(
    x.data as Arr,
    stridedOffsets(out.shape, broadcastStrides(x.shape, out.shape)),
    alloc(out.dtype, out.shape),
  );
};

export const slice: Kernel<'slice'> = (inputs, { starts, steps }, out) => {
  const x = inputs[0]!;
  const s = stridesOf(x.shape);
  const base = starts.reduce((acc, st, d) => acc + st * s[d]!, 0);
  return gatherBy(
    x.data as Arr,
    stridedOffsets(
      out.shape,
      steps.map((st, d) => st * s[d]!),
      base,
    ),
    alloc(out.dtype, out.shape),
  );
};

export const pad: Kernel<'pad'> = (inputs, { before, steps, value }, out) => {
  const x = inputs[0]!;
  const y = alloc(out.dtype, out.shape);
  if (value !== 0) y.fill(value);
  const s = stridesOf(out.shape);
  const base = before.reduce((acc, b, d) => acc + b * s[d]!, 0);
  const dst = stridedOffsets(
    x.shape,
    steps.map((st, d) => st * s[d]!),
    base,
  );
  const xd = x.data as Arr;
  for (let i = 0; i < xd.length; i++) y[dst[i]!] = xd[i]!;
  return y;
};

export const concat: Kernel<'concat'> = (inputs, { axis }, out) => {
  const y = alloc(out.dtype, out.shape);
  const outer = sizeOf(out.shape.slice(0, axis));
  const rowOut = sizeOf(out.shape.slice(axis));
  let col = 0;
  for (const t of inputs) {
    const row = sizeOf(t.shape.slice(axis));
    const xd = t.data as Arr;
    for (let o = 0; o < outer; o++) y.set(xd.subarray(o * row, (o + 1) * row), o * rowOut + col);
    col += row;
  }
  return y;
};

export const flip: Kernel<'flip'> = (inputs, { axes }, out) => {
  const x = inputs[0]!;
  const s = stridesOf(x.shape);
  let base = 0;
  const strides = s.map((st, d) => {
    if (!axes.includes(d)) return st;
    base += (x.shape[d]! - 1) * st;
    return -st;
  });
  return gatherBy(x.data as Arr, stridedOffsets(out.shape, strides, base), alloc(out.dtype, out.shape));
};
