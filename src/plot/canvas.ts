// A small RGB raster canvas with bitmap text and PNG encoding and decoding (pngjs).
import { PNG } from 'pngjs';
import { fail } from '../errors.js';
import { GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from './font.js';

/** An RGB colour, each channel 0-255. */
export type RGB = readonly [number, number, number];

export const WHITE: RGB = [255, 255, 255];
export const BLACK: RGB = [0, 0, 0];

/** A small RGBA raster with alpha-blended drawing, encoded to PNG by pngjs. */
export class Canvas {
  readonly width: number;
  readonly height: number;
  /** RGBA, row-major, 4 bytes per pixel. */
  readonly pixels: Uint8Array;

  constructor(width: number, height: number, background: RGB = WHITE) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width * height > 1 << 26) {
      fail('Canvas', `size must be positive integers with at most 2^26 pixels, got ${width}x${height}`);
    }
    this.width = width;
    this.height = height;
    this.pixels = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) {
      this.pixels[4 * i] = background[0];
      this.pixels[4 * i + 1] = background[1];
      this.pixels[4 * i + 2] = background[2];
      this.pixels[4 * i + 3] = 255;
    }
  }

  /** Blends `c` over the pixel at (x, y) with opacity `alpha` in [0, 1]; outside pixels are ignored. */
  blend(x: number, y: number, c: RGB, alpha = 1): void {
    x = Math.floor(x);
    y = Math.floor(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || alpha <= 0) return;
    const o = 4 * (y * this.width + x);
    const a = Math.min(alpha, 1);
    const p = this.pixels;
    p[o] = Math.round(p[o]! * (1 - a) + c[0] * a);
    p[o + 1] = Math.round(p[o + 1]! * (1 - a) + c[1] * a);
    p[o + 2] = Math.round(p[o + 2]! * (1 - a) + c[2] * a);
  }

  get(x: number, y: number): RGB {
    const o = 4 * (y * this.width + x);
    return [this.pixels[o]!, this.pixels[o + 1]!, this.pixels[o + 2]!];
  }

  fillRect(x: number, y: number, w: number, h: number, c: RGB, alpha = 1): void {
    const x0 = Math.max(0, Math.floor(x));
    const y0 = Math.max(0, Math.floor(y));
    const x1 = Math.min(this.width, Math.floor(x + w));
    const y1 = Math.min(this.height, Math.floor(y + h));
    for (let j = y0; j < y1; j++) for (let i = x0; i < x1; i++) this.blend(i, j, c, alpha);
  }

  strokeRect(x: number, y: number, w: number, h: number, c: RGB, thickness = 1): void {
    this.fillRect(x, y, w, thickness, c);
    this.fillRect(x, y + h - thickness, w, thickness, c);
    this.fillRect(x, y, thickness, h, c);
    this.fillRect(x + w - thickness, y, thickness, h, c);
  }

  /** A line of the given thickness (square brush), by stepping along its longer axis. */
  line(x0: number, y0: number, x1: number, y1: number, c: RGB, thickness = 1, alpha = 1): void {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    const n = Math.ceil(steps);
    const r = (thickness - 1) / 2;
    let lastX = Number.NaN;
    let lastY = Number.NaN;
    for (let s = 0; s <= n; s++) {
      const x = Math.round(x0 + ((x1 - x0) * s) / n - r);
      const y = Math.round(y0 + ((y1 - y0) * s) / n - r);
      if (x === lastX && y === lastY) continue;
      lastX = x;
      lastY = y;
      this.fillRect(x, y, thickness, thickness, c, alpha);
    }
  }

  /** A filled disc of radius r centred at (cx, cy). */
  disc(cx: number, cy: number, r: number, c: RGB, alpha = 1): void {
    const r2 = r * r;
    for (let j = Math.floor(cy - r); j <= Math.ceil(cy + r); j++) {
      for (let i = Math.floor(cx - r); i <= Math.ceil(cx + r); i++) {
        const dx = i + 0.5 - cx;
        const dy = j + 0.5 - cy;
        if (dx * dx + dy * dy <= r2) this.blend(i, j, c, alpha);
      }
    }
  }

  /** A circle outline of radius r. */
  circle(cx: number, cy: number, r: number, c: RGB, thickness = 1, alpha = 1): void {
    const n = Math.max(16, Math.ceil(2 * Math.PI * r));
    let px = cx + r;
    let py = cy;
    for (let k = 1; k <= n; k++) {
      const t = (2 * Math.PI * k) / n;
      const x = cx + r * Math.cos(t);
      const y = cy + r * Math.sin(t);
      this.line(px, py, x, y, c, thickness, alpha);
      px = x;
      py = y;
    }
  }

  /** Draws text with its top-left corner at (x, y); `scale` magnifies the 5x7 font. Returns the width drawn. */
  text(x: number, y: number, s: string, c: RGB = BLACK, scale = 1): number {
    let cx = x;
    for (const ch of s) {
      const cols = glyph(ch);
      for (let i = 0; i < GLYPH_WIDTH; i++) {
        for (let j = 0; j < GLYPH_HEIGHT; j++) {
          if ((cols[i]! >> j) & 1) this.fillRect(cx + i * scale, y + j * scale, scale, scale, c);
        }
      }
      cx += GLYPH_ADVANCE * scale;
    }
    return cx - x;
  }

  /** Text drawn top to bottom, rotated 90 degrees counter-clockwise (for y-axis labels), starting at the bottom. */
  textVertical(x: number, yBottom: number, s: string, c: RGB = BLACK, scale = 1): void {
    let cy = yBottom;
    for (const ch of s) {
      const cols = glyph(ch);
      for (let i = 0; i < GLYPH_WIDTH; i++) {
        for (let j = 0; j < GLYPH_HEIGHT; j++) {
          if ((cols[i]! >> j) & 1) this.fillRect(x + j * scale, cy - (i + 1) * scale, scale, scale, c);
        }
      }
      cy -= GLYPH_ADVANCE * scale;
    }
  }

  /** The PNG encoding (8-bit RGBA). */
  toPNG(): Buffer {
    const png = new PNG({ width: this.width, height: this.height });
    png.data = Buffer.from(this.pixels.buffer, this.pixels.byteOffset, this.pixels.byteLength);
    return PNG.sync.write(png);
  }
}

/** Width in pixels of `s` drawn at `scale`. */
export function textWidth(s: string, scale = 1): number {
  return s.length * GLYPH_ADVANCE * scale - scale;
}

/** Height in pixels of a line of text drawn at `scale`. */
export function textHeight(scale = 1): number {
  return GLYPH_HEIGHT * scale;
}

/** Decodes a PNG (for tests and tools): size and RGBA pixels. */
export function decodePNG(bytes: Uint8Array): { width: number; height: number; pixels: Uint8Array } {
  const png = PNG.sync.read(Buffer.from(bytes));
  return { width: png.width, height: png.height, pixels: new Uint8Array(png.data) };
}
