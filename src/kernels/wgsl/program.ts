/**
 * The contract between WGSL kernel builders (src/kernels/wgsl/*) and the WebGPU runtime
 * (src/backend/webgpu/runtime.ts). A builder is a pure function of shapes and parameters that
 * returns a Program; the runtime compiles (cached by `key`), binds and dispatches it.
 *
 * Binding layout, always:
 *   @group(0) @binding(0)            var<uniform> u : Uniforms;          (the `uniforms` bytes)
 *   @group(0) @binding(1 .. n)       var<storage, read> in_i : array<...>; (inputs, in order)
 *   @group(0) @binding(n + 1)        var<storage, read_write> out : array<...>;
 * plus, when `extraOutputs` > 0, further read_write buffers after `out` (for example an error flag).
 *
 * Element types on the GPU: float32 -> f32, int32 -> i32, bool -> u32 (one element per 32-bit word).
 */
export interface Program {
  /** Pipeline cache key: the op and every choice that changes the WGSL text (never plain sizes). */
  readonly key: string;
  /** The WGSL source, entry point `main`. */
  readonly wgsl: string;
  /** Workgroups to dispatch (each <= maxComputeWorkgroupsPerDimension). */
  readonly workgroups: readonly [number, number, number];
  /** Uniform bytes (sizes, strides, parameters), a multiple of 16 bytes. */
  readonly uniforms: ArrayBuffer;
  /**
   * When true, the runtime binds its error word right after the outputs as
   * `var<storage, read_write> err : array<atomic<u32>>`; a kernel that detects bad input (an
   * out-of-range index, a NaN in checkNumerics mode) does `atomicMin(&err[0], code)` with the code
   * the runtime handed out (passed in the uniforms), and the next read-back reports it.
   */
  readonly errorFlag?: boolean;
}

/** Device facts a builder may use to choose a variant. */
export interface ProgramContext {
  readonly maxInvocationsPerWorkgroup: number;
  readonly maxWorkgroupSizeX: number;
  readonly maxWorkgroupSizeY: number;
  readonly maxWorkgroupsPerDimension: number;
  readonly maxWorkgroupStorageSize: number;
  /**
   * The adapter is a CPU rasteriser (llvmpipe, SwiftShader, lavapipe) where workgroup barriers
   * are very slow: prefer barrier-free variants (serial / split reductions, register tiling).
   */
  readonly slowBarriers?: boolean;
  /** Workgroup-memory tiling pays off on this device (real GPUs); the inverse of slowBarriers. */
  readonly preferWorkgroupMemory?: boolean;
  /**
   * The shader compiler chokes on large unrolled register tiles (SwiftShader in Chromium: the
   * 4 x 16 implicit-GEMM conv2d kernel did not compile within 60 s, the 4 x 4 one compiles in about
   * 160 ms): GEMM-family kernels use blocks of at most 4 x 4 outputs per invocation.
   */
  readonly smallRegisterTiles?: boolean;
}

/** One 32-bit uniform word and its WGSL type. */
export interface UniformWord {
  readonly type: 'u32' | 'i32' | 'f32';
  readonly value: number;
}

/** Packs uniform words little-endian into a buffer padded to 16 bytes (at least 16). */
export function packUniforms(words: readonly UniformWord[]): ArrayBuffer {
  const n = Math.max(4, Math.ceil(words.length / 4) * 4);
  const buf = new ArrayBuffer(n * 4);
  const dv = new DataView(buf);
  words.forEach(({ type, value }, i) => {
    if (type === 'u32') dv.setUint32(i * 4, value >>> 0, true);
    else if (type === 'i32') dv.setInt32(i * 4, value | 0, true);
    else dv.setFloat32(i * 4, value, true);
  });
  return buf;
}

/** Packs u32/i32/f32 fields into a uniform buffer padded to 16 bytes. */
export class UniformWriter {
  #words: UniformWord[] = [];
  u32(...vs: number[]): this {
    for (const value of vs) this.#words.push({ value, type: 'u32' });
    return this;
  }
  i32(...vs: number[]): this {
    for (const value of vs) this.#words.push({ value, type: 'i32' });
    return this;
  }
  f32(...vs: number[]): this {
    for (const value of vs) this.#words.push({ value, type: 'f32' });
    return this;
  }
  finish(): ArrayBuffer {
    return packUniforms(this.#words);
  }
}

/**
 * Splits `total` workgroups into a 2-D grid within the per-dimension limit; the shader recovers
 * the linear index as `wg.x + wg.y * num_workgroups.x`.
 */
export function grid1d(total: number, limit: number): [number, number, number] {
  if (total <= limit) return [Math.max(total, 1), 1, 1];
  const y = Math.ceil(total / limit);
  return [Math.ceil(total / y), y, 1];
}
