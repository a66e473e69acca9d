// Optimisers: pure differentiable steps, the stateful classes, learning-rate schedules and
// clipping.
export * from './clip.js';
export * from './functional.js';
export * from './optimizers.js';
export * from './schedules.js';
