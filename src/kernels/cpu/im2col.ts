// im2col and col2im for the CPU convolutions.
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
