/** Comparison and random inputs shared by the nn layer tests. */
import { expect } from 'vitest';
import type { Generator, Tensor } from '../../src/index.js';

/** Element-wise |a - b| <= tol (1 + |b|), same lengths. */
export function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-12): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i]!)));
}

/** Standard normal float64 values of a shape. */
export function rand(g: Generator, shape: number[]): Tensor {
  return g.normal(shape, 0, 1, { dtype: 'float64' });
}
