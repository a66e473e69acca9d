/**
 * Shared pieces of the WGSL program builders (src/kernels/wgsl/*): element types, the binding
 * header fixed by src/kernels/wgsl/program.ts, named uniform structs, 1-D launch geometry,
 * shape coalescing and unrolled index arithmetic.
 */

import { fail } from '../../errors.js';
import type { DType } from '../../tensor/dtype.js';
import { stridesOf } from '../../tensor/shape.js';
import { grid1d, type ProgramContext, packUniforms } from './program.js';

export type WgslScalar = 'f32' | 'i32' | 'u32';

/** float32 -> f32, int32 -> i32, bool -> u32 (one element per 32-bit word). */
export function wgslType(dtype: DType, op = 'webgpu'): WgslScalar {
  switch (dtype) {
    case 'float32':
      return 'f32';
    case 'int32':
      return 'i32';
    case 'bool':
      return 'u32';
    default:
      return fail(op, `the WebGPU backend does not support dtype ${dtype}`);
  }
}

/** The shape of a tensor as the builders see it. */
export interface TensorSpec {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** Named uniform fields: the same list produces the WGSL struct `U` and the bytes. */
export class UniformStruct {
  readonly #fields: { name: string; type: WgslScalar; value: number }[] = [];

  u32(name: string, value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      fail('webgpu', `internal: uniform ${name} = ${value} does not fit u32`);
    }
    this.#fields.push({ name, type: 'u32', value });
    return this;
  }

  i32(name: string, value: number): this {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
      fail('webgpu', `internal: uniform ${name} = ${value} does not fit i32`);
    }
    this.#fields.push({ name, type: 'i32', value });
    return this;
  }

  f32(name: string, value: number): this {
    this.#fields.push({ name, type: 'f32', value });
    return this;
  }

  /** The WGSL declaration `struct U { ... }` (a dummy field when empty). */
  struct(): string {
    const fields = this.#fields.length === 0 ? [{ name: 'unused', type: 'u32' }] : this.#fields;
    return `struct U {\n${fields.map((f) => `  ${f.name}: ${f.type},`).join('\n')}\n}\n`;
  }

  /** The bytes, padded to a multiple of 16. */
  bytes(): ArrayBuffer {
    return packUniforms(this.#fields);
  }
}

/**
 * The binding header of program.ts: uniforms at 0, inputs `in0..` (read-only) at 1..n, `out` at
 * n + 1 and, with `err`, the runtime's error word at n + 2.
 */
export function bindings(u: UniformStruct, inputs: readonly string[], out: string, err = false): string {
  let s = `${u.struct()}@group(0) @binding(0) var<uniform> u : U;\n`;
  inputs.forEach((t, i) => {
    s += `@group(0) @binding(${i + 1}) var<storage, read> in${i} : array<${t}>;\n`;
  });
  s += `@group(0) @binding(${inputs.length + 1}) var<storage, read_write> out : array<${out}>;\n`;
  if (err) s += `@group(0) @binding(${inputs.length + 2}) var<storage, read_write> err : array<atomic<u32>>;\n`;
  return s;
}

/** The workgroup size of the 1-D elementwise-style kernels. */
export function workgroupSize(ctx: ProgramContext, preferred = 256): number {
  let wg = preferred;
  while (wg > 32 && (wg > ctx.maxInvocationsPerWorkgroup || wg > ctx.maxWorkgroupSizeX)) wg /= 2;
  return wg;
}

/** Entry point of a 1-D kernel over `gid` (folded into a 2-D grid by `grid1d`). */
export function main1d(wg: number): string {
  return (
    `@compute @workgroup_size(${wg})\n` +
    'fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(local_invocation_index) lid : u32,\n' +
    '        @builtin(num_workgroups) nwg : vec3<u32>) {\n' +
    `  let gid = (wid.x + wid.y * nwg.x) * ${wg}u + lid;\n`
  );
}

/** Workgroups for `n` invocations of `wg` threads. */
export function launch1d(ctx: ProgramContext, n: number, wg: number): [number, number, number] {
  if (n === 0) return [0, 1, 1];
  return grid1d(Math.ceil(n / wg), ctx.maxWorkgroupsPerDimension);
}

/**
 * Merges adjacent dims and drops size-1 dims of an iteration space `shape` walked by several
 * operands with per-dim (element) `strides` each. Two neighbouring dims d, d+1 merge when every
 * operand has stride[d] == stride[d+1] * shape[d+1]. Returns the reduced shape and strides.
 */
export function coalesce(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k]![last] === s[d]! * n)) {
      outShape[last]! *= n;
      strides.forEach((s, k) => {
        outStrides[k]![last] = s[d]!;
      });
    } else {
      outShape.push(n);
      strides.forEach((s, k) => {
        outStrides[k]!.push(s[d]!);
      });
    }
  }
  return { shape: outShape, strides: outStrides };
}

/** Strides of `inShape` read along `outShape` (NumPy broadcasting): 0 on broadcast axes. */
export function broadcastStrides(inShape: readonly number[], outShape: readonly number[]): number[] {
  const s = stridesOf(inShape);
  const lead = outShape.length - inShape.length;
  return outShape.map((_, i) => (i < lead || inShape[i - lead] === 1 ? 0 : s[i - lead]!));
}

/**
 * WGSL statements that decompose the flat index `idx` (u32) over uniform dims `${dimPrefix}0..`
 * (row-major) and accumulate, for each operand k, `${tag}off{k} = sum_d c_d * ${stridePrefixes[k]}d`
 * as i32, starting from `init[k]` (a WGSL expression, default 0). `tag` prefixes every local name.
 */
export function unrollOffsets(
  rank: number,
  idx: string,
  dimPrefix: string,
  stridePrefixes: readonly string[],
  init: readonly string[],
  indent = '  ',
  tag = '',
): string {
  let s = '';
  stridePrefixes.forEach((_, k) => {
    s += `${indent}var ${tag}off${k} : i32 = ${init[k] ?? '0'};\n`;
  });
  if (rank === 0) return s;
  s += `${indent}var ${tag}rem : u32 = ${idx};\n`;
  for (let d = rank - 1; d >= 0; d--) {
    if (d > 0) {
      s += `${indent}let ${tag}c${d} = i32(${tag}rem % u.${dimPrefix}${d});\n`;
      s += `${indent}${tag}rem = ${tag}rem / u.${dimPrefix}${d};\n`;
    } else {
      s += `${indent}let ${tag}c${d} = i32(${tag}rem);\n`;
    }
    stridePrefixes.forEach((p, k) => {
      s += `${indent}${tag}off${k} = ${tag}off${k} + ${tag}c${d} * u.${p}${d};\n`;
    });
  }
  return s;
}

/**
 * Loop budget per invocation. Mesa's llvmpipe stops every loop of an invocation after 65535
 * iterations in total (all loops of the shader share one limiter, LP_MAX_TGSI_LOOP_ITERATIONS),
 * silently: a serial sum over 4M elements returned the sum of the first 65535. Kernels choose
 * variants so that no invocation runs more than this many loop iterations (with margin).
 */
export const MAX_LOOP_ITERATIONS = 32768;

/** True when a flat element count fits the u32/i32 index arithmetic of the kernels. */
export function checkIndexable(op: string, n: number): void {
  if (n > 0x7fffffff) fail(op, `${n} elements exceed the 2^31 - 1 elements a WebGPU kernel can index`);
}
