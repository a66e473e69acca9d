// Metrics: mode coverage of generated samples, classifier accuracy, and the evaluation metrics of
// the GAN papers (Fréchet and kernel distances, precision / recall, classifier scores, birthday test).
export {
  accuracy,
  argmaxRows,
  type ClassifierEvaluation,
  confusionMatrix,
  evaluateClassifier,
} from './accuracy.js';
export { type BirthdayOptions, type BirthdayResult, birthdayEstimate, birthdaySizes } from './birthday.js';
export { frechetDistance, type GaussianFit, gaussianFit } from './frechet.js';
export { gaussianFitTensor } from './frechet-device.js';
export { type KernelDistanceOptions, type KernelDistanceResult, kernelDistance } from './kernel-distance.js';
export { PSD_TOLERANCE, psdSqrt, type SymmetricEigen, symmetricEigen } from './linalg.js';
export { type CheckMatrixOptions, checkMatrix, type Matrix, matrix, matrixFromTensor } from './matrix.js';
export {
  countStackedModes,
  flattenSamples,
  type ModeMetrics,
  type ModeMetricsOptions,
  type ModeQualityRule,
  type ModeSpec,
  modeMetrics,
  reverseKLToUniform,
  type StackedModeCount,
} from './modes.js';
export {
  knnRadii2,
  type PrecisionRecallOptions,
  type PrecisionRecallResult,
  precisionRecall,
} from './precision-recall.js';
export { DEFAULT_METRIC_SEED } from './sampling.js';
export {
  type ClassifierScore,
  countDistinctModes,
  type DistinctModes,
  inceptionScore,
  klDivergence,
  type LabelDistributionKLOptions,
  labelDistributionKL,
  modeScore,
  PROBABILITY_TOLERANCE,
  stackedTripleProbs,
} from './scores.js';
