import { describe, expect, it } from 'vitest';
import { Canvas, decodePNG, densityPlot, imageGrid, linePlot, niceTicks, scatterPlot } from '../../src/plot/index.js';

function isPng(b: Uint8Array): boolean {
  return [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((v, i) => b[i] === v);
}

function pixel(img: { width: number; pixels: Uint8Array }, x: number, y: number): number[] {
  const o = 4 * (y * img.width + x);
  return Array.from(img.pixels.subarray(o, o + 3));
}

describe('plots', () => {
  it('scatter: a valid PNG of the requested size, with coloured pixels where points are', () => {
    // Range [-1, 1]^2; a point at (0.5, 0.5) and none near (-0.5, -0.5).
    const png = scatterPlot([[0.5, 0.5]], { size: 400, range: [-1, 1, -1, 1], pointRadius: 4, alpha: 1, title: 'T' });
    expect(isPng(png)).toBe(true);
    const img = decodePNG(png);
    expect([img.width, img.height]).toEqual([400, 400]);
    // Plot area: left 78, top 60, side min(400-102, 400-122) = 278, centred horizontally.
    const side = 278;
    const left = 78 + (298 - side) / 2;
    const at = (x: number, y: number) =>
      pixel(img, Math.round(left + ((x + 1) / 2) * side), Math.round(60 + ((1 - y) / 2) * side));
    const p = at(0.5, 0.5);
    expect(p[2]! - p[0]!).toBeGreaterThan(60); // blue point
    const q = at(-0.5, -0.5);
    expect(q[0]! + q[1]! + q[2]!).toBeGreaterThan(3 * 200); // background (white or a light grid line)
  });

  it('scatter marks the true modes in red', () => {
    const img = decodePNG(scatterPlot([], { size: 300, range: [-1, 1, -1, 1], modes: [[0, 0]] }));
    let red = 0;
    for (let i = 0; i < img.pixels.length; i += 4) if (img.pixels[i]! > 150 && img.pixels[i + 1]! < 80) red++;
    expect(red).toBeGreaterThan(10);
  });

  it('density: bright where the samples are, dark elsewhere', () => {
    const pts: number[] = [];
    for (let i = 0; i < 500; i++) pts.push(0.5, 0.5);
    const img = decodePNG(densityPlot(pts, { size: 300, range: [-1, 1, -1, 1], bins: 20, bandwidth: 0 }));
    expect([img.width, img.height]).toEqual([300, 300]);
    const side = Math.min(300 - 102, 300 - 122);
    const left = 78 + (198 - side) / 2;
    const at = (x: number, y: number) =>
      pixel(img, Math.round(left + ((x + 1) / 2) * side), Math.round(60 + ((1 - y) / 2) * side));
    const hot = at(0.52, 0.52);
    const cold = at(-0.5, -0.5);
    expect(hot[1]!).toBeGreaterThan(200); // viridis top is yellow (253, 231, 37)
    expect(cold).toEqual([68, 1, 84]); // viridis bottom
  });

  it('image grid: tiles images with the right size and grey levels', () => {
    const imgs = new Float32Array(4 * 3 * 3);
    imgs.fill(1, 9, 18); // image 1 white
    const png = imageGrid(imgs, { count: 4, channels: 1, height: 3, width: 3 }, { cols: 2, scale: 4, pad: 2 });
    const img = decodePNG(png);
    expect([img.width, img.height]).toEqual([2 * (12 + 2) + 2, 2 * (12 + 2) + 2]);
    expect(pixel(img, 2 + 5, 2 + 5)).toEqual([0, 0, 0]); // image 0, black
    expect(pixel(img, 2 + 14 + 5, 2 + 5)).toEqual([255, 255, 255]); // image 1, white
    expect(() => imageGrid(imgs, { count: 5, channels: 1, height: 3, width: 3 })).toThrow(/need 45 values/);
  });

  it('line plot: the curve is drawn inside the axes', () => {
    const img = decodePNG(
      linePlot([{ name: 'loss', y: [0, 1], color: [255, 0, 0] }], { width: 400, height: 300, yRange: [0, 1] }),
    );
    expect([img.width, img.height]).toEqual([400, 300]);
    // Axes: left 78, top 60, width 400-102 = 298, height 300-122 = 178; the midpoint (0.5, 0.5) is on the line.
    const p = pixel(img, Math.round(78 + 149), Math.round(60 + 89));
    expect(p[0]!).toBeGreaterThan(200);
    expect(p[1]!).toBeLessThan(80);
    expect(() => linePlot([])).toThrow(/at least one series/);
  });

  it('nice ticks are round numbers covering the range', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-4.4, 4.4, 4)).toEqual([-4, -2, 0, 2, 4]);
    expect(niceTicks(0.013, 0.05, 4)).toEqual([0.02, 0.03, 0.04, 0.05]);
    expect(() => new Canvas(0, 10)).toThrow(/size must be positive/);
  });
});
