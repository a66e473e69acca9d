// WGSL programs of the fused training-mode batch normalisation (per-channel reductions in two
// steps, normalise, input gradient) and of LeakyReLU and its gradient.

/*
 * x [N, C, ...] is seen as N x C x S. A channel's m = N S elements are summed in chunks of CHUNK
 * (one invocation each, into a partials buffer of 2 C P floats, P = ceil(m / CHUNK)), then one
 * invocation per channel adds its P partials: no workgroup barriers (slow on llvmpipe), and no
 * invocation loops more than MAX_LOOP_ITERATIONS times (llvmpipe silently stops loops beyond its
 * limit, see common.ts). Sums are float32 here, so results match the CPU's float64 sums to a few
 * ulp, not bitwise.
 */

import { fail } from '../../errors.js';
import { checkIndexable, launch1d, MAX_LOOP_ITERATIONS, main1d, UniformStruct, workgroupSize } from './common.js';
import type { Program, ProgramContext } from './program.js';

/** Elements one invocation of a partial-sum step adds. */
const CHUNK = 1024;

/** N x C x S view of a batch-norm input shape. */
export interface ChannelGeometry {
  readonly n: number;
  readonly c: number;
  readonly s: number;
}

export function channelGeometry(shape: readonly number[]): ChannelGeometry {
  let s = 1;
  for (let d = 2; d < shape.length; d++) s *= shape[d]!;
  return { n: shape[0]!, c: shape[1]!, s };
}

/** Partial sums per (channel, chunk); `parts` = P. */
export function partialCount(g: ChannelGeometry): number {
  const m = g.n * g.s;
  const p = Math.max(1, Math.ceil(m / CHUNK));
  if (p > MAX_LOOP_ITERATIONS) fail('batchNorm', `${m} values per channel exceed what the WebGPU kernel sums`);
  return p;
}

function header(u: UniformStruct, inputs: readonly string[], out = 'out', element = 'f32'): string {
  let s = `${u.struct()}@group(0) @binding(0) var<uniform> u : U;\n`;
  inputs.forEach((name, i) => {
    s += `@group(0) @binding(${i + 1}) var<storage, read> ${name} : array<${element}>;\n`;
  });
  return `${s}@group(0) @binding(${inputs.length + 1}) var<storage, read_write> ${out} : array<${element}>;\n`;
}

function geometryUniforms(g: ChannelGeometry, eps: number): UniformStruct {
  return new UniformStruct()
    .u32('n', g.n)
    .u32('c', g.c)
    .u32('s', g.s)
    .u32('m', g.n * g.s)
    .u32('parts', partialCount(g))
    .f32('inv', 1 / (g.n * g.s))
    .f32('eps', eps);
}

/**
 * What a partial-sum step adds per element (v = x, g = the cotangent, mu and r the channel's mean
 * and rstd): 'sum' x; 'sq' (x - mu)^2; 'grad' (g, g (x - mu)); 'param' (g xhat, g).
 */
export type PartialKind = 'sum' | 'sq' | 'grad' | 'param';

const PARTIAL_INPUTS: Record<PartialKind, string[]> = {
  sum: ['x'],
  sq: ['x', 'st'],
  grad: ['x', 'st', 'gy'],
  param: ['x', 'st', 'gy'],
};

const PARTIAL_TERMS: Record<PartialKind, [string, string]> = {
  sum: ['v', '0.0'],
  sq: ['(v - mu) * (v - mu)', '0.0'],
  grad: ['gv', 'gv * (v - mu)'],
  param: ['gv * ((v - mu) * r)', 'gv'],
};

/** Step 1 of a channel reduction: out[2 (ch P + p) + {0, 1}] = the two sums of chunk p of channel ch. */
export function channelPartialProgram(
  ctx: ProgramContext,
  kind: PartialKind,
  g: ChannelGeometry,
  eps: number,
): Program {
  checkIndexable('batchNorm', g.n * g.c * g.s);
  const wg = workgroupSize(ctx, 64);
  const u = geometryUniforms(g, eps);
  const parts = partialCount(g);
  const [t0, t1] = PARTIAL_TERMS[kind];
  const stats = kind === 'sum' ? '' : '  let mu = st[ch];\n  let r = inverseSqrt(st[u.c + ch] + u.eps);\n';
  const load = kind === 'grad' || kind === 'param' ? '    let gv = gy[idx];\n' : '';
  const body =
    '  if (gid >= u.c * u.parts) { return; }\n' +
    '  let ch = gid / u.parts;\n  let p = gid % u.parts;\n' +
    stats +
    `  let j0 = p * ${CHUNK}u;\n  let j1 = min(u.m, j0 + ${CHUNK}u);\n` +
    '  var a = 0.0;\n  var b = 0.0;\n' +
    '  for (var j = j0; j < j1; j = j + 1u) {\n' +
    '    let idx = ((j / u.s) * u.c + ch) * u.s + j % u.s;\n    let v = x[idx];\n' +
    load +
    `    a = a + ${t0};\n    b = b + ${t1};\n  }\n` +
    '  out[2u * gid] = a;\n  out[2u * gid + 1u] = b;\n';
  return {
    key: `bn-partial|${kind}|wg${wg}`,
    wgsl: `${header(u, PARTIAL_INPUTS[kind])}\n${main1d(wg)}${body}}\n`,
    workgroups: launch1d(ctx, g.c * parts, wg),
    uniforms: u.bytes(),
  };
}

/**
 * Step 2: adds each channel's P partials. 'mean' writes out[ch] = sum0 / m; 'var' writes
 * out[C + ch] = sum0 / m (out is the [2, C] stats, row 0 already holding the mean); 'both' writes
 * out[ch] = sum0 and out[C + ch] = sum1 (the raw pair).
 */
export function channelFinishProgram(ctx: ProgramContext, mode: 'mean' | 'var' | 'both', g: ChannelGeometry): Program {
  const wg = workgroupSize(ctx, 64);
  const u = geometryUniforms(g, 0);
  const write =
    mode === 'mean'
      ? '  out[ch] = a * u.inv;\n'
      : mode === 'var'
        ? '  out[u.c + ch] = a * u.inv;\n'
        : '  out[ch] = a;\n  out[u.c + ch] = b;\n';
  const body =
    '  if (gid >= u.c) { return; }\n  let ch = gid;\n  var a = 0.0;\n  var b = 0.0;\n' +
    '  for (var p = 0u; p < u.parts; p = p + 1u) {\n' +
    '    a = a + part[2u * (ch * u.parts + p)];\n    b = b + part[2u * (ch * u.parts + p) + 1u];\n  }\n' +
    write;
  return {
    key: `bn-finish|${mode}|wg${wg}`,
    wgsl: `${header(u, ['part'])}\n${main1d(wg)}${body}}\n`,
    workgroups: launch1d(ctx, g.c, wg),
    uniforms: u.bytes(),
  };
}

/** y = (x - mean) rstd (* w + b): one invocation per element; inputs x, stats (, w, b). */
export function batchNormProgram(ctx: ProgramContext, g: ChannelGeometry, eps: number, affine: boolean): Program {
  const total = g.n * g.c * g.s;
  checkIndexable('batchNorm', total);
  const wg = workgroupSize(ctx);
  const u = geometryUniforms(g, eps).u32('total', total);
  const y = affine ? '((v - mu) * r) * w[ch] + b[ch]' : '(v - mu) * r';
  const body =
    '  if (gid >= u.total) { return; }\n  let ch = (gid / u.s) % u.c;\n' +
    '  let mu = st[ch];\n  let r = inverseSqrt(st[u.c + ch] + u.eps);\n  let v = x[gid];\n' +
    `  out[gid] = ${y};\n`;
  return {
    key: `bn-norm|${affine ? 'affine' : 'plain'}|wg${wg}`,
    wgsl: `${header(u, affine ? ['x', 'st', 'w', 'b'] : ['x', 'st'])}\n${main1d(wg)}${body}}\n`,
    workgroups: launch1d(ctx, total, wg),
    uniforms: u.bytes(),
  };
}

/**
 * dx = w rstd (g - sum(g) / m - (x - mu) rstd^2 sum(g (x - mu)) / m), inputs x, stats, g, sums
 * (the raw 'grad' pair from channelFinishProgram) (, w).
 */
export function batchNormBackwardProgram(
  ctx: ProgramContext,
  g: ChannelGeometry,
  eps: number,
  affine: boolean,
): Program {
  const total = g.n * g.c * g.s;
  checkIndexable('batchNorm', total);
  const wg = workgroupSize(ctx);
  const u = geometryUniforms(g, eps).u32('total', total);
  const body =
    '  if (gid >= u.total) { return; }\n  let ch = (gid / u.s) % u.c;\n' +
    '  let mu = st[ch];\n  let r = inverseSqrt(st[u.c + ch] + u.eps);\n' +
    `  let scale = r${affine ? ' * w[ch]' : ''};\n` +
    '  let mg = sums[ch] * u.inv;\n  let mgx = (sums[u.c + ch] * u.inv) * (r * r);\n' +
    '  out[gid] = scale * (gy[gid] - mg - (x[gid] - mu) * mgx);\n';
  return {
    key: `bn-backward|${affine ? 'affine' : 'plain'}|wg${wg}`,
    wgsl: `${header(u, affine ? ['x', 'st', 'gy', 'sums', 'w'] : ['x', 'st', 'gy', 'sums'])}\n${main1d(wg)}${body}}\n`,
    workgroups: launch1d(ctx, total, wg),
    uniforms: u.bytes(),
  };
}

/**
 * LeakyReLU (inputs x) or its gradient (inputs x, g): a `select`, no branch. With slope 0 the
 * gradient's other side is the literal 0 (ReLU's where(x > 0, g, 0)), not g * 0. Four elements per
 * invocation as vec4 when n is a multiple of 4 (like the elementwise kernels: the scalar kernel
 * took twice ReLU's time on llvmpipe, 2.7 ms against 1.4 ms at 64 x 64 x 14 x 14).
 */
export function leakyReluProgram(ctx: ProgramContext, n: number, slope: number, backward: boolean): Program {
  checkIndexable(backward ? 'leakyReluBackward' : 'leakyRelu', n);
  const wg = workgroupSize(ctx);
  const v4 = n % 4 === 0;
  const count = v4 ? n / 4 : n;
  const u = new UniformStruct().u32('n', count).f32('slope', slope);
  const zero = backward && slope === 0;
  const t = v4 ? 'vec4<f32>' : 'f32';
  const v = backward ? 'gy[gid]' : 'x[gid]';
  const body =
    '  if (gid >= u.n) { return; }\n' +
    `  let v = ${v};\n  out[gid] = select(${zero ? `${t}(0.0)` : 'v * u.slope'}, v, x[gid] > ${t}(0.0));\n`;
  return {
    key: `leaky|${backward ? 'bwd' : 'fwd'}|${zero ? 'zero' : 'slope'}|${v4 ? 'v4' : 's'}|wg${wg}`,
    wgsl: `${header(u, backward ? ['x', 'gy'] : ['x'], 'out', t)}\n${main1d(wg)}${body}}\n`,
    workgroups: launch1d(ctx, count, wg),
    uniforms: u.bytes(),
  };
}
