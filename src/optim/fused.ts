/**
 * Fused optimiser updates (one kernel per parameter instead of one per elementwise op) through the
 * engine's `fusedAdam` (src/tensor/fused.ts), which says when they apply; otherwise the caller runs
 * the ops. A switch turns them off for tests and benchmarks that compare the two paths.
 */
import type { AdamKernelParams } from '../tensor/backend.js';
import { fusedAdam } from '../tensor/fused.js';
import type { Tensor } from '../tensor/tensor.js';

let enabled = true;

/**
 * Turns the fused updates on (default) or off, returning the previous setting; for tests and
 * benchmarks that compare them with the op-by-op path.
 */
export function setFusedUpdates(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/**
 * The fused Adam update of one parameter, or undefined when fused updates are off or do not apply
 * (see src/tensor/fused.ts). `tensors` is [p, g, m, v] (plus vmax with amsgrad).
 */
export function fusedAdamLeaf(
  tensors: readonly Tensor[],
  params: AdamKernelParams,
): { p: Tensor; s: Record<string, Tensor> } | undefined {
  return enabled ? fusedAdam(tensors, params) : undefined;
}
