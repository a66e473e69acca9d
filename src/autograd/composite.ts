// Gradient rules by reference: the vector-Jacobian product of a composite formula written with
// ordinary ops, for the gradient primitives of fused kernels (their own rules, second order up).
import { withGrad } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { backward } from './backward.js';
import { differentiableAlias } from './transforms.js';

/**
 * Cotangents of `inputs` for the cotangent `g` of `f(...inputs)`, where f is the composite
 * reference of a fused primitive: f runs on fresh differentiable aliases (recorded identities of
 * inputs that already depend on an outer variable, so outer transforms see through them), and the
 * reverse walk runs in the caller's grad mode, so the result is itself differentiable when a
 * further order is being taken. Inputs with `needs[i]` false get null and are not aliased.
 */
export function compositeVjp(
  op: string,
  f: (...xs: Tensor[]) => Tensor,
  inputs: readonly Tensor[],
  needs: readonly boolean[],
  g: Tensor,
): (Tensor | null)[] {
  const args = inputs.map((x, i) => (needs[i] ? differentiableAlias(x, op) : x));
  const out = withGrad(() => f(...args));
  const targets = args.filter((_, i) => needs[i]);
  const grads = backward(out, g, targets);
  let k = 0;
  return inputs.map((_, i) => (needs[i] ? grads[k++]! : null));
}
