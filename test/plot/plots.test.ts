// Every figure type rendered to SVG and PNG: sizes, text, legends and colour bars, log-axis tick
// labels, pixel colours at independently computed positions, and the scale/DPI option.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import {
  decodePNG,
  densityPlot,
  densitySVG,
  type Figure,
  imageGrid,
  imageGridSVG,
  linePlot,
  lineSVG,
  scatterPlot,
  scatterSVG,
  sideBySide,
  svgToPNG,
} from '../../src/plot/index.js';

function isPng(b: Uint8Array): boolean {
  return [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((v, i) => b[i] === v);
}

function pixel(img: { width: number; pixels: Uint8Array }, x: number, y: number): number[] {
  const o = 4 * (Math.round(y) * img.width + Math.round(x));
  return Array.from(img.pixels.subarray(o, o + 3));
}

/** The plot area (the clip rectangle) read from the SVG. */
function plotArea(fig: Figure): { x: number; y: number; w: number; h: number } {
  const m = /<clipPath id="plot-area"><rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/.exec(fig.svg);
  expect(m).not.toBeNull();
  return { x: Number(m![1]), y: Number(m![2]), w: Number(m![3]), h: Number(m![4]) };
}

/** The texts of all <text> elements, tspans flattened as "base^exp". */
function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>(.*?)<\/text>/g)].map((m) =>
    m[1]!.replace(/<tspan[^>]*>(.*?)<\/tspan>/g, '^$1').replace(/&#(\d+);/g, (_, c) => String.fromCharCode(Number(c))),
  );
}

/** The header of an SVG document: its declared size. */
function svgSize(svg: string): [number, number] {
  const m = /^<svg [^>]*width="(\d+)" height="(\d+)"/.exec(svg);
  return [Number(m![1]), Number(m![2])];
}

describe('scatter', () => {
  const fig = scatterSVG([[0.5, 0.5]], {
    size: 400,
    range: [-1, 1, -1, 1],
    pointRadius: 4,
    alpha: 1,
    modes: [[-0.5, 0.5]],
    modeRadius: 0.1,
    title: 'Samples over the ring',
    subtitle: 'modes 1/1',
    xLabel: 'x1',
    yLabel: 'x2',
  });

  it('SVG: size, title, axis labels, tick labels and a legend with the three entries', () => {
    expect(svgSize(fig.svg)).toEqual([400, 400]);
    expect([fig.width, fig.height]).toEqual([400, 400]);
    const t = texts(fig.svg);
    for (const s of [
      'Samples over the ring',
      'modes 1/1',
      'x1',
      'x2',
      'samples',
      'true modes',
      'high-quality region',
    ]) {
      expect(t).toContain(s);
    }
    // Ticks over [-1, 1]: -1.0 ... 1.0 in steps of 0.5, with a true minus sign.
    for (const s of ['−1.0', '−0.5', '0.0', '0.5', '1.0']) expect(t).toContain(s);
    expect(fig.svg).toContain('class="legend"');
    expect(fig.svg.match(/<circle cx="[\d.]+" cy="[\d.]+" r="4"\/>/g)).toHaveLength(1); // one point
  });

  it('PNG at scale 1 and 2: decodes to the size asked, a blue point where (0.5, 0.5) maps', () => {
    const a = plotArea(fig);
    expect(a.w).toBeCloseTo(a.h, 6); // square axes
    for (const scale of [1, 2]) {
      const png = svgToPNG(fig, { scale });
      expect(isPng(png)).toBe(true);
      const img = decodePNG(png);
      expect([img.width, img.height]).toEqual([400 * scale, 400 * scale]);
      // Data (0.5, 0.5) in [-1, 1]^2 is 3/4 across and 1/4 down the plot area.
      const p = pixel(img, (a.x + 0.75 * a.w) * scale, (a.y + 0.25 * a.h) * scale);
      expect(p[2]! - p[0]!).toBeGreaterThan(100); // tab10 blue (31, 119, 180)
      const q = pixel(img, (a.x + 0.25 * a.w) * scale, (a.y + 0.75 * a.h) * scale);
      expect(Math.min(...q)).toBeGreaterThan(200); // background
      // The mode (-0.5, 0.5) is a red cross.
      const m = pixel(img, (a.x + 0.25 * a.w) * scale, (a.y + 0.25 * a.h) * scale);
      expect(m[0]!).toBeGreaterThan(150);
      expect(m[1]!).toBeLessThan(120);
    }
    expect(decodePNG(scatterPlot([[0, 0]], { size: 300, dpi: 144 })).width).toBe(450);
  });

  it('overlays get their own legend entries; bad input names the op', () => {
    const f = scatterSVG([0, 0], { label: 'generated', overlays: [{ label: 'data', points: [1, 1] }] });
    expect(texts(f.svg)).toEqual(expect.arrayContaining(['generated', 'data']));
    expect(() => scatterSVG([1, 2, 3])).toThrow(/scatterPlot: a flat point array needs an even length, got 3/);
    expect(() => scatterSVG([], { size: 50 })).toThrow(/scatterPlot: size must be an integer in \[200, 4096\], got 50/);
    expect(() => scatterPlot([], { scale: 0 })).toThrow(/svgToPNG: scale must be in/);
  });
});

describe('density', () => {
  // 500 points in one bin of a 20 x 20 grid over [-1, 1]^2: density 500 / (500 * 0.1 * 0.1) = 100.
  const pts: number[] = [];
  for (let i = 0; i < 500; i++) pts.push(0.55, 0.55);
  const fig = densitySVG(pts, { size: 300, range: [-1, 1, -1, 1], bins: 20, bandwidth: 0, title: 'Density' });

  it('SVG: a colour bar with a viridis gradient, ticks up to the peak density and its label', () => {
    expect(fig.svg).toContain('class="colour-bar"');
    expect(fig.svg).toMatch(/<linearGradient id="colour-bar"[^>]*>(<stop [^>]*\/>){9}<\/linearGradient>/);
    expect(fig.svg).toContain('stop-color="#440154"'); // viridis 0
    expect(fig.svg).toContain('stop-color="#fde725"'); // viridis 1
    const bar = /<g class="colour-bar">(.*?)<\/g>/.exec(fig.svg)![1]!;
    expect(texts(bar)).toEqual(['0', '20', '40', '60', '80', '100', 'density']);
    expect(texts(fig.svg)).toContain('Density');
    expect(fig.width).toBeGreaterThan(300); // the colour bar widens the figure
    expect(fig.height).toBe(300);
  });

  it('PNG: bright in the occupied bin, viridis bottom elsewhere, scaled by dpi', () => {
    const a = plotArea({ ...fig, svg: fig.svg.replace('<defs>', `<defs>${clipFromImage(fig.svg)}`) });
    const img = decodePNG(
      densityPlot(pts, { size: 300, range: [-1, 1, -1, 1], bins: 20, bandwidth: 0, title: 'Density', dpi: 192 }),
    );
    expect([img.width, img.height]).toEqual([2 * fig.width, 600]);
    // Bin [0.5, 0.6)^2 spans 0.75-0.8 across and 0.2-0.25 down the map.
    const hot = pixel(img, 2 * (a.x + 0.775 * a.w), 2 * (a.y + 0.225 * a.h));
    expect(hot[0]!).toBeGreaterThan(230);
    expect(hot[1]!).toBeGreaterThan(210); // viridis top (253, 231, 37)
    const cold = pixel(img, 2 * (a.x + 0.25 * a.w), 2 * (a.y + 0.75 * a.h));
    expect(cold).toEqual([68, 1, 84]); // viridis bottom
  });

  it('rejects log axes and bad bins, naming the op', () => {
    expect(() => densitySVG([0, 0], { yScale: 'log' })).toThrow(/densityPlot: density axes are linear/);
    expect(() => densitySVG([0, 0], { bins: 1 })).toThrow(/densityPlot: bins must be an integer in \[2, 1024\], got 1/);
  });
});

/** The density map has no clip path; its image element gives the plot area (as a clip rect for plotArea). */
function clipFromImage(svg: string): string {
  const m = /<image x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/.exec(svg)!;
  return `<clipPath id="plot-area"><rect x="${m[1]}" y="${m[2]}" width="${m[3]}" height="${m[4]}"/></clipPath>`;
}

describe('line plot', () => {
  it('log y axis: tick labels are the powers of ten 10^-3 ... 10^1, with minor ticks', () => {
    const y = [1e-3, 1e-2, 1e-1, 1, 10];
    const fig = lineSVG([{ name: 'loss', y }], { yScale: 'log', yRange: [1e-3, 10], title: 'Loss' });
    const labels = texts(/<g class="tick-labels">(.*?)<\/g>/.exec(fig.svg)![1]!);
    for (const k of ['−3', '−2', '−1', '0', '1']) expect(labels).toContain(`10^${k}`);
    expect(fig.svg).toContain('baseline-shift="super"');
    // Each decade spans the same height: the curve through y = 10^k (at x = k + 3) is a straight line.
    const a = plotArea(fig);
    const d = /<path d="(M[^"]+)"[^>]*stroke-width="1.8"/.exec(fig.svg)![1]!;
    const pts = [...d.matchAll(/[ML]([\d.]+) ([\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(pts).toHaveLength(5);
    pts.forEach(([, py], k) => {
      expect(py).toBeCloseTo(a.y + a.h - (k / 4) * a.h, 1);
    });
  });

  it('log axis within one decade uses 1-2-5 ticks; log axes need positive data', () => {
    const fig = lineSVG([{ name: 'l', y: [2, 3, 9] }], { yScale: 'log', yRange: [1.5, 9.5] });
    const labels = texts(/<g class="tick-labels">(.*?)<\/g>/.exec(fig.svg)![1]!);
    expect(labels).toEqual(expect.arrayContaining(['2', '5']));
    expect(() => lineSVG([{ name: 'l', y: [0, -1] }], { yScale: 'log' })).toThrow(
      /linePlot: a log axis needs at least one positive finite value/,
    );
  });

  it('PNG: the curve is where the data maps, legend with every series name', () => {
    const series = [
      { name: 'G loss', y: [0, 1], color: [255, 0, 0] as const },
      { name: 'D loss', y: [1, 1] },
    ];
    const fig = lineSVG(series, { width: 400, height: 300, yRange: [0, 1], xLabel: 'step' });
    expect(texts(/<g class="legend">(.*)<\/g>/.exec(fig.svg)![1]!)).toEqual(['G loss', 'D loss']);
    const a = plotArea(fig);
    const img = decodePNG(linePlot(series, { width: 400, height: 300, yRange: [0, 1], xLabel: 'step', scale: 1.5 }));
    expect([img.width, img.height]).toEqual([600, 450]);
    const p = pixel(img, 1.5 * (a.x + 0.5 * a.w), 1.5 * (a.y + 0.5 * a.h)); // (0.5, 0.5) is on the red line
    expect(p[0]!).toBeGreaterThan(200);
    expect(p[1]!).toBeLessThan(100);
    expect(() => linePlot([])).toThrow(/linePlot: needs at least one series/);
  });
});

describe('image grid', () => {
  const imgs = new Float32Array(4 * 3 * 3);
  imgs.fill(1, 9, 18); // image 1 white

  it('tiles images with the right size, grey levels and labels', () => {
    const opts = { cols: 2, scale: 4, pad: 2, labels: ['a', 'b', 'c', 'd'], title: 'Grid' };
    const fig = imageGridSVG(imgs, { count: 4, channels: 1, height: 3, width: 3 }, opts);
    expect(texts(fig.svg)).toEqual(['Grid', 'a', 'b', 'c', 'd']);
    const plain = decodePNG(
      imageGrid(imgs, { count: 4, channels: 1, height: 3, width: 3 }, { cols: 2, scale: 4, pad: 2 }),
    );
    expect([plain.width, plain.height]).toEqual([2 * (12 + 2) + 2, 2 * (12 + 2) + 2]);
    expect(pixel(plain, 2 + 6, 2 + 6)).toEqual([0, 0, 0]); // image 0, black
    expect(pixel(plain, 2 + 14 + 6, 2 + 6)).toEqual([255, 255, 255]); // image 1, white
    const big = decodePNG(
      imageGrid(
        imgs,
        { count: 4, channels: 1, height: 3, width: 3 },
        { cols: 2, scale: 4, pad: 2, raster: { scale: 3 } },
      ),
    );
    expect([big.width, big.height]).toEqual([90, 90]);
    expect(() => imageGrid(imgs, { count: 5, channels: 1, height: 3, width: 3 })).toThrow(
      /imageGrid: .*need 45 values/,
    );
  });
});

describe('side by side', () => {
  it('composes SVG panels (ids kept apart) and PNG panels under a title', () => {
    const a = lineSVG([{ name: 'a', y: [1, 2] }], { width: 300, height: 200 });
    const b = scatterSVG([0, 0], { size: 240 });
    const png = sideBySide([a, b], { title: 'Two panels', gap: 10 });
    const img = decodePNG(png);
    expect(img.width).toBe(300 + 10 + 240);
    expect(img.height).toBeGreaterThan(240);
    const fromPng = decodePNG(sideBySide([svgToPNG(a), svgToPNG(b)], { gap: 10, scale: 2 }));
    expect([fromPng.width, fromPng.height]).toEqual([2 * 550, 2 * 240]);
  });
});
