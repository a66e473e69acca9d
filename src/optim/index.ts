export * from './clip.js';
export * from './functional.js';
export * from './optimizers.js';
export * from './schedules.js';
