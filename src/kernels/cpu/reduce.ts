// CPU kernels for the reductions: sum, max and min over axes, argmax and argmin.
import type { Kernel } from '../../tensor/backend.js';
import { sizeOf, stridesOf } from '../../tensor/shape.js';
import { type Arr, alloc, stridedOffsets } from './util.js';

/**
 * The reduction as [outer, reduced, inner] when the reduced axes are one run of adjacent axes
 * (after dropping size-1 axes): sums of rows, of columns, or of a middle axis. Undefined otherwise.
 */
function asThreeLevels(shape: readonly number[], axes: readonly number[]): [number, number, number] | undefined {
  let outer = 1;
  let reduced = 1;
  let inner = 1;
  let stage = 0; // 0: before the reduced run, 1: in it, 2: after it
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    const r = axes.includes(d);
    if (r && stage === 2) return undefined;
    if (r) stage = 1;
    else if (stage === 1) stage = 2;
    if (r) reduced *= n;
    else if (stage === 0) outer *= n;
    else inner *= n;
  }
  return [outer, reduced, inner];
}

/**
 * Sum (accumulated in float64), or NaN-propagating max/min, over `axes` (kept as size 1). Each
 * output sees its inputs in increasing index order, whichever loop runs.
 */
export const reduce: Kernel<'reduce'> = (inputs, { op, axes }, out) => {
  const x = inputs[0]!;
  const xd = x.data as Arr;
  const m = sizeOf(out.shape);
  const acc = new Float64Array(m);
  const levels = asThreeLevels(x.shape, axes);
  if (op === 'sum' && levels !== undefined) {
    // The common cases (a full sum, bias gradients [batch, n] -> [n], row sums) without an offset table.
    const [outer, reduced, inner] = levels;
    for (let o = 0; o < outer; o++) {
      const base = o * reduced * inner;
      const ob = o * inner;
      if (inner === 1) {
        let s = 0;
        for (let r = 0; r < reduced; r++) s += xd[base + r]!;
        acc[o] = s;
      } else {
        for (let r = 0; r < reduced; r++) {
          const row = base + r * inner;
          for (let i = 0; i < inner; i++) acc[ob + i]! += xd[row + i]!;
        }
      }
    }
  } else {
    const outStrides = stridesOf(out.shape);
    const toOut = stridedOffsets(
      x.shape,
      x.shape.map((_, d) => (axes.includes(d) ? 0 : outStrides[d]!)),
    );
    if (op === 'sum') {
      for (let i = 0; i < xd.length; i++) acc[toOut[i]!]! += xd[i]!;
    } else if (op === 'max') {
      acc.fill(Number.NEGATIVE_INFINITY);
      for (let i = 0; i < xd.length; i++) {
        const v = xd[i]!;
        const o = toOut[i]!;
        if (v !== v || v > acc[o]!) acc[o] = v;
        else if (acc[o] !== acc[o]) acc[o] = Number.NaN;
      }
    } else {
      acc.fill(Number.POSITIVE_INFINITY);
      for (let i = 0; i < xd.length; i++) {
        const v = xd[i]!;
        const o = toOut[i]!;
        if (v !== v || v < acc[o]!) acc[o] = v;
      }
    }
  }
  // Once NaN, stays NaN: `v > NaN` is false, so later values never replace it.
  const y = alloc(out.dtype, out.shape, false);
  y.set(acc);
  return y;
};

/** Index of the first max/min along one axis; the first NaN wins (as in NumPy). */
export const argReduce: Kernel<'argReduce'> = (inputs, { op, axis }, out) => {
  const x = inputs[0]!;
  const xd = x.data as Arr;
  const n = x.shape[axis]!;
  const inner = sizeOf(x.shape.slice(axis + 1));
  const outer = sizeOf(x.shape.slice(0, axis));
  const y = alloc('int32', out.shape);
  const better = op === 'argmax' ? (v: number, b: number) => v > b : (v: number, b: number) => v < b;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let best = xd[base]!;
      let bi = 0;
      for (let k = 1; k < n && best === best; k++) {
        const v = xd[base + k * inner]!;
        if (v !== v || better(v, best)) {
          best = v;
          bi = k;
        }
      }
      y[o * inner + i] = bi;
    }
  }
  return y;
};
