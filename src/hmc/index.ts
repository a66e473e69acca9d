/** Hamiltonian Monte Carlo: batched chains on the device for any differentiable log-density. */
export {
  type DualAveragingOptions,
  type DualAveragingState,
  dualAveragingFinal,
  dualAveragingInit,
  dualAveragingUpdate,
  presganStepSizeUpdate,
} from './adapt.js';
export {
  acceptanceRates,
  autocorrelation,
  autocovariance,
  componentChains,
  type EssOptions,
  effectiveSampleSize,
  essOfChains,
  type SampleArray,
  type SummaryRow,
  splitRHat,
  splitRHatOfChains,
  summary,
} from './diagnostics.js';
export {
  type GradFn,
  integrate,
  kineticEnergy,
  type LeapfrogOptions,
  type LogProbFn,
  leapfrog,
} from './leapfrog.js';
export { PRESGAN_HMC_DEFAULTS, type PresganPosteriorOptions, presganPosterior } from './presgan.js';
export {
  type HmcOptions,
  type HmcResult,
  type HmcTarget,
  hmc,
  MAX_DELTA_ENERGY,
  type StepSizeAdaptation,
} from './sampler.js';
