// The plots: scatter, 2-D density, image grid and line plot as PNG bytes, and savePNG.
import { writeFile } from 'node:fs/promises';
import { fail } from '../errors.js';
import { Axes, type AxesOptions, drawAxes, drawFrameAndTicks, MARGIN, PALETTE, viridis } from './axes.js';
import { BLACK, Canvas, type RGB, textHeight, textWidth, WHITE } from './canvas.js';

/** 2-D points: a flat [x0, y0, x1, y1, ...] array or an array of [x, y] pairs. */
export type Points2D = ArrayLike<number> | readonly (readonly number[])[];

/** Flattens points to [x0, y0, x1, y1, ...]. */
export function flattenPoints(op: string, pts: Points2D): Float64Array {
  if (pts.length > 0 && typeof pts[0] !== 'number') {
    const rows = pts as readonly (readonly number[])[];
    const out = new Float64Array(rows.length * 2);
    rows.forEach((r, i) => {
      if (r.length !== 2) fail(op, `point ${i} has ${r.length} coordinates, expected 2`);
      out[2 * i] = r[0]!;
      out[2 * i + 1] = r[1]!;
    });
    return out;
  }
  const flat = pts as ArrayLike<number>;
  if (flat.length % 2 !== 0) fail(op, `a flat point array needs an even length, got ${flat.length}`);
  return Float64Array.from(flat);
}

export type Range2D = readonly [xMin: number, xMax: number, yMin: number, yMax: number];

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;
}

/**
 * A square data window around the modes and the bulk of the points (0.5%-99.5% quantiles, so a
 * few stray samples do not shrink everything), padded by 10%.
 */
export function autoRange(flat: Float64Array, modes: readonly (readonly number[])[] = []): Range2D {
  const finite = (v: number) => Number.isFinite(v);
  const xs = Float64Array.from(flat.filter((_, i) => i % 2 === 0).filter(finite)).sort();
  const ys = Float64Array.from(flat.filter((_, i) => i % 2 === 1).filter(finite)).sort();
  let x0 = Number.POSITIVE_INFINITY;
  let x1 = Number.NEGATIVE_INFINITY;
  let y0 = Number.POSITIVE_INFINITY;
  let y1 = Number.NEGATIVE_INFINITY;
  if (xs.length > 0) {
    x0 = quantile(xs, 0.005);
    x1 = quantile(xs, 0.995);
    y0 = quantile(ys, 0.005);
    y1 = quantile(ys, 0.995);
  }
  for (const m of modes) {
    x0 = Math.min(x0, m[0]!);
    x1 = Math.max(x1, m[0]!);
    y0 = Math.min(y0, m[1]!);
    y1 = Math.max(y1, m[1]!);
  }
  if (!Number.isFinite(x0)) return [-1, 1, -1, 1];
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const half = (Math.max(x1 - x0, y1 - y0, 1e-6) / 2) * 1.2;
  return [cx - half, cx + half, cy - half, cy + half];
}

function squareAxes(size: number, r: Range2D): Axes {
  const w = size - MARGIN.left - MARGIN.right;
  const h = size - MARGIN.top - MARGIN.bottom;
  const side = Math.min(w, h);
  return new Axes(MARGIN.left + (w - side) / 2, MARGIN.top, side, side, r[0], r[1], r[2], r[3]);
}

function checkSize(op: string, size: number): void {
  if (!Number.isInteger(size) || size < 200 || size > 4096)
    fail(op, `size must be an integer in [200, 4096], got ${size}`);
}

export interface ScatterOptions extends AxesOptions {
  /** Canvas side in pixels (default 640). */
  size?: number;
  /** True mode centres, drawn as red crosses. */
  modes?: readonly (readonly number[])[];
  /** Radius (data units) of a circle drawn around each mode, e.g. 3 std (the high-quality region). */
  modeRadius?: number;
  /** Data window [xMin, xMax, yMin, yMax] (default: autoRange). */
  range?: Range2D;
  /** Point colour (default blue). */
  color?: RGB;
  /** Point opacity (default: lower for many points). */
  alpha?: number;
  /** Point radius in pixels (default 2). */
  pointRadius?: number;
  /** A line of text under the title (e.g. the metrics). */
  subtitle?: string;
}

const MODE_COLOR: RGB = [214, 39, 40];

/** Mode centres as red crosses (drawn under the points). */
function drawModeCrosses(c: Canvas, ax: Axes, modes: readonly (readonly number[])[]): void {
  for (const m of modes) {
    const x = ax.px(m[0]!);
    const y = ax.py(m[1]!);
    c.line(x - 7, y - 7, x + 7, y + 7, MODE_COLOR, 2);
    c.line(x - 7, y + 7, x + 7, y - 7, MODE_COLOR, 2);
  }
}

/** The high-quality region around each mode as a red circle (drawn over the points, at least 9 pixels). */
function drawModeCircles(c: Canvas, ax: Axes, modes: readonly (readonly number[])[], radius?: number): void {
  if (radius === undefined || !(radius > 0)) return;
  for (const m of modes) {
    const x = ax.px(m[0]!);
    const r = Math.max(9, Math.abs(ax.px(m[0]! + radius) - x));
    c.circle(x, ax.py(m[1]!), r, MODE_COLOR, 1, 0.9);
  }
}

function drawSubtitle(c: Canvas, ax: Axes, subtitle: string | undefined): void {
  if (!subtitle) return;
  const scale = textWidth(subtitle, 2) <= ax.width ? 2 : 1;
  c.text(ax.left + (ax.width - textWidth(subtitle, scale)) / 2, ax.top - 28, subtitle, [70, 70, 70], scale);
}

/** Scatter plot of 2-D samples over the true modes. Returns PNG bytes. */
export function scatterPlot(points: Points2D, opts: ScatterOptions = {}): Buffer {
  const op = 'scatterPlot';
  const size = opts.size ?? 640;
  checkSize(op, size);
  const flat = flattenPoints(op, points);
  const modes = opts.modes ?? [];
  const ax = squareAxes(size, opts.range ?? autoRange(flat, modes));
  const c = new Canvas(size, size);
  drawAxes(c, ax, opts);
  const n = flat.length / 2;
  const alpha = opts.alpha ?? (n > 5000 ? 0.25 : n > 1000 ? 0.45 : 0.7);
  const color = opts.color ?? PALETTE[0]!;
  const r = opts.pointRadius ?? 2;
  drawModeCrosses(c, ax, modes);
  for (let i = 0; i < n; i++) {
    const x = flat[2 * i]!;
    const y = flat[2 * i + 1]!;
    if (!ax.contains(x, y)) continue;
    c.disc(ax.px(x), ax.py(y), r, color, alpha);
  }
  drawModeCircles(c, ax, modes, opts.modeRadius);
  drawFrameAndTicks(c, ax);
  drawSubtitle(c, ax, opts.subtitle);
  return c.toPNG();
}

export interface DensityOptions extends AxesOptions {
  size?: number;
  /** Histogram bins per axis (default 120). */
  bins?: number;
  /** Gaussian smoothing of the histogram, in bins (a kernel density estimate on the grid; default 1.5, 0 for none). */
  bandwidth?: number;
  range?: Range2D;
  modes?: readonly (readonly number[])[];
  subtitle?: string;
}

/** A 2-D histogram of `flat` points on a bins x bins grid over the range, optionally Gaussian-smoothed. */
export function histogram2d(flat: Float64Array, range: Range2D, bins: number, bandwidth: number): Float64Array {
  const h = new Float64Array(bins * bins);
  const [x0, x1, y0, y1] = range;
  for (let i = 0; i < flat.length / 2; i++) {
    const bx = Math.floor(((flat[2 * i]! - x0) / (x1 - x0)) * bins);
    const by = Math.floor(((flat[2 * i + 1]! - y0) / (y1 - y0)) * bins);
    if (bx >= 0 && bx < bins && by >= 0 && by < bins) h[by * bins + bx]!++;
  }
  if (bandwidth <= 0) return h;
  const rad = Math.ceil(3 * bandwidth);
  const k: number[] = [];
  for (let d = -rad; d <= rad; d++) k.push(Math.exp(-(d * d) / (2 * bandwidth * bandwidth)));
  const ks = k.reduce((a, b) => a + b, 0);
  const tmp = new Float64Array(bins * bins);
  for (let y = 0; y < bins; y++) {
    for (let x = 0; x < bins; x++) {
      let s = 0;
      for (let d = -rad; d <= rad; d++) {
        const xx = x + d;
        if (xx >= 0 && xx < bins) s += h[y * bins + xx]! * k[d + rad]!;
      }
      tmp[y * bins + x] = s / ks;
    }
  }
  const out = new Float64Array(bins * bins);
  for (let y = 0; y < bins; y++) {
    for (let x = 0; x < bins; x++) {
      let s = 0;
      for (let d = -rad; d <= rad; d++) {
        const yy = y + d;
        if (yy >= 0 && yy < bins) s += tmp[yy * bins + x]! * k[d + rad]!;
      }
      out[y * bins + x] = s / ks;
    }
  }
  return out;
}

/** Density heat map of 2-D samples (smoothed 2-D histogram, square-root colour scale, viridis). */
export function densityPlot(points: Points2D, opts: DensityOptions = {}): Buffer {
  const op = 'densityPlot';
  const size = opts.size ?? 640;
  checkSize(op, size);
  const bins = opts.bins ?? 120;
  if (!Number.isInteger(bins) || bins < 2 || bins > 1024) fail(op, `bins must be an integer in [2, 1024], got ${bins}`);
  const flat = flattenPoints(op, points);
  const modes = opts.modes ?? [];
  const range = opts.range ?? autoRange(flat, modes);
  const ax = squareAxes(size, range);
  const c = new Canvas(size, size);
  drawAxes(c, ax, { ...opts, grid: false });
  const h = histogram2d(flat, range, bins, opts.bandwidth ?? 1.5);
  let max = 0;
  for (const v of h) max = Math.max(max, v);
  for (let py = 0; py < ax.height; py++) {
    const by = bins - 1 - Math.min(bins - 1, Math.floor((py / ax.height) * bins));
    for (let px = 0; px < ax.width; px++) {
      const bx = Math.min(bins - 1, Math.floor((px / ax.width) * bins));
      const v = max > 0 ? Math.sqrt(h[by * bins + bx]! / max) : 0;
      c.blend(ax.left + px, ax.top + py, viridis(v));
    }
  }
  for (const m of modes) {
    const x = ax.px(m[0]!);
    const y = ax.py(m[1]!);
    c.circle(x, y, 7, WHITE, 1, 0.8);
  }
  drawFrameAndTicks(c, ax);
  drawSubtitle(c, ax, opts.subtitle);
  return c.toPNG();
}

export interface ImageGridOptions {
  /** Images per row (default: about sqrt(count)). */
  cols?: number;
  /** Pixel magnification (default: so that the grid is about 512 pixels wide, at least 1). */
  scale?: number;
  /** Gap between images in output pixels (default 2). */
  pad?: number;
  /** Value range mapped to black..white (default [0, 1]; use [-1, 1] for tanh outputs). */
  range?: readonly [number, number];
  title?: string;
  /** One short label per image, drawn under it (e.g. predicted classes). */
  labels?: readonly string[];
  /** Colours of the labels (default black), e.g. red for wrong predictions. */
  labelColors?: readonly RGB[];
}

/**
 * Tiles NCHW images (1 channel: grey, 3 channels: RGB) into one PNG, e.g. MNIST digits or generated
 * samples.
 */
export function imageGrid(
  images: ArrayLike<number>,
  shape: { count: number; channels: number; height: number; width: number },
  opts: ImageGridOptions = {},
): Buffer {
  const op = 'imageGrid';
  const { count, channels, height, width } = shape;
  if (channels !== 1 && channels !== 3) fail(op, `channels must be 1 or 3, got ${channels}`);
  if (!(count > 0) || images.length !== count * channels * height * width) {
    fail(
      op,
      `${count} images of ${channels}x${height}x${width} need ${count * channels * height * width} values, got ${images.length}`,
    );
  }
  const cols = opts.cols ?? Math.ceil(Math.sqrt(count));
  if (!Number.isInteger(cols) || cols < 1) fail(op, `cols must be a positive integer, got ${cols}`);
  const rows = Math.ceil(count / cols);
  const pad = opts.pad ?? 2;
  const scale = opts.scale ?? Math.max(1, Math.floor(512 / (cols * width)));
  const [lo, hi] = opts.range ?? [0, 1];
  if (!(hi > lo)) fail(op, `range must have hi > lo, got [${lo}, ${hi}]`);
  const labelH = opts.labels ? textHeight(1) + 4 : 0;
  const titleH = opts.title ? textHeight(2) + 14 : 0;
  const cellW = width * scale + pad;
  const cellH = height * scale + pad + labelH;
  const W = Math.max(cols * cellW + pad, opts.title ? textWidth(opts.title, 2) + 16 : 0);
  const H = titleH + rows * cellH + pad;
  const c = new Canvas(W, H, [250, 250, 250]);
  if (opts.title) c.text((W - textWidth(opts.title, 2)) / 2, 7, opts.title, BLACK, 2);
  const plane = height * width;
  const norm = (v: number) => Math.round(Math.min(Math.max((v - lo) / (hi - lo), 0), 1) * 255);
  for (let i = 0; i < count; i++) {
    const ox = pad + (i % cols) * cellW;
    const oy = titleH + pad + Math.floor(i / cols) * cellH;
    const base = i * channels * plane;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const p = y * width + x;
        const r = norm(images[base + p]!);
        const col: RGB =
          channels === 1 ? [r, r, r] : [r, norm(images[base + plane + p]!), norm(images[base + 2 * plane + p]!)];
        c.fillRect(ox + x * scale, oy + y * scale, scale, scale, col);
      }
    }
    const label = opts.labels?.[i];
    if (label !== undefined)
      c.text(
        ox,
        oy + height * scale + 2,
        label.slice(0, Math.max(1, Math.floor((width * scale) / 6))),
        opts.labelColors?.[i] ?? BLACK,
        1,
      );
  }
  return c.toPNG();
}

/** One line of a line plot: y values at x (default 0, 1, 2, ...). */
export interface Series {
  name: string;
  y: readonly number[];
  x?: readonly number[];
  color?: RGB;
}

export interface LinePlotOptions extends AxesOptions {
  width?: number;
  height?: number;
  /** Moving-average window: the raw curve is drawn faint and the average solid (default 1: raw only). */
  smooth?: number;
  /** Fixed y range (default: the data's, padded 5%). */
  yRange?: readonly [number, number];
}

function movingAverage(y: readonly number[], w: number): number[] {
  const out: number[] = [];
  let s = 0;
  const q: number[] = [];
  for (const v of y) {
    q.push(v);
    s += v;
    if (q.length > w) s -= q.shift()!;
    out.push(s / q.length);
  }
  return out;
}

/** Line plot (e.g. loss curves) with axes, tick labels and a legend. Returns PNG bytes. */
export function linePlot(series: readonly Series[], opts: LinePlotOptions = {}): Buffer {
  const op = 'linePlot';
  if (series.length === 0) fail(op, 'needs at least one series');
  const W = opts.width ?? 800;
  const H = opts.height ?? 480;
  if (!Number.isInteger(W) || !Number.isInteger(H) || W < 200 || H < 150 || W > 4096 || H > 4096) {
    fail(op, `width and height must be integers in [200, 4096] and [150, 4096], got ${W}x${H}`);
  }
  const smooth = opts.smooth ?? 1;
  if (!Number.isInteger(smooth) || smooth < 1) fail(op, `smooth must be a positive integer, got ${smooth}`);
  let x0 = Number.POSITIVE_INFINITY;
  let x1 = Number.NEGATIVE_INFINITY;
  let y0 = Number.POSITIVE_INFINITY;
  let y1 = Number.NEGATIVE_INFINITY;
  for (const s of series) {
    if (s.x !== undefined && s.x.length !== s.y.length)
      fail(op, `series '${s.name}': ${s.x.length} x values for ${s.y.length} y values`);
    s.y.forEach((v, i) => {
      if (!Number.isFinite(v)) return;
      const x = s.x?.[i] ?? i;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, v);
      y1 = Math.max(y1, v);
    });
  }
  if (!Number.isFinite(x0)) {
    x0 = 0;
    x1 = 1;
    y0 = 0;
    y1 = 1;
  }
  if (x1 === x0) x1 = x0 + 1;
  if (opts.yRange) [y0, y1] = opts.yRange;
  else {
    const padY = (y1 - y0 || Math.abs(y0) || 1) * 0.05;
    y0 -= padY;
    y1 += padY;
  }
  const ax = new Axes(
    MARGIN.left,
    MARGIN.top,
    W - MARGIN.left - MARGIN.right,
    H - MARGIN.top - MARGIN.bottom,
    x0,
    x1,
    y0,
    y1,
  );
  const c = new Canvas(W, H);
  drawAxes(c, ax, opts);
  const clampY = (v: number) => Math.min(Math.max(v, y0), y1);
  series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length]!;
    const draw = (ys: readonly number[], thickness: number, alpha: number) => {
      let prev: [number, number] | undefined;
      ys.forEach((v, i) => {
        if (!Number.isFinite(v)) {
          prev = undefined;
          return;
        }
        const p: [number, number] = [ax.px(s.x?.[i] ?? i), ax.py(clampY(v))];
        if (prev) c.line(prev[0], prev[1], p[0], p[1], color, thickness, alpha);
        else if (ys.length === 1) c.disc(p[0], p[1], 3, color, alpha);
        prev = p;
      });
    };
    if (smooth > 1) {
      draw(s.y, 1, 0.25);
      draw(movingAverage(s.y, smooth), 2, 1);
    } else draw(s.y, 2, 1);
  });
  drawFrameAndTicks(c, ax);
  // Legend inside the plot, in the corner (top right, bottom right, top left, bottom left) that
  // covers the fewest data points.
  const lw = Math.max(...series.map((s) => textWidth(s.name, 2))) + 40;
  const lh = series.length * (textHeight(2) + 6) + 8;
  const corners: [number, number][] = [
    [ax.left + ax.width - lw - 8, ax.top + 8],
    [ax.left + ax.width - lw - 8, ax.top + ax.height - lh - 8],
    [ax.left + 8, ax.top + 8],
    [ax.left + 8, ax.top + ax.height - lh - 8],
  ];
  const covered = ([cx, cy]: [number, number]) => {
    let n = 0;
    for (const s of series) {
      s.y.forEach((v, i) => {
        const px = ax.px(s.x?.[i] ?? i);
        const py = ax.py(clampY(v));
        if (px >= cx - 4 && px <= cx + lw + 4 && py >= cy - 4 && py <= cy + lh + 4) n++;
      });
    }
    return n;
  };
  const [lx, ly] = corners.reduce((best, c) => (covered(c) < covered(best) ? c : best));
  c.fillRect(lx, ly, lw, lh, WHITE, 0.85);
  c.strokeRect(lx, ly, lw, lh, [180, 180, 180]);
  series.forEach((s, k) => {
    const y = ly + 6 + k * (textHeight(2) + 6);
    const color = s.color ?? PALETTE[k % PALETTE.length]!;
    c.fillRect(lx + 8, y + textHeight(2) / 2 - 2, 20, 4, color);
    c.text(lx + 34, y, s.name, BLACK, 2);
  });
  return c.toPNG();
}

/** Writes PNG bytes to a file. */
export async function savePNG(path: string, png: Uint8Array): Promise<void> {
  await writeFile(path, png);
}
