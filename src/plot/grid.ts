// Image grids (MNIST digits, generated samples) and side-by-side composition of figures, as SVG.
import { fail } from '../errors.js';
import { FONT_SIZE } from './axes.js';
import { textWidth } from './font-metrics.js';
import { rasterDataURI } from './raster.js';
import { BLACK, el, type Figure, num, type RGB, svgDocument, text } from './svg.js';

export interface ImageGridOptions {
  /** Images per row (default: about sqrt(count)). */
  cols?: number;
  /** Magnification of each image pixel (default: so that the grid is about 512 pixels wide, at least 1). */
  scale?: number;
  /** Gap between images in CSS pixels (default 2). */
  pad?: number;
  /** Value range mapped to black..white (default [0, 1]; use [-1, 1] for tanh outputs). */
  range?: readonly [number, number];
  title?: string;
  /** One short label per image, drawn under it (e.g. predicted classes). */
  labels?: readonly string[];
  /** Colours of the labels (default black), e.g. red for wrong predictions. */
  labelColors?: readonly RGB[];
}

const LABEL_SIZE = 10;

/**
 * Tiles NCHW images (1 channel: grey, 3 channels: RGB) into one SVG figure, each image an embedded
 * PNG drawn with sharp pixel edges.
 *
 * @example
 * ```ts
 * const fig = imageGridSVG(new Float32Array(4 * 28 * 28), { count: 4, channels: 1, height: 28, width: 28 }, { cols: 2, scale: 2 });
 * [fig.width, fig.height]; // [118, 118]: 2 x (56 + 2-pixel gap) + 2
 * ```
 */
export function imageGridSVG(
  images: ArrayLike<number>,
  shape: { count: number; channels: number; height: number; width: number },
  opts: ImageGridOptions = {},
): Figure {
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
  if (!(scale > 0)) fail(op, `scale must be positive, got ${scale}`);
  const [lo, hi] = opts.range ?? [0, 1];
  if (!(hi > lo)) fail(op, `range must have hi > lo, got [${lo}, ${hi}]`);
  const labelH = opts.labels ? LABEL_SIZE + 4 : 0;
  const titleH = opts.title ? FONT_SIZE.title + 14 : 0;
  const cellW = width * scale + pad;
  const cellH = height * scale + pad + labelH;
  const W = Math.max(cols * cellW + pad, opts.title ? textWidth(opts.title, FONT_SIZE.title) + 16 : 0);
  const H = titleH + rows * cellH + pad;
  const body: string[] = [el('rect', { width: W, height: H, fill: '#fafafa' })];
  if (opts.title)
    body.push(text(W / 2, 8 + FONT_SIZE.title * 0.8, opts.title, { size: FONT_SIZE.title, anchor: 'middle' }));
  const plane = height * width;
  const norm = (v: number) => Math.round(Math.min(Math.max((v - lo) / (hi - lo), 0), 1) * 255);
  const tiles: string[] = [];
  const labels: string[] = [];
  for (let i = 0; i < count; i++) {
    const ox = pad + (i % cols) * cellW;
    const oy = titleH + pad + Math.floor(i / cols) * cellH;
    const pixels = new Uint8Array(plane * channels);
    const base = i * channels * plane;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < channels; c++) pixels[p * channels + c] = norm(images[base + c * plane + p]!);
    }
    tiles.push(
      el('image', {
        x: ox,
        y: oy,
        width: width * scale,
        height: height * scale,
        preserveAspectRatio: 'none',
        href: rasterDataURI(width, height, channels, pixels),
      }),
    );
    const label = opts.labels?.[i];
    if (label !== undefined) {
      labels.push(
        text(ox + (width * scale) / 2, oy + height * scale + 2 + LABEL_SIZE * 0.8, label, {
          size: LABEL_SIZE,
          anchor: 'middle',
          color: opts.labelColors?.[i] ?? BLACK,
        }),
      );
    }
  }
  body.push(el('g', { 'image-rendering': 'optimizeSpeed' }, tiles.join('')));
  if (labels.length > 0) body.push(el('g', { class: 'labels' }, labels.join('')));
  return svgDocument(W, H, body);
}

/** Makes the ids inside a figure unique (prefix) so several figures can share one document. */
function prefixIds(svg: string, prefix: string): string {
  return svg.replace(/\bid="([^"]+)"/g, `id="${prefix}$1"`).replace(/url\(#([^)]+)\)/g, `url(#${prefix}$1)`);
}

/**
 * Places figures left to right (tops aligned) under an optional title, as one SVG figure; each
 * panel stays vector.
 *
 * @example
 * ```ts
 * const a = lineSVG([{ name: 'G', y: [3, 2, 1] }], { width: 400, height: 300 });
 * sideBySideSVG([a, a], { title: 'two panels' }).width; // 808
 * ```
 */
export function sideBySideSVG(panels: readonly Figure[], opts: { title?: string; gap?: number } = {}): Figure {
  if (panels.length === 0) fail('sideBySide', 'needs at least one panel');
  const gap = opts.gap ?? 8;
  const titleH = opts.title ? FONT_SIZE.title + 18 : 0;
  const width = panels.reduce((w, p) => w + p.width, 0) + gap * (panels.length - 1);
  const height = titleH + Math.max(...panels.map((p) => p.height));
  const body: string[] = [];
  if (opts.title) {
    const size = Math.min(
      FONT_SIZE.title + 2,
      ((FONT_SIZE.title + 2) * (width - 16)) / textWidth(opts.title, FONT_SIZE.title + 2),
    );
    body.push(text(width / 2, 10 + size * 0.9, opts.title, { size, anchor: 'middle' }));
  }
  let x = 0;
  panels.forEach((p, k) => {
    const inner = prefixIds(p.svg, `p${k}-`)
      .replace(/^<svg /, `<svg x="${num(x)}" y="${num(titleH)}" `)
      .replace(/\s+$/, '');
    body.push(inner);
    x += p.width + gap;
  });
  return svgDocument(width, height, body);
}
