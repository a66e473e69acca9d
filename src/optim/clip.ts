// Gradient clipping (global norm, value), clampTree and WGAN weight clipping.
import { fail } from '../errors.js';
import type { Module } from '../nn/module.js';
import { noGrad, tidy } from '../tensor/engine.js';
import { abs, add, clamp, div, max, maximum, minimum, mul, pow, sum } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { flattenTree, mapTree, type Tree } from '../tensor/tree.js';
import { safeSqrt } from './functional.js';

/**
 * The global norm of all gradients together: (sum over leaves of sum |g|^p)^(1/p), or the max
 * |g| for p = Infinity. A one-element tensor (no read-back).
 */
export function globalNorm(tree: Tree, normType = 2): Tensor {
  const leaves = flattenTree(tree, 'globalNorm').map(([, t]) => t);
  if (leaves.length === 0) fail('globalNorm', 'the tree has no tensors');
  if (normType === Number.POSITIVE_INFINITY) {
    return leaves.map((g) => max(abs(g))).reduce((a, b) => maximum(a, b));
  }
  if (!(normType > 0)) fail('globalNorm', `normType must be positive or Infinity, got ${normType}`);
  if (normType === 2) return safeSqrt(leaves.map((g) => sum(mul(g, g))).reduce((a, b) => add(a, b)));
  const s = leaves.map((g) => sum(pow(abs(g), normType))).reduce((a, b) => add(a, b));
  return pow(s, 1 / normType);
}

/**
 * Scales all gradients by min(1, maxNorm / (norm + 1e-6)) where norm is their global norm
 * (torch.nn.utils.clip_grad_norm_). Pure and differentiable; returns the new tree and the norm
 * before clipping.
 */
export function clipGradNorm<T extends Tree>(grads: T, maxNorm: number, normType = 2): { grads: T; totalNorm: Tensor } {
  if (!(maxNorm >= 0)) fail('clipGradNorm', `maxNorm must be non-negative, got ${maxNorm}`);
  const totalNorm = globalNorm(grads, normType);
  const factor = minimum(div(maxNorm, add(totalNorm, 1e-6)), 1);
  return { grads: mapTree(grads, (g) => mul(g, factor)), totalNorm };
}

/** Clamps every gradient entry to [-clipValue, clipValue] (torch.nn.utils.clip_grad_value_). Pure. */
export function clipGradValue<T extends Tree>(grads: T, clipValue: number): T {
  if (!(clipValue >= 0)) fail('clipGradValue', `clipValue must be non-negative, got ${clipValue}`);
  return mapTree(grads, (g) => clamp(g, -clipValue, clipValue));
}

/** Clamps every tensor of a tree to [low, high]. Pure. */
export function clampTree<T extends Tree>(tree: T, low: number, high: number): T {
  if (!(low <= high)) fail('clampTree', `needs low <= high, got ${low}, ${high}`);
  return mapTree(tree, (t) => clamp(t, low, high));
}

/**
 * Weight clipping (WGAN): clamps every parameter of `module` to [-c, c] in place (the old
 * tensors are replaced and disposed).
 */
export function clipWeights(module: Module, c: number): void {
  if (!(c >= 0)) fail('clipWeights', `c must be non-negative, got ${c}`);
  const next = noGrad(() => tidy(() => clampTree(module.parameters(), -c, c)));
  module.setParameters(next);
}
