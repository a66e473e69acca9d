// PNG output (Node, when called): composing finished figures, panels side by side under a common title (Figure 1's GAN
// vs PresGAN), as PNG bytes. SVG panels stay vector; PNG panels are embedded as images.
import { fail } from '../errors.js';
import { sideBySideSVG } from './grid.js';
import { type RasterOptions, svgToPNG } from './png.js';
import { base64 } from './raster.js';
import { el, type Figure, svgDocument } from './svg.js';

/** The size stored in a PNG's IHDR chunk. */
function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47];
  if (bytes.length < 24 || !sig.every((v, i) => bytes[i] === v)) fail('sideBySide', 'a panel is not a PNG file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** A PNG wrapped as an SVG figure of its own pixel size. */
function pngFigure(bytes: Uint8Array): Figure {
  const { width, height } = pngSize(bytes);
  const image = el('image', { width, height, href: `data:image/png;base64,${base64(bytes)}` });
  return svgDocument(width, height, [image]);
}

/**
 * Places panels (SVG figures, or PNG bytes) left to right, tops aligned, under an optional title;
 * returns PNG bytes.
 *
 * @example
 * ```ts
 * const png = sideBySide([scatterSVG(a), scatterSVG(b)], { title: 'GAN (left) and PresGAN (right)', scale: 2 });
 * ```
 */
export function sideBySide(
  panels: readonly (Uint8Array | Figure)[],
  opts: { title?: string; gap?: number } & RasterOptions = {},
): Uint8Array {
  const figures = panels.map((p) => (p instanceof Uint8Array ? pngFigure(p) : p));
  return svgToPNG(sideBySideSVG(figures, opts), opts);
}
