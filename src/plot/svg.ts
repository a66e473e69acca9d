// SVG building blocks for the figures: escaping, elements, text in the bundled font, and the Figure
// type. Pure string building: runs unchanged in Node and in a browser.
import { fail } from '../errors.js';
import { CAP_HEIGHT } from './font-metrics.js';

/** An RGB colour, each channel 0-255. */
export type RGB = readonly [number, number, number];

export const WHITE: RGB = [255, 255, 255];
export const BLACK: RGB = [0, 0, 0];

/** The font the figures are set in (bundled as assets/fonts/DejaVuSans.ttf; browsers fall back to Verdana). */
export const FONT_FAMILY = 'DejaVu Sans';
const FONT_STACK = "'DejaVu Sans', 'Bitstream Vera Sans', Verdana, sans-serif";

/** A finished figure: a standalone SVG document and its size in CSS pixels (1/96 inch). */
export interface Figure {
  readonly svg: string;
  readonly width: number;
  readonly height: number;
}

/** Escapes text for SVG content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A number as SVG wants it: at most 2 decimals, no trailing zeros. */
export function num(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** `#rrggbb` of an RGB colour. */
export function hex(c: RGB): string {
  return `#${c
    .map((v) =>
      Math.round(Math.min(255, Math.max(0, v)))
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;
}

type AttrValue = string | number | undefined;

/** One element; numbers are rounded by `num`, undefined attributes are left out. */
export function el(name: string, attrs: Readonly<Record<string, AttrValue>>, children?: string): string {
  let s = `<${name}`;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    s += ` ${k}="${typeof v === 'number' ? num(v) : escapeXml(v)}"`;
  }
  return children === undefined ? `${s}/>` : `${s}>${children}</${name}>`;
}

/** Where a text's anchor point sits horizontally. */
export type TextAnchor = 'start' | 'middle' | 'end';

export interface TextStyle {
  size: number;
  anchor?: TextAnchor;
  color?: RGB;
  /** Degrees, clockwise; the text turns about its anchor point. */
  rotate?: number;
  /** `y` is the baseline (default) or the vertical centre of the capitals and digits. */
  middle?: boolean;
  weight?: 'normal' | 'bold';
}

/** A text element; `content` is escaped unless `raw` (for tspans built by the caller). */
export function text(x: number, y: number, content: string, style: TextStyle, raw = false): string {
  const baseline = style.middle ? (CAP_HEIGHT / 2) * style.size : 0;
  const rot = style.rotate ?? 0;
  const pos =
    rot === 0
      ? { x, y: y + baseline }
      : { transform: `translate(${num(x)} ${num(y)}) rotate(${num(rot)})`, y: baseline || undefined };
  return el(
    'text',
    {
      ...pos,
      'font-size': style.size,
      'text-anchor': style.anchor && style.anchor !== 'start' ? style.anchor : undefined,
      fill: style.color && hex(style.color) !== '#000000' ? hex(style.color) : undefined,
      'font-weight': style.weight === 'bold' ? 'bold' : undefined,
    },
    raw ? content : escapeXml(content),
  );
}

/** Checks a figure size in CSS pixels. */
export function checkFigureSize(op: string, width: number, height: number): void {
  if (
    !Number.isFinite(width) ||
    !Number.isFinite(height) ||
    width < 100 ||
    height < 80 ||
    width > 8192 ||
    height > 8192
  ) {
    fail(op, `figure size must be in [100, 8192] x [80, 8192] pixels, got ${width}x${height}`);
  }
}

/** Wraps body elements into a standalone SVG document with a white background. */
export function svgDocument(
  width: number,
  height: number,
  body: readonly string[],
  defs: readonly string[] = [],
): Figure {
  const w = Math.ceil(width);
  const h = Math.ceil(height);
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="${escapeXml(FONT_STACK)}">`,
    defs.length > 0 ? `<defs>${defs.join('')}</defs>` : '',
    `<rect width="${w}" height="${h}" fill="#ffffff"/>`,
    ...body,
    '</svg>\n',
  ].join('\n');
  return { svg, width: w, height: h };
}
