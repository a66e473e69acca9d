// The CPU convolutions' chunk loop: each chunk of images (im2col, its GEMM, the scatter; or the
// gather, GEMM and col2im; or one part of the batch's filter gradient) runs whole on one thread.
import { gemm } from './gemm.js';
import { RETAIN_MAX, SERIAL_GEMM_SOURCE, serialGemm } from './gemm-serial.js';
import type { FloatArr } from './gemm-types.js';
import { COLUMNS_FUNCTIONS_SOURCE, type ColGeometry, columnsForImages, GEOMETRY, serialColumns } from './im2col.js';
import {
  cpuThreads,
  isSharedBuffer,
  type Job,
  type JobSource,
  parallelChunks,
  type SharedArr,
  sharedArrayLike,
} from './threads.js';
import type { Arr } from './util.js';

/** A convolution's shape, as conv.ts derives it (one group's K taps and og channels, P pixels per image). */
export interface ConvGeometry extends ColGeometry {
  n: number;
  c: number;
  o: number;
  groups: number;
  og: number;
  k: number;
  p: number;
  hw: number;
  /** Images per chunk, and chunks of the batch (both from the shapes alone). */
  nb: number;
  chunks: number;
  /**
   * 1: the gradients take a GEMM per image, reading dY in place (no gather); for few taps against
   * many pixels (K < P), where repacking the filter per image costs less than gathering dY.
   */
  perImage: number;
  /**
   * 1: the forward takes a GEMM per image straight into Y (no scatter): for K < P with K within one
   * GEMM slice, so that even a float32 Y takes the products directly (with that store, the 28x28
   * D1 layer's forward and gradients went from 21.0 to 19.0 ms).
   */
  forwardPerImage: number;
}

/** What a chunk computes. */
export const FORWARD = 0;
export const INPUT_GRADIENT = 1;
export const FILTER_GRADIENT = 2;

/**
 * One convolution's chunks, over `image` (x or dx), `filter` (W, or the partial dW) and `output` (y or dy).
 * FORWARD: y = W * cols(x). INPUT_GRADIENT: dx = col2im(W^T dy). FILTER_GRADIENT: chunk j is part j of
 * the batch (`partChunks` chunks of images in order), whose dy * cols(x)^T is accumulated into partial
 * j of `filter` ([parts, O, K]). The numeric modes are these constants (worker source has no imports).
 */
interface ConvJob extends ConvGeometry, Job {
  mode: number;
  partChunks: number;
  image: SharedArr;
  filter: SharedArr;
  output: SharedArr;
}

/** The helpers a chunk calls: the serial ones on workers, the threaded ones where one chunk runs alone. */
interface ChunkLib {
  gemm: typeof serialGemm;
  columns: typeof columnsForImages;
  scratch: (which: number, size: number) => Float64Array;
}

function convChunk(job: ConvJob, chunk: number, lib: ChunkLib): void {
  const { n, c, o, og, k, p, hw, nb, channels } = job;
  const chw = c * hw;
  const view = (data: Arr, offset: number, rowStride: number, colStride: number) => ({
    data,
    offset,
    rowStride,
    colStride,
  });
  // dY_g [og x nb P] for images b0 .. b0 + nb - 1, from the [N, O, P] gradient (or back: the forward's scatter).
  const moveRows = (toRows: boolean, rows: Float64Array, b0: number, count: number, gi: number, ld: number) => {
    for (let r = 0; r < og; r++) {
      for (let i = 0; i < count; i++) {
        const s = ((b0 + i) * o + gi * og + r) * p;
        if (toRows) rows.set(job.output.subarray(s, s + p), r * ld + i * p);
        else job.output.set(rows.subarray(r * ld + i * p, r * ld + i * p + p), s);
      }
    }
  };
  if (job.mode === 2) {
    let first = true;
    for (let q = chunk * job.partChunks; q < (chunk + 1) * job.partChunks && q * nb < n; q++, first = false) {
      const b0 = q * nb;
      const count = Math.min(nb, n - b0);
      const ld = count * p;
      const cols = lib.scratch(0, k * ld);
      const dyc = lib.scratch(1, job.perImage ? 0 : og * ld);
      for (let gi = 0; gi < job.groups; gi++) {
        lib.columns(true, job.image, (b0 * c + gi * channels) * hw, chw, job, cols, p, ld, count);
        const out = chunk * o * k + gi * og * k;
        if (job.perImage) {
          for (let i = 0; i < count; i++) {
            const dy = view(job.output, ((b0 + i) * o + gi * og) * p, p, 1);
            lib.gemm(og, k, p, dy, view(cols, i * p, 1, ld), job.filter as FloatArr, out, k, !first || i > 0);
          }
        } else {
          moveRows(true, dyc, b0, count, gi, ld);
          lib.gemm(og, k, ld, view(dyc, 0, ld, 1), view(cols, 0, 1, ld), job.filter as FloatArr, out, k, !first);
        }
      }
    }
    return;
  }
  const b0 = chunk * nb;
  const count = Math.min(nb, n - b0);
  if (count <= 0) return;
  const ld = count * p;
  const cols = lib.scratch(0, k * ld);
  const rows = lib.scratch(1, job.mode === 0 && job.forwardPerImage ? 0 : og * ld);
  if (job.mode === 0) {
    for (let gi = 0; gi < job.groups; gi++) {
      lib.columns(true, job.image, (b0 * c + gi * channels) * hw, chw, job, cols, p, ld, count);
      const filter = view(job.filter, gi * og * k, k, 1);
      if (job.forwardPerImage) {
        for (let i = 0; i < count; i++) {
          const yOffset = ((b0 + i) * o + gi * og) * p;
          lib.gemm(og, p, k, filter, view(cols, i * p, ld, 1), job.output as FloatArr, yOffset, p, false);
        }
      } else {
        lib.gemm(og, ld, k, filter, view(cols, 0, ld, 1), rows, 0, ld, false);
        moveRows(false, rows, b0, count, gi, ld);
      }
    }
    return;
  }
  // col2im sums several taps into one pixel: in float64, rounded once into x.
  const acc = lib.scratch(2, count * chw);
  acc.fill(0, 0, count * chw);
  for (let gi = 0; gi < job.groups; gi++) {
    const filterT = view(job.filter, gi * og * k, 1, k);
    if (job.perImage) {
      for (let i = 0; i < count; i++) {
        lib.gemm(k, p, og, filterT, view(job.output, ((b0 + i) * o + gi * og) * p, p, 1), cols, i * p, ld, false);
      }
    } else {
      moveRows(true, rows, b0, count, gi, ld);
      lib.gemm(k, ld, og, filterT, view(rows, 0, ld, 1), cols, 0, ld, false);
    }
    lib.columns(false, acc, gi * channels * hw, chw, job, cols, p, ld, count);
  }
  job.image.set(acc.subarray(0, count * chw), b0 * chw);
}

// ------------------------------------------------------------------ scratch and worker source

// A worker's own scratch (its chunks never share it), grown on demand (kept up to 16 MiB each).
const KEEP_MAX = 1 << 21;
const localBuffers = [new Float64Array(0), new Float64Array(0), new Float64Array(0)];

function localScratch(which: number, size: number): Float64Array {
  if (localBuffers[which]!.length >= size) return localBuffers[which]!;
  const fresh = new Float64Array(size);
  if (size <= KEEP_MAX) localBuffers[which] = fresh;
  return fresh;
}

const CONV_SOURCE: JobSource = {
  name: 'conv',
  numbers: [...GEOMETRY, ...'n c o groups og k p hw nb chunks perImage forwardPerImage mode partChunks'.split(' ')],
  arrays: ['image', 'filter', 'output'],
  source: [
    SERIAL_GEMM_SOURCE,
    COLUMNS_FUNCTIONS_SOURCE,
    `const localBuffers = [new Float64Array(0), new Float64Array(0), new Float64Array(0)], KEEP_MAX = ${KEEP_MAX};`,
    ...[localScratch, convChunk].map(String),
    // A string, not a function's source: calls to imported functions read differently once transpiled.
    'function runChunk(job, chunk) { convChunk(job, chunk, { gemm: serialGemm, columns: serialColumns, scratch: localScratch }); }',
  ].join('\n'),
};

/**
 * The calling thread's conv scratch (slot 0 columns, 1 rows, 2 float64 sums, 3 partial filter
 * gradients): in shared memory while threads are on, so that the threaded GEMM and im2col take it in place.
 */
const mainBuffers: Float64Array[] = [];

export function convScratch(which: number, size: number): Float64Array {
  const shared = cpuThreads() > 1;
  const kept = mainBuffers[which] ?? new Float64Array(0);
  if (kept.length >= size && (!shared || isSharedBuffer(kept.buffer))) return kept;
  const fresh = shared ? (sharedArrayLike(kept, size) as Float64Array) : new Float64Array(size);
  if (size <= RETAIN_MAX) mainBuffers[which] = fresh;
  return fresh;
}

const THREADED: ChunkLib = { gemm, columns: columnsForImages, scratch: convScratch };
const SERIAL: ChunkLib = { gemm: serialGemm, columns: serialColumns, scratch: convScratch };

const shareable = (a: Arr): boolean => isSharedBuffer(a.buffer) && !(a instanceof Uint8Array);

// Shared copies of inputs that are not in shared memory (small weights, tensors made before threads were on).
const copies: SharedArr[] = [];

function sharedInput(slot: number, a: Arr): SharedArr {
  if (shareable(a)) return a as SharedArr;
  let kept = copies[slot];
  if (kept === undefined || kept.length < a.length || kept.constructor !== a.constructor) {
    kept = sharedArrayLike(a, a.length);
    if (a.length > RETAIN_MAX) {
      kept.set(a as never);
      return kept;
    }
    copies[slot] = kept;
  }
  const view = kept.subarray(0, a.length);
  view.set(a as never);
  return view;
}

/** Parts of the batch whose filter gradients are summed separately (and then in order): at most 4, of at most this many elements in all. */
const PARTIALS_BUDGET = 1 << 21;

/**
 * One convolution, chunk by chunk: spread over the threads, each chunk whole on one, when there are
 * at least as many chunks as threads; otherwise in order here, each chunk's GEMM and im2col threaded.
 * Every chunk's arithmetic is the same wherever it runs, so results never depend on the thread count.
 * FORWARD writes y, INPUT_GRADIENT writes x (zeroed), FILTER_GRADIENT writes w (zeroed): the batch
 * cut into up to 4 parts (from the shapes alone) summed separately, then in order.
 */
export function runConvChunks(mode: number, g: ConvGeometry, x: Arr, w: Arr, y: Arr): void {
  if (g.n === 0) return;
  const threads = cpuThreads();
  const job = { ...g, mode, partChunks: 0, image: x, filter: w, output: y } as ConvJob;
  let chunks = g.chunks;
  let written = mode === FORWARD ? y : x;
  const filterSize = g.o * g.k;
  if (mode === FILTER_GRADIENT) {
    const maxParts = Math.max(1, Math.min(4, Math.floor(PARTIALS_BUDGET / filterSize)));
    job.partChunks = Math.ceil(g.chunks / maxParts);
    chunks = Math.ceil(g.chunks / job.partChunks);
    job.filter = written = convScratch(3, chunks * filterSize);
  }
  if (threads > 1 && chunks >= threads && shareable(written)) {
    if (mode !== INPUT_GRADIENT) job.image = sharedInput(0, x);
    if (mode !== FILTER_GRADIENT) job.filter = sharedInput(1, w);
    if (mode !== FORWARD) job.output = sharedInput(2, y);
    parallelChunks(CONV_SOURCE, job, chunks, (chunk) => convChunk(job, chunk, SERIAL));
  } else {
    for (let i = 0; i < chunks; i++) convChunk(job, i, THREADED);
  }
  if (mode !== FILTER_GRADIENT) return;
  // dW = ((part 0 + part 1) + part 2) + part 3, in float64, rounded once.
  const parts = job.filter;
  for (let i = 0; i < filterSize; i++) {
    let sum = parts[i]!;
    for (let j = 1; j < chunks; j++) sum += parts[j * filterSize + i]!;
    w[i] = sum;
  }
}
