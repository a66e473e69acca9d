// Evaluations that run or train a model: the MNIST evaluation classifier's outputs, IvOM, the
// classifier two-sample test, the noisy discriminator, log-likelihood, and the evaluation step.
export {
  type ClassifierOutputOptions,
  type ClassifierOutputs,
  classifierOutputs,
  defaultClassifierPath,
  type EvalClassifier,
  imageFeatures,
  loadEvalClassifier,
  writeHalfClassifier,
} from './classifier-features.js';
export {
  applicableMetrics,
  type EvaluateOptions,
  type Evaluation,
  type EvaluationRecord,
  evaluateTrainer,
  METRIC_NAMES,
  type MetricName,
  resolveMetrics,
} from './evaluate.js';
export { IVOM_DEFAULTS, type IvomOptions, type IvomResult, ivom } from './ivom.js';
export { type LoadedModel, loadTrainedModel, RUN_CHECKPOINT } from './load.js';
export {
  type DecoderModel,
  decoderModel,
  type LogLikelihoodOptions,
  type LogLikelihoodResult,
  predictiveLogLikelihood,
} from './loglik.js';
export {
  type BinaryTrainingOptions,
  binomialTailHalf,
  classifierTwoSampleTest,
  type NoisyDiscriminatorOptions,
  type NoisyDiscriminatorResult,
  noisyDiscriminatorMissingModes,
  realProbabilities,
  type TwoSampleOptions,
  type TwoSampleResult,
  trainRealVsFake,
} from './two-sample.js';
