/**
 * Fused multi-output updates a backend offers through the Backend contract (Adam today): the
 * engine entry that checks they apply, runs the backend's kernel and wraps its outputs as tensors.
 */
import type { AdamKernelParams, DataHandle } from './backend.js';
import { isCheckNumerics, isGradEnabled, type Storage, tensorFromStorage } from './engine.js';
import { profiling } from './profiling.js';
import { shapesEqual } from './shape.js';
import type { Tensor } from './tensor.js';

/**
 * The fused Adam update of one parameter, or undefined when it does not apply: it runs only where
 * the op-by-op update would record nothing for autodiff (gradients off, or no input being
 * differentiated), on float32 tensors of one shape on one backend, with checkNumerics off (which
 * checks every op's output), and where the backend can run it. `tensors` is [p, g, m, v] (plus vmax
 * with amsgrad); returns p' and the new slots. Same float32 operations in the same order as the ops.
 */
export function fusedAdam(
  tensors: readonly Tensor[],
  params: AdamKernelParams,
): { p: Tensor; s: Record<string, Tensor> } | undefined {
  if (isCheckNumerics() || tensors.length !== (params.amsgrad ? 5 : 4)) return undefined;
  const p = tensors[0]!;
  if (p.size === 0) return undefined;
  const backend = p.backend;
  for (const t of tensors) {
    if (t.isDisposed || t.dtype !== 'float32' || !shapesEqual(t.shape, p.shape) || t.backend !== backend) {
      return undefined;
    }
  }
  if (isGradEnabled() && tensors.some((t) => t.requiresGrad)) return undefined;
  const handles = tensors.map((t) => t.storageRef().data);
  const sink = profiling.sink;
  let outs: DataHandle[] | undefined;
  if (sink === undefined) outs = backend.fusedAdam(handles, p.size, params);
  else {
    profiling.kernelName = 'fusedAdam';
    const t0 = performance.now();
    try {
      outs = backend.fusedAdam(handles, p.size, params);
    } finally {
      profiling.kernelName = undefined;
    }
    const ms = performance.now() - t0;
    if (outs !== undefined) {
      const [inputs, outShape] = [tensors.map((t) => ({ shape: t.shape, dtype: t.dtype })), p.shape];
      const bytes = outs.length * p.size * 4;
      const event = { name: 'fusedAdam', prim: 'fusedAdam', params: undefined, inputs, outShape, ms, bytes } as const;
      sink.kernel({ ...event, outDtype: 'float32', backend: backend.name, liveBytes: backend.memory().bytesInUse });
    }
  }
  if (outs === undefined) return undefined;
  const wrap = (data: DataHandle): Tensor => {
    const storage: Storage = { backend, data, bytes: p.size * 4, refs: 1 };
    return tensorFromStorage(storage, p.shape, 'float32');
  };
  const [np, m, v, vmax] = outs.map(wrap) as [Tensor, Tensor, Tensor, Tensor | undefined];
  return { p: np, s: vmax === undefined ? { m, v } : { m, v, vmax } };
}
