// The profiler's public API: profile(fn), formatProfile, kernelFlops and their types (docs/profiling.md).
export { formatProfile } from './format.js';
export {
  type KernelShapes,
  kernelFlops,
  type ProfileOptions,
  type ProfileResult,
  type ProfileRow,
  profile,
} from './profiler.js';
