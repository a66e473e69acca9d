/**
 * Fused optimiser updates on backends that offer them (the `fusedAdam` of the CPU and WebGPU
 * backends): one kernel per parameter instead of one per elementwise op. Used only where the op-by-op update
 * would record nothing for autodiff (gradients off, or no input being differentiated), with a
 * number learning rate, float32 tensors, and checkNumerics off (which checks every op's output);
 * otherwise the caller runs the ops. Same float32 operations in the same order as the op path.
 */
import type { DataHandle } from '../backend/backend.js';
import type { AdamKernelParams } from '../kernels/wgsl/optim.js';
import { isCheckNumerics, isGradEnabled, type Storage, tensorFromStorage } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';

interface FusedAdamBackend {
  fusedAdam?(inputs: readonly DataHandle[], size: number, params: AdamKernelParams): DataHandle[] | undefined;
}

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

const sameShape = (a: Tensor, b: Tensor): boolean => a.rank === b.rank && a.shape.every((d, i) => d === b.shape[i]);

/**
 * The fused Adam update of one parameter, or undefined when it does not apply (see the module
 * comment). `tensors` is [p, g, m, v] (plus vmax with amsgrad); returns p' and the new slots.
 */
export function fusedAdamLeaf(
  tensors: readonly Tensor[],
  params: AdamKernelParams,
): { p: Tensor; s: Record<string, Tensor> } | undefined {
  if (!enabled || isCheckNumerics() || tensors.length !== (params.amsgrad ? 5 : 4)) return undefined;
  const p = tensors[0]!;
  if (p.size === 0) return undefined;
  const backend = p.backend;
  const fused = (backend as FusedAdamBackend).fusedAdam;
  if (typeof fused !== 'function') return undefined;
  for (const t of tensors) {
    if (t.isDisposed || t.dtype !== 'float32' || !sameShape(t, p) || t.backend !== backend) return undefined;
  }
  if (isGradEnabled() && tensors.some((t) => t.requiresGrad)) return undefined;
  const outs = fused.call(
    backend,
    tensors.map((t) => t.storageRef().data),
    p.size,
    params,
  );
  if (outs === undefined) return undefined;
  const wrap = (data: DataHandle): Tensor => {
    const storage: Storage = { backend, data, bytes: p.size * 4, refs: 1 };
    return tensorFromStorage(storage, p.shape, 'float32');
  };
  const [np, m, v, vmax] = outs.map(wrap) as [Tensor, Tensor, Tensor, Tensor | undefined];
  return { p: np, s: vmax === undefined ? { m, v } : { m, v, vmax } };
}
