/** The GAN layer: objectives (one file each), the one trainer, the run loop and the named data sets. */
export { applyOverrides, deepMerge, makeOptimizer, parseSetValue, resolveHyper } from './config.js';
export {
  circleMixture6,
  type DataSource,
  dataNames,
  describeData,
  imageSource,
  loadDataSource,
  stackedSource,
} from './data.js';
export { presganEntropySurrogate, presganPosteriorSamples } from './entropy.js';
export {
  discriminatorLogisticLoss,
  type GeneratorLossForm,
  generatorLoss,
  generatorNonSaturatingLoss,
  generatorSaturatingLoss,
} from './losses.js';
export { discriminatorNet, encoderNet, exampleSize, generatorNet } from './networks.js';
export type {
  BaseHyper,
  DataInfo,
  LossOutput,
  NetworkHyper,
  Objective,
  OptimizerSpec,
  Phase,
  PhaseContext,
  PlayerName,
  SampleContext,
  StepContext,
  Update,
} from './objective.js';
export { type GanHyper, gan } from './objectives/gan.js';
export { type LdmganHyper, ldmgan } from './objectives/ldmgan.js';
export { type MdganHyper, mdgan } from './objectives/mdgan.js';
export { type PresganHyper, presgan } from './objectives/presgan.js';
export { type RegGanHyper, regGan } from './objectives/reg-gan.js';
export { type VeeganHyper, veegan } from './objectives/veegan.js';
export { ParameterGroup, StateBuffers } from './players.js';
export { getObjective, OBJECTIVES, type ObjectiveName, objectiveNames } from './registry.js';
export {
  EVAL_SAMPLES,
  evaluateMixture,
  type LogRecord,
  type MixtureEvaluation,
  type RunOptions,
  type RunResult,
  runTrainer,
} from './run.js';
export {
  disposeLosses,
  GanTrainer,
  readCheckpointSetup,
  type StepLosses,
  type TrainerDescription,
  type TrainerSetup,
} from './trainer.js';
