// im2col and col2im for the CPU convolutions, split by image across the CPU threads when the
// arrays are shared (each image's block is independent, so the split never changes a result).
import { cpuThreads, isSharedBuffer, type Job, type JobSource, parallelChunks, type SharedArr } from './threads.js';
import type { Arr } from './util.js';

/**
 * Geometry of one image's convolution, shared by im2col and col2im. The column matrix has one row
 * per filter tap (ci, i, j), K = channels * kh * kw rows, and one column per output pixel,
 * P = oh * ow columns: cols[(ci * kh + i) * kw + j][y * ow + x] = img[ci][y sh - ph + i dh][x sw - pw + j dw]
 * (zero where that falls in the padding).
 */
export interface ColGeometry {
  channels: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  oh: number;
  ow: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  dh: number;
  dw: number;
}

/**
 * For filter column j, the output columns x whose input column x sw - pw + j dw lies inside the
 * image: [lo[j], hi[j]). Computed once so the inner loops carry no bounds tests.
 */
function validColumns(g: ColGeometry): { lo: Int32Array; hi: Int32Array } {
  const lo = new Int32Array(g.kw);
  const hi = new Int32Array(g.kw);
  for (let j = 0; j < g.kw; j++) {
    const shift = j * g.dw - g.pw;
    // smallest x with x sw + shift >= 0, and one past the largest with x sw + shift <= w - 1
    const first = shift >= 0 ? 0 : Math.ceil(-shift / g.sw);
    const last = g.w - 1 - shift < 0 ? -1 : Math.floor((g.w - 1 - shift) / g.sw);
    lo[j] = Math.min(first, g.ow);
    hi[j] = Math.max(lo[j]!, Math.min(last + 1, g.ow));
  }
  return { lo, hi };
}

/**
 * Fills a K x P block of `cols` from the image at `src[srcOffset]` ([channels, h, w]): entry
 * (row, col) goes to cols[colOffset + row * ld + col], so several images can sit side by side.
 */
export function im2col(
  src: Arr,
  srcOffset: number,
  g: ColGeometry,
  cols: Float64Array,
  colOffset: number,
  ld: number,
): void {
  const { channels, h, w, kh, kw, oh, ow, sh, sw, ph, dh, dw, pw } = g;
  const { lo, hi } = validColumns(g);
  let row = 0;
  for (let ci = 0; ci < channels; ci++) {
    const plane = srcOffset + ci * h * w;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++, row++) {
        const x0 = lo[j]!;
        const x1 = hi[j]!;
        const shift = j * dw - pw;
        for (let y = 0; y < oh; y++) {
          const d = colOffset + row * ld + y * ow;
          const ih = y * sh - ph + i * dh;
          if (ih < 0 || ih >= h) {
            cols.fill(0, d, d + ow);
            continue;
          }
          const s = plane + ih * w + shift;
          for (let x = 0; x < x0; x++) cols[d + x] = 0;
          for (let x = x0; x < x1; x++) cols[d + x] = src[s + x * sw]!;
          for (let x = x1; x < ow; x++) cols[d + x] = 0;
        }
      }
    }
  }
}

/** The adjoint of im2col: adds each entry of the K x P block into its pixel of the image at `dst[dstOffset]`. */
export function col2im(
  cols: Float64Array,
  colOffset: number,
  ld: number,
  g: ColGeometry,
  dst: Float64Array,
  dstOffset: number,
): void {
  const { channels, h, w, kh, kw, oh, ow, sh, sw, ph, dh, dw, pw } = g;
  const { lo, hi } = validColumns(g);
  let row = 0;
  for (let ci = 0; ci < channels; ci++) {
    const plane = dstOffset + ci * h * w;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++, row++) {
        const x0 = lo[j]!;
        const x1 = hi[j]!;
        const shift = j * dw - pw;
        for (let y = 0; y < oh; y++) {
          const ih = y * sh - ph + i * dh;
          if (ih < 0 || ih >= h) continue;
          const s = colOffset + row * ld + y * ow;
          const d = plane + ih * w + shift;
          for (let x = x0; x < x1; x++) dst[d + x * sw] += cols[s + x]!;
        }
      }
    }
  }
}

// ------------------------------------------------------------------ split by image across threads
// Everything a worker compiles (validColumns, im2col, col2im, columnImages, runChunk) lives in this
// module: a call to an imported function would not resolve in the worker's copy of the source.

/** Below this many column-matrix elements per chunk the hand-off costs more than the split saves. */
const PARALLEL_ELEMENTS = 1 << 16;

export const GEOMETRY = ['channels', 'h', 'w', 'kh', 'kw', 'oh', 'ow', 'sh', 'sw', 'ph', 'pw', 'dh', 'dw'] as const;

/**
 * A job over images 0 .. nb - 1: image i's block sits at cols[i * p] (row stride ld) and its
 * image at image[imageBase + i * imageStride]; `toColumns` 1 runs im2col, 0 col2im.
 */
interface ColumnsJob extends Job {
  image: SharedArr;
  cols: SharedArr;
  imageBase: number;
  imageStride: number;
  p: number;
  ld: number;
  nb: number;
  chunks: number;
  toColumns: number;
}

/** Images [lo, hi) of one chunk. */
function columnImages(job: ColumnsJob, chunk: number): [number, number] {
  const per = Math.ceil(job.nb / job.chunks);
  return [chunk * per, Math.min(job.nb, (chunk + 1) * per)];
}

function runChunk(job: ColumnsJob, chunk: number): void {
  const [lo, hi] = columnImages(job, chunk);
  const g = job as unknown as ColGeometry;
  const cols = (job.cols as Float64Array).subarray(lo * job.p);
  serialColumns(
    job.toColumns === 1,
    job.image,
    job.imageBase + lo * job.imageStride,
    job.imageStride,
    g,
    cols,
    job.p,
    job.ld,
    hi - lo,
  );
}

/** im2col / col2im of `nb` images on the calling thread (what columnsForImages does without threads). */
export function serialColumns(
  toColumns: boolean,
  image: Arr,
  imageBase: number,
  imageStride: number,
  g: ColGeometry,
  cols: Float64Array,
  p: number,
  ld: number,
  nb: number,
): void {
  for (let i = 0; i < nb; i++) {
    if (toColumns) im2col(image, imageBase + i * imageStride, g, cols, i * p, ld);
    else col2im(cols, i * p, ld, g, image as Float64Array, imageBase + i * imageStride);
  }
}

/** im2col(), col2im() and serialColumns() as worker source (with their helper), for jobs that run them per chunk. */
export const COLUMNS_FUNCTIONS_SOURCE = [validColumns, im2col, col2im, serialColumns].map(String).join('\n');

const COLUMNS_SOURCE: JobSource = {
  name: 'im2col',
  numbers: [...GEOMETRY, 'imageBase', 'imageStride', 'p', 'ld', 'nb', 'chunks', 'toColumns'],
  arrays: ['image', 'cols'],
  source: [COLUMNS_FUNCTIONS_SOURCE, ...[columnImages, runChunk].map(String)].join('\n'),
};

const shareable = (a: Arr): boolean => isSharedBuffer(a.buffer) && !(a instanceof Uint8Array);

/**
 * im2col (toColumns) or col2im for nb images: image i at image[imageBase + i * imageStride],
 * its K x p block at cols[i * p] with row stride ld. Threaded when both arrays are shared.
 */
export const columnsForImages: typeof serialColumns = (
  toColumns,
  image,
  imageBase,
  imageStride,
  g,
  cols,
  p,
  ld,
  nb,
) => {
  const threads = cpuThreads();
  const work = g.channels * g.kh * g.kw * ld;
  if (threads === 1 || nb < 2 || work < PARALLEL_ELEMENTS || !shareable(image) || !shareable(cols)) {
    serialColumns(toColumns, image, imageBase, imageStride, g, cols, p, ld, nb);
    return;
  }
  const job: ColumnsJob = {
    ...Object.fromEntries(GEOMETRY.map((f) => [f, g[f]])),
    image: image as SharedArr,
    cols,
    imageBase,
    imageStride,
    p,
    ld,
    nb,
    chunks: Math.min(threads, nb),
    toColumns: toColumns ? 1 : 0,
  };
  parallelChunks(COLUMNS_SOURCE, job, job.chunks, (chunk) => runChunk(job, chunk));
};
