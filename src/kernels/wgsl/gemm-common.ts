/**
 * Shared code generation for the register-tiled GEMM family (matmul and the three implicit-GEMM
 * convolutions). A kernel computes, for every z < Z, C_z[m, n] = sum_k A_z(m, k) B_z(k, n) with
 * m < M, n < N; the caller supplies how A and B are loaded (plain strided matrices, or an implicit
 * im2col gather) and how C is stored.
 *
 * Work decomposition ("tiled" layout, ks = 1): each invocation accumulates a tm x tn block of C in
 * registers (tn / 4 vec4 accumulators per row), a workgroup is wgx x wgy invocations with
 * local_invocation_id.x running along N (so neighbouring lanes read neighbouring B columns and
 * share the A rows), and no workgroup memory or barriers are used in the K loop. Columns are
 * interleaved per vec4 group (lane x owns vec4 groups x, x + wgx, ...) so neighbouring lanes touch
 * neighbouring memory.
 *
 * "Split-K" layout (ks > 1): a workgroup of ks invocations computes one tm x tn block; invocation
 * `kl` takes every ks-th slice of K, and the ks partial blocks are summed with a tree reduction in
 * workgroup memory (log2(ks) barriers per workgroup, none in the K loop). Used when the output is
 * too small to keep the device busy and K is long (GEMV, dot products, filter gradients).
 *
 * The workgroup grid is 1-D over (column tile, row tile, z), folded into two dimensions with
 * `grid1d`, so no per-dimension limit is ever exceeded.
 */

import type { DType } from '../../tensor/dtype.js';
import { grid1d, type Program, type ProgramContext, UniformWriter } from './program.js';

export type Activation = 'none' | 'relu' | 'tanh' | 'sigmoid';

/**
 * Optional facts a runtime may add to its ProgramContext (not part of the contract yet; builders
 * read them when present). `preferWorkgroupMemory`: the device has fast workgroup memory and
 * barriers (a hardware GPU), so matmul uses the workgroup-memory tiled kernel; leave it unset on
 * CPU emulations (llvmpipe, SwiftShader), where the barrier-free register-tiled kernel is faster.
 */
export interface GemmContextHints {
  readonly preferWorkgroupMemory?: boolean;
}

export interface GemmLayout {
  /** Output rows per invocation (1, 2, 4, 8, ...). */
  readonly tm: number;
  /** Output columns per invocation, a multiple of 4 (one vec4 accumulator per 4 columns). */
  readonly tn: number;
  /** Invocations per workgroup along N (fastest) and along M; both 1 when ks > 1. */
  readonly wgx: number;
  readonly wgy: number;
  /** Invocations per workgroup splitting K (a power of two); 1 = the tiled layout. */
  readonly ks: number;
}

/** Named uniform fields; the same list produces the WGSL struct and the bytes. */
export class Uniforms {
  readonly #fields: { name: string; type: 'u32' | 'i32'; value: number }[] = [];
  u32(name: string, value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new Error(`uniform ${name} = ${value} does not fit u32`);
    }
    this.#fields.push({ name, type: 'u32', value });
    return this;
  }
  i32(name: string, value: number): this {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
      throw new Error(`uniform ${name} = ${value} does not fit i32`);
    }
    this.#fields.push({ name, type: 'i32', value });
    return this;
  }
  struct(): string {
    return `struct Uniforms {\n${this.#fields.map((f) => `  ${f.name}: ${f.type},`).join('\n')}\n}\n`;
  }
  bytes(): ArrayBuffer {
    const w = new UniformWriter();
    for (const f of this.#fields) {
      if (f.type === 'u32') w.u32(f.value);
      else w.i32(f.value);
    }
    return w.finish();
  }
}

export function assertFloat32(op: string, dtypes: readonly DType[]): void {
  for (const d of dtypes) {
    if (d !== 'float32') throw new Error(`${op}: the WebGPU kernels take float32 tensors, got ${d}`);
  }
}

export const ceilDiv = (a: number, b: number): number => Math.floor((a + b - 1) / b);

/** Smallest power of two >= v (v >= 1). */
function pow2Ceil(v: number): number {
  let p = 1;
  while (p < v) p *= 2;
  return p;
}

/** Largest power of two <= v (v >= 1). */
function pow2Floor(v: number): number {
  let p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}

const COMP = ['x', 'y', 'z', 'w'] as const;
/** Component letter of a vec4 index. */
export const comp = (i: number): string => COMP[i]!;

/** Repeats `f(i)` for i < n and joins the pieces. */
export function rep(n: number, f: (i: number) => string): string {
  let s = '';
  for (let i = 0; i < n; i++) s += f(i);
  return s;
}

/**
 * The accumulate statements for one step: for every row r and column group c,
 * acc_r_c += a(r, kk) * b(kk, c) for kk < kks. `a` yields an f32 expression, `b` a vec4 one.
 */
export function fmaBlock(
  l: GemmLayout,
  kks: number,
  a: (r: number, kk: number) => string,
  b: (kk: number, c: number) => string,
  indent = '    ',
): string {
  let s = '';
  for (let kk = 0; kk < kks; kk++) {
    for (let r = 0; r < l.tm; r++) {
      for (let c = 0; c < l.tn / 4; c++) {
        s += `${indent}acc_${r}_${c} = fma(vec4<f32>(${a(r, kk)}), ${b(kk, c)}, acc_${r}_${c});\n`;
      }
    }
  }
  return s;
}

/** WGSL applying an activation to a vec4 `v`. */
export function activationExpr(act: Activation, v: string): string {
  switch (act) {
    case 'none':
      return v;
    case 'relu':
      return `max(${v}, vec4<f32>(0.0))`;
    case 'tanh':
      // tanh through exp overflows to inf/inf = NaN for large |x| on some drivers; tanh(15) == 1 in f32.
      return `tanh(clamp(${v}, vec4<f32>(-15.0), vec4<f32>(15.0)))`;
    case 'sigmoid':
      return `(vec4<f32>(1.0) / (vec4<f32>(1.0) + exp(-(${v}))))`;
  }
}

interface GemmKernel {
  /** Cache-key stem: op name and every variant choice (never plain sizes). */
  readonly key: string;
  readonly layout: GemmLayout;
  readonly M: number;
  readonly N: number;
  readonly Z: number;
  /** Op uniforms; the skeleton appends M, N, Z, tilesN, tilesM. */
  readonly uniforms: Uniforms;
  /** Storage bindings 1..n (inputs) and n + 1 (output), WGSL declarations. */
  readonly bindings: string;
  readonly helpers?: string;
  /**
   * Per-invocation set-up. In scope: z, kl (K-slice lane, 0 in the tiled layout), row_r (u32,
   * unclamped) and rc_r = min(row_r, M - 1) for r < tm, col4_c (vec4-group index of columns
   * 4 col4_c .. 4 col4_c + 3, unclamped) for c < tn / 4, and `u` (uniforms).
   */
  readonly setup: string;
  /** The K loop, accumulating into acc_r_c (vec4<f32>); must start at slice kl and step by KS. */
  readonly loop: string;
  /** Writes acc_r_c to the output (guards rows >= M, columns >= N itself). */
  readonly store: string;
  /** When true the skeleton omits the clamps (M, N multiples of the workgroup tile). */
  readonly fit?: boolean;
}

export const workgroupRows = (l: GemmLayout): number => l.tm * l.wgy;
export const workgroupCols = (l: GemmLayout): number => l.tn * l.wgx;

/** Assembles the WGSL, grid and uniforms of a GEMM-family kernel. */
export function buildGemm(ctx: ProgramContext, k: GemmKernel): Program {
  const l = k.layout;
  const tn4 = l.tn / 4;
  if (l.tn % 4 !== 0 || l.tm < 1) throw new Error(`bad GEMM layout ${JSON.stringify(l)}`);
  const invocations = l.ks > 1 ? l.ks : l.wgx * l.wgy;
  if (invocations > ctx.maxInvocationsPerWorkgroup || l.wgx > ctx.maxWorkgroupSizeX || l.wgy > ctx.maxWorkgroupSizeY) {
    throw new Error(`GEMM layout ${JSON.stringify(l)} exceeds the device's workgroup limits`);
  }
  const rowsPerWg = l.ks > 1 ? l.tm : workgroupRows(l);
  const colsPerWg = l.ks > 1 ? l.tn : workgroupCols(l);
  const tilesN = Math.max(1, ceilDiv(k.N, colsPerWg));
  const tilesM = Math.max(1, ceilDiv(k.M, rowsPerWg));
  const total = tilesN * tilesM * k.Z;
  const empty = k.M === 0 || k.N === 0 || k.Z === 0;
  const u = k.uniforms.u32('M', k.M).u32('N', k.N).u32('Z', k.Z).u32('tilesN', tilesN).u32('tilesM', tilesM);
  const fit = k.fit === true;
  const split = l.ks > 1;
  const wgsz = split ? `${l.ks}` : `${l.wgx}, ${l.wgy}`;
  const rbase = split ? `tr * ${l.tm}u` : `(tr * ${l.wgy}u + lid.y) * ${l.tm}u`;
  const cbase = split ? `tc * ${tn4}u` : `tc * ${l.wgx * tn4}u + lid.x`;
  const cstep = split ? 1 : l.wgx;
  const T = l.tm * tn4;
  let red = '';
  if (split) {
    const bytes = l.ks * T * 16;
    if (bytes > ctx.maxWorkgroupStorageSize) throw new Error(`split-K needs ${bytes} bytes of workgroup memory`);
    red += rep(l.tm, (r) => rep(tn4, (c) => `  red[kl * ${T}u + ${r * tn4 + c}u] = acc_${r}_${c};\n`));
    red += '  workgroupBarrier();\n';
    red += `  for (var s = ${l.ks / 2}u; s > 0u; s = s >> 1u) {\n    if (kl < s) {\n`;
    red += rep(T, (i) => `      red[kl * ${T}u + ${i}u] = red[kl * ${T}u + ${i}u] + red[(kl + s) * ${T}u + ${i}u];\n`);
    red += '    }\n    workgroupBarrier();\n  }\n  if (kl != 0u) { return; }\n';
    red += rep(l.tm, (r) => rep(tn4, (c) => `  acc_${r}_${c} = red[${r * tn4 + c}u];\n`));
  }
  const wgsl = `${u.struct()}
@group(0) @binding(0) var<uniform> u : Uniforms;
${k.bindings}
${split ? `var<workgroup> red : array<vec4<f32>, ${l.ks * T}>;\n` : ''}
${k.helpers ?? ''}
@compute @workgroup_size(${wgsz})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_id) lid : vec3<u32>) {
  let wlin = wid.x + wid.y * nwg.x;
  let tc = wlin % u.tilesN;
  let tr = (wlin / u.tilesN) % u.tilesM;
  let z = wlin / (u.tilesN * u.tilesM);
  if (z >= u.Z) { return; }
  let kl = ${split ? 'lid.x' : '0u'};
  let rbase = ${rbase};
${rep(l.tm, (r) => `  let row_${r} = rbase + ${r}u;\n  let rc_${r} = ${fit ? `row_${r}` : `min(row_${r}, u.M - 1u)`};\n`)}  let cbase = ${cbase};
${rep(tn4, (c) => `  let col4_${c} = cbase + ${c * cstep}u;\n`)}
${rep(l.tm, (r) => rep(tn4, (c) => `  var acc_${r}_${c} = vec4<f32>(0.0);\n`))}
${k.setup}
${k.loop}
${red}
${k.store}
}
`;
  return {
    key: `${k.key}|tm${l.tm}tn${l.tn}wg${l.wgx}x${l.wgy}ks${l.ks}${fit ? 'fit' : ''}`,
    wgsl,
    workgroups: empty ? [0, 0, 0] : grid1d(total, ctx.maxWorkgroupsPerDimension),
    uniforms: u.bytes(),
  };
}

/** How invocations are spent on an M x N x Z output with reduction length K. */
interface LayoutChoice {
  /** Preferred rows/cols per invocation on large outputs. */
  readonly tm: number;
  readonly tn: number;
  /** Invocations per workgroup in the tiled layout. */
  readonly invocations: number;
  /** Split-K when fewer than this many tiled invocations would run. */
  readonly minInvocations: number;
}

/**
 * The default tuning (first measured on Mesa llvmpipe through Dawn's OpenGL ES backend, 2 cores,
 * AVX2): 8 x 16 blocks per invocation, 8 lanes along N, 32 invocations per workgroup. Split-K kicks
 * in when the tiled layout would leave fewer than 64 invocations busy and K is long.
 */
const DEFAULT_CHOICE: LayoutChoice = { tm: 8, tn: 16, invocations: 32, minInvocations: 64 };
/**
 * The plain matmul on CPU rasterisers (slowBarriers): 16 x 16 blocks, measured on llvmpipe against
 * 8 x 16 (two runs each): 1024^3 75-79 vs 98-100 ms, 512^3 8.4 vs 10.8-11.0 ms, 16 x 9216 x 128
 * 3.1 vs 3.9-4.0 ms, the ring GAN's 64 x 128 x 128 products within noise; 32 x 32 was faster at
 * 1024^3 but slower at 128-256. GPUs keep 8 x 16 below the workgroup-memory kernel's sizes.
 */
const DEFAULT_CHOICE_RASTERISER: LayoutChoice = { tm: 16, tn: 16, invocations: 16, minInvocations: 64 };

/**
 * The three implicit-GEMM convolutions: each gathered element feeds tm rows and each filter value
 * tn columns, so large blocks pay on CPU rasterisers, where an invocation is a SIMD lane and its
 * "registers" spill to cache anyway. On llvmpipe, the 28x28 DCGAN's 64 -> 128 layer, forward + both
 * gradients: 8 x 16 blocks for the gradients 166 ms, 16 x 16 136 ms, 32 x 16 115 ms, **32 x 32
 * 100-104 ms** (above the 1024^3 matmul's rate), 64 x 16 112-116 ms, 64 x 32 117 ms, 32 x 64
 * 122-132 ms; 8 to 32 invocations per workgroup within noise. GPUs keep 16 x 16 (already 256
 * accumulators per invocation; not measured on a GPU yet).
 */
const CONV_CHOICE: LayoutChoice = { tm: 16, tn: 16, invocations: 16, minInvocations: 64 };
const CONV_CHOICE_RASTERISER: LayoutChoice = { tm: 32, tn: 32, invocations: 16, minInvocations: 64 };

/** The convolutions' layout choice on this device (see CONV_CHOICE). */
export const convChoice = (ctx: ProgramContext): LayoutChoice =>
  ctx.slowBarriers === true ? CONV_CHOICE_RASTERISER : CONV_CHOICE;

/**
 * Picks a layout for an M x N x Z output with reduction length K. `kSlices` is how many
 * independent K slices the kernel's split-K loop can use (K itself for matmul, channels for conv).
 */
export function chooseLayout(
  ctx: ProgramContext,
  M: number,
  N: number,
  Z: number,
  kSlices: number,
  kWork: number,
  opts: { tmMultipleOf4?: boolean; choice?: LayoutChoice } = {},
): GemmLayout {
  const preferred = opts.choice ?? (ctx.slowBarriers === true ? DEFAULT_CHOICE_RASTERISER : DEFAULT_CHOICE);
  const ch = ctx.smallRegisterTiles === true ? { ...preferred, tm: Math.min(preferred.tm, 4), tn: 4 } : preferred;
  let tm = Math.min(ch.tm, pow2Ceil(Math.max(M, 1)));
  if (opts.tmMultipleOf4 === true && tm % 4 !== 0) tm = 4;
  const tn = Math.min(ch.tn, N <= 4 ? 4 : N <= 8 ? 8 : ch.tn);
  const tiled = ceilDiv(M, tm) * ceilDiv(N, tn) * Z;
  if (tiled < ch.minInvocations && kWork >= 256 && kSlices >= 8) {
    // Small output, long reduction: one workgroup per (smaller) block, K split across it.
    // Measured on llvmpipe (DCGAN filter gradient, 64 x 48 outputs, K = 16384): 8 x 8 blocks with
    // 16-32 slices beat 4 x 4 blocks with 64 slices by about 1.5x.
    const stm = Math.min(tm, 8);
    const stn = N <= 4 || ch.tn === 4 ? 4 : 8;
    const maxKs = Math.min(
      ctx.maxInvocationsPerWorkgroup,
      ctx.maxWorkgroupSizeX,
      Math.floor(ctx.maxWorkgroupStorageSize / (stm * (stn / 4) * 16)),
    );
    const ks = Math.max(2, Math.min(pow2Floor(maxKs), 32, pow2Floor(Math.max(2, Math.floor(kSlices / 4)))));
    return { tm: stm, tn: stn, wgx: 1, wgy: 1, ks };
  }
  const inv = Math.min(ch.invocations, ctx.maxInvocationsPerWorkgroup);
  const wgx = Math.min(8, pow2Ceil(ceilDiv(N, tn)), ctx.maxWorkgroupSizeX, inv);
  const wgy = Math.max(1, Math.min(Math.floor(inv / wgx), pow2Ceil(ceilDiv(M, tm)), ctx.maxWorkgroupSizeY));
  return { tm, tn, wgx, wgy, ks: 1 };
}
