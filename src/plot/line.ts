// Line plots (loss curves, accuracy per epoch) as SVG: linear or log axes, smoothing, legend.
import { fail } from '../errors.js';
import { type AxesOptions, frameSVG, gridSVG, layoutAxes, PALETTE, plotAreaClip, titleSVG } from './axes.js';
import { type LegendEntry, legendSVG } from './legend.js';
import { dataRange, Scale } from './scales.js';
import { checkFigureSize, el, type Figure, hex, num, type RGB, svgDocument } from './svg.js';

/** One line of a line plot: y values at x (default 0, 1, 2, ...). */
export interface Series {
  name: string;
  y: readonly number[];
  x?: readonly number[];
  color?: RGB;
  /** Dashed line (default solid). */
  dashed?: boolean;
}

export interface LinePlotOptions extends AxesOptions {
  /** Figure width in CSS pixels (default 800). */
  width?: number;
  /** Figure height in CSS pixels (default 480). */
  height?: number;
  /** Moving-average window: the raw curve is drawn faint and the average solid (default 1: raw only). */
  smooth?: number;
  /** Fixed y range (default: the data's, padded 5%). */
  yRange?: readonly [number, number];
  /** Fixed x range (default: the data's). */
  xRange?: readonly [number, number];
  /** Draw the legend (default true). */
  legend?: boolean;
}

function movingAverage(y: readonly number[], w: number): number[] {
  const out: number[] = [];
  let s = 0;
  const q: number[] = [];
  for (const v of y) {
    if (!Number.isFinite(v)) {
      out.push(Number.NaN);
      continue;
    }
    q.push(v);
    s += v;
    if (q.length > w) s -= q.shift()!;
    out.push(s / q.length);
  }
  return out;
}

/**
 * Line plot (e.g. loss curves) with axes, tick labels and a legend, as an SVG figure. Points a log
 * axis cannot show (zero, negative) and non-finite values break the line.
 *
 * @example
 * ```ts
 * const fig = lineSVG([{ name: 'loss', y: [1, 0.1, 0.01] }], { yScale: 'log', xLabel: 'step' });
 * fig.svg.includes('loss'); // true
 * ```
 */
export function lineSVG(series: readonly Series[], opts: LinePlotOptions = {}): Figure {
  const op = 'linePlot';
  if (series.length === 0) fail(op, 'needs at least one series');
  const W = opts.width ?? 800;
  const H = opts.height ?? 480;
  if (!Number.isInteger(W) || !Number.isInteger(H) || W < 200 || H < 150 || W > 4096 || H > 4096) {
    fail(op, `width and height must be integers in [200, 4096] and [150, 4096], got ${W}x${H}`);
  }
  checkFigureSize(op, W, H);
  const smooth = opts.smooth ?? 1;
  if (!Number.isInteger(smooth) || smooth < 1) fail(op, `smooth must be a positive integer, got ${smooth}`);
  for (const s of series) {
    if (s.x !== undefined && s.x.length !== s.y.length) {
      fail(op, `series '${s.name}': ${s.x.length} x values for ${s.y.length} y values`);
    }
  }
  const xKind = opts.xScale ?? 'linear';
  const yKind = opts.yScale ?? 'linear';
  const xs = series.flatMap((s) => s.y.map((v, i) => (Number.isFinite(v) ? (s.x?.[i] ?? i) : Number.NaN)));
  let [x0, x1] = opts.xRange ?? dataRange(op, xKind, xs, 0);
  if (!(x1 > x0)) x1 = xKind === 'log' ? x0 * 10 : x0 + 1;
  const [y0, y1] =
    opts.yRange ??
    dataRange(
      op,
      yKind,
      series.flatMap((s) => s.y),
    );
  if (!(y1 > y0)) fail(op, `yRange needs min < max, got [${y0}, ${y1}]`);
  const ax = layoutAxes(W, H, new Scale(xKind, x0, x1), new Scale(yKind, y0, y1), opts);
  const body: string[] = [];
  if (opts.grid ?? true) body.push(gridSVG(ax));
  const curves: string[] = [];
  const avoid: number[] = [];
  const entries: LegendEntry[] = [];
  const clampY = (v: number) => Math.min(Math.max(v, y0), y1);
  series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length]!;
    const path = (ys: readonly number[]) => {
      let d = '';
      let pen = false;
      let count = 0;
      ys.forEach((v, i) => {
        const px = ax.px(s.x?.[i] ?? i);
        const py = ax.py(clampY(v));
        if (!Number.isFinite(v) || !Number.isFinite(px) || !Number.isFinite(py)) {
          pen = false;
          return;
        }
        d += `${pen ? 'L' : 'M'}${num(px)} ${num(py)}`;
        pen = true;
        count++;
        avoid.push(px, py);
      });
      return { d, count };
    };
    const dash = s.dashed ? '6 4' : undefined;
    const style = { stroke: hex(color), fill: 'none', 'stroke-linejoin': 'round', 'stroke-linecap': 'round' };
    const main = smooth > 1 ? movingAverage(s.y, smooth) : s.y;
    if (smooth > 1) curves.push(el('path', { d: path(s.y).d, ...style, 'stroke-width': 1, 'stroke-opacity': 0.3 }));
    const p = path(main);
    curves.push(el('path', { d: p.d, ...style, 'stroke-width': 1.8, 'stroke-dasharray': dash }));
    if (p.count === 1) {
      const [, mx, my] = /M([-\d.]+) ([-\d.]+)/.exec(p.d) ?? [];
      curves.push(el('circle', { cx: Number(mx), cy: Number(my), r: 3, fill: hex(color) }));
    }
    entries.push({ label: s.name, symbol: 'line', color });
  });
  body.push(el('g', { 'clip-path': 'url(#plot-area)', class: 'curves' }, curves.join('')));
  body.push(...frameSVG(ax, opts), ...titleSVG(ax, W, opts));
  if (opts.legend ?? true) body.push(legendSVG(ax, entries, avoid));
  return svgDocument(W, H, body, [plotAreaClip(ax)]);
}
