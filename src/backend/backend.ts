// The backend interface: storage handles, kernel inputs and outputs, and the kernel table every
// backend implements.
import type { DType, TypedArray } from '../tensor/dtype.js';
import type { KernelName, PrimitiveParams } from '../tensor/primitives.js';

/** A backend's storage for one tensor's elements (a typed array on the CPU, a GPU buffer on WebGPU). */
export type DataHandle = unknown;

/** One kernel input: the storage and the tensor's logical shape and dtype (storage is contiguous). */
export interface KernelInput {
  readonly data: DataHandle;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** What the kernel must produce (computed and validated by the front end). */
export interface KernelOutput {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export type Kernel<P extends KernelName> = (
  inputs: readonly KernelInput[],
  params: PrimitiveParams[P],
  out: KernelOutput,
) => DataHandle;

/** Every backend implements every primitive: a missing kernel is a compile error. */
export type KernelTable = { readonly [P in KernelName]: Kernel<P> };

export interface BackendMemory {
  /** Bytes held by live storage on this backend. */
  bytesInUse: number;
  /** Bytes held in a pool for reuse (WebGPU). */
  bytesPooled: number;
  /** Live buffers (storage handles) on this backend. */
  buffers: number;
}

export interface Backend {
  readonly name: 'cpu' | 'webgpu';
  /** Human-readable description of the device (adapter name on WebGPU). */
  readonly description: string;
  readonly kernels: KernelTable;
  /** dtypes this backend stores; others are rejected with a clear error. */
  supportsDType(dtype: DType): boolean;
  /** Upload: takes ownership of `data` (the caller must not mutate it afterwards). */
  fromArray(data: TypedArray, dtype: DType): DataHandle;
  read(data: DataHandle, dtype: DType, size: number): Promise<TypedArray>;
  /** Synchronous read; only the CPU backend has it. */
  readSync?(data: DataHandle, dtype: DType, size: number): TypedArray;
  release(data: DataHandle): void;
  memory(): BackendMemory;
  /**
   * checkNumerics mode: called after each float kernel. The CPU backend throws at once; WebGPU
   * records a device-side flag and reports the first offending op at the next read-back.
   */
  checkFinite(data: DataHandle, dtype: DType, size: number, label: string): void;
  /** Flushes queued work (WebGPU: submits); resolves when the device is idle. */
  sync(): Promise<void>;
  /** Releases the device; the backend is unusable afterwards. */
  destroy(): void;
}
