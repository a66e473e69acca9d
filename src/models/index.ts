// Models: the MNIST-classifier recipe (GAN methods live in src/gan).
export {
  type ClassifierConfig,
  type ClassifierHooks,
  type ClassifierResult,
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
