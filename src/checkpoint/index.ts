// Checkpoints: the safetensors format and saving/loading modules, optimiser state and rngs.
export * from './checkpoint.js';
export * from './safetensors.js';
