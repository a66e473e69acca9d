/**
 * GPU buffers of the WebGPU runtime: the DataHandle type, size classes, the pool of storage buffers
 * (released ones wait for the submission that last used them) and small pools of uniform and
 * staging buffers.
 */
import { fail } from '../../errors.js';
import { counters } from './stats.js';

/** The DataHandle of the WebGPU backend: one GPU buffer per tensor storage. */
export interface GpuData {
  readonly buffer: GPUBuffer;
  /** Bytes of data (elements * 4); may be 0 for empty tensors (the buffer is never empty). */
  readonly size: number;
  /** The buffer's byte size (its pool size class). */
  readonly capacity: number;
  /** Id of the last batch that references the buffer. */
  lastUse: number;
  released: boolean;
}

// WebGPU flag values (spec constants), so Node needs no `globals` from the webgpu package.
export const BUF = { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 } as const;

export const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Size class of a buffer of `bytes` bytes (>= 16). */
export function sizeClass(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 16) * 16);
  if (b <= 64) return b;
  const p = 2 ** Math.floor(Math.log2(b));
  const step = p / 4;
  return Math.ceil(b / step) * step;
}

/** Binding size: the data rounded up to 16 bytes (vec4 arrays need whole vec4s), within the buffer. */
export const bindSize = (d: GpuData): number => Math.min(Math.max(alignUp(d.size, 16), 16), d.capacity);

interface BufferPoolOptions {
  /** Pooled bytes above which released buffers are destroyed. */
  readonly maxPooledBytes: number;
  /** Pool by the 16-byte rounded size instead of by size class. */
  readonly exact: boolean;
  /** The device's maxStorageBufferBindingSize: no tensor buffer may be larger. */
  readonly maxBindingSize: number;
}

/** Scratch buffers kept for reuse: uniforms of a batch, staging buffers of read-backs. */
type ScratchKind = 'uniform' | 'staging';

export class BufferPool {
  readonly #device: GPUDevice;
  readonly #opts: BufferPoolOptions;
  readonly #pool = new Map<number, GPUBuffer[]>();
  readonly #scratch: Record<ScratchKind, Map<number, GPUBuffer[]>> = { uniform: new Map(), staging: new Map() };
  /** Released buffers waiting for the submission of their last batch. */
  #deferred: GpuData[] = [];
  #bytesInUse = 0;
  #live = 0;
  #bytesPooled = 0;
  #destroyed = false;

  constructor(device: GPUDevice, opts: BufferPoolOptions) {
    this.#device = device;
    this.#opts = opts;
  }

  /** A storage buffer for `bytes` bytes of tensor data; rejects sizes over the binding limit. */
  alloc(bytes: number, op: string): GpuData {
    const limit = this.#opts.maxBindingSize;
    if (bytes > limit) {
      fail(
        op,
        `the result needs ${bytes} bytes, more than this device's maxStorageBufferBindingSize of ${limit} bytes`,
      );
    }
    let cap = this.#opts.exact ? Math.max(16, alignUp(bytes, 16)) : sizeClass(bytes);
    if (cap > limit) cap = Math.min(alignUp(Math.max(bytes, 16), 16), limit);
    const free = this.#pool.get(cap);
    let buffer = free?.pop();
    if (buffer !== undefined) {
      this.#bytesPooled -= cap;
      counters.poolHits++;
    } else {
      buffer = this.#device.createBuffer({
        size: cap,
        usage: BUF.STORAGE | BUF.COPY_SRC | BUF.COPY_DST,
      });
      counters.buffersCreated++;
    }
    this.#bytesInUse += cap;
    this.#live++;
    return { buffer, size: bytes, capacity: cap, lastUse: 0, released: false };
  }

  /** Uploads 32-bit words (the caller converts bool to u32). */
  upload(words: Float32Array | Int32Array | Uint32Array, op: string): GpuData {
    const d = this.alloc(words.byteLength, op);
    if (words.byteLength > 0) {
      this.#device.queue.writeBuffer(d.buffer, 0, words.buffer, words.byteOffset, words.byteLength);
      counters.uploads++;
    }
    return d;
  }

  /** Returns a tensor's buffer to the pool once the batch `lastSubmitted` covers its last use. */
  release(d: GpuData, lastSubmitted: number): void {
    if (d.released) return;
    d.released = true;
    this.#bytesInUse -= d.capacity;
    this.#live--;
    this.#bytesPooled += d.capacity;
    if (d.lastUse > lastSubmitted) this.#deferred.push(d);
    else this.#toPool(d);
  }

  #toPool(d: GpuData): void {
    if (this.#destroyed) return;
    if (this.#bytesPooled > this.#opts.maxPooledBytes) {
      this.#bytesPooled -= d.capacity;
      d.buffer.destroy();
      return;
    }
    let list = this.#pool.get(d.capacity);
    if (list === undefined) this.#pool.set(d.capacity, (list = []));
    list.push(d.buffer);
  }

  /** Pools the deferred buffers whose last batch has now been submitted. */
  processDeferred(lastSubmitted: number): void {
    if (this.#deferred.length === 0) return;
    const keep: GpuData[] = [];
    for (const d of this.#deferred) {
      if (d.lastUse <= lastSubmitted) this.#toPool(d);
      else keep.push(d);
    }
    this.#deferred = keep;
  }

  /** Destroys every pooled buffer (memory().bytesPooled drops to the deferred ones). */
  trim(): void {
    for (const [cap, list] of this.#pool) {
      for (const b of list) {
        b.destroy();
        this.#bytesPooled -= cap;
      }
    }
    this.#pool.clear();
  }

  memory(): { bytesInUse: number; bytesPooled: number; buffers: number } {
    return { bytesInUse: this.#bytesInUse, bytesPooled: this.#bytesPooled, buffers: this.#live };
  }

  /** A scratch buffer of `cap` bytes (a pooled one when there is one). */
  takeScratch(kind: ScratchKind, cap: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    const b = this.#scratch[kind].get(cap)?.pop();
    return b ?? this.#device.createBuffer({ size: cap, usage, label });
  }

  /** Gives a scratch buffer back (at most 8 are kept per size). */
  giveScratch(kind: ScratchKind, cap: number, b: GPUBuffer): void {
    const pool = this.#scratch[kind];
    let list = pool.get(cap);
    if (list === undefined) pool.set(cap, (list = []));
    if (list.length >= 8) b.destroy();
    else list.push(b);
  }

  /** Forgets every pooled buffer (the device is being destroyed with them); later releases are dropped. */
  destroy(): void {
    this.#destroyed = true;
    this.#pool.clear();
    this.#scratch.uniform.clear();
    this.#scratch.staging.clear();
    this.#deferred = [];
  }
}
