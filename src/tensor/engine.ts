// The tensor engine: the current backend, storage reference counts, tidy/keep/dispose, memory(),
// grad mode and runPrimitive.
import { fail, fmtShape } from '../errors.js';
import type { Backend, DataHandle, KernelInput } from './backend.js';
import { bytesPerElement, type DType, isFloat, type TypedArray } from './dtype.js';
import type { PrimitiveName, PrimitiveParams } from './primitives.js';
import { kernelRowName, type ProfileSink, profiling } from './profiling.js';
import { sizeOf } from './shape.js';
import { Tensor } from './tensor.js';
import { treeLeaves } from './tree.js';

/** Reference-counted storage: reshape and aliases share it; it is released when the count drops to 0. */
export interface Storage {
  readonly backend: Backend;
  readonly data: DataHandle;
  readonly bytes: number;
  refs: number;
}

/** A recorded application of a primitive, kept on its output for reverse mode. */
export interface Node<P extends PrimitiveName = PrimitiveName> {
  readonly prim: P;
  readonly inputs: readonly Tensor[];
  readonly params: PrimitiveParams[P];
}

interface EngineState {
  /** The current backend; set by the first registerBackend (src/backend/cpu.ts, on import). */
  backend: Backend | undefined;
  scopes: Set<Tensor>[];
  liveTensors: number;
  gradEnabled: boolean;
  checkNumerics: boolean;
  nextId: number;
}

const state: EngineState = {
  backend: undefined,
  scopes: [],
  liveTensors: 0,
  gradEnabled: true,
  checkNumerics: false,
  nextId: 1,
};

const registered = new Map<string, Backend>();

/** The backend new tensors are created on. */
export function getBackend(): Backend {
  return (
    state.backend ?? fail('tensor', 'no backend is registered; import tessera (src/index.ts) or src/backend/cpu.ts')
  );
}

/**
 * Makes `backend` known by its name (for `.to(name)` and `memory()`); the first backend registered
 * becomes the current one. src/backend/cpu.ts registers the CPU backend when it is imported.
 */
export function registerBackend(backend: Backend): void {
  registered.set(backend.name, backend);
  state.backend ??= backend;
}

/** Makes `backend` the one new tensors are created on (see `setBackend` for selection by name). */
export function useBackend(backend: Backend): void {
  registered.set(backend.name, backend);
  state.backend = backend;
}

export function registeredBackend(name: string): Backend | undefined {
  return registered.get(name);
}

/** The registered backend called `name`, or a TesseraError naming `op` when there is none. */
export function backendNamed(op: string, name: 'cpu' | 'webgpu'): Backend {
  return (
    registered.get(name) ?? fail(op, `backend '${name}' is not initialised; call await setBackend('${name}') first`)
  );
}

export function nextTensorId(): number {
  return state.nextId++;
}

// ---------------------------------------------------------------- lifetimes

const finalizer = new FinalizationRegistry<Storage>((storage) => {
  // Safety net only: a tensor garbage-collected without dispose() stops being counted and drops its
  // one reference to the storage here (a reshape sharing the storage keeps it alive).
  state.liveTensors--;
  if (storage.refs > 0) releaseStorage(storage);
});

function releaseStorage(storage: Storage, count = 1): void {
  storage.refs -= count;
  if (storage.refs <= 0) storage.backend.release(storage.data);
}

/**
 * Tensors the finaliser watches: those outside every tidy scope. A tensor inside a scope is freed
 * by the scope (or moved to the enclosing one), so it is registered only if it leaves the last
 * scope alive; registering costs about 0.7 us per tensor, a tenth of a small op.
 */
const guarded = new WeakSet<Tensor>();

function guard(t: Tensor, storage: Storage): void {
  if (guarded.has(t)) return;
  guarded.add(t);
  finalizer.register(t, storage, t);
}

/** Called by the Tensor constructor: counts the tensor and puts it in the innermost tidy scope. */
export function trackTensor(t: Tensor, storage: Storage): void {
  state.liveTensors++;
  const scope = state.scopes[state.scopes.length - 1];
  if (scope !== undefined) scope.add(t);
  else guard(t, storage);
}

/** Called by Tensor.dispose(). */
export function untrackTensor(t: Tensor, storage: Storage): void {
  state.liveTensors--;
  if (guarded.delete(t)) finalizer.unregister(t);
  for (let i = state.scopes.length - 1; i >= 0; i--) if (state.scopes[i]!.delete(t)) break;
  releaseStorage(storage);
}

/**
 * Runs `fn` and disposes every tensor it created except those it returns (anywhere in a returned
 * array/object tree) and those marked with `keep()`. Returned tensors move to the enclosing scope.
 * `fn` must be synchronous; await outside the tidy.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  state.scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    // Nothing is returned: free what fn made (kept tensors are no longer in the scope).
    for (const t of scope) t.dispose();
    throw e;
  } finally {
    state.scopes.pop();
  }
  if (result instanceof Promise) fail('tidy', 'the function returned a Promise; tidy scopes are synchronous');
  const keepSet = new Set(treeLeaves(result));
  const parent = state.scopes[state.scopes.length - 1];
  for (const t of scope) {
    if (keepSet.has(t) || t.isKept) {
      if (parent !== undefined) parent.add(t);
      else guard(t, t.storageRef());
    } else t.dispose();
  }
  return result;
}

/** Marks `t` to survive the tidy scopes it was created in (it must then be disposed by hand). */
export function keep<T extends Tensor>(t: T): T {
  t.markKept();
  for (const s of state.scopes) s.delete(t);
  if (!t.isDisposed) guard(t, t.storageRef());
  return t;
}

/** Disposes every tensor in a tree. */
export function dispose(tree: unknown): void {
  for (const t of treeLeaves(tree)) t.dispose();
}

export interface MemoryInfo {
  /** Tensors created and not yet disposed. */
  numTensors: number;
  /** Live storage buffers, all backends. */
  numBuffers: number;
  /** Bytes held by live storage, all backends. */
  numBytes: number;
  /** Bytes pooled for reuse (WebGPU). */
  numBytesPooled: number;
  backends: Record<string, { bytesInUse: number; bytesPooled: number; buffers: number }>;
}

export function memory(): MemoryInfo {
  const backends: MemoryInfo['backends'] = {};
  let numBytes = 0;
  let numBytesPooled = 0;
  let numBuffers = 0;
  for (const [name, b] of registered) {
    const m = b.memory();
    backends[name] = m;
    numBytes += m.bytesInUse;
    numBytesPooled += m.bytesPooled;
    numBuffers += m.buffers;
  }
  return { numTensors: state.liveTensors, numBuffers, numBytes, numBytesPooled, backends };
}

// ---------------------------------------------------------------- modes

export function isGradEnabled(): boolean {
  return state.gradEnabled;
}

/** Runs `fn` without recording anything for autodiff. */
export function noGrad<T>(fn: () => T): T {
  const prev = state.gradEnabled;
  state.gradEnabled = false;
  try {
    return fn();
  } finally {
    state.gradEnabled = prev;
  }
}

/** Runs `fn` with recording for autodiff switched on (used by nested transforms). */
export function withGrad<T>(fn: () => T): T {
  const prev = state.gradEnabled;
  state.gradEnabled = true;
  try {
    return fn();
  } finally {
    state.gradEnabled = prev;
  }
}

/**
 * checkNumerics mode: after every float kernel, look for NaN/Inf and name the first op that
 * produced one (with its input shapes). Slow; for debugging.
 */
export function setCheckNumerics(on: boolean): void {
  state.checkNumerics = on;
}

export function isCheckNumerics(): boolean {
  return state.checkNumerics;
}

// ---------------------------------------------------------------- creating tensors

export function tensorFromStorage(storage: Storage, shape: readonly number[], dtype: DType): Tensor {
  return new Tensor(storage, shape, dtype);
}

/** Uploads a typed array (ownership passes to the backend) as a new tensor. */
export function tensorFromArray(
  data: TypedArray,
  shape: readonly number[],
  dtype: DType,
  backend = getBackend(),
): Tensor {
  if (!backend.supportsDType(dtype)) {
    fail('tensor', `the ${backend.name} backend does not support dtype ${dtype}`);
  }
  const handle = backend.fromArray(data, dtype);
  const storage: Storage = { backend, data: handle, bytes: data.length * bytesPerElement(dtype), refs: 1 };
  return new Tensor(storage, shape, dtype);
}

// ---------------------------------------------------------------- running primitives

/**
 * Runs one primitive: the front end has already validated inputs and computed the output shape
 * and dtype. Records a node for autodiff when an input requires a gradient. The result lives on
 * the inputs' backend; a primitive without inputs runs on `backend` (default: the current one).
 */
export function runPrimitive<P extends PrimitiveName>(
  prim: P,
  inputs: readonly Tensor[],
  params: PrimitiveParams[P],
  outShape: readonly number[],
  outDtype: DType,
  backend?: Backend,
): Tensor {
  // Errors name the user-facing op (`add`, not the `binary` family).
  const opName = typeof (params as { op?: unknown }).op === 'string' ? (params as { op: string }).op : prim;
  for (const t of inputs) {
    t.assertAlive(opName);
    backend = t.backend;
  }
  backend ??= getBackend();
  for (const t of inputs) {
    // issue 14: a tensor from a destroyed device, used after re-initialising, says so.
    if (t.backend.destroyed) {
      fail(
        opName,
        `the ${t.backend.name === 'webgpu' ? 'WebGPU' : t.backend.name} backend was destroyed, and tensor #${t.id} of shape ${fmtShape(t.shape)} lived on it; tensors do not survive it (copy them with .to('cpu') first, or recreate them)`,
      );
    }
    if (t.backend !== backend) {
      fail(
        opName,
        `inputs live on different backends (${inputs.map((x) => x.backend.name).join(', ')}); move them with .to()`,
      );
    }
  }
  if (!backend.supportsDType(outDtype)) fail(opName, `the ${backend.name} backend does not support dtype ${outDtype}`);
  let out: Tensor;
  if (prim === 'reshape') {
    const storage = inputs[0]!.storageRef();
    storage.refs++;
    out = new Tensor(storage, outShape, outDtype);
  } else {
    const args: KernelInput[] = inputs.map((t) => ({ data: t.storageRef().data, shape: t.shape, dtype: t.dtype }));
    const kernel = backend.kernels[prim as Exclude<P, 'reshape'>] as (
      i: readonly KernelInput[],
      p: PrimitiveParams[P],
      o: { shape: readonly number[]; dtype: DType },
    ) => DataHandle;
    const sink = profiling.sink;
    const data =
      sink === undefined
        ? kernel(args, params, { shape: outShape, dtype: outDtype })
        : profiledKernel(sink, backend, prim, kernel, args, params, outShape, outDtype);
    const size = sizeOf(outShape);
    const storage: Storage = { backend, data, bytes: size * bytesPerElement(outDtype), refs: 1 };
    out = new Tensor(storage, outShape, outDtype);
    if (state.checkNumerics && isFloat(outDtype)) {
      const op =
        prim === 'unary' || prim === 'binary' || prim === 'reduce' ? `${prim}(${(params as { op: string }).op})` : prim;
      try {
        backend.checkFinite(
          data,
          outDtype,
          size,
          `${op} with inputs ${inputs.map((t) => fmtShape(t.shape)).join(', ')}`,
        );
      } catch (e) {
        out.dispose();
        throw e;
      }
    }
  }
  if (state.gradEnabled && isFloat(outDtype) && inputs.some((t) => t.requiresGrad)) {
    out.setNode({ prim, inputs: [...inputs], params });
  }
  return out;
}

/** runPrimitive's kernel call while a profile runs (src/tensor/profiling.ts): timed and reported. */
function profiledKernel<P extends PrimitiveName>(
  sink: ProfileSink,
  backend: Backend,
  prim: P,
  kernel: (
    i: readonly KernelInput[],
    p: PrimitiveParams[P],
    o: { shape: readonly number[]; dtype: DType },
  ) => DataHandle,
  args: readonly KernelInput[],
  params: PrimitiveParams[P],
  outShape: readonly number[],
  outDtype: DType,
): DataHandle {
  const name = kernelRowName(prim, params);
  profiling.kernelName = name;
  const t0 = performance.now();
  let data: DataHandle;
  try {
    data = kernel(args, params, { shape: outShape, dtype: outDtype });
  } finally {
    profiling.kernelName = undefined;
  }
  const ms = performance.now() - t0;
  const bytes = sizeOf(outShape) * bytesPerElement(outDtype);
  const liveBytes = backend.memory().bytesInUse;
  sink.kernel({ name, prim, params, inputs: args, outShape, outDtype, backend: backend.name, ms, bytes, liveBytes });
  return data;
}
