// Models: the MNIST-classifier recipe (GAN methods live in src/gan).
export {
  type ClassifierConfig,
  type ClassifierHooks,
  type ClassifierResult,
  type ClassifierStateOptions,
  classifierData,
  DEFAULT_CLASSIFIER,
  type EpochRecord,
  learningRateAt,
  mnistClassifier,
  resolveClassifierConfig,
  trainClassifier,
  validationSplit,
} from './classifier.js';
export { CLASSIFIER_KIND, loadClassifier, MnistClassifier, saveClassifier } from './classifier-checkpoint.js';
export {
  CLASSIFIER_STATE_KIND,
  type ClassifierProgress,
  loadClassifierState,
  readClassifierState,
  saveClassifierState,
} from './classifier-state.js';
