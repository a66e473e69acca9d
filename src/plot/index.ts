// Plots as PNG bytes, without a browser: scatter, density, image grids and line plots.
export { Axes, type AxesOptions, drawAxes, formatTick, niceTicks, PALETTE, viridis } from './axes.js';
export { BLACK, Canvas, decodePNG, type RGB, textHeight, textWidth, WHITE } from './canvas.js';
export {
  autoRange,
  type DensityOptions,
  densityPlot,
  flattenPoints,
  histogram2d,
  type ImageGridOptions,
  imageGrid,
  type LinePlotOptions,
  linePlot,
  type Points2D,
  type Range2D,
  type ScatterOptions,
  type Series,
  savePNG,
  scatterPlot,
} from './plots.js';
