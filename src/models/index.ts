// Models: the toy-GAN and MNIST-classifier recipes.
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
export {
  DEFAULT_TOY_GAN,
  resolveToyGanConfig,
  ToyGan,
  type ToyGanConfig,
  type ToyGanHooks,
  type ToyGanResult,
  toyGanMixture,
  trainToyGan,
} from './toy-gan.js';
