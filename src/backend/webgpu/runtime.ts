/**
 * The WebGPU runtime: buffers, the buffer pool, batched submission, read-back, the pipeline cache,
 * device-side error flags and deferred error reporting. Kernel builders (src/kernels/wgsl/*) hand
 * it Programs (see src/kernels/wgsl/program.ts); src/backend/webgpu/kernels.ts maps primitives to builders.
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

export interface RuntimeLimits {
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

/** Cumulative counters (all runtimes in this process); tests compare before/after. */
export interface WebGPUStats {
  /** Read-backs (buffer -> host copies) started: read() calls on non-empty tensors. */
  readbacks: number;
  dispatches: number;
  submits: number;
  /** Pipelines compiled (cache misses). */
  compiles: number;
  /** GPU storage buffers created (pool misses). */
  buffersCreated: number;
  /** Storage buffers taken from the pool (pool hits). */
  poolHits: number;
  uploads: number;
}

/** Dispatches per submit (see RuntimeOptions.batchSize). */
export const DEFAULT_BATCH_SIZE = 16;
export const SLOW_BARRIERS_BATCH_SIZE = 64;

const stats: WebGPUStats = {
  readbacks: 0,
  dispatches: 0,
  submits: 0,
  compiles: 0,
  buffersCreated: 0,
  poolHits: 0,
  uploads: 0,
};

/** A snapshot of the WebGPU counters (read-backs, dispatches, submits, compiles, pool hits). */
export function webgpuStats(): Readonly<WebGPUStats> {
  return { ...stats };
}

interface PipelineEntry {
  readonly key: string;
  readonly program: Program;
  readonly layout: BindingLayout;
  pipeline: GPUComputePipeline | null;
  state: 'ready' | 'failed';
  error: TesseraError | null;
  /** Settles when validation of a synchronously created pipeline is known. */
  checked: Promise<void>;
}

interface BindingLayout {
  readonly bgl: GPUBindGroupLayout;
  readonly pl: GPUPipelineLayout;
}

interface DispatchCmd {
  readonly kind: 'dispatch';
  readonly entry: PipelineEntry;
  readonly buffers: readonly { buffer: GPUBuffer; size: number }[];
  readonly uniforms: ArrayBuffer;
  readonly workgroups: readonly [number, number, number];
  readonly err: boolean;
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

interface DeviceErrorInfo {
  readonly op: string;
  readonly message: string;
}

const NO_ERROR = 0xffffffff;

// WebGPU flag values (spec constants), so Node needs no `globals` from the webgpu package.
const BUF = { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 } as const;
const MAP_READ_MODE = 1;
const STAGE_COMPUTE = 4;

/** Size class of a buffer of `bytes` bytes (>= 16). */
export function sizeClass(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 16) * 16);
  if (b <= 64) return b;
  const p = 2 ** Math.floor(Math.log2(b));
  const step = p / 4;
  return Math.ceil(b / step) * step;
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Binding size: the data rounded up to 16 bytes (vec4 arrays need whole vec4s), within the buffer. */
const bindSize = (d: GpuData): number => Math.min(Math.max(alignUp(d.size, 16), 16), d.capacity);

function numbered(src: string): string {
  const lines = src.split('\n');
  const w = String(lines.length).length;
  return lines.map((l, i) => `${String(i + 1).padStart(w, ' ')} | ${l}`).join('\n');
}

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
  readonly #maxPooledBytes: number;
  readonly #debug: number;
  readonly #exactPool: boolean;

  readonly #pipelines = new Map<string, PipelineEntry>();
  readonly #layouts = new Map<string, BindingLayout>();
  readonly #pool = new Map<number, GPUBuffer[]>();
  readonly #uniformPool = new Map<number, GPUBuffer[]>();
  readonly #stagingPool = new Map<number, GPUBuffer[]>();
  /** Released buffers waiting for the submission of their last batch. */
  #deferred: GpuData[] = [];

  #batch: Batch;
  #nextBatchId = 1;
  #lastSubmitted = 0;

  #bytesInUse = 0;
  #live = 0;
  #bytesPooled = 0;

  readonly #errWord: GPUBuffer;
  readonly #errReset: GPUBuffer;
  #errDirty = false;
  #nextCode = 1;
  readonly #codes = new Map<number, DeviceErrorInfo>();

  #pendingErrors: TesseraError[] = [];
  readonly #unchecked = new Set<Promise<void>>();
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
    this.#maxPooledBytes = options.maxPooledBytes ?? 256 * 1024 * 1024;
    this.#debug = options.debug ?? envDebug();
    this.#exactPool = options.pooling === 'exact';
    this.#batch = { id: this.#nextBatchId++, cmds: [], dispatches: 0 };

    this.#errWord = device.createBuffer({
      size: 16,
      usage: BUF.STORAGE | BUF.COPY_SRC | BUF.COPY_DST,
      mappedAtCreation: true,
      label: 'tessera error word',
    });
    new Uint32Array(this.#errWord.getMappedRange()).fill(NO_ERROR);
    this.#errWord.unmap();
    this.#errReset = device.createBuffer({
      size: 16,
      usage: BUF.COPY_SRC,
      mappedAtCreation: true,
      label: 'tessera error reset',
    });
    new Uint32Array(this.#errReset.getMappedRange()).fill(NO_ERROR);
    this.#errReset.unmap();

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
    const limit = this.limits.maxStorageBufferBindingSize;
    if (bytes > limit) {
      fail(
        op,
        `the result needs ${bytes} bytes, more than this device's maxStorageBufferBindingSize of ${limit} bytes`,
      );
    }
    let cap = this.#exactPool ? Math.max(16, alignUp(bytes, 16)) : sizeClass(bytes);
    if (cap > limit) cap = Math.min(alignUp(Math.max(bytes, 16), 16), limit);
    const free = this.#pool.get(cap);
    let buffer = free?.pop();
    if (buffer !== undefined) {
      this.#bytesPooled -= cap;
      stats.poolHits++;
    } else {
      buffer = this.device.createBuffer({
        size: cap,
        usage: BUF.STORAGE | BUF.COPY_SRC | BUF.COPY_DST,
      });
      stats.buffersCreated++;
    }
    this.#bytesInUse += cap;
    this.#live++;
    return { buffer, size: bytes, capacity: cap, lastUse: 0, released: false };
  }

  /** Uploads 32-bit words (the caller converts bool to u32). */
  upload(words: Float32Array | Int32Array | Uint32Array, op: string): GpuData {
    const d = this.alloc(words.byteLength, op);
    if (words.byteLength > 0) {
      this.device.queue.writeBuffer(d.buffer, 0, words.buffer, words.byteOffset, words.byteLength);
      stats.uploads++;
    }
    return d;
  }

  /** Returns a tensor's buffer to the pool once the work using it has been submitted. */
  release(d: GpuData): void {
    if (d.released) return;
    d.released = true;
    this.#bytesInUse -= d.capacity;
    this.#live--;
    this.#bytesPooled += d.capacity;
    if (d.lastUse > this.#lastSubmitted) this.#deferred.push(d);
    else this.#toPool(d);
  }

  #toPool(d: GpuData): void {
    if (this.#destroyed) return;
    if (this.#bytesPooled > this.#maxPooledBytes) {
      this.#bytesPooled -= d.capacity;
      d.buffer.destroy();
      return;
    }
    let list = this.#pool.get(d.capacity);
    if (list === undefined) this.#pool.set(d.capacity, (list = []));
    list.push(d.buffer);
  }

  #processDeferred(): void {
    if (this.#deferred.length === 0) return;
    const keep: GpuData[] = [];
    for (const d of this.#deferred) {
      if (d.lastUse <= this.#lastSubmitted) this.#toPool(d);
      else keep.push(d);
    }
    this.#deferred = keep;
  }

  /** Destroys every pooled buffer (memory().bytesPooled drops to the deferred ones). */
  trimPool(): void {
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

  #takeFrom(pool: Map<number, GPUBuffer[]>, cap: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    const b = pool.get(cap)?.pop();
    return b ?? this.device.createBuffer({ size: cap, usage, label });
  }

  #giveTo(pool: Map<number, GPUBuffer[]>, cap: number, b: GPUBuffer): void {
    let list = pool.get(cap);
    if (list === undefined) pool.set(cap, (list = []));
    if (list.length >= 8) b.destroy();
    else list.push(b);
  }

  // ------------------------------------------------------------------ pipelines

  #layout(nIn: number, nOut: number): BindingLayout {
    const sig = `${nIn}:${nOut}`;
    let l = this.#layouts.get(sig);
    if (l !== undefined) return l;
    const entries: GPUBindGroupLayoutEntry[] = [{ binding: 0, visibility: STAGE_COMPUTE, buffer: { type: 'uniform' } }];
    for (let i = 0; i < nIn; i++) {
      entries.push({ binding: i + 1, visibility: STAGE_COMPUTE, buffer: { type: 'read-only-storage' } });
    }
    for (let i = 0; i < nOut; i++) {
      entries.push({ binding: nIn + 1 + i, visibility: STAGE_COMPUTE, buffer: { type: 'storage' } });
    }
    const bgl = this.device.createBindGroupLayout({ entries, label: `tessera ${sig}` });
    l = { bgl, pl: this.device.createPipelineLayout({ bindGroupLayouts: [bgl] }) };
    this.#layouts.set(sig, l);
    return l;
  }

  #bindingCount(program: Program, nIn: number, nOut: number): number {
    const total = nIn + nOut + (program.errorFlag === true ? 1 : 0);
    if (total > this.limits.maxStorageBuffersPerShaderStage) {
      fail(
        'webgpu',
        `program '${program.key}' binds ${total} storage buffers, more than this device's maxStorageBuffersPerShaderStage of ${this.limits.maxStorageBuffersPerShaderStage}`,
      );
    }
    return total - nIn;
  }

  #compileError(program: Program, info: GPUCompilationInfo | null, fallback: string): TesseraError {
    const msgs =
      info === null || info.messages.length === 0
        ? fallback
        : info.messages.map((m) => `  ${m.type} at line ${m.lineNum}:${m.linePos}: ${m.message}`).join('\n');
    return new TesseraError(
      'webgpu',
      `WGSL compile error in program '${program.key}':\n${msgs}\n--- WGSL source ---\n${numbered(program.wgsl)}`,
    );
  }

  #entry(program: Program, nIn: number, nOut: number): PipelineEntry {
    const outs = this.#bindingCount(program, nIn, nOut);
    const key = `${program.key}#${nIn}:${outs}`;
    const hit = this.#pipelines.get(key);
    if (hit !== undefined) {
      if (hit.state === 'failed') throw hit.error!;
      return hit;
    }
    stats.compiles++;
    const layout = this.#layout(nIn, outs);
    const t0 = this.#debug >= 2 ? performance.now() : 0;
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code: program.wgsl, label: program.key });
    const pipeline = this.device.createComputePipeline({
      layout: layout.pl,
      compute: { module, entryPoint: 'main' },
      label: program.key,
    });
    const scope = this.device.popErrorScope();
    const entry: PipelineEntry = {
      key,
      program,
      layout,
      pipeline,
      state: 'ready',
      error: null,
      checked: Promise.resolve(),
    };
    entry.checked = scope.then(
      async (err) => {
        if (err === null) return;
        const info = await module.getCompilationInfo().catch(() => null);
        entry.state = 'failed';
        entry.pipeline = null;
        entry.error = this.#compileError(program, info, err.message);
        this.#pendingErrors.unshift(entry.error);
      },
      () => {},
    );
    this.#pipelines.set(key, entry);
    this.#unchecked.add(entry.checked);
    if (this.#debug >= 2) {
      console.error(`[tessera webgpu] compiled ${program.key} in ${(performance.now() - t0).toFixed(1)} ms`);
      console.error(numbered(program.wgsl));
    }
    return entry;
  }

  /**
   * Compiles a program ahead of use with createComputePipelineAsync (nIn inputs, nOut outputs
   * besides the error word); rejects with a TesseraError holding the messages and numbered WGSL.
   */
  async compile(program: Program, nIn: number, nOut = 1): Promise<void> {
    this.checkAlive('webgpu');
    const outs = this.#bindingCount(program, nIn, nOut);
    const key = `${program.key}#${nIn}:${outs}`;
    const hit = this.#pipelines.get(key);
    if (hit !== undefined) {
      await hit.checked;
      if (hit.state === 'failed') throw hit.error!;
      return;
    }
    const layout = this.#layout(nIn, outs);
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code: program.wgsl, label: program.key });
    const moduleErr = this.device.popErrorScope();
    stats.compiles++;
    try {
      const pipeline = await this.device.createComputePipelineAsync({
        layout: layout.pl,
        compute: { module, entryPoint: 'main' },
        label: program.key,
      });
      await moduleErr;
      this.#pipelines.set(key, {
        key,
        program,
        layout,
        pipeline,
        state: 'ready',
        error: null,
        checked: Promise.resolve(),
      });
    } catch (e) {
      await moduleErr.catch(() => null);
      const info = await module.getCompilationInfo().catch(() => null);
      const error = this.#compileError(program, info, e instanceof Error ? e.message : String(e));
      this.#pipelines.set(key, {
        key,
        program,
        layout,
        pipeline: null,
        state: 'failed',
        error,
        checked: Promise.resolve(),
      });
      throw error;
    }
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
    const code = this.#nextCode++;
    if (this.#nextCode >= NO_ERROR) this.#nextCode = 1;
    this.#codes.set(code, { op, message });
    return code;
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
    const entry = this.#entry(program, inputs.length, outputs.length);
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
      buffers.push({ buffer: this.#errWord, size: 16 });
      this.#errDirty = true;
    }
    this.#batch.cmds.push({ kind: 'dispatch', entry, buffers, uniforms: program.uniforms, workgroups: [x, y, z], err });
    this.#batch.dispatches++;
    stats.dispatches++;
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
      this.#processDeferred();
      return;
    }
    const dev = this.device;
    const align = Math.max(this.limits.minUniformBufferOffsetAlignment, 16);
    let total = 0;
    for (const c of b.cmds) if (c.kind === 'dispatch') total = alignUp(total, align) + c.uniforms.byteLength;
    const ucap = sizeClass(Math.max(total, 16));
    const ubuf = total > 0 ? this.#takeFrom(this.#uniformPool, ucap, BUF.UNIFORM | BUF.COPY_DST, 'u') : null;
    const ubytes = new Uint8Array(total);
    dev.pushErrorScope('validation');
    const enc = dev.createCommandEncoder();
    let pass: GPUComputePassEncoder | null = null;
    let off = 0;
    let skipped = 0;
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
      if (pass === null) pass = enc.beginComputePass();
      pass.setPipeline(c.entry.pipeline);
      pass.setBindGroup(0, bg);
      pass.dispatchWorkgroups(c.workgroups[0], c.workgroups[1], c.workgroups[2]);
    }
    if (pass !== null) pass.end();
    if (ubuf !== null) dev.queue.writeBuffer(ubuf, 0, ubytes.buffer, 0, total);
    dev.queue.submit([enc.finish()]);
    stats.submits++;
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
    if (ubuf !== null) this.#giveTo(this.#uniformPool, ucap, ubuf);
    this.#lastSubmitted = b.id;
    this.#processDeferred();
  }

  // ------------------------------------------------------------------ read-back

  /** Copies a buffer's first `bytes` bytes to the host (also collects device-side error flags). */
  async readBytes(d: GpuData | null, bytes: number): Promise<ArrayBuffer> {
    this.checkAlive('read');
    this.#throwPending();
    if (d?.released === true) fail('read', 'the tensor was released');
    const withFlag = this.#errDirty;
    const flagOffset = alignUp(bytes, 4);
    const total = flagOffset + (withFlag ? 4 : 0);
    if (total === 0) {
      this.flush();
      return new ArrayBuffer(0);
    }
    const cap = sizeClass(total);
    const staging = this.#takeFrom(this.#stagingPool, cap, BUF.MAP_READ | BUF.COPY_DST, 'tessera staging');
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
      stats.readbacks++;
    }
    const codeLimit = this.#nextCode;
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
    this.#giveTo(this.#stagingPool, cap, staging);
    if (withFlag) this.#checkFlag(new Uint32Array(out, flagOffset, 1)[0]!, codeLimit);
    await this.#settleChecks();
    this.#throwPending();
    return total === bytes ? out : out.slice(0, bytes);
  }

  #recordFlagCopy(staging: GPUBuffer, offset: number): void {
    this.#batch.cmds.push({ kind: 'copy', src: this.#errWord, srcOffset: 0, dst: staging, dstOffset: offset, size: 4 });
    this.#batch.cmds.push({
      kind: 'copy',
      src: this.#errReset,
      srcOffset: 0,
      dst: this.#errWord,
      dstOffset: 0,
      size: 4,
    });
    this.#errDirty = false;
  }

  #checkFlag(code: number, limit: number): void {
    if (code !== NO_ERROR) {
      const info = this.#codes.get(code);
      this.#pendingErrors.unshift(
        new TesseraError(info?.op ?? 'webgpu', info?.message ?? `a kernel reported error code ${code}`),
      );
    }
    for (const c of this.#codes.keys()) if (c < limit) this.#codes.delete(c);
  }

  /** Submits everything, waits until the device is idle, and reports deferred errors. */
  async sync(): Promise<void> {
    this.checkAlive('sync');
    if (this.#errDirty) {
      await this.readBytes(null, 0);
    } else {
      this.flush();
    }
    await this.device.queue.onSubmittedWorkDone();
    await this.#settleChecks();
    this.checkAlive('sync');
    this.#throwPending();
  }

  /** Waits for the validation results of pipelines created since the last wait. */
  async #settleChecks(): Promise<void> {
    if (this.#unchecked.size === 0) return;
    const all = [...this.#unchecked];
    this.#unchecked.clear();
    await Promise.all(all);
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#pool.clear();
    this.#uniformPool.clear();
    this.#stagingPool.clear();
    this.#deferred = [];
    this.#pipelines.clear();
    this.device.destroy();
  }
}
