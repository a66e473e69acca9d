// Legends (boxed, in the plot corner that hides the fewest data points) and colour bars.
import { type Axes, FONT_SIZE, VIRIDIS } from './axes.js';
import { textWidth } from './font-metrics.js';
import { formatTick, niceTicks } from './scales.js';
import { el, hex, num, type RGB, text } from './svg.js';

/** One legend row: a symbol in `color` and its label. */
export interface LegendEntry {
  label: string;
  /** A line segment, a filled dot, a cross (mode centres) or a ring (a region around a point). */
  symbol: 'line' | 'dot' | 'cross' | 'ring';
  color: RGB;
  opacity?: number;
}

const ROW = FONT_SIZE.legend + 7;
const SYMBOL_W = 22;

function symbolSVG(e: LegendEntry, x: number, cy: number): string {
  const c = hex(e.color);
  switch (e.symbol) {
    case 'line':
      return el('path', { d: `M${num(x)} ${num(cy)}h${SYMBOL_W}`, stroke: c, 'stroke-width': 2, fill: 'none' });
    case 'dot':
      return el('circle', { cx: x + SYMBOL_W / 2, cy, r: 3.5, fill: c, 'fill-opacity': e.opacity });
    case 'cross': {
      const m = x + SYMBOL_W / 2;
      return el('path', {
        d: `M${num(m - 5)} ${num(cy - 5)}l10 10M${num(m - 5)} ${num(cy + 5)}l10 -10`,
        stroke: c,
        'stroke-width': 2,
      });
    }
    case 'ring':
      return el('circle', { cx: x + SYMBOL_W / 2, cy, r: 6, fill: 'none', stroke: c, 'stroke-width': 1.2 });
  }
}

/**
 * A legend box inside the axes, in the corner (top right, top left, bottom right, bottom left)
 * that covers the fewest of the `avoid` points (pixel coordinates, flat x0, y0, x1, y1, ...).
 */
export function legendSVG(ax: Axes, entries: readonly LegendEntry[], avoid: ArrayLike<number>): string {
  if (entries.length === 0) return '';
  const w = 8 + SYMBOL_W + 6 + Math.max(...entries.map((e) => textWidth(e.label, FONT_SIZE.legend))) + 10;
  const h = entries.length * ROW + 8;
  const m = 8;
  const corners: [number, number][] = [
    [ax.left + ax.width - w - m, ax.top + m],
    [ax.left + m, ax.top + m],
    [ax.left + ax.width - w - m, ax.top + ax.height - h - m],
    [ax.left + m, ax.top + ax.height - h - m],
  ];
  const covered = ([cx, cy]: [number, number]) => {
    let n = 0;
    for (let i = 0; i + 1 < avoid.length; i += 2) {
      const px = avoid[i]!;
      const py = avoid[i + 1]!;
      if (px >= cx - 3 && px <= cx + w + 3 && py >= cy - 3 && py <= cy + h + 3) n++;
    }
    return n;
  };
  let best = corners[0]!;
  let bestN = covered(best);
  for (const c of corners.slice(1)) {
    const n = covered(c);
    if (n < bestN) {
      best = c;
      bestN = n;
    }
  }
  const [lx, ly] = best;
  const rows = entries.map((e, k) => {
    const cy = ly + 4 + k * ROW + ROW / 2;
    return (
      symbolSVG(e, lx + 8, cy) + text(lx + 8 + SYMBOL_W + 6, cy, e.label, { size: FONT_SIZE.legend, middle: true })
    );
  });
  return el(
    'g',
    { class: 'legend' },
    el('rect', {
      x: lx,
      y: ly,
      width: w,
      height: h,
      rx: 3,
      fill: '#ffffff',
      'fill-opacity': 0.85,
      stroke: '#c8c8c8',
      'stroke-width': 0.8,
    }) + rows.join(''),
  );
}

/** Pixels a colour bar takes right of the axes, for values up to `max` and an optional label. */
export function colourBarWidth(max: number, label?: string): number {
  const ticks = niceTicks(0, max, 5);
  const tw = Math.max(0, ...ticks.map((t) => textWidth(formatTick(t, ticks), FONT_SIZE.tick)));
  return 16 + 14 + 4 + 4 + tw + (label ? 10 + FONT_SIZE.label : 0) + 6;
}

/**
 * A vertical viridis colour bar right of the axes for values 0..max shown at colour position
 * `position(v / max)` (e.g. Math.sqrt for a square-root colour scale), with nice ticks and a label.
 * Returns the gradient definition and the drawing.
 */
export function colourBarSVG(
  ax: Axes,
  max: number,
  position: (fraction: number) => number,
  label?: string,
  id = 'colour-bar',
): { defs: string; body: string } {
  const stops = VIRIDIS.map((c, i) => el('stop', { offset: i / (VIRIDIS.length - 1), 'stop-color': hex(c) })).join('');
  const defs = el('linearGradient', { id, x1: 0, y1: 1, x2: 0, y2: 0 }, stops);
  const x = ax.left + ax.width + 16;
  const w = 14;
  const parts: string[] = [
    el('rect', { x, y: ax.top, width: w, height: ax.height, fill: `url(#${id})` }),
    el('rect', { x, y: ax.top, width: w, height: ax.height, fill: 'none', stroke: '#262626', 'stroke-width': 0.8 }),
  ];
  const ticks = max > 0 ? niceTicks(0, max, 5) : [0];
  let marks = '';
  let tw = 0;
  for (const t of ticks) {
    const y = ax.top + ax.height - (max > 0 ? position(t / max) : 0) * ax.height;
    marks += `M${num(x + w)} ${num(y)}h4`;
    const s = formatTick(t, ticks);
    tw = Math.max(tw, textWidth(s, FONT_SIZE.tick));
    parts.push(text(x + w + 7, y, s, { size: FONT_SIZE.tick, middle: true }));
  }
  parts.push(el('path', { d: marks, stroke: '#262626', 'stroke-width': 0.8 }));
  if (label) {
    const lx = x + w + 7 + tw + 10 + FONT_SIZE.label * 0.73;
    parts.push(text(lx, ax.top + ax.height / 2, label, { size: FONT_SIZE.label, anchor: 'middle', rotate: -90 }));
  }
  return { defs, body: el('g', { class: 'colour-bar' }, parts.join('')) };
}
