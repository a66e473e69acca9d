// The browser-safe part of plot: figures as SVG strings (scatter, density, line, image grid,
// side by side), scales and colours. Imports no Node module and no native package.
export { type AxesOptions, PALETTE, VIRIDIS, viridis } from './axes.js';
export { type ImageGridOptions, imageGridSVG, sideBySideSVG } from './grid.js';
export { type LinePlotOptions, lineSVG, type Series } from './line.js';
export { formatTick, niceTicks, Scale, type ScaleKind, type Tick, type TickLabel } from './scales.js';
export {
  autoRange,
  type DensityOptions,
  densitySVG,
  flattenPoints,
  histogram2d,
  type Points2D,
  type Range2D,
  type ScatterOptions,
  scatterSVG,
} from './scatter.js';
export { BLACK, type Figure, FONT_FAMILY, type RGB, WHITE } from './svg.js';
