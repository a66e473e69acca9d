// Every tensor op, re-exported.
export * from './conv.js';
export * from './convert.js';
export * from './elementwise.js';
export * from './indexing.js';
export * from './linalg.js';
export * from './losses.js';
export * from './movement.js';
export * from './predicates.js';
export * from './reduce.js';
