// The profiler's hook in the engine: the sink that runPrimitive, fused updates, backward and the
// backends report to while a profile (src/profile/) is running; undefined (one check) when off.
import type { KernelInput } from './backend.js';
import type { DType } from './dtype.js';
import type { PrimitiveName, PrimitiveParams } from './primitives.js';

/** One kernel run, as the engine saw it (times from performance.now(), ms). */
export interface KernelEvent {
  /** Row name: the primitive, with the family member for families (`binary(add)`, `reduce(sum)`). */
  readonly name: string;
  readonly prim: PrimitiveName | 'fusedAdam';
  readonly params: PrimitiveParams[PrimitiveName] | undefined;
  readonly inputs: readonly Pick<KernelInput, 'shape' | 'dtype'>[];
  readonly outShape: readonly number[];
  readonly outDtype: DType;
  /** The backend that ran it ('cpu' or 'webgpu'). */
  readonly backend: string;
  /** Wall time of the kernel call on this thread (on WebGPU: recording the dispatch, not running it). */
  readonly ms: number;
  /** Bytes of the output buffers the kernel allocated. */
  readonly bytes: number;
  /** The backend's bytes in use (live storage) right after the kernel: the profile's peak is their maximum. */
  readonly liveBytes: number;
}

/** Where profiling events go: implemented by src/profile/profiler.ts. */
export interface ProfileSink {
  kernel(event: KernelEvent): void;
  /** GPU execution time of one dispatch of the kernel row `name`, from timestamp queries (ms). */
  gpuTime(name: string, ms: number): void;
  /** Runs `fn` as a phase (today 'backward'); time in it, outside kernels, is autodiff bookkeeping. */
  phase<T>(name: 'backward', fn: () => T): T;
  /** A promise the profile must await before it can report (e.g. timestamp read-backs). */
  pending(p: Promise<unknown>): void;
  /** A note for the table (e.g. 'the adapter has no timestamp-query'), printed once. */
  note(text: string): void;
}

/**
 * The engine's profiling state. `sink` is undefined unless a profile is running, so the cost when
 * off is one property load and comparison per dispatch. `kernelName` is the row name of the kernel
 * running now (set only while profiling), for backends that label their dispatches with it.
 */
export const profiling: { sink: ProfileSink | undefined; kernelName: string | undefined } = {
  sink: undefined,
  kernelName: undefined,
};

/** The row name of a primitive run: `binary(add)`, `reduce(sum)`, `matmul`. */
export function kernelRowName(prim: PrimitiveName, params: unknown): string {
  const op = (params as { op?: unknown } | undefined)?.op;
  return typeof op === 'string' ? `${prim}(${op})` : prim;
}
