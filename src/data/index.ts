// Data: datasets and their loaders (MNIST, Fashion-MNIST, CIFAR-10, IDX), synthetic sets, batching
// and transforms.
export {
  type BatchOptions,
  epochBatches,
  gatherBatch,
  type ImageBatch,
  iterateBatches,
  shuffledIndices,
  splitBatches,
} from './batching.js';
export { CIFAR10_CLASSES, type CifarParseOptions, concatDatasets, loadCifar10, parseCifar } from './cifar.js';
export { checkDataset, classCounts, type ImageDataset, imageSize, subset } from './dataset.js';
export {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DEFAULT_DIR,
  type IdxImageOptions,
  loadFashionMnist,
  loadIdxImagePair,
} from './fashion.js';
export { encodeIdx, type IdxArray, type IdxType, isGzip, parseIdx, readIdx } from './idx.js';
export { loadMnist, type MnistOptions, mnistPackageDir, mnistTestCount, type Split } from './mnist.js';
export {
  type GaussianMixture,
  type GridOptions,
  gridMixture,
  HIGH_DIM_OFFSETS,
  highDimMixture,
  type MixtureSample,
  type MoonsOptions,
  type RingOptions,
  ringMixture,
  sampleMixture,
  type ToyDataName,
  toyMixture,
  twoMoons,
} from './synthetic.js';
export {
  type DatasetTransform,
  type ImageShape,
  padImages,
  resizeImages,
  scaleToSymmetric,
  scaleToUnit,
  shiftImages,
  transformDataset,
} from './transforms.js';
