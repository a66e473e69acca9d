/// <reference types="@webgpu/types" preserve="true" />
/// <reference lib="esnext.disposable" preserve="true" />
/**
 * tessera's browser entry (package.json `exports` condition "browser"; `src/index.ts`, the Node
 * entry, is this plus plot's Node-only PNG output): tensors with reverse-mode autodiff of any
 * order, on a float64-capable CPU backend and hand-written WGSL kernels on WebGPU.
 *
 * The core is flat, as in NumPy and jax-js: tensors and ops, autodiff, random draws, backends,
 * trees, errors. The rest is grouped in namespaces: `nn`, `optim`, `checkpoint`, `hmc`, `data`,
 * `metrics`, `plot`, `models`, `gan`, `profile` (e.g. `new nn.Linear(2, 3)`, `hmc.hmc(logp, opts)`).
 * Bundlers tree-shake namespace members used as `nn.Linear` like named imports.
 *
 * Deprecated for this release (removed in 0.3): the namespaces' members are also exported flat
 * (`Linear`, `Adam`, `saveCheckpoint`...) as before 0.2, except `hmc`, which is now the namespace
 * (the sampler is `hmc.hmc`). README "Namespaces" and CHANGELOG.md show the migration.
 *
 * Nothing here imports a Node built-in (test/browser/bundle.test.ts bundles it for Chromium):
 * file functions (`checkpoint.saveCheckpoint`, `data.readIdx`...) reach Node's modules when called
 * (process.getBuiltinModule) and throw a TesseraError in a browser; `plot` is the SVG part.
 */

// Registers the CPU backend (the one module with an import side effect; package.json sideEffects).
import './backend/cpu.js';

export { type GradcheckOptions, type GradcheckResult, gradcheck } from './autograd/gradcheck.js';
export { gradRules, unbroadcast } from './autograd/rules.js';
export { type GradOptions, grad, valueAndGrad, vjp } from './autograd/transforms.js';
export { cpuBackend } from './backend/cpu.js';
export { type BackendChoice, getBackendInfo, setBackend } from './backend/select.js';
export { type WebGPUStats, webgpuStats } from './backend/webgpu/stats.js';
export * as checkpoint from './checkpoint/index.js';
// Deprecated: flat aliases of `checkpoint.*`, removed in 0.3.
export * from './checkpoint/index.js';
export * as data from './data/index.js';
// Deprecated: flat aliases of `data.*`, removed in 0.3.
export * from './data/index.js';
export { TesseraError } from './errors.js';
export * as gan from './gan/index.js';
// Deprecated: flat aliases of `gan.*`, removed in 0.3.
export {
  evaluateMixture,
  GanTrainer,
  loadDataSource,
  OBJECTIVES,
  presganEntropySurrogate,
  runTrainer,
} from './gan/index.js';
export * as hmc from './hmc/index.js';
// Deprecated: flat aliases of `hmc.*` but the sampler (the named export `hmc` is the namespace), removed in 0.3.
export * from './hmc/index.js';
export { cpuThreads, setCpuThreads } from './kernels/cpu/threads.js';
export * as metrics from './metrics/index.js';
// Deprecated: flat aliases of `metrics.*`, removed in 0.3.
export * from './metrics/index.js';
export * as models from './models/index.js';
// Deprecated: flat aliases of `models.*`, removed in 0.3.
export * from './models/index.js';
export * as nn from './nn/index.js';
// Deprecated: flat aliases of `nn.*`, removed in 0.3.
export * from './nn/index.js';
export * as optim from './optim/index.js';
// Deprecated: flat aliases of `optim.*`, removed in 0.3.
export * from './optim/index.js';
export * as plot from './plot/browser.js';
// Deprecated: flat aliases of `plot.*`, removed in 0.3.
export * from './plot/browser.js';
export * as profile from './profile/index.js';
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
