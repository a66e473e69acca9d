// CPU kernels for the movement primitives: permute, expand, slice, pad, concat and flip.
import type { Kernel } from '../../tensor/backend.js';
import { sizeOf, stridesOf } from '../../tensor/shape.js';
import { broadcastMap } from './loops.js';
import { type Arr, alloc, stridedOffsets, wordsOf } from './util.js';

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

const copy = (v: number) => v;

/**
 * A broadcast copy through the coalesced loops of src/kernels/cpu/loops.ts (no per-element offset
 * table), moving 32-bit words so that every value, NaN payloads included, keeps its bits; float64
 * values move as two words through a trailing axis of 2.
 */
export const expand: Kernel<'expand'> = (inputs, _p, out) => {
  const x = inputs[0]!;
  const y = alloc(out.dtype, out.shape, false);
  if (out.dtype === 'bool') {
    broadcastMap('expand-bytes', copy, [x], out.shape, y);
    return y;
  }
  const pair = out.dtype === 'float64';
  const wide = (shape: readonly number[]) => (pair ? [...shape, 2] : shape);
  broadcastMap(
    'expand-words',
    copy,
    [{ data: wordsOf(x.data as Arr), shape: wide(x.shape) }],
    wide(out.shape),
    wordsOf(y),
    copy.toString(),
  );
  return y;
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
