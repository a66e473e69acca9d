/**
 * tessera's package entry for Node (package.json `exports` "import"/"default"): the browser entry
 * (`src/browser.ts`: the core flat, the rest in namespaces) with `plot` extended by its Node-only
 * part: PNG output through resvg and writing figures to disk (`plot.savePNG`, `plot.saveFigure`...),
 * and the `evaluation` namespace (src/eval: IvOM, two-sample tests, log-likelihood; reads files).
 */

export * from './browser.js';
export * as evaluation from './eval/index.js';
export * as plot from './plot/index.js';
// Deprecated: flat aliases of `plot.*`, removed in 0.3.
export * from './plot/index.js';
