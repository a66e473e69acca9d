// Figures: everything in browser.ts (SVG figures, pure) plus PNG output and files (png.ts,
// plots.ts, compose.ts), which reach Node's modules and the resvg addon only when called (node.ts):
// importing this module loads nothing from Node, so it bundles for a browser, where PNG calls throw.
export * from './browser.js';
export { sideBySide } from './compose.js';
export { densityPlot, imageGrid, linePlot, scatterPlot } from './plots.js';
export {
  decodePNG,
  type FigureFormat,
  fontFile,
  type RasterOptions,
  saveFigure,
  savePNG,
  svgToPNG,
  writeFileAtomically,
} from './png.js';
