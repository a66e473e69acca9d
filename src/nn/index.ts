// Neural-network modules: Module, the layers, the builders and the initialisers (as `init`).
export * from './builders.js';
export type { FanMode, FloatDType, InitOptions, KaimingOptions, Nonlinearity } from './init.js';
export * as init from './init.js';
export * from './layers.js';
export * from './module.js';
