// Metrics: mode coverage of generated samples and classifier accuracy.
export {
  accuracy,
  argmaxRows,
  type ClassifierEvaluation,
  confusionMatrix,
  evaluateClassifier,
} from './accuracy.js';
export {
  countStackedModes,
  flattenSamples,
  type ModeMetrics,
  type ModeMetricsOptions,
  type ModeSpec,
  modeMetrics,
  type StackedModeCount,
} from './modes.js';
