/**
 * tessera: tensors with reverse-mode autodiff of any order, on a float64-capable CPU backend and
 * hand-written WGSL kernels on WebGPU.
 *
 * One flat namespace: the core (tensors, ops, trees, autodiff, randomness, backends), nn, optim,
 * checkpoint, hmc (sampler, diagnostics, PresGAN posterior), data (datasets, synthetic sets,
 * batching, transforms, IDX/CIFAR readers), metrics, plot and models (the GAN and classifier
 * recipes). Every name is unique across these modules (`npx tsc` rejects an ambiguous re-export).
 */

export { type GradcheckOptions, type GradcheckResult, gradcheck } from './autograd/gradcheck.js';
export { gradRules, unbroadcast } from './autograd/rules.js';
export { type GradOptions, grad, valueAndGrad, vjp } from './autograd/transforms.js';
export { cpuBackend } from './backend/cpu.js';
export { type BackendChoice, getBackendInfo, setBackend } from './backend/select.js';
export { type WebGPUStats, webgpuStats } from './backend/webgpu/stats.js';
export * from './checkpoint/index.js';
export * from './data/index.js';
export { TesseraError } from './errors.js';
export * as gan from './gan/index.js';
export {
  evaluateMixture,
  GanTrainer,
  loadDataSource,
  OBJECTIVES,
  presganEntropySurrogate,
  runTrainer,
} from './gan/index.js';
export * from './hmc/index.js';
export { cpuThreads, setCpuThreads } from './kernels/cpu/threads.js';
export * from './metrics/index.js';
export * from './models/index.js';
export * from './nn/index.js';
export * from './optim/index.js';
export * from './plot/index.js';
export {
  bernoulli,
  Generator,
  type GeneratorState,
  getDefaultGenerator,
  normal,
  permutation,
  type RngOptions,
  randint,
  seed,
  uniform,
} from './random/generator.js';
export { philox4x32, uniformBits, wordToUniform } from './random/philox.js';
export type { Backend, BackendMemory, KernelTable } from './tensor/backend.js';
export type { DType, TypedArray } from './tensor/dtype.js';
export {
  dispose,
  getBackend,
  isCheckNumerics,
  keep,
  type MemoryInfo,
  memory,
  noGrad,
  setCheckNumerics,
  tidy,
} from './tensor/engine.js';
export * from './tensor/ops/index.js';
export type { ReduceOptions } from './tensor/ops/reduce.js';
export type { BinaryOp, CompareOp, PrimitiveName, ReduceOp, UnaryOp } from './tensor/primitives.js';
export { type NestedArray, Tensor, type TensorLike } from './tensor/tensor.js';
export {
  checkSameShapes,
  flattenTree,
  mapTree,
  type ParamTree,
  type Tree,
  treeLeaves,
  unflattenTree,
  zipTrees,
} from './tensor/tree.js';
