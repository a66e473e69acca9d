// Shape helpers: sizes, strides, broadcasting and axis normalisation.
import { fail, fmtShape } from '../errors.js';

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C-order) strides; every tensor in this library is stored contiguously. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The most elements one tensor may hold (int32 indexing in the kernels, and V8's typed-array limit). */
export const MAX_ELEMENTS = 2 ** 31 - 1;

/** A value in an error message: strings quoted, everything else as String() gives it. */
function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? `[${v.map(show).join(',')}]` : String(v);
}

/**
 * Checks a shape: an array of non-negative integers whose product is at most MAX_ELEMENTS.
 * Returns a copy.
 */
export function checkShape(op: string, shape: Shape): number[] {
  if (!Array.isArray(shape)) fail(op, `shape must be an array of non-negative integers, got ${show(shape)}`);
  for (const d of shape as unknown[]) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      fail(op, `shape ${show(shape)} must hold non-negative integers (got ${show(d)})`);
    }
  }
  const n = sizeOf(shape);
  if (n > MAX_ELEMENTS) {
    fail(op, `shape ${fmtShape(shape)} has ${n} elements, more than the ${MAX_ELEMENTS} (2^31 - 1) a tensor may hold`);
  }
  return [...shape];
}

/** NumPy broadcasting of two shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      fail(op, `shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast (dimension ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

export function broadcastMany(op: string, shapes: readonly Shape[]): number[] {
  let out: number[] = [];
  for (const s of shapes) out = broadcastShapes(op, out, s);
  return out;
}

/** Normalises a possibly negative axis against `rank`, with a clear error when out of range. */
export function normalizeAxis(op: string, axis: number, rank: number): number {
  if (typeof axis !== 'number' || !Number.isInteger(axis)) {
    fail(op, `axis ${show(axis)} must be an integer (for a tensor of rank ${rank})`);
  }
  if (rank === 0) {
    fail(op, `axis ${axis} does not exist: the tensor is a scalar (rank 0, no axes); reshape it to [1] first`);
  }
  if (axis < -rank || axis >= rank) {
    fail(
      op,
      `axis ${axis} is out of range for a tensor of rank ${rank} (expected an integer in [${-rank}, ${rank - 1}])`,
    );
  }
  return axis < 0 ? axis + rank : axis;
}

/** Normalises an axis list (undefined means every axis), sorted and without repeats. */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  if (typeof axes !== 'number' && !Array.isArray(axes)) {
    fail(op, `axis must be an integer or an array of integers, got ${show(axes)}`);
  }
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = list.map((a) => normalizeAxis(op, a, rank));
  const set = new Set(out);
  if (set.size !== out.length) fail(op, `axes [${list.join(',')}] repeat an axis`);
  return out.sort((x, y) => x - y);
}

/**
 * For an input of `inShape` broadcast to `outShape`, the axes of `outShape` that were broadcast
 * (the ones a gradient must be summed over), and whether the result must then be reshaped.
 */
export function broadcastedAxes(inShape: Shape, outShape: Shape): number[] {
  const axes: number[] = [];
  const lead = outShape.length - inShape.length;
  for (let i = 0; i < outShape.length; i++) {
    if (i < lead) axes.push(i);
    else if (inShape[i - lead] === 1 && outShape[i] !== 1) axes.push(i);
  }
  return axes;
}
