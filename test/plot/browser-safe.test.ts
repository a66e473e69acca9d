// plot bundles for a browser: src/plot/index.ts and everything it imports load no Node module and no
// native package (PNG output reaches them when called); the pure PNG encoder and the PNG decoder
// agree with resvg, base64 with Node's Buffer; the font file and its licence are bundled.
import '../../src/index.js'; // registers the CPU backend
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { textWidth } from '../../src/plot/font-metrics.js';
import { decodePNG, fontFile, lineSVG, niceTicks, Scale, svgToPNG } from '../../src/plot/index.js';
import { base64, encodeRasterPNG } from '../../src/plot/raster.js';

/** Every source file reachable through relative imports from `entry`, with its import specifiers. */
function importGraph(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const src = readFileSync(file, 'utf8');
    // Value imports and re-exports only: `import type` is erased from the JavaScript.
    const specs = [...src.matchAll(/^(?:import|export)\s(?!type\s)[^']*?from\s+'([^']+)'/gm)].map((m) => m[1]!);
    seen.set(file, specs);
    for (const s of specs) if (s.startsWith('.')) visit(resolve(dirname(file), s.replace(/\.js$/, '.ts')));
  };
  visit(entry);
  return seen;
}

describe('plot in the browser', () => {
  it('index.ts and browser.ts reach no node: module, resvg or pngjs by a value import', () => {
    for (const entry of ['index.ts', 'browser.ts']) {
      const graph = importGraph(resolve(__dirname, '../../src/plot', entry));
      expect(graph.size).toBeGreaterThan(entry === 'index.ts' ? 12 : 8);
      const external = [...graph.values()].flat().filter((s) => !s.startsWith('.'));
      expect(external).toEqual([]);
    }
    const pure = importGraph(resolve(__dirname, '../../src/plot/browser.ts'));
    expect([...pure.keys()].map((f) => f.split('/').pop())).not.toContain('png.ts');
  });

  it('resvg reads the images of the pure PNG encoder, and decodePNG reads the PNGs of resvg, pixel for pixel', () => {
    const { Resvg } = createRequire(import.meta.url)('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
    // Larger than one stored deflate block (65535 bytes); grey and RGB.
    const w = 160;
    const h = 150;
    const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 31 + 7) % 251);
    const grey = Uint8Array.from({ length: w * h }, (_, i) => (i * 17) % 256);
    for (const [channels, px] of [
      [3, rgb],
      [1, grey],
    ] as const) {
      const uri = `data:image/png;base64,${base64(encodeRasterPNG(w, h, channels, px))}`;
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><image width="${w}" height="${h}" href="${uri}"/></svg>`;
      const rendered = new Resvg(svg).render();
      const rgba = new Uint8Array(rendered.pixels);
      expect([rendered.width, rendered.height]).toEqual([w, h]);
      const back = Array.from({ length: w * h * channels }, (_, i) =>
        channels === 3 ? rgba[4 * Math.floor(i / 3) + (i % 3)] : rgba[4 * i],
      );
      expect(back).toEqual(Array.from(px));
      // decodePNG of resvg's PNG encoding of the same picture gives resvg's raw pixels.
      const decoded = decodePNG(rendered.asPng());
      expect([decoded.width, decoded.height]).toEqual([w, h]);
      expect(Array.from(decoded.pixels)).toEqual(Array.from(rgba));
    }
    expect(() => decodePNG(new Uint8Array(40))).toThrow(/decodePNG: not a PNG file/);
  });

  it('base64 matches Node', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 100]) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 73 + 11) % 256);
      expect(base64(b)).toBe(Buffer.from(b).toString('base64'));
    }
  });

  it('ticks: nice linear ticks; log ticks at powers of ten with superscript labels; minor ticks', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-4.4, 4.4, 4)).toEqual([-4, -2, 0, 2, 4]);
    const log = new Scale('log', 0.002, 300);
    expect(log.ticks().map((t) => t.value)).toEqual([0.01, 0.1, 1, 10, 100]);
    expect(log.ticks().map((t) => `${t.label.text}^${t.label.exponent}`)).toEqual([
      '10^-2',
      '10^-1',
      '10^0',
      '10^1',
      '10^2',
    ]);
    expect(log.minorTicks()).toContain(0.002);
    expect(log.minorTicks()).toContain(200);
    expect(log.minorTicks()).not.toContain(10);
    expect(log.unit(Math.sqrt(0.002 * 300))).toBeCloseTo(0.5, 12);
    expect(() => new Scale('log', 0, 1)).toThrow(/Scale: a log scale needs a positive range, got \[0, 1\]/);
  });

  it('the bundled font and its licence are in assets/fonts', () => {
    const FONT_FILE = fontFile();
    expect(existsSync(FONT_FILE)).toBe(true);
    expect(readFileSync(FONT_FILE).subarray(0, 4)).toEqual(Buffer.from([0, 1, 0, 0])); // TrueType
    const licence = readFileSync(join(dirname(FONT_FILE), 'LICENSE-DejaVu.txt'), 'utf8');
    expect(licence).toContain('Bitstream');
    expect(licence).toContain('Permission is hereby granted');
  });

  it('text widths for layout match the font as resvg sets it', () => {
    const { Resvg } = createRequire(import.meta.url)('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
    for (const str of ['high-quality region', 'GAN (left) and PresGAN (right), 8-Gaussian ring', 'step 2000: 0.125']) {
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="900" height="40"><text x="0" y="30" font-size="20">${str}</text></svg>`;
      const ink = new Resvg(svg, {
        font: { fontFiles: [fontFile()], loadSystemFonts: false, defaultFontFamily: 'DejaVu Sans' },
      }).getBBox()!.width;
      // The ink is narrower than the advance by the side bearings of the first and last glyphs.
      expect(ink).toBeLessThanOrEqual(textWidth(str, 20));
      expect(ink).toBeGreaterThan(textWidth(str, 20) - 6);
    }
  });

  it('PNG output without Node says what to use instead', () => {
    const proc = process as { getBuiltinModule?: unknown };
    const saved = proc.getBuiltinModule;
    proc.getBuiltinModule = undefined;
    try {
      expect(() => svgToPNG(lineSVG([{ name: 'a', y: [1, 2] }]))).toThrow(
        /svgToPNG: PNG output and files need Node.js 20.16 or newer .*in a browser use the SVG figures/,
      );
    } finally {
      proc.getBuiltinModule = saved;
    }
  });
});
