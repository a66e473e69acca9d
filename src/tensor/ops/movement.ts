// Movement ops: stopGradient, reshape, permute, transpose, broadcastTo, squeeze, slice, flip, pad,
// concat, stack, split and tile.
import { fail, fmtShape } from '../../errors.js';
import { runPrimitive, tensorFromStorage } from '../engine.js';
import { broadcastShapes, checkShape, normalizeAxes, normalizeAxis, shapesEqual, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { checkArray, checkInt, checkNumber, checkTensor, checkTensorList, describeValue, publicOp } from './args.js';

/** A tensor sharing `x`'s storage that autodiff treats as a constant. */
export function stopGradient(x: Tensor): Tensor {
  checkTensor('stopGradient', x);
  x.assertAlive('stopGradient');
  const storage = x.storageRef();
  storage.refs++;
  return tensorFromStorage(storage, x.shape, x.dtype);
}

/** New shape with the same elements; one dimension may be -1 (inferred). Shares storage. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const op = 'reshape';
  checkTensor(op, x);
  checkArray(op, shape, 'shape');
  const inferred = shape.filter((d) => d === -1).length;
  if (inferred > 1) fail(op, `only one dimension may be -1, got ${fmtShape(shape)}`);
  const known = shape.filter((d) => d !== -1);
  checkShape(op, known);
  let target = [...shape];
  if (inferred === 1) {
    const k = sizeOf(known);
    if (k === 0 || x.size % k !== 0)
      fail(op, `cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
    target = shape.map((d) => (d === -1 ? x.size / k : d));
  }
  if (sizeOf(target) !== x.size) {
    fail(
      op,
      `cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)} (${sizeOf(target)} elements)`,
    );
  }
  if (shapesEqual(target, x.shape) && !x.requiresGrad) return x;
  return runPrimitive('reshape', [x], { shape: target }, target, x.dtype);
}

/** Reorders axes: out.shape[i] = x.shape[perm[i]]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const op = 'permute';
  checkTensor(op, x);
  checkArray(op, perm, 'perm');
  if (perm.some((a) => typeof a !== 'number')) fail(op, 'perm must be an array of integers');
  if (perm.length !== x.rank)
    fail(op, `permutation [${perm.join(',')}] has ${perm.length} axes, tensor ${fmtShape(x.shape)} has ${x.rank}`);
  const p = perm.map((a) => normalizeAxis(op, a, x.rank));
  if (new Set(p).size !== p.length) fail(op, `[${perm.join(',')}] is not a permutation`);
  if (p.every((a, i) => a === i)) return x;
  return runPrimitive(
    'permute',
    [x],
    { perm: p },
    p.map((a) => x.shape[a]!),
    x.dtype,
  );
}

/** Reverses the axes (default), or applies `perm`; `x.T` swaps the last two. */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  checkTensor('transpose', x);
  if (perm !== undefined) return permute(x, perm);
  if (x.rank < 2) return x;
  const p = x.shape.map((_, i) => i);
  [p[x.rank - 2], p[x.rank - 1]] = [p[x.rank - 1]!, p[x.rank - 2]!];
  return permute(x, p);
}

/** Broadcasts to `shape` with NumPy rules (new leading axes, size-1 axes stretched). */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  const op = 'broadcastTo';
  checkTensor(op, x);
  checkShape(op, shape);
  const b = broadcastShapes(op, x.shape, shape);
  if (!shapesEqual(b, shape)) fail(op, `cannot broadcast ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  if (shapesEqual(x.shape, shape)) return x;
  return runPrimitive('expand', [x], { shape: [...shape] }, shape, x.dtype);
}

export function squeeze(x: Tensor, axis?: number | readonly number[]): Tensor {
  checkTensor('squeeze', x);
  const axes =
    axis === undefined ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normalizeAxes('squeeze', axis, x.rank);
  for (const a of axes)
    if (x.shape[a] !== 1) fail('squeeze', `axis ${a} of ${fmtShape(x.shape)} has size ${x.shape[a]}, not 1`);
  return reshape(
    x,
    x.shape.filter((_, i) => !axes.includes(i)),
  );
}

/** Inserts a size-1 axis at `axis` (in the result's numbering, so -1 appends). */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  checkTensor('unsqueeze', x);
  const a = normalizeAxis('unsqueeze', axis, x.rank + 1);
  const s = [...x.shape];
  s.splice(a, 0, 1);
  return reshape(x, s);
}

/** Per axis: [start, stop) with step (NumPy semantics; negative start/stop count from the end; step may be negative). */
export type SliceRange = number | [number | null | undefined, (number | null | undefined)?, number?] | null;
export type SliceSpec = readonly SliceRange[];

/**
 * Basic slicing. `spec[i]` is `null` (whole axis), an index (the axis is removed), or
 * `[start, stop, step]` with NumPy semantics (negative values count from the end, step != 0).
 */
export function slice(x: Tensor, spec: SliceSpec): Tensor {
  const op = 'slice';
  checkTensor(op, x);
  checkArray(op, spec, 'spec');
  if (spec.length > x.rank)
    fail(op, `spec has ${spec.length} entries for a tensor of rank ${x.rank} ${fmtShape(x.shape)}`);
  const starts: number[] = [];
  const steps: number[] = [];
  const shape: number[] = [];
  const flipAxes: number[] = [];
  const dropAxes: number[] = [];
  for (let i = 0; i < x.rank; i++) {
    const n = x.shape[i]!;
    const r = spec[i];
    if (r === undefined || r === null) {
      starts.push(0);
      steps.push(1);
      shape.push(n);
      continue;
    }
    if (typeof r === 'number') {
      if (!Number.isInteger(r)) fail(op, `index ${r} on axis ${i} must be an integer`);
      if (r < -n || r >= n) fail(op, `index ${r} is out of range for axis ${i} of size ${n}`);
      starts.push(r < 0 ? r + n : r);
      steps.push(1);
      shape.push(1);
      dropAxes.push(i);
      continue;
    }
    if (!Array.isArray(r) || r.length > 3) {
      fail(
        op,
        `spec[${i}] must be null, an integer index or [start, stop, step], got ${describeValue(r)} (strings such as '1:2' are not parsed)`,
      );
    }
    const step = r[2] ?? 1;
    for (const v of [r[0], r[1]]) {
      if (v !== undefined && v !== null && !Number.isInteger(v))
        fail(op, `bounds must be integers (or null), got ${describeValue(v)} on axis ${i}`);
    }
    if (!Number.isInteger(step) || step === 0)
      fail(op, `step must be a non-zero integer, got ${describeValue(step)} on axis ${i}`);
    const clampIdx = (v: number, lo: number, hi: number): number => Math.min(Math.max(v < 0 ? v + n : v, lo), hi);
    if (step > 0) {
      const start = r[0] == null ? 0 : clampIdx(r[0], 0, n);
      const stop = r[1] == null ? n : clampIdx(r[1], 0, n);
      const len = Math.max(0, Math.ceil((stop - start) / step));
      starts.push(len > 0 ? start : 0);
      steps.push(step);
      shape.push(len);
    } else {
      // Negative step: slice the flipped axis. Index j of the flipped axis is n - 1 - j.
      const start = r[0] == null ? n - 1 : clampIdx(r[0], -1, n - 1);
      const stop = r[1] == null ? -1 : clampIdx(r[1], -1, n - 1);
      const len = Math.max(0, Math.ceil((start - stop) / -step));
      starts.push(len > 0 ? n - 1 - start : 0);
      steps.push(-step);
      shape.push(len);
      flipAxes.push(i);
    }
  }
  let y = flipAxes.length > 0 ? flip(x, flipAxes) : x;
  const identity = starts.every((s) => s === 0) && steps.every((s) => s === 1) && shapesEqual(shape, y.shape);
  if (!identity) y = runPrimitive('slice', [y], { starts, steps, shape }, shape, x.dtype);
  return dropAxes.length > 0
    ? reshape(
        y,
        shape.filter((_, i) => !dropAxes.includes(i)),
      )
    : y;
}

/** Reverses the order of elements along `axes` (all when omitted). */
export function flip(x: Tensor, axes?: number | readonly number[]): Tensor {
  checkTensor('flip', x);
  const a = normalizeAxes('flip', axes, x.rank).filter((i) => x.shape[i]! > 1);
  if (a.length === 0) return x;
  return runPrimitive('flip', [x], { axes: a }, x.shape, x.dtype);
}

/**
 * Constant padding: `padding[i] = [before, after]` per axis (missing trailing axes get none).
 * Negative padding is not supported; slice instead.
 */
export function pad(x: Tensor, padding: readonly (readonly [number, number])[], value = 0): Tensor {
  const op = 'pad';
  checkTensor(op, x);
  checkArray(op, padding, 'padding');
  checkNumber(op, value, 'value');
  if (x.dtype === 'int32') checkInt(op, value, 'value (for an int32 tensor)');
  if (padding.length > x.rank) fail(op, `${padding.length} pad pairs for a tensor of rank ${x.rank}`);
  const before: number[] = [];
  const shape: number[] = [];
  for (let i = 0; i < x.rank; i++) {
    const pair: unknown = padding[i] ?? [0, 0];
    if (!Array.isArray(pair) || pair.length !== 2) {
      fail(op, `padding[${i}] must be a pair [before, after], got ${describeValue(pair)}`);
    }
    const [b, a] = pair as [number, number];
    if (!Number.isInteger(b) || !Number.isInteger(a) || b < 0 || a < 0) {
      fail(op, `padding must be non-negative integers, got [${b},${a}] on axis ${i}`);
    }
    before.push(b);
    shape.push(x.shape[i]! + b + a);
  }
  if (shapesEqual(shape, x.shape)) return x;
  return runPrimitive('pad', [x], { before, steps: x.shape.map(() => 1), shape, value }, shape, x.dtype);
}

/** Joins tensors along an existing axis. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  const op = 'concat';
  checkTensorList(op, xs);
  if (xs.length === 0) fail(op, 'needs at least one tensor');
  const first = xs[0]!;
  const ax = normalizeAxis(op, axis, first.rank);
  let total = 0;
  for (const t of xs) {
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      fail(op, `shapes ${xs.map((u) => fmtShape(u.shape)).join(', ')} differ outside axis ${ax}`);
    }
    if (t.dtype !== first.dtype) fail(op, `dtypes differ: ${xs.map((u) => u.dtype).join(', ')}`);
    total += t.shape[ax]!;
  }
  if (xs.length === 1) return first;
  const shape = first.shape.map((d, i) => (i === ax ? total : d));
  return runPrimitive('concat', xs, { axis: ax }, shape, first.dtype);
}

/** Joins tensors along a new axis. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  checkTensorList('stack', xs);
  if (xs.length === 0) fail('stack', 'needs at least one tensor');
  const a = normalizeAxis('stack', axis, xs[0]!.rank + 1);
  for (const t of xs) {
    if (!shapesEqual(t.shape, xs[0]!.shape))
      fail('stack', `shapes differ: ${xs.map((u) => fmtShape(u.shape)).join(', ')}`);
  }
  return publicOp('stack', () =>
    concat(
      xs.map((t) => unsqueeze(t, a)),
      a,
    ),
  );
}

/** Splits along `axis` into `sections` equal parts, or parts of the given sizes. */
export function split(x: Tensor, sections: number | readonly number[], axis = 0): Tensor[] {
  const op = 'split';
  checkTensor(op, x);
  if (typeof sections !== 'number') checkArray(op, sections, 'sections');
  const ax = normalizeAxis(op, axis, x.rank);
  const n = x.shape[ax]!;
  let sizes: number[];
  if (typeof sections === 'number') {
    // An empty axis splits into one empty part (more would be any number of empty tensors).
    if (!Number.isInteger(sections) || sections <= 0 || n % sections !== 0 || sections > Math.max(n, 1)) {
      fail(op, `axis ${ax} of size ${n} cannot be split into ${describeValue(sections)} equal parts`);
    }
    sizes = new Array(sections).fill(n / sections);
  } else {
    sizes = [...sections];
    if (sizes.some((s) => typeof s !== 'number')) fail(op, 'sections must be a number or an array of numbers');
    if (sizes.some((s) => !Number.isInteger(s) || s < 0) || sizes.reduce((a, b) => a + b, 0) !== n) {
      fail(
        op,
        `sizes [${sizes.join(',')}] must be non-negative integers summing to ${n} (axis ${ax} of ${fmtShape(x.shape)})`,
      );
    }
  }
  const out: Tensor[] = [];
  let start = 0;
  for (const s of sizes) {
    const spec: SliceRange[] = x.shape.map(() => null);
    spec[ax] = [start, start + s];
    out.push(slice(x, spec));
    start += s;
  }
  return out;
}

/** Repeats the whole tensor `reps[i]` times along axis i (NumPy's tile). */
export function tile(x: Tensor, reps: readonly number[]): Tensor {
  const op = 'tile';
  checkTensor(op, x);
  checkShape(op, reps);
  const r = [...new Array(Math.max(0, x.rank - reps.length)).fill(1), ...reps];
  const xs = [...new Array(Math.max(0, r.length - x.rank)).fill(1), ...x.shape];
  // [a, b] -> [1, a, 1, b] -> [ra, a, rb, b] -> [ra*a, rb*b]
  const inter: number[] = [];
  const expanded: number[] = [];
  for (let i = 0; i < r.length; i++) {
    inter.push(1, xs[i]!);
    expanded.push(r[i]!, xs[i]!);
  }
  checkShape(
    op,
    xs.map((d, i) => d * r[i]!),
  );
  return publicOp(op, () =>
    reshape(
      broadcastTo(reshape(x, inter), expanded),
      xs.map((d, i) => d * r[i]!),
    ),
  );
}

/** Repeats each element `repeats` times along `axis` (NumPy's repeat / torch.repeat_interleave). */
export function repeat(x: Tensor, repeats: number, axis: number): Tensor {
  const op = 'repeat';
  checkTensor(op, x);
  if (!Number.isInteger(repeats) || repeats < 0)
    fail(op, `repeats must be a non-negative integer, got ${describeValue(repeats)}`);
  const ax = normalizeAxis(op, axis, x.rank);
  const inter = [...x.shape];
  inter.splice(ax + 1, 0, 1);
  const expanded = [...inter];
  expanded[ax + 1] = repeats;
  const out = [...x.shape];
  out[ax] = x.shape[ax]! * repeats;
  checkShape(op, out);
  return publicOp(op, () => reshape(broadcastTo(reshape(x, inter), expanded), out));
}

/** @internal The slice primitive with explicit starts/steps (used by gradient rules). */
export function slicePrimitive(x: Tensor, starts: number[], steps: number[], shape: number[]): Tensor {
  return runPrimitive('slice', [x], { starts, steps, shape }, shape, x.dtype);
}

/** @internal The pad primitive with explicit placement (the transpose of slicePrimitive). */
export function padPrimitive(x: Tensor, before: number[], steps: number[], shape: number[], value = 0): Tensor {
  return runPrimitive('pad', [x], { before, steps, shape, value }, shape, x.dtype);
}
