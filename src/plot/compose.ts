// Composing finished PNG figures: panels side by side under a common title (Figure 1's GAN vs PresGAN).
import { Canvas, decodePNG, textWidth, WHITE } from './canvas.js';

/** Places PNG panels left to right (tops aligned) under an optional title; returns PNG bytes. */
export function sideBySide(panels: readonly Uint8Array[], opts: { title?: string; gap?: number } = {}): Buffer {
  const decoded = panels.map((p) => decodePNG(p));
  const gap = opts.gap ?? 8;
  const titleH = opts.title ? 28 : 0;
  const width = decoded.reduce((w, d) => w + d.width, 0) + gap * Math.max(0, decoded.length - 1);
  const height = titleH + Math.max(1, ...decoded.map((d) => d.height));
  const c = new Canvas(Math.max(1, width), height, WHITE);
  if (opts.title) {
    const scale = 2;
    c.text(Math.max(0, (width - textWidth(opts.title, scale)) / 2), 6, opts.title, [20, 20, 20], scale);
  }
  let x0 = 0;
  for (const d of decoded) {
    for (let y = 0; y < d.height; y++) {
      const src = y * d.width * 4;
      const dst = ((titleH + y) * c.width + x0) * 4;
      c.pixels.set(d.pixels.subarray(src, src + d.width * 4), dst);
    }
    x0 += d.width + gap;
  }
  return c.toPNG();
}
