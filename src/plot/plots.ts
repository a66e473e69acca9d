// PNG output (Node, when called): the figures as PNG bytes (scatterPlot, densityPlot, imageGrid, linePlot): each draws
// the SVG figure of browser.ts and rasterises it with resvg at the requested scale or DPI.
import { type ImageGridOptions, imageGridSVG } from './grid.js';
import { type LinePlotOptions, lineSVG, type Series } from './line.js';
import { type RasterOptions, svgToPNG } from './png.js';
import { type DensityOptions, densitySVG, type Points2D, type ScatterOptions, scatterSVG } from './scatter.js';

export { autoRange, flattenPoints, histogram2d, type Points2D, type Range2D } from './scatter.js';

/**
 * Scatter plot of 2-D samples over the true modes, as PNG bytes (see scatterSVG for the options).
 *
 * @example
 * ```ts
 * const png = scatterPlot([[0, 0], [1, 1]], { modes: [[0, 0]], scale: 2 }); // 1280 x 1280 pixels
 * ```
 */
export function scatterPlot(points: Points2D, opts: ScatterOptions & RasterOptions = {}): Uint8Array {
  return svgToPNG(scatterSVG(points, opts), opts);
}

/**
 * Density heat map with a colour bar, as PNG bytes (see densitySVG).
 *
 * @example
 * ```ts
 * const png = densityPlot([0, 0, 0.5, 0.5, 0.4, 0.6], { bins: 40, dpi: 192 });
 * ```
 */
export function densityPlot(points: Points2D, opts: DensityOptions & RasterOptions = {}): Uint8Array {
  return svgToPNG(densitySVG(points, opts), opts);
}

/**
 * Tiles NCHW images into one PNG (see imageGridSVG); `pixelScale` magnifies the image pixels,
 * `scale`/`dpi` the whole raster.
 *
 * @example
 * ```ts
 * const png = imageGrid(new Float32Array(4 * 9), { count: 4, channels: 1, height: 3, width: 3 }, { cols: 2 });
 * ```
 */
export function imageGrid(
  images: ArrayLike<number>,
  shape: { count: number; channels: number; height: number; width: number },
  opts: ImageGridOptions & { raster?: RasterOptions } = {},
): Uint8Array {
  return svgToPNG(imageGridSVG(images, shape, opts), opts.raster ?? {});
}

/**
 * Line plot (e.g. loss curves) as PNG bytes (see lineSVG).
 *
 * @example
 * ```ts
 * const png = linePlot([{ name: 'loss', y: [1, 0.1, 0.01] }], { yScale: 'log', scale: 2 });
 * ```
 */
export function linePlot(series: readonly Series[], opts: LinePlotOptions & RasterOptions = {}): Uint8Array {
  return svgToPNG(lineSVG(series, opts), opts);
}
