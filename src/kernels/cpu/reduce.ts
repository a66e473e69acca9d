// CPU kernels for the reductions: sum, max and min over axes, argmax and argmin.
import type { Kernel } from '../../tensor/backend.js';
import { sizeOf, stridesOf } from '../../tensor/shape.js';
import { type Arr, alloc, stridedOffsets } from './util.js';

/**
 * acc[out(i)] += x[i] for every i in increasing order, where out() drops the reduced axes: the
 * shape is merged into alternating runs of kept and reduced axes (size-1 axes dropped), and the
 * innermost run is walked contiguously (a running sum when reduced, a vector add when kept) while
 * an odometer over the outer runs steps the output offset. No per-element offset table, and each
 * output sums its inputs in increasing index order, as the table walk did: the same bits.
 */
function sumInto(xd: Arr, shape: readonly number[], axes: readonly number[], acc: Float64Array): void {
  const sizes: number[] = [];
  const reduced: boolean[] = [];
  shape.forEach((n, d) => {
    if (n === 1) return;
    const r = axes.includes(d);
    if (sizes.length > 0 && reduced[reduced.length - 1] === r) sizes[sizes.length - 1]! *= n;
    else {
      sizes.push(n);
      reduced.push(r);
    }
  });
  if (sizes.length === 0) {
    acc[0]! += xd[0]!;
    return;
  }
  // Output stride of each run: the product of the kept runs after it (0 for reduced runs).
  const outStride = sizes.map(() => 0);
  for (let d = sizes.length - 1, s = 1; d >= 0; d--) {
    if (!reduced[d]) {
      outStride[d] = s;
      s *= sizes[d]!;
    }
  }
  const last = sizes.length - 1;
  const len = sizes[last]!;
  const innerReduced = reduced[last]!;
  const rows = len === 0 ? 0 : sizes.reduce((a, b) => a * b, 1) / len;
  const idx = new Array<number>(last).fill(0);
  let ob = 0;
  for (let r = 0, base = 0; r < rows; r++, base += len) {
    if (innerReduced) {
      let s = acc[ob]!;
      for (let i = 0; i < len; i++) s += xd[base + i]!;
      acc[ob] = s;
    } else {
      for (let i = 0; i < len; i++) acc[ob + i]! += xd[base + i]!;
    }
    for (let d = last - 1; d >= 0; d--) {
      ob += outStride[d]!;
      if (++idx[d]! < sizes[d]!) break;
      ob -= outStride[d]! * sizes[d]!;
      idx[d] = 0;
    }
  }
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
  if (op === 'sum') {
    sumInto(xd, x.shape, axes, acc);
  } else {
    const outStrides = stridesOf(out.shape);
    const toOut = stridedOffsets(
      x.shape,
      x.shape.map((_, d) => (axes.includes(d) ? 0 : outStrides[d]!)),
    );
    if (op === 'max') {
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
