// Plot axes in SVG: layout from the text sizes, frame, grid, ticks (linear and log), axis labels,
// titles; and the colours (PALETTE, viridis).
import { textWidth } from './font-metrics.js';
import type { Scale, ScaleKind, Tick, TickLabel } from './scales.js';
import { el, escapeXml, hex, num, type RGB, text } from './svg.js';

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

/** Text sizes in CSS pixels: at a 640-pixel-wide figure printed 6.5 inches wide these are 9-11 pt. */
export const FONT_SIZE = { tick: 12, label: 14, title: 15, subtitle: 12, legend: 12 } as const;

const AXIS_COLOR: RGB = [38, 38, 38];
const GRID_COLOR = '#e5e5e5';
const TICK_LENGTH = 4;

export interface AxesOptions {
  title?: string;
  /** A line of smaller grey text under the title (e.g. the metrics). */
  subtitle?: string;
  xLabel?: string;
  yLabel?: string;
  /** Light grid lines at the major ticks (default true). */
  grid?: boolean;
  /** Linear (default) or log10 x axis. */
  xScale?: ScaleKind;
  /** Linear (default) or log10 y axis. */
  yScale?: ScaleKind;
}

/** A rectangular plot area (CSS pixels) with a scale on each axis. */
export class Axes {
  constructor(
    readonly left: number,
    readonly top: number,
    readonly width: number,
    readonly height: number,
    readonly x: Scale,
    readonly y: Scale,
  ) {}

  px(v: number): number {
    return this.left + this.x.unit(v) * this.width;
  }

  py(v: number): number {
    return this.top + this.height - this.y.unit(v) * this.height;
  }

  contains(x: number, y: number): boolean {
    return x >= this.x.min && x <= this.x.max && y >= this.y.min && y <= this.y.max;
  }
}

/** Width of a tick label at `size`: superscripts are set at 70%. */
export function tickLabelWidth(label: TickLabel, size: number): number {
  return textWidth(label.text, size) + (label.exponent ? textWidth(label.exponent.replace('-', '−'), size * 0.7) : 0);
}

/** The SVG content of a tick label (a superscript tspan for powers of ten, a true minus sign). */
function tickLabelContent(label: TickLabel): string {
  const t = escapeXml(label.text.replace(/^-/, '−'));
  if (!label.exponent) return t;
  return `${t}<tspan baseline-shift="super" font-size="70%">${escapeXml(label.exponent.replace('-', '−'))}</tspan>`;
}

/** The top margin for a title and subtitle. */
function headerHeight(opts: AxesOptions): number {
  return 12 + (opts.title ? FONT_SIZE.title + 8 : 0) + (opts.subtitle ? FONT_SIZE.subtitle + 6 : 0);
}

/**
 * Places the axes in a `width` x `height` figure, leaving room for tick labels, axis labels, title
 * and `extraRight` pixels on the right (a colour bar); `square` makes the plot area square.
 */
export function layoutAxes(
  width: number,
  height: number,
  x: Scale,
  y: Scale,
  opts: AxesOptions,
  extraRight = 0,
  square = false,
): Axes {
  const yTickW = Math.max(0, ...y.ticks().map((t) => tickLabelWidth(t.label, FONT_SIZE.tick)));
  const left = 10 + (opts.yLabel ? FONT_SIZE.label + 10 : 0) + yTickW + TICK_LENGTH + 5;
  const top = headerHeight(opts) + 4;
  const bottom = TICK_LENGTH + 5 + FONT_SIZE.tick + (opts.xLabel ? FONT_SIZE.label + 12 : 0) + 10;
  const right = 20 + extraRight;
  let w = Math.max(20, width - left - right);
  let h = Math.max(20, height - top - bottom);
  let l = left;
  if (square) {
    const side = Math.min(w, h);
    l = left + (w - side) / 2;
    w = side;
    h = side;
  }
  return new Axes(l, top, w, h, x, y);
}

/** The clip path of the plot area, to put in the figure's defs. */
export function plotAreaClip(ax: Axes, id = 'plot-area'): string {
  return el('clipPath', { id }, el('rect', { x: ax.left, y: ax.top, width: ax.width, height: ax.height }));
}

/** Grid lines at the major ticks (drawn under the data). */
export function gridSVG(ax: Axes): string {
  const lines: string[] = [];
  for (const t of ax.x.ticks()) lines.push(`M${num(ax.px(t.value))} ${num(ax.top)}v${num(ax.height)}`);
  for (const t of ax.y.ticks()) lines.push(`M${num(ax.left)} ${num(ax.py(t.value))}h${num(ax.width)}`);
  return el('path', { d: lines.join(''), stroke: GRID_COLOR, 'stroke-width': 0.8, fill: 'none' });
}

function tickMarks(ticks: readonly number[], at: (v: number) => number, horizontal: boolean, ax: Axes, len: number) {
  const y0 = ax.top + ax.height;
  return ticks
    .map((v) => (horizontal ? `M${num(at(v))} ${num(y0)}v${len}` : `M${num(ax.left)} ${num(at(v))}h${-len}`))
    .join('');
}

/** Title and subtitle centred over the axes (moved or shrunk to stay inside the figure). */
export function titleSVG(ax: Axes, figureWidth: number, opts: AxesOptions): string[] {
  const out: string[] = [];
  const line = (s: string, baseline: number, size0: number, color?: RGB) => {
    const size = Math.min(size0, (size0 * (figureWidth - 16)) / Math.max(1, textWidth(s, size0)));
    const half = textWidth(s, size) / 2;
    const cx = Math.min(Math.max(ax.left + ax.width / 2, 8 + half), figureWidth - 8 - half);
    out.push(text(cx, baseline, s, { size, anchor: 'middle', ...(color ? { color } : {}) }));
  };
  let baseline = 10 + FONT_SIZE.subtitle;
  if (opts.title) {
    line(opts.title, 10 + FONT_SIZE.title, FONT_SIZE.title);
    baseline = 10 + FONT_SIZE.title + FONT_SIZE.subtitle + 6;
  }
  if (opts.subtitle) line(opts.subtitle, baseline, FONT_SIZE.subtitle, [90, 90, 90]);
  return out;
}

/** Frame, ticks with labels, axis labels (drawn over the data so nothing hides them). */
export function frameSVG(ax: Axes, opts: AxesOptions): string[] {
  const out: string[] = [];
  const xt: Tick[] = ax.x.ticks();
  const yt: Tick[] = ax.y.ticks();
  const stroke = hex(AXIS_COLOR);
  const major =
    tickMarks(
      xt.map((t) => t.value),
      (v) => ax.px(v),
      true,
      ax,
      TICK_LENGTH,
    ) +
    tickMarks(
      yt.map((t) => t.value),
      (v) => ax.py(v),
      false,
      ax,
      TICK_LENGTH,
    );
  const minor =
    tickMarks(ax.x.minorTicks(), (v) => ax.px(v), true, ax, TICK_LENGTH / 2) +
    tickMarks(ax.y.minorTicks(), (v) => ax.py(v), false, ax, TICK_LENGTH / 2);
  out.push(
    el('rect', {
      x: ax.left,
      y: ax.top,
      width: ax.width,
      height: ax.height,
      fill: 'none',
      stroke,
      'stroke-width': 0.8,
    }),
    el('path', { d: major + minor, stroke, 'stroke-width': 0.8, fill: 'none' }),
  );
  const labels: string[] = [];
  const ty = ax.top + ax.height + TICK_LENGTH + 4 + FONT_SIZE.tick * 0.76;
  for (const t of xt)
    labels.push(text(ax.px(t.value), ty, tickLabelContent(t.label), { size: FONT_SIZE.tick, anchor: 'middle' }, true));
  for (const t of yt) {
    labels.push(
      text(
        ax.left - TICK_LENGTH - 4,
        ax.py(t.value),
        tickLabelContent(t.label),
        { size: FONT_SIZE.tick, anchor: 'end', middle: true },
        true,
      ),
    );
  }
  out.push(el('g', { class: 'tick-labels' }, labels.join('')));
  if (opts.xLabel) {
    const y = ax.top + ax.height + TICK_LENGTH + 4 + FONT_SIZE.tick + 8 + FONT_SIZE.label * 0.76;
    out.push(text(ax.left + ax.width / 2, y, opts.xLabel, { size: FONT_SIZE.label, anchor: 'middle' }));
  }
  if (opts.yLabel) {
    const yTickW = Math.max(0, ...yt.map((t) => tickLabelWidth(t.label, FONT_SIZE.tick)));
    const x = ax.left - TICK_LENGTH - 5 - yTickW - 8 - FONT_SIZE.label * 0.24;
    out.push(text(x, ax.top + ax.height / 2, opts.yLabel, { size: FONT_SIZE.label, anchor: 'middle', rotate: -90 }));
  }
  return out;
}

/** Colours of a perceptually ordered map (viridis, by linear interpolation of 9 anchors). */
export const VIRIDIS: readonly RGB[] = [
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
