// Scatter and 2-D density figures of 2-D samples over the true modes, as SVG (legend, colour bar).
import { fail } from '../errors.js';
import {
  Axes,
  type AxesOptions,
  frameSVG,
  gridSVG,
  layoutAxes,
  PALETTE,
  plotAreaClip,
  titleSVG,
  viridis,
} from './axes.js';
import { colourBarSVG, colourBarWidth, type LegendEntry, legendSVG } from './legend.js';
import { rasterDataURI } from './raster.js';
import { dataRange, Scale } from './scales.js';
import { checkFigureSize, el, type Figure, hex, num, type RGB, svgDocument } from './svg.js';

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

/** A data window [xMin, xMax, yMin, yMax]. */
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

function checkSize(op: string, size: number): void {
  if (!Number.isInteger(size) || size < 200 || size > 4096)
    fail(op, `size must be an integer in [200, 4096], got ${size}`);
}

/** Scales for a 2-D window: the given range, or autoRange (linear) / the data's range (log axes). */
function windowScales(
  op: string,
  flat: Float64Array,
  modes: readonly (readonly number[])[],
  opts: AxesOptions & { range?: Range2D },
) {
  const xKind = opts.xScale ?? 'linear';
  const yKind = opts.yScale ?? 'linear';
  let r: Range2D;
  if (opts.range) r = opts.range;
  else if (xKind === 'linear' && yKind === 'linear') r = autoRange(flat, modes);
  else {
    const xs = [...flat.filter((_, i) => i % 2 === 0), ...modes.map((m) => m[0]!)];
    const ys = [...flat.filter((_, i) => i % 2 === 1), ...modes.map((m) => m[1]!)];
    r = [...dataRange(op, xKind, xs), ...dataRange(op, yKind, ys)];
  }
  if (!(r[1] > r[0] && r[3] > r[2])) fail(op, `range needs xMin < xMax and yMin < yMax, got [${r.join(', ')}]`);
  return { x: new Scale(xKind, r[0], r[1]), y: new Scale(yKind, r[2], r[3]), range: r };
}

export interface ScatterOptions extends AxesOptions {
  /** Figure side in CSS pixels (default 640). */
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
  /** Legend label of the points (default 'samples'). */
  label?: string;
  /** Legend label of the circles around the modes (default 'high-quality region'). */
  modeRadiusLabel?: string;
  /** Further point sets drawn over the first, each with its own legend entry and colour. */
  overlays?: readonly { label: string; points: Points2D; color?: RGB }[];
  /** Draw the legend (default: when there are modes, overlays or a label). */
  legend?: boolean;
}

const MODE_COLOR: RGB = [214, 39, 40];

/**
 * Scatter plot of 2-D samples over the true modes, as an SVG figure with axes, legend and title.
 *
 * @example
 * ```ts
 * const fig = scatterSVG([[0, 0], [1, 0.5]], { modes: [[0, 0]], title: 'samples' });
 * fig.svg.startsWith('<svg'); // true
 * ```
 */
export function scatterSVG(points: Points2D, opts: ScatterOptions = {}): Figure {
  const op = 'scatterPlot';
  const size = opts.size ?? 640;
  checkSize(op, size);
  checkFigureSize(op, size, size);
  const flat = flattenPoints(op, points);
  const modes = opts.modes ?? [];
  const { x, y } = windowScales(op, flat, modes, opts);
  const ax = layoutAxes(size, size, x, y, opts, 0, true);
  const body: string[] = [];
  if (opts.grid ?? true) body.push(gridSVG(ax));
  const avoid: number[] = [];
  const data: string[] = [];
  for (const m of modes) {
    const cx = ax.px(m[0]!);
    const cy = ax.py(m[1]!);
    data.push(`M${num(cx - 6)} ${num(cy - 6)}l12 12M${num(cx - 6)} ${num(cy + 6)}l12 -12`);
    avoid.push(cx, cy);
  }
  const layers: string[] = [];
  if (data.length > 0)
    layers.push(el('path', { d: data.join(''), stroke: hex(MODE_COLOR), 'stroke-width': 2, class: 'modes' }));
  const sets = [
    { label: opts.label ?? 'samples', flat, color: opts.color ?? PALETTE[0]!, alpha: opts.alpha },
    ...(opts.overlays ?? []).map((o, k) => ({
      label: o.label,
      flat: flattenPoints(op, o.points),
      color: o.color ?? PALETTE[(k + 1) % PALETTE.length]!,
      alpha: opts.alpha,
    })),
  ];
  const r = opts.pointRadius ?? 2;
  const entries: LegendEntry[] = [];
  for (const s of sets) {
    const n = s.flat.length / 2;
    const alpha = s.alpha ?? (n > 5000 ? 0.25 : n > 1000 ? 0.45 : 0.7);
    let dots = '';
    for (let i = 0; i < n; i++) {
      const px = ax.px(s.flat[2 * i]!);
      const py = ax.py(s.flat[2 * i + 1]!);
      if (!ax.contains(s.flat[2 * i]!, s.flat[2 * i + 1]!) || !Number.isFinite(px + py)) continue;
      dots += `<circle cx="${num(px)}" cy="${num(py)}" r="${num(r)}"/>`;
      avoid.push(px, py);
    }
    layers.push(el('g', { fill: hex(s.color), 'fill-opacity': alpha, class: 'points' }, dots));
    entries.push({ label: s.label, symbol: 'dot', color: s.color, opacity: Math.max(alpha, 0.6) });
  }
  if (modes.length > 0) entries.push({ label: 'true modes', symbol: 'cross', color: MODE_COLOR });
  if (opts.modeRadius !== undefined && opts.modeRadius > 0 && modes.length > 0) {
    let rings = '';
    for (const m of modes) {
      const cx = ax.px(m[0]!);
      const rad = Math.max(9, Math.abs(ax.px(m[0]! + opts.modeRadius) - cx));
      rings += el('circle', { cx, cy: ax.py(m[1]!), r: rad });
    }
    layers.push(el('g', { fill: 'none', stroke: hex(MODE_COLOR), 'stroke-width': 1.2, 'stroke-opacity': 0.9 }, rings));
    entries.push({ label: opts.modeRadiusLabel ?? 'high-quality region', symbol: 'ring', color: MODE_COLOR });
  }
  body.push(el('g', { 'clip-path': 'url(#plot-area)' }, layers.join('')));
  body.push(...frameSVG(ax, opts), ...titleSVG(ax, size, opts));
  const showLegend = opts.legend ?? (modes.length > 0 || sets.length > 1 || opts.label !== undefined);
  if (showLegend) body.push(legendSVG(ax, entries, avoid));
  return svgDocument(size, size, body, [plotAreaClip(ax)]);
}

export interface DensityOptions extends AxesOptions {
  /** Figure height in CSS pixels; the width adds the colour bar (default 640). */
  size?: number;
  /** Histogram bins per axis (default 120). */
  bins?: number;
  /** Gaussian smoothing of the histogram, in bins (a kernel density estimate on the grid; default 1.5, 0 for none). */
  bandwidth?: number;
  range?: Range2D;
  modes?: readonly (readonly number[])[];
  /** Colour bar label (default 'density'). */
  colourBarLabel?: string;
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
  const pass = (src: Float64Array, stride: number, along: number) => {
    const out = new Float64Array(bins * bins);
    for (let a = 0; a < bins; a++) {
      for (let b = 0; b < bins; b++) {
        let s = 0;
        for (let d = -rad; d <= rad; d++) {
          const bb = b + d;
          if (bb >= 0 && bb < bins) s += src[a * along + bb * stride]! * k[d + rad]!;
        }
        out[a * along + b * stride] = s / ks;
      }
    }
    return out;
  };
  return pass(pass(h, 1, bins), bins, 1);
}

/**
 * Density heat map of 2-D samples: a smoothed 2-D histogram in viridis on a square-root colour
 * scale, with a colour bar in units of probability per unit area.
 *
 * @example
 * ```ts
 * const fig = densitySVG([0, 0, 0.1, 0.2, -0.3, 0.1], { bins: 40, title: 'density' });
 * fig.svg.includes('colour-bar'); // true
 * ```
 */
export function densitySVG(points: Points2D, opts: DensityOptions = {}): Figure {
  const op = 'densityPlot';
  const size = opts.size ?? 640;
  checkSize(op, size);
  const bins = opts.bins ?? 120;
  if (!Number.isInteger(bins) || bins < 2 || bins > 1024) fail(op, `bins must be an integer in [2, 1024], got ${bins}`);
  if ((opts.xScale ?? 'linear') !== 'linear' || (opts.yScale ?? 'linear') !== 'linear') {
    fail(
      op,
      `density axes are linear (histogram bins are equal in data units), got xScale '${opts.xScale}', yScale '${opts.yScale}'`,
    );
  }
  const flat = flattenPoints(op, points);
  const modes = opts.modes ?? [];
  const { x, y, range } = windowScales(op, flat, modes, opts);
  const bandwidth = opts.bandwidth ?? 1.5;
  const counts = histogram2d(flat, range, bins, bandwidth);
  const n = Math.max(1, flat.length / 2);
  const binArea = ((range[1] - range[0]) / bins) * ((range[3] - range[2]) / bins);
  let max = 0;
  for (const v of counts) max = Math.max(max, v / (n * binArea));
  const label = opts.colourBarLabel ?? 'density';
  const barW = colourBarWidth(max, label);
  const probe = layoutAxes(size, size, x, y, opts, 0, true);
  const width = Math.ceil(probe.left + probe.width + barW + 12);
  checkFigureSize(op, width, size);
  const ax = new Axes(probe.left, probe.top, probe.width, probe.height, x, y);
  const pixels = new Uint8Array(bins * bins * 3);
  for (let row = 0; row < bins; row++) {
    const by = bins - 1 - row;
    for (let bx = 0; bx < bins; bx++) {
      const v = max > 0 ? Math.sqrt(counts[by * bins + bx]! / (n * binArea) / max) : 0;
      pixels.set(viridis(v), (row * bins + bx) * 3);
    }
  }
  const body: string[] = [
    el('image', {
      x: ax.left,
      y: ax.top,
      width: ax.width,
      height: ax.height,
      preserveAspectRatio: 'none',
      // A smoothed estimate is drawn smoothly (interpolated), a raw histogram as sharp bins.
      'image-rendering': bandwidth > 0 ? undefined : 'optimizeSpeed',
      href: rasterDataURI(bins, bins, 3, pixels),
    }),
  ];
  if (modes.length > 0) {
    const rings = modes.map((m) => el('circle', { cx: ax.px(m[0]!), cy: ax.py(m[1]!), r: 7 })).join('');
    body.push(
      el('g', { fill: 'none', stroke: '#ffffff', 'stroke-opacity': 0.85, 'stroke-width': 1.2, class: 'modes' }, rings),
    );
  }
  const bar = colourBarSVG(ax, max, Math.sqrt, label);
  body.push(...frameSVG(ax, opts), bar.body, ...titleSVG(ax, width, opts));
  return svgDocument(width, size, body, [bar.defs]);
}
