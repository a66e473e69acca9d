/**
 * fast-check arbitraries shared by the op, gradient and backend-comparison tests: shapes (rank 0-4,
 * with size 1, odd sizes and sizes that are not multiples of common tile sizes), broadcast-compatible
 * shape pairs, bounded float arrays (optionally kept away from kinks), positive arrays, arrays of
 * well-separated values (for max/min ties), axis lists, matmul cases and conv geometries.
 *
 * Everything returns plain data (number[] shapes, Float64Array values), never tensors, so the same
 * arbitraries serve the CPU float64 gradient checks and the WebGPU-vs-CPU float32 comparisons.
 */
import fc from 'fast-check';
import { sizeOf } from '../../src/tensor/shape.js';

export type Shape = number[];

// ------------------------------------------------------------------ sizes and shapes

/** Small sizes for gradient checks (finite differences cost two evaluations per element). */
export const SMALL_DIMS: readonly number[] = [1, 2, 3, 4, 5];
/** Sizes around tile edges (8, 16, 32, 64), for kernel tests where an element costs little. */
export const TILE_EDGE_DIMS: readonly number[] = [1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65];

export interface ShapeOptions {
  minRank?: number;
  maxRank?: number;
  /** The sizes to draw each dimension from (default SMALL_DIMS). */
  dims?: readonly number[];
  /** At most this many elements (default 64): dimensions that would exceed it are lowered, keeping the rank. */
  maxSize?: number;
}

/** One dimension size drawn from `dims`. */
export function dimArb(dims: readonly number[] = SMALL_DIMS): fc.Arbitrary<number> {
  return fc.noBias(fc.constantFrom(...dims));
}

/** An integer in [min, max], uniformly (fast-check's default bias favours the small end). */
export function intArb(min: number, max: number): fc.Arbitrary<number> {
  return fc.noBias(fc.integer({ min, max }));
}

/** A shape of rank minRank..maxRank (default 0..4) with at most maxSize elements. */
export function shapeArb(opts: ShapeOptions = {}): fc.Arbitrary<Shape> {
  const { minRank = 0, maxRank = 4, dims = SMALL_DIMS, maxSize = 64 } = opts;
  const allowed = [...dims].sort((a, b) => a - b);
  return intArb(minRank, maxRank)
    .chain((rank) => fc.array(dimArb(dims), { minLength: rank, maxLength: rank }))
    .map((s) => {
      // Keep the rank: shrink a dimension to the largest allowed size that fits the element budget.
      let size = 1;
      return s.map((d) => {
        let v = d;
        if (size * v > maxSize) v = allowed.filter((x) => size * x <= maxSize).pop() ?? allowed[0]!;
        size *= v;
        return v;
      });
    })
    .filter((s) => sizeOf(s) <= maxSize);
}

/** NumPy broadcasting of two shapes, written independently of the library (undefined if incompatible). */
export function broadcastShapesRef(a: readonly number[], b: readonly number[]): Shape | undefined {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = i - (n - a.length) >= 0 ? a[i - (n - a.length)]! : 1;
    const db = i - (n - b.length) >= 0 ? b[i - (n - b.length)]! : 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/**
 * A shape that broadcasts to `out`: some leading axes dropped, some of the rest set to 1.
 * `keepAll` forces the full rank (used to make sure at least one operand has the output shape).
 */
export function broadcastableToArb(out: readonly number[], keepAll = false): fc.Arbitrary<Shape> {
  return fc
    .tuple(
      intArb(0, keepAll ? 0 : out.length),
      fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
    )
    .map(([drop, ones]) => out.map((d, i) => (ones[i] ? 1 : d)).slice(drop));
}

export interface BroadcastPair {
  a: Shape;
  b: Shape;
  /** The broadcast result shape. */
  out: Shape;
}

/**
 * Two shapes that broadcast together (either may have fewer axes or size-1 axes), with their result.
 * The result is computed by `broadcastShapesRef`, not by the library.
 */
export function broadcastPairArb(opts: ShapeOptions = {}): fc.Arbitrary<BroadcastPair> {
  // One operand keeps the full rank (the other may drop leading axes); either may have size-1 axes.
  return fc
    .tuple(shapeArb(opts), fc.boolean())
    .chain(([out, aFull]) => fc.tuple(broadcastableToArb(out, aFull), broadcastableToArb(out, !aFull)))
    .map(([a, b]) => ({ a, b, out: broadcastShapesRef(a, b)! }));
}

/** Three shapes that broadcast together (for `where`). */
export function broadcastTripleArb(opts: ShapeOptions = {}): fc.Arbitrary<[Shape, Shape, Shape]> {
  return shapeArb(opts).chain((out) =>
    fc.tuple(broadcastableToArb(out), broadcastableToArb(out), broadcastableToArb(out)),
  );
}

/** A sorted, repeat-free list of axes of a tensor of `rank` (possibly empty, possibly all). */
export function axesArb(rank: number, opts: { minLength?: number } = {}): fc.Arbitrary<number[]> {
  const all = Array.from({ length: rank }, (_, i) => i);
  return fc.subarray(all, { minLength: Math.min(opts.minLength ?? 0, rank) });
}

/** An axis in [-rank, rank) (negative axes count from the end). */
export function axisArb(rank: number): fc.Arbitrary<number> {
  return fc.integer({ min: -rank, max: rank - 1 });
}

// ------------------------------------------------------------------ values

export interface ValueOptions {
  min?: number;
  max?: number;
  /** Values within `margin` of any of these are rejected (kinks of abs/relu/clamp, poles, ...). */
  avoid?: readonly number[];
  /** Default 1e-3. */
  margin?: number;
}

const STEPS = 2 ** 30;

/**
 * A double uniform on the real interval [min, max] (2^30 + 1 equally spaced values). fc.double is
 * not suitable here: it is uniform over the *representable* doubles (most draws are tiny, like
 * 1e-150) and its bias puts many draws on the bounds; either makes gradient checks nearly vacuous.
 * Shrinks towards the value nearest 0.
 */
export function uniformArb(min: number, max: number): fc.Arbitrary<number> {
  if (!(max >= min)) throw new Error(`uniformArb: need min <= max, got ${min}, ${max}`);
  const zeroK = min >= 0 ? 0 : max <= 0 ? STEPS : Math.round((-min / (max - min)) * STEPS);
  // Draw an offset from zeroK so that shrinking (towards offset 0) moves towards 0.
  return fc.noBias(fc.integer({ min: -zeroK, max: STEPS - zeroK })).map((d) => {
    const v = min + ((max - min) * (zeroK + d)) / STEPS;
    return v === 0 ? 0 : v; // no -0
  });
}

/** One finite double uniform in [min, max] (default [-3, 3]) kept `margin` away from the `avoid` points. */
export function valueArb(opts: ValueOptions = {}): fc.Arbitrary<number> {
  const { min = -3, max = 3, avoid = [], margin = 1e-3 } = opts;
  const base = uniformArb(min, max);
  return avoid.length === 0 ? base : base.filter((v) => avoid.every((k) => Math.abs(v - k) >= margin));
}

/** `size` bounded finite doubles (see valueArb). */
export function valuesArb(size: number, opts: ValueOptions = {}): fc.Arbitrary<Float64Array> {
  return fc.array(valueArb(opts), { minLength: size, maxLength: size }).map((a) => Float64Array.from(a));
}

/** `size` values in [min, max] with 0 < min (default [0.2, 3]): bases of log, sqrt, pow, rsqrt. */
export function positiveValuesArb(size: number, opts: { min?: number; max?: number } = {}): fc.Arbitrary<Float64Array> {
  const { min = 0.2, max = 3 } = opts;
  if (!(min > 0)) throw new Error('positiveValuesArb: min must be > 0');
  return valuesArb(size, { min, max });
}

/** `size` values in [-max, -min] U [min, max] (default min 0.25): away from zero (divisors, kinks at 0). */
export function nonZeroValuesArb(size: number, opts: { min?: number; max?: number } = {}): fc.Arbitrary<Float64Array> {
  const { min = 0.25, max = 3 } = opts;
  return fc
    .array(fc.tuple(fc.boolean(), uniformArb(min, max)), {
      minLength: size,
      maxLength: size,
    })
    .map((a) => Float64Array.from(a, ([neg, v]) => (neg ? -v : v)));
}

/**
 * `size` values whose pairwise distances are all at least `spacing` (default 0.05), centred on 0:
 * a shuffled ladder k * spacing plus jitter below spacing / 4. No two values tie, so max/min,
 * maxPool and argmax have one well-defined winner that finite differences cannot flip.
 * With `awayFromZero`, |values| are also pairwise distinct and at least spacing / 2 from 0.
 */
export function distinctValuesArb(
  size: number,
  opts: { spacing?: number; awayFromZero?: boolean } = {},
): fc.Arbitrary<Float64Array> {
  const spacing = opts.spacing ?? 0.05;
  const idx = Array.from({ length: size }, (_, i) => i);
  return fc
    .tuple(
      fc.shuffledSubarray(idx, { minLength: size, maxLength: size }),
      fc.array(uniformArb(0, spacing / 4), { minLength: size, maxLength: size }),
      fc.array(fc.boolean(), { minLength: size, maxLength: size }),
    )
    .map(([perm, jitter, signs]) => {
      if (opts.awayFromZero) {
        // |v| = (k + 1/2) spacing + jitter: distinct magnitudes, random signs.
        return Float64Array.from(perm, (k, i) => (signs[i] ? -1 : 1) * ((k + 0.5) * spacing + jitter[i]!));
      }
      return Float64Array.from(perm, (k, i) => (k - (size - 1) / 2) * spacing + jitter[i]!);
    });
}

/** A shape together with values for it. */
export interface ShapedValues {
  shape: Shape;
  values: Float64Array;
}

/** A shape from `shapes` and values from `values(size)` for it. */
export function shapedArb(
  shapes: fc.Arbitrary<Shape>,
  values: (size: number) => fc.Arbitrary<Float64Array> = (n) => valuesArb(n),
): fc.Arbitrary<ShapedValues> {
  return shapes.chain((shape) => values(sizeOf(shape)).map((v) => ({ shape, values: v })));
}

/** int32 indices in [0, n) (n >= 1) for `size` positions. */
export function indicesArb(size: number, n: number): fc.Arbitrary<Int32Array> {
  return fc.array(intArb(0, n - 1), { minLength: size, maxLength: size }).map((a) => Int32Array.from(a));
}

// ------------------------------------------------------------------ matmul

export interface MatmulCase {
  /** Stored shapes of a and b (already transposed where the flags say so). */
  a: Shape;
  b: Shape;
  transA: boolean;
  transB: boolean;
  m: number;
  k: number;
  n: number;
  /** The result shape (NumPy rules for 1-D operands and broadcast batch axes). */
  out: Shape;
}

/**
 * A batched matmul: m, k, n from `dims`, broadcast-compatible batch shapes of rank 0-2, transpose
 * flags, and (with flags off) sometimes a 1-D operand on either side.
 */
export function matmulCaseArb(
  opts: { dims?: readonly number[]; maxBatchRank?: number } = {},
): fc.Arbitrary<MatmulCase> {
  const dims = opts.dims ?? SMALL_DIMS;
  const batchRank = opts.maxBatchRank ?? 2;
  return fc
    .record({
      m: dimArb(dims),
      k: dimArb(dims),
      n: dimArb(dims),
      batch: broadcastPairArb({ maxRank: batchRank, dims: [1, 2, 3], maxSize: 6 }),
      transA: fc.boolean(),
      transB: fc.boolean(),
      vecA: fc.boolean(),
      vecB: fc.boolean(),
    })
    .map(({ m, k, n, batch, transA, transB, vecA, vecB }) => {
      // 1-D operands only without transpose flags and batch axes on that side.
      const aVec = vecA && !transA && batch.a.length === 0 && batch.b.length <= 1;
      const bVec = vecB && !transB && batch.b.length === 0 && batch.a.length <= 1;
      const a = aVec ? [k] : [...batch.a, ...(transA ? [k, m] : [m, k])];
      const b = bVec ? [k] : [...batch.b, ...(transB ? [n, k] : [k, n])];
      const out = [...broadcastShapesRef(aVec ? [] : batch.a, bVec ? [] : batch.b)!];
      if (!aVec) out.push(m);
      if (!bVec) out.push(n);
      return { a, b, transA: transA && !aVec, transB: transB && !bVec, m: aVec ? 1 : m, k, n: bVec ? 1 : n, out };
    });
}

// ------------------------------------------------------------------ convolution

export interface ConvGeometry {
  n: number;
  /** Input channels (c = cg * groups). */
  c: number;
  h: number;
  w: number;
  /** Output channels (o = og * groups). */
  o: number;
  kh: number;
  kw: number;
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
  /** conv2d output size, computed here independently: floor((H + 2p - d (k - 1) - 1) / s) + 1. */
  oh: number;
  ow: number;
}

export interface ConvGeometryOptions {
  maxBatch?: number;
  /** Channels per group (default up to 2). */
  maxChannelsPerGroup?: number;
  maxGroups?: number;
  /** Spatial sizes to draw from (default 1..5). */
  spatial?: readonly number[];
  maxKernel?: number;
  maxStride?: number;
  maxPadding?: number;
  maxDilation?: number;
}

function outSize(inSize: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((inSize + 2 * p - d * (k - 1) - 1) / s) + 1;
}

/** The drawn fields shared by the conv and transposed-conv geometries (channels per group, sizes, steps). */
function convFields(opts: ConvGeometryOptions, defaultSpatial: readonly number[]) {
  const {
    maxBatch = 2,
    maxChannelsPerGroup = 2,
    maxGroups = 2,
    spatial = defaultSpatial,
    maxKernel = 3,
    maxStride = 2,
    maxPadding = 1,
    maxDilation = 2,
  } = opts;
  const int = intArb;
  return {
    n: int(1, maxBatch),
    cg: int(1, maxChannelsPerGroup),
    og: int(1, maxChannelsPerGroup),
    groups: int(1, maxGroups),
    h: dimArb(spatial),
    w: dimArb(spatial),
    kh: int(1, maxKernel),
    kw: int(1, maxKernel),
    sh: int(1, maxStride),
    sw: int(1, maxStride),
    ph: int(0, maxPadding),
    pw: int(0, maxPadding),
    dh: int(1, maxDilation),
    dw: int(1, maxDilation),
  };
}

/** A conv2d geometry with a non-empty output (NCHW input, OIHW filter). Defaults are tiny (CPU-friendly). */
export function convGeometryArb(opts: ConvGeometryOptions = {}): fc.Arbitrary<ConvGeometry> {
  return fc
    .record(convFields(opts, [1, 2, 3, 4, 5]))
    .map((r) => ({
      n: r.n,
      c: r.cg * r.groups,
      h: r.h,
      w: r.w,
      o: r.og * r.groups,
      kh: r.kh,
      kw: r.kw,
      stride: [r.sh, r.sw] as [number, number],
      padding: [r.ph, r.pw] as [number, number],
      dilation: [r.dh, r.dw] as [number, number],
      groups: r.groups,
      oh: outSize(r.h, r.kh, r.sh, r.ph, r.dh),
      ow: outSize(r.w, r.kw, r.sw, r.pw, r.dw),
    }))
    .filter((g) => g.oh >= 1 && g.ow >= 1);
}

/** Shapes of a conv geometry: input [N, C, H, W], weight [O, C/groups, kH, kW], output [N, O, oH, oW]. */
export function convShapes(g: ConvGeometry): { x: Shape; w: Shape; y: Shape } {
  return {
    x: [g.n, g.c, g.h, g.w],
    w: [g.o, g.c / g.groups, g.kh, g.kw],
    y: [g.n, g.o, g.oh, g.ow],
  };
}

/** The conv options object of a geometry. */
export function convOptions(g: ConvGeometry): {
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
} {
  return { stride: g.stride, padding: g.padding, dilation: g.dilation, groups: g.groups };
}

export interface ConvTransposeGeometry {
  n: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  outputPadding: [number, number];
  groups: number;
  /** (H - 1) s - 2 p + d (k - 1) + outputPadding + 1. */
  oh: number;
  ow: number;
}

/**
 * A transposed-convolution geometry (PyTorch layout: weight [Cin, Cout/groups, kH, kW]) with
 * outputPadding below the stride (or the dilation) and a positive output size.
 */
export function convTransposeGeometryArb(opts: ConvGeometryOptions = {}): fc.Arbitrary<ConvTransposeGeometry> {
  const { maxStride = 2, maxDilation = 2 } = opts;
  return fc
    .record({
      ...convFields(opts, [1, 2, 3, 4]),
      oph: intArb(0, Math.max(maxStride, maxDilation) - 1),
      opw: intArb(0, Math.max(maxStride, maxDilation) - 1),
    })
    .filter((r) => r.oph < Math.max(r.sh, r.dh) && r.opw < Math.max(r.sw, r.dw))
    .map((r) => ({
      n: r.n,
      cin: r.cg * r.groups,
      cout: r.og * r.groups,
      h: r.h,
      w: r.w,
      kh: r.kh,
      kw: r.kw,
      stride: [r.sh, r.sw] as [number, number],
      padding: [r.ph, r.pw] as [number, number],
      dilation: [r.dh, r.dw] as [number, number],
      outputPadding: [r.oph, r.opw] as [number, number],
      groups: r.groups,
      oh: (r.h - 1) * r.sh - 2 * r.ph + r.dh * (r.kh - 1) + r.oph + 1,
      ow: (r.w - 1) * r.sw - 2 * r.pw + r.dw * (r.kw - 1) + r.opw + 1,
    }))
    .filter((g) => g.oh >= 1 && g.ow >= 1);
}

export interface PoolGeometry {
  n: number;
  c: number;
  h: number;
  w: number;
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  oh: number;
  ow: number;
}

/** A pooling geometry: padding at most half the kernel, non-empty output. */
export function poolGeometryArb(
  opts: { spatial?: readonly number[]; maxKernel?: number } = {},
): fc.Arbitrary<PoolGeometry> {
  const spatial = opts.spatial ?? [1, 2, 3, 4, 5];
  const maxKernel = opts.maxKernel ?? 3;
  const int = intArb;
  return fc
    .record({
      n: int(1, 2),
      c: int(1, 2),
      h: dimArb(spatial),
      w: dimArb(spatial),
      kh: int(1, maxKernel),
      kw: int(1, maxKernel),
      sh: int(1, 2),
      sw: int(1, 2),
      ph: int(0, 1),
      pw: int(0, 1),
    })
    .filter((r) => 2 * r.ph <= r.kh && 2 * r.pw <= r.kw)
    .map((r) => ({
      n: r.n,
      c: r.c,
      h: r.h,
      w: r.w,
      kernel: [r.kh, r.kw] as [number, number],
      stride: [r.sh, r.sw] as [number, number],
      padding: [r.ph, r.pw] as [number, number],
      oh: outSize(r.h, r.kh, r.sh, r.ph, 1),
      ow: outSize(r.w, r.kw, r.sw, r.pw, 1),
    }))
    .filter((g) => g.oh >= 1 && g.ow >= 1);
}
