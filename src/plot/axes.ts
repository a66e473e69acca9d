// Plot axes: nice ticks, tick labels, frames, and the colours (PALETTE, viridis).
import { BLACK, type Canvas, type RGB, textHeight, textWidth } from './canvas.js';

/** Ten distinct colours (matplotlib's tab10). */
export const PALETTE: readonly RGB[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];

const GRID: RGB = [228, 228, 228];
const AXIS: RGB = [60, 60, 60];

/** Evenly spaced "nice" tick values (steps of 1, 2 or 5 times a power of ten) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) return [];
  if (hi <= lo) return [lo];
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const out: number[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  for (let k = first; k * step <= hi + step * 1e-9; k++) out.push(k === 0 ? 0 : Number((k * step).toPrecision(12)));
  return out;
}

/** Formats tick values with as many decimals as the spacing needs (exponent form for extremes). */
export function formatTick(v: number, ticks: readonly number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : Math.abs(v) || 1;
  const big = Math.max(...ticks.map(Math.abs));
  if (big >= 1e6 || (big > 0 && big < 1e-3)) return v === 0 ? '0' : v.toExponential(1).replace('e+', 'e');
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

export interface AxesOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Draw light grid lines at the ticks (default true). */
  grid?: boolean;
}

/** A rectangular plot area mapping data coordinates to pixels. */
export class Axes {
  constructor(
    readonly left: number,
    readonly top: number,
    readonly width: number,
    readonly height: number,
    readonly xMin: number,
    readonly xMax: number,
    readonly yMin: number,
    readonly yMax: number,
  ) {}

  px(x: number): number {
    return this.left + ((x - this.xMin) / (this.xMax - this.xMin || 1)) * this.width;
  }

  py(y: number): number {
    return this.top + this.height - ((y - this.yMin) / (this.yMax - this.yMin || 1)) * this.height;
  }

  contains(x: number, y: number): boolean {
    return x >= this.xMin && x <= this.xMax && y >= this.yMin && y <= this.yMax;
  }
}

/** Margins (pixels) that leave room for tick labels, axis labels and a title. */
export const MARGIN = { left: 78, right: 24, top: 60, bottom: 62 };

/** Draws the frame, grid, ticks with labels, axis labels and title around `ax`. */
export function drawAxes(c: Canvas, ax: Axes, opts: AxesOptions = {}): void {
  const xt = niceTicks(ax.xMin, ax.xMax);
  const yt = niceTicks(ax.yMin, ax.yMax);
  if (opts.grid ?? true) {
    for (const t of xt) c.line(ax.px(t), ax.top, ax.px(t), ax.top + ax.height, GRID);
    for (const t of yt) c.line(ax.left, ax.py(t), ax.left + ax.width, ax.py(t), GRID);
  }
  drawFrameAndTicks(c, ax, xt, yt);
  const s = 2;
  if (opts.title) {
    c.text(ax.left + (ax.width - textWidth(opts.title, s)) / 2, Math.max(4, ax.top - 52), opts.title, BLACK, s);
  }
  if (opts.xLabel) {
    c.text(ax.left + (ax.width - textWidth(opts.xLabel, s)) / 2, ax.top + ax.height + 38, opts.xLabel, BLACK, s);
  }
  if (opts.yLabel) {
    c.textVertical(8, ax.top + (ax.height + textWidth(opts.yLabel, s)) / 2, opts.yLabel, BLACK, s);
  }
}

/** The frame and tick marks with labels (drawn over content, so points never hide them). */
export function drawFrameAndTicks(
  c: Canvas,
  ax: Axes,
  xt = niceTicks(ax.xMin, ax.xMax),
  yt = niceTicks(ax.yMin, ax.yMax),
): void {
  const s = 2;
  c.strokeRect(ax.left - 1, ax.top - 1, ax.width + 2, ax.height + 2, AXIS);
  for (const t of xt) {
    const x = ax.px(t);
    c.line(x, ax.top + ax.height, x, ax.top + ax.height + 5, AXIS);
    const label = formatTick(t, xt);
    c.text(x - textWidth(label, s) / 2, ax.top + ax.height + 9, label, BLACK, s);
  }
  for (const t of yt) {
    const y = ax.py(t);
    c.line(ax.left - 6, y, ax.left, y, AXIS);
    const label = formatTick(t, yt);
    c.text(ax.left - 9 - textWidth(label, s), y - textHeight(s) / 2, label, BLACK, s);
  }
}

/** Colours of a perceptually ordered map (viridis, by linear interpolation of 9 anchors). */
const VIRIDIS: readonly RGB[] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** Viridis colour of t in [0, 1]. */
export function viridis(t: number): RGB {
  const u = Math.min(Math.max(Number.isFinite(t) ? t : 0, 0), 1) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(u), VIRIDIS.length - 2);
  const f = u - i;
  const a = VIRIDIS[i]!;
  const b = VIRIDIS[i + 1]!;
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f),
  ];
}
