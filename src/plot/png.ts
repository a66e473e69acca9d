// PNG output, Node only when called: rasterising SVG figures with resvg (a native addon) and the
// bundled DejaVu Sans font, decoding PNGs, and writing figures to disk atomically. Importing this
// file loads nothing from Node (see node.ts), so it bundles for a browser, where calls throw.
import type { Resvg as ResvgClass, ResvgRenderOptions } from '@resvg/resvg-js';
import { fail } from '../errors.js';
import { nodeModules, requirePackage } from './node.js';
import { type Figure, FONT_FAMILY } from './svg.js';

/**
 * The bundled font file's path (DejaVu Sans, Bitstream Vera licence: assets/fonts/LICENSE-DejaVu.txt),
 * from this module's location (src/plot or dist/plot, two folders under the package root).
 */
export function fontFile(): string {
  const { url } = nodeModules('fontFile');
  return url.fileURLToPath(new URL('../../assets/fonts/DejaVuSans.ttf', import.meta.url));
}

/** Resolution of a rasterised figure. */
export interface RasterOptions {
  /** Output pixels per CSS pixel of the figure (default 1; 2 for high-DPI screens and print). */
  scale?: number;
  /** Dots per inch, an alternative to `scale` (scale = dpi / 96, since SVG pixels are 1/96 inch). */
  dpi?: number;
}

/** The zoom factor of `opts`, checked. */
export function rasterScale(op: string, opts: RasterOptions): number {
  if (opts.scale !== undefined && opts.dpi !== undefined) fail(op, 'give scale or dpi, not both');
  const scale = opts.dpi !== undefined ? opts.dpi / 96 : (opts.scale ?? 1);
  if (!(Number.isFinite(scale) && scale > 0 && scale <= 16)) {
    fail(op, `scale must be in (0, 16] (dpi in (0, 1536]), got scale ${opts.scale}, dpi ${opts.dpi}`);
  }
  return scale;
}

let fontChecked = '';

/**
 * Rasterises an SVG figure to PNG bytes (anti-aliased, text in the bundled DejaVu Sans, so the
 * output does not depend on the fonts of the machine). The PNG is round(width * scale) pixels wide.
 * Node only (resvg is a native addon); in a browser draw `figure.svg` instead.
 *
 * @example
 * ```ts
 * const png = svgToPNG(lineSVG([{ name: 'loss', y: [3, 2, 1] }]), { scale: 2 }); // 1600 x 960 pixels
 * ```
 */
export function svgToPNG(figure: Figure | string, opts: RasterOptions = {}): Uint8Array {
  const op = 'svgToPNG';
  const scale = rasterScale(op, opts);
  const { fsSync } = nodeModules(op);
  const font = fontFile();
  if (fontChecked !== font) {
    if (!fsSync.existsSync(font)) {
      fail(op, `the bundled font ${font} is missing (the package's assets/fonts folder)`);
    }
    fontChecked = font;
  }
  const { Resvg } = requirePackage<{ Resvg: typeof ResvgClass }>(op, '@resvg/resvg-js', 'rasterising to PNG');
  const svg = typeof figure === 'string' ? figure : figure.svg;
  const options: ResvgRenderOptions = {
    font: { fontFiles: [font], loadSystemFonts: false, defaultFontFamily: FONT_FAMILY, sansSerifFamily: FONT_FAMILY },
    fitTo: { mode: 'zoom', value: scale },
    shapeRendering: 2,
    textRendering: 1,
    logLevel: 'off',
  };
  const png = new Resvg(svg, options).render().asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Decodes an 8-bit, non-interlaced grey, grey+alpha, RGB or RGBA PNG (what resvg and the figures
 * write) to its size and RGBA pixels. Node only (inflates with node:zlib).
 */
export function decodePNG(bytes: Uint8Array): { width: number; height: number; pixels: Uint8Array } {
  const op = 'decodePNG';
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 33 || !sig.every((v, i) => bytes[i] === v)) fail(op, 'not a PNG file (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const [depth, colour, , , interlace] = [24, 25, 26, 27, 28].map((o) => bytes[o]!);
  const channelsOf: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };
  const ch = channelsOf[colour!];
  if (depth !== 8 || ch === undefined || interlace !== 0) {
    fail(
      op,
      `supports 8-bit non-interlaced grey/RGB(A) PNGs, got bit depth ${depth}, colour type ${colour}, interlace ${interlace}`,
    );
  }
  const parts: Uint8Array[] = [];
  for (let o = 8; o + 8 <= bytes.length; ) {
    const len = view.getUint32(o);
    const type = String.fromCharCode(...bytes.subarray(o + 4, o + 8));
    if (type === 'IDAT') parts.push(bytes.subarray(o + 8, o + 8 + len));
    if (type === 'IEND') break;
    o += 12 + len;
  }
  const idat = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    idat.set(p, at);
    at += p.length;
  }
  const raw = new Uint8Array(nodeModules(op).zlib.inflateSync(idat));
  const stride = width * ch!;
  if (raw.length < height * (stride + 1)) fail(op, `image data too short for ${width}x${height}`);
  const img = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= ch! ? img[row + i - ch!]! : 0;
      const b = y > 0 ? img[row - stride + i]! : 0;
      const c = y > 0 && i >= ch! ? img[row - stride + i - ch!]! : 0;
      const pred =
        filter === 0 ? 0 : filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : paeth(a, b, c);
      img[row + i] = (src[i]! + pred) & 0xff;
    }
  }
  const pixels = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    const s = p * ch!;
    const grey = ch! <= 2;
    pixels[4 * p] = img[s]!;
    pixels[4 * p + 1] = grey ? img[s]! : img[s + 1]!;
    pixels[4 * p + 2] = grey ? img[s]! : img[s + 2]!;
    pixels[4 * p + 3] = ch === 2 ? img[s + 1]! : ch === 4 ? img[s + 3]! : 255;
  }
  return { width, height, pixels };
}

let tmpCounter = 0;

/** Writes bytes or text to `path` atomically: a temporary file in the same folder, then a rename. Node only. */
export async function writeFileAtomically(path: string, data: Uint8Array | string): Promise<void> {
  const { fs, path: nodePath } = nodeModules('writeFileAtomically');
  const pid = (globalThis as { process?: { pid?: number } }).process?.pid ?? 0;
  const tmp = nodePath.join(nodePath.dirname(path), `.${nodePath.basename(path)}.tmp-${pid}-${tmpCounter++}`);
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/** Writes PNG bytes to a file (atomically). Node only. */
export async function savePNG(path: string, png: Uint8Array): Promise<void> {
  await writeFileAtomically(path, png);
}

/** Figure file formats. */
export type FigureFormat = 'svg' | 'png';

/**
 * Writes a figure as `<base>.svg` and/or `<base>.png` (each atomically); returns the paths written.
 * Node only.
 *
 * @example
 * ```ts
 * await saveFigure('runs/x/losses', lineSVG([{ name: 'loss', y: [3, 2, 1] }]), { formats: ['svg', 'png'], scale: 2 });
 * ```
 */
export async function saveFigure(
  base: string,
  figure: Figure,
  opts: RasterOptions & { formats?: readonly FigureFormat[] } = {},
): Promise<string[]> {
  const formats = opts.formats ?? ['svg', 'png'];
  const written: string[] = [];
  for (const f of formats) {
    if (f !== 'svg' && f !== 'png') fail('saveFigure', `formats are 'svg' and 'png', got '${String(f)}'`);
    const path = `${base}.${f}`;
    await writeFileAtomically(path, f === 'svg' ? figure.svg : svgToPNG(figure, opts));
    written.push(path);
  }
  return written;
}
