/**
 * The WebGPU runtime: buffers, the buffer pool, batched submission, read-back, the pipeline cache,
 * device-side error flags and deferred error reporting. Kernel builders (src/kernels/wgsl/*) hand
 * it Programs (see src/kernels/wgsl/program.ts); src/backend/webgpu/kernels.ts maps primitives to
 * builders. Its parts: buffers.ts (buffers and pools), pipelines.ts (the pipeline cache),
 * error-word.ts (device-side error codes), stats.ts (counters); this file batches, submits, reads back.
 *
 * Design (measured on Dawn / OpenGL ES / llvmpipe; see docs/webgpu.md):
 * - Buffers come from a pool keyed by a size class (multiples of 16 bytes up to 64 bytes, then
 *   four classes per power of two: at most 25% slack; `pooling: 'exact'` keys by the 16-byte
 *   rounded size instead). A released buffer goes back to the pool only after the submission that
 *   last used it; a pool over `maxPooledBytes` destroys instead.
 * - Dispatches are recorded (pipeline, buffers, uniform bytes) and encoded at submit time: one
 *   command encoder and compute pass per batch of up to `batchSize` dispatches (16; 64 on CPU
 *   rasterisers, where a submit costs about 0.4 ms), one uniform buffer per batch (each dispatch's
 *   bytes at an aligned offset, written with one writeBuffer). A batch is submitted when full and
 *   at every read-back / sync.
 * - Pipelines are cached by Program.key plus the binding signature. Kernels run synchronously
 *   (runPrimitive is synchronous), so the first use compiles with createComputePipeline inside a
 *   validation error scope; `warmup()` compiles ahead of time with createComputePipelineAsync.
 *   A WGSL compile error becomes a TesseraError with the messages and the numbered source: thrown
 *   by `warmup`/`compile`, and otherwise reported at the next read()/sync() (and thrown at once on
 *   any later use of the same program). Dispatches of a program known to be broken are skipped.
 * - Kernels that can fail on the device (out-of-range indices, checkNumerics) take an error code
 *   (a uniform) and `atomicMin` it into the runtime's error word; every read-back copies the word
 *   along with the data and resets it, and the smallest code (the first failing op in submission
 *   order) is reported as a TesseraError naming the op.
 * - Uncaptured device errors and device loss are recorded and reported at the next read()/sync();
 *   after a loss, every call fails at once with a clear message instead of hanging.
 */
import { fail, TesseraError } from '../../errors.js';
import type { Program, ProgramContext } from '../../kernels/wgsl/program.js';
import { profiling } from '../../tensor/profiling.js';
import { alignUp, BUF, BufferPool, bindSize, type GpuData, sizeClass } from './buffers.js';
import { ErrorWord } from './error-word.js';
import { PipelineCache, type PipelineEntry } from './pipelines.js';
import { counters } from './stats.js';
import { BatchTimestamps, dispatchLabel } from './timestamps.js';

interface RuntimeLimits {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxUniformBufferBindingSize: number;
  readonly minUniformBufferOffsetAlignment: number;
  readonly maxStorageBuffersPerShaderStage: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupSizeX: number;
  readonly maxComputeWorkgroupSizeY: number;
  readonly maxComputeWorkgroupStorageSize: number;
}

export interface RuntimeOptions {
  /**
   * Dispatches per command buffer before a submit: default DEFAULT_BATCH_SIZE (16), or
   * SLOW_BARRIERS_BATCH_SIZE (64) with `slowBarriers` (a CPU rasteriser: on Dawn's OpenGL ES backend
   * over llvmpipe every submit cost about 0.4 ms, and a ring-GAN training step of about 220
   * dispatches ran 8-14% faster with 64 than with 16).
   */
  batchSize?: number;
  /** Pooled bytes above which released buffers are destroyed (default 256 MiB). */
  maxPooledBytes?: number;
  /** 0 quiet, 1 prints dispatches, 2 also compiles (with WGSL) and submits. Default: TESSERA_DEBUG. */
  debug?: number;
  /** The device is a CPU rasteriser with slow workgroup barriers (see ProgramContext). */
  slowBarriers?: boolean;
  /** Cap GEMM register tiles at 4 x 4 (see ProgramContext.smallRegisterTiles). */
  smallRegisterTiles?: boolean;
  /** Pool by size class (default: 16-byte steps to 64 bytes, then 4 classes per power of two) or exact size. */
  pooling?: 'classes' | 'exact';
}

/** Dispatches per submit (see RuntimeOptions.batchSize). */
const DEFAULT_BATCH_SIZE = 16;
const SLOW_BARRIERS_BATCH_SIZE = 64;

interface DispatchCmd {
  readonly kind: 'dispatch';
  readonly entry: PipelineEntry;
  readonly buffers: readonly { buffer: GPUBuffer; size: number }[];
  readonly uniforms: ArrayBuffer;
  readonly workgroups: readonly [number, number, number];
  readonly err: boolean;
  /** The profiler's kernel row for GPU timestamps (undefined unless profiling with timestamp-query). */
  readonly label: string | undefined;
}

interface CopyCmd {
  readonly kind: 'copy';
  readonly src: GPUBuffer;
  readonly srcOffset: number;
  readonly dst: GPUBuffer;
  readonly dstOffset: number;
  readonly size: number;
}

interface Batch {
  readonly id: number;
  readonly cmds: (DispatchCmd | CopyCmd)[];
  dispatches: number;
}

const MAP_READ_MODE = 1;

function envDebug(): number {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const v = p?.env?.TESSERA_DEBUG;
  if (v === undefined || v === '' || v === '0') return 0;
  const n = Number(v);
  return Number.isFinite(n) ? n : 1;
}

export class WebGPURuntime {
  readonly device: GPUDevice;
  readonly limits: RuntimeLimits;
  readonly ctx: ProgramContext;
  readonly #batchSize: number;
  readonly #debug: number;
  readonly #buffers: BufferPool;
  readonly #pipelines: PipelineCache;
  readonly #errors: ErrorWord;

  #batch: Batch;
  #nextBatchId = 1;
  #lastSubmitted = 0;

  #pendingErrors: TesseraError[] = [];
  #lost: string | null = null;
  #destroyed = false;

  constructor(device: GPUDevice, options: RuntimeOptions = {}) {
    this.device = device;
    const l = device.limits;
    this.limits = {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxUniformBufferBindingSize: l.maxUniformBufferBindingSize,
      minUniformBufferOffsetAlignment: l.minUniformBufferOffsetAlignment,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    };
    this.ctx = {
      maxInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      maxWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      slowBarriers: options.slowBarriers === true,
      preferWorkgroupMemory: options.slowBarriers !== true,
      smallRegisterTiles: options.smallRegisterTiles === true,
    };
    this.#batchSize =
      options.batchSize ?? (options.slowBarriers === true ? SLOW_BARRIERS_BATCH_SIZE : DEFAULT_BATCH_SIZE);
    this.#debug = options.debug ?? envDebug();
    this.#batch = { id: this.#nextBatchId++, cmds: [], dispatches: 0 };
    this.#buffers = new BufferPool(device, {
      maxPooledBytes: options.maxPooledBytes ?? 256 * 1024 * 1024,
      exact: options.pooling === 'exact',
      maxBindingSize: l.maxStorageBufferBindingSize,
    });
    this.#pipelines = new PipelineCache(device, {
      maxStorageBuffers: l.maxStorageBuffersPerShaderStage,
      debug: this.#debug,
      onCompileError: (e) => this.#pendingErrors.unshift(e),
    });
    this.#errors = new ErrorWord(device);

    device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      this.#pendingErrors.push(new TesseraError('webgpu', `device error: ${ev.error.message}`));
    };
    device.lost.then((info) => {
      if (this.#destroyed) return;
      this.#lost = `the WebGPU device was lost (${info.reason}): ${info.message}`;
    });
  }

  // ------------------------------------------------------------------ state checks

  /** Dispatches per submit (see RuntimeOptions.batchSize). */
  get batchSize(): number {
    return this.#batchSize;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Throws when the device is gone (lost or destroyed). */
  checkAlive(op: string): void {
    if (this.#destroyed) fail(op, 'the WebGPU backend was destroyed; call setBackend() again');
    if (this.#lost !== null) fail(op, `${this.#lost}; create a new backend with setBackend('webgpu')`);
  }

  /** Throws the first deferred error (compile error, device error, device-side flag) and clears them. */
  #throwPending(): void {
    if (this.#pendingErrors.length === 0) return;
    const first = this.#pendingErrors[0]!;
    this.#pendingErrors = [];
    throw first;
  }

  // ------------------------------------------------------------------ buffers

  /** A storage buffer for `bytes` bytes of tensor data; rejects sizes over the binding limit. */
  alloc(bytes: number, op: string): GpuData {
    this.checkAlive(op);
    return this.#buffers.alloc(bytes, op);
  }

  /** Uploads 32-bit words (the caller converts bool to u32). */
  upload(words: Float32Array | Int32Array | Uint32Array, op: string): GpuData {
    this.checkAlive(op);
    return this.#buffers.upload(words, op);
  }

  /** Returns a tensor's buffer to the pool once the work using it has been submitted. */
  release(d: GpuData): void {
    this.#buffers.release(d, this.#lastSubmitted);
  }

  /** Destroys every pooled buffer (memory().bytesPooled drops to the deferred ones). */
  trimPool(): void {
    this.#buffers.trim();
  }

  memory(): { bytesInUse: number; bytesPooled: number; buffers: number } {
    return this.#buffers.memory();
  }

  /**
   * Compiles a program ahead of use with createComputePipelineAsync (nIn inputs, nOut outputs
   * besides the error word); rejects with a TesseraError holding the messages and numbered WGSL.
   */
  async compile(program: Program, nIn: number, nOut = 1): Promise<void> {
    this.checkAlive('webgpu');
    await this.#pipelines.compile(program, nIn, nOut);
  }

  /** Compiles several programs concurrently (see compile). */
  async warmup(programs: readonly { program: Program; inputs: number; outputs?: number }[]): Promise<void> {
    await Promise.all(programs.map((p) => this.compile(p.program, p.inputs, p.outputs ?? 1)));
  }

  // ------------------------------------------------------------------ error codes

  /**
   * Reserves an error code for a kernel that may fail on the device (written into its uniforms);
   * if the kernel reports it, the next read()/sync() throws TesseraError(op, message).
   */
  errorCode(op: string, message: string): number {
    return this.#errors.code(op, message);
  }

  // ------------------------------------------------------------------ dispatch and submit

  /** Records one dispatch of `program` reading `inputs` and writing `outputs` (and the error word). */
  dispatch(program: Program, inputs: readonly GpuData[], outputs: readonly GpuData[]): void {
    this.checkAlive('webgpu');
    const [x, y, z] = program.workgroups;
    const lim = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > lim || y > lim || z > lim) {
      fail('webgpu', `program '${program.key}' asks for ${x}x${y}x${z} workgroups (limit ${lim} per dimension)`);
    }
    if (
      program.uniforms.byteLength % 16 !== 0 ||
      program.uniforms.byteLength > this.limits.maxUniformBufferBindingSize
    ) {
      fail('webgpu', `program '${program.key}' has ${program.uniforms.byteLength} uniform bytes`);
    }
    const entry = this.#pipelines.entry(program, inputs.length, outputs.length);
    if (x === 0 || y === 0 || z === 0) return;
    const id = this.#batch.id;
    const buffers: { buffer: GPUBuffer; size: number }[] = [];
    for (const d of inputs) {
      if (d.released) fail('webgpu', `program '${program.key}' reads a released buffer`);
      d.lastUse = id;
      buffers.push({ buffer: d.buffer, size: bindSize(d) });
    }
    for (const d of outputs) {
      d.lastUse = id;
      buffers.push({ buffer: d.buffer, size: bindSize(d) });
    }
    const err = program.errorFlag === true;
    if (err) {
      buffers.push({ buffer: this.#errors.buffer, size: 16 });
      this.#errors.dirty = true;
    }
    const label = dispatchLabel(this.device);
    this.#batch.cmds.push({
      kind: 'dispatch',
      entry,
      buffers,
      uniforms: program.uniforms,
      workgroups: [x, y, z],
      err,
      label,
    });
    this.#batch.dispatches++;
    counters.dispatches++;
    if (this.#debug >= 1) console.error(`[tessera webgpu] dispatch ${program.key} workgroups ${x}x${y}x${z}`);
    if (this.#batch.dispatches >= this.#batchSize) this.flush();
  }

  /** Records a buffer-to-buffer copy. */
  copy(src: GpuData, srcOffset: number, dst: GpuData, dstOffset: number, size: number): void {
    this.checkAlive('webgpu');
    if (size === 0) return;
    src.lastUse = this.#batch.id;
    dst.lastUse = this.#batch.id;
    this.#batch.cmds.push({ kind: 'copy', src: src.buffer, srcOffset, dst: dst.buffer, dstOffset, size });
  }

  /** Submits the recorded batch (if any). */
  flush(): void {
    const b = this.#batch;
    if (b.cmds.length === 0) return;
    this.#batch = { id: this.#nextBatchId++, cmds: [], dispatches: 0 };
    this.#submit(b);
  }

  #submit(b: Batch): void {
    if (this.#destroyed || this.#lost !== null) {
      this.#lastSubmitted = b.id;
      this.#buffers.processDeferred(b.id);
      return;
    }
    const dev = this.device;
    const align = Math.max(this.limits.minUniformBufferOffsetAlignment, 16);
    let total = 0;
    for (const c of b.cmds) if (c.kind === 'dispatch') total = alignUp(total, align) + c.uniforms.byteLength;
    const ucap = sizeClass(Math.max(total, 16));
    const ubuf = total > 0 ? this.#buffers.takeScratch('uniform', ucap, BUF.UNIFORM | BUF.COPY_DST, 'u') : null;
    const ubytes = new Uint8Array(total);
    dev.pushErrorScope('validation');
    const enc = dev.createCommandEncoder();
    let pass: GPUComputePassEncoder | null = null;
    let off = 0;
    let skipped = 0;
    let timestamps: BatchTimestamps | undefined;
    for (const c of b.cmds) {
      if (c.kind === 'copy') {
        if (pass !== null) {
          pass.end();
          pass = null;
        }
        enc.copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.size);
        continue;
      }
      off = alignUp(off, align);
      const uoff = off;
      ubytes.set(new Uint8Array(c.uniforms), uoff);
      off += c.uniforms.byteLength;
      if (c.entry.state === 'failed' || c.entry.pipeline === null) {
        skipped++;
        continue;
      }
      const entries: GPUBindGroupEntry[] = [
        { binding: 0, resource: { buffer: ubuf!, offset: uoff, size: c.uniforms.byteLength } },
      ];
      c.buffers.forEach((bb, i) => {
        entries.push({ binding: i + 1, resource: { buffer: bb.buffer, offset: 0, size: bb.size } });
      });
      const bg = dev.createBindGroup({ layout: c.entry.layout.bgl, entries });
      if (c.label !== undefined) {
        // Profiling with timestamps (src/backend/webgpu/timestamps.ts): this dispatch gets its own timed pass.
        pass?.end();
        timestamps ??= new BatchTimestamps(dev, b.dispatches);
        pass = timestamps.beginPass(enc, c.label);
      } else if (pass === null) pass = enc.beginComputePass();
      pass.setPipeline(c.entry.pipeline);
      pass.setBindGroup(0, bg);
      pass.dispatchWorkgroups(c.workgroups[0], c.workgroups[1], c.workgroups[2]);
      if (c.label !== undefined) {
        pass.end();
        pass = null;
      }
    }
    if (pass !== null) pass.end();
    timestamps?.resolve(enc);
    if (ubuf !== null) dev.queue.writeBuffer(ubuf, 0, ubytes.buffer, 0, total);
    dev.queue.submit([enc.finish()]);
    counters.submits++;
    timestamps?.report(profiling.sink);
    dev.popErrorScope().then(
      (e) => {
        if (e !== null) {
          this.#pendingErrors.push(
            new TesseraError('webgpu', `a batch of ${b.dispatches} dispatches failed validation: ${e.message}`),
          );
        }
      },
      () => {},
    );
    if (this.#debug >= 2) {
      const t0 = performance.now();
      const keys = b.cmds.flatMap((c) => (c.kind === 'dispatch' ? [c.entry.program.key.split('|')[0]] : []));
      dev.queue.onSubmittedWorkDone().then(
        () => {
          const ms = (performance.now() - t0).toFixed(2);
          console.error(
            `[tessera webgpu] batch ${b.id}: ${b.dispatches} dispatches (${keys.join(', ')}), ${skipped} skipped, done ${ms} ms after submit`,
          );
        },
        () => {},
      );
    }
    if (ubuf !== null) this.#buffers.giveScratch('uniform', ucap, ubuf);
    this.#lastSubmitted = b.id;
    this.#buffers.processDeferred(b.id);
  }

  // ------------------------------------------------------------------ read-back

  /** Copies a buffer's first `bytes` bytes to the host (also collects device-side error flags). */
  async readBytes(d: GpuData | null, bytes: number): Promise<ArrayBuffer> {
    this.checkAlive('read');
    this.#throwPending();
    if (d?.released === true) fail('read', 'the tensor was released');
    const withFlag = this.#errors.dirty;
    const flagOffset = alignUp(bytes, 4);
    const total = flagOffset + (withFlag ? 8 : 0); // the error word and its detail word
    if (total === 0) {
      this.flush();
      return new ArrayBuffer(0);
    }
    const cap = sizeClass(total);
    const staging = this.#buffers.takeScratch('staging', cap, BUF.MAP_READ | BUF.COPY_DST, 'tessera staging');
    if (d !== null && bytes > 0) {
      d.lastUse = this.#batch.id;
      this.#batch.cmds.push({
        kind: 'copy',
        src: d.buffer,
        srcOffset: 0,
        dst: staging,
        dstOffset: 0,
        size: alignUp(bytes, 4),
      });
      counters.readbacks++;
    }
    const codeLimit = this.#errors.nextCode;
    if (withFlag) this.#recordFlagCopy(staging, flagOffset);
    this.flush();
    try {
      await staging.mapAsync(MAP_READ_MODE, 0, total);
    } catch (e) {
      // A lost device rejects the mapping; give the lost promise a moment to say why.
      await Promise.race([this.device.lost, new Promise((r) => setTimeout(r, 100))]);
      this.checkAlive('read');
      this.#throwPending();
      throw new TesseraError('read', `mapping the read-back buffer failed: ${e instanceof Error ? e.message : e}`);
    }
    const out = staging.getMappedRange(0, total).slice(0);
    staging.unmap();
    this.#buffers.giveScratch('staging', cap, staging);
    if (withFlag) {
      const words = new Uint32Array(out, flagOffset, 2);
      const error = this.#errors.check(words[0]!, codeLimit, words[1]!);
      if (error !== null) this.#pendingErrors.unshift(error);
    }
    await this.#pipelines.settle();
    this.#throwPending();
    return total === bytes ? out : out.slice(0, bytes);
  }

  #recordFlagCopy(staging: GPUBuffer, offset: number): void {
    const word = this.#errors;
    this.#batch.cmds.push({ kind: 'copy', src: word.buffer, srcOffset: 0, dst: staging, dstOffset: offset, size: 8 });
    this.#batch.cmds.push({ kind: 'copy', src: word.reset, srcOffset: 0, dst: word.buffer, dstOffset: 0, size: 8 });
    word.dirty = false;
  }

  /** Submits everything, waits until the device is idle, and reports deferred errors. */
  async sync(): Promise<void> {
    this.checkAlive('sync');
    if (this.#errors.dirty) {
      await this.readBytes(null, 0);
    } else {
      this.flush();
    }
    await this.device.queue.onSubmittedWorkDone();
    await this.#pipelines.settle();
    this.checkAlive('sync');
    this.#throwPending();
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#buffers.destroy();
    this.#pipelines.clear();
    this.device.destroy();
  }
}
