/**
 * Philox-4x32-10 uniforms, bit for bit the layout of src/random/philox.ts `uniformBits`: element i
 * is word i % 4 of philox(counter = (floor(i / 4) + offset, 0, stream0, stream1), key), mapped to
 * [0, 1) as (w >> 8) * 2^-24. mulhi uses 16-bit halves exactly like `mulhi32`, so the CPU and
 * WebGPU backends draw identical numbers.
 */

import { fail } from '../../errors.js';
import { BM, COS_COEFFS, LOG_COEFFS, NEWTON_STEPS, SIN_COEFFS } from '../../random/box-muller.js';
import type { PrimitiveParams } from '../../tensor/primitives.js';
import { sizeOf } from '../../tensor/shape.js';
import { bindings, checkIndexable, launch1d, main1d, type TensorSpec, UniformStruct, workgroupSize } from './common.js';
import type { Program, ProgramContext } from './program.js';

const PHILOX = `
fn mulhi(a : u32, b : u32) -> u32 {
  let aLo = a & 0xffffu;
  let aHi = a >> 16u;
  let bLo = b & 0xffffu;
  let bHi = b >> 16u;
  let loLo = aLo * bLo;
  let loHi = aLo * bHi;
  let hiLo = aHi * bLo;
  let cross = (loLo >> 16u) + (loHi & 0xffffu) + (hiLo & 0xffffu);
  return aHi * bHi + (loHi >> 16u) + (hiLo >> 16u) + (cross >> 16u);
}
fn philox(c : vec4<u32>, k : vec2<u32>) -> vec4<u32> {
  var c0 = c.x;
  var c1 = c.y;
  var c2 = c.z;
  var c3 = c.w;
  var k0 = k.x;
  var k1 = k.y;
  for (var r = 0; r < 10; r = r + 1) {
    let hi0 = mulhi(0xd2511f53u, c0);
    let lo0 = 0xd2511f53u * c0;
    let hi1 = mulhi(0xcd9e8d57u, c2);
    let lo1 = 0xcd9e8d57u * c2;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 = k0 + 0x9e3779b9u;
    k1 = k1 + 0xbb67ae85u;
  }
  return vec4<u32>(c0, c1, c2, c3);
}
fn to_uniform(w : u32) -> f32 { return f32(w >> 8u) * 5.9604644775390625e-8; }
`;

/** A float32 constant by its exact bit pattern (no decimal-literal rounding question). */
function f32Const(x: number): string {
  const b = new Uint32Array(Float32Array.of(x).buffer)[0]!;
  return `bitcast<f32>(0x${b.toString(16)}u)`;
}

/** Horner steps `p = fm(p, x) + c` over `coeffs` (highest degree first), as WGSL statements. */
function hornerWgsl(coeffs: readonly number[], x: string): string {
  return [
    `  var p = ${f32Const(coeffs[0]!)};`,
    ...coeffs.slice(1).map((c) => `  p = fm(p, ${x}) + ${f32Const(c)};`),
    '  return p;',
  ].join('\n');
}

/**
 * The Box-Muller transform of src/random/box-muller.ts step for step. `fm` is a product that the
 * compiler cannot fuse into a following add (an fma rounds once, not twice): the bits pass
 * through an xor with `u.zero`, a uniform the compiler cannot know is 0.
 */
const BOX_MULLER = `
fn fm(a : f32, b : f32) -> f32 { return bitcast<f32>(bitcast<u32>(a * b) ^ u.zero); }
fn log_poly(t : f32) -> f32 {
${hornerWgsl(LOG_COEFFS, 't')}
}
fn cos_poly(a2 : f32) -> f32 {
${hornerWgsl(COS_COEFFS, 'a2')}
}
fn sin_poly(a2 : f32) -> f32 {
${hornerWgsl(SIN_COEFFS, 'a2')}
}
fn log_f32(v : f32) -> f32 {
  let b = bitcast<u32>(v);
  var e = i32((b >> 23u) & 0xffu) - 127;
  var m = bitcast<f32>((b & 0x7fffffu) | 0x3f800000u);
  if (m > ${f32Const(BM.sqrt2)}) {
    m = fm(m, 0.5);
    e = e + 1;
  }
  let t = m - 1.0;
  return fm(f32(e), ${f32Const(BM.ln2)}) + fm(log_poly(t), t);
}
fn sqrt_f32(x : f32) -> f32 {
  if (x == 0.0) { return 0.0; }
  var y = bitcast<f32>(${BM.rsqrtMagic}u - (bitcast<u32>(x) >> 1u));
  let h = fm(x, 0.5);
  for (var i = 0; i < ${NEWTON_STEPS}; i = i + 1) { y = fm(y, 1.5 - fm(fm(h, y), y)); }
  return fm(x, y);
}
fn cos_2pi_f32(uu : f32) -> f32 {
  let g = fm(uu, 4.0);
  let q = u32(floor(g));
  let fr = g - f32(q);
  let flip = fr > 0.5;
  let h = select(fr, 1.0 - fr, flip);
  let a = fm(h, ${f32Const(BM.halfPi)});
  let a2 = fm(a, a);
  let want_cos = ((q & 1u) == 0u) != flip;
  let v = select(fm(a, sin_poly(a2)), cos_poly(a2), want_cos);
  return select(v, -v, q == 1u || q == 2u);
}
fn box_muller(w1 : u32, w2 : u32) -> f32 {
  let v = 1.0 - to_uniform(w1);
  let r = sqrt_f32(fm(log_f32(v), -2.0));
  return fm(r, cos_2pi_f32(to_uniform(w2)));
}
`;

/** Box-Muller normals from two Philox streams (params.angleStream set): element i from word i of each. */
function randomNormalProgram(
  ctx: ProgramContext,
  params: PrimitiveParams['randomUniform'],
  angle: [number, number],
  out: TensorSpec,
): Program {
  const n = sizeOf(out.shape);
  checkIndexable('normal', n);
  const blocks = Math.ceil(n / 4);
  const wg = workgroupSize(ctx, 128);
  const u = new UniformStruct()
    .u32('n', n)
    .u32('blocks', blocks)
    .u32('offset', params.offset >>> 0)
    .u32('k0', params.key[0] >>> 0)
    .u32('k1', params.key[1] >>> 0)
    .u32('s0', params.stream[0] >>> 0)
    .u32('s1', params.stream[1] >>> 0)
    .u32('a0', angle[0] >>> 0)
    .u32('a1', angle[1] >>> 0)
    .u32('zero', 0);
  const body =
    '  if (gid >= u.blocks) { return; }\n' +
    '  let k = vec2<u32>(u.k0, u.k1);\n' +
    '  let w = philox(vec4<u32>(gid + u.offset, 0u, u.s0, u.s1), k);\n' +
    '  let a = philox(vec4<u32>(gid + u.offset, 0u, u.a0, u.a1), k);\n' +
    '  let i = gid * 4u;\n' +
    '  for (var j = 0u; j < 4u && i + j < u.n; j = j + 1u) { out[i + j] = box_muller(w[j], a[j]); }\n';
  return {
    key: `randomNormal|wg${wg}`,
    wgsl: `${bindings(u, [], 'f32')}${PHILOX}${BOX_MULLER}\n${main1d(wg)}${body}}\n`,
    workgroups: launch1d(ctx, blocks, wg),
    uniforms: u.bytes(),
  };
}

export function randomUniformProgram(
  ctx: ProgramContext,
  _inputs: readonly TensorSpec[],
  params: PrimitiveParams['randomUniform'],
  out: TensorSpec,
): Program {
  if (out.dtype !== 'float32') fail('randomUniform', `the WebGPU backend draws float32, not ${out.dtype}`);
  if (params.angleStream !== undefined) return randomNormalProgram(ctx, params, params.angleStream, out);
  const n = sizeOf(out.shape);
  checkIndexable('randomUniform', n);
  const blocks = Math.ceil(n / 4);
  const wg = workgroupSize(ctx, 128);
  const u = new UniformStruct()
    .u32('n', n)
    .u32('blocks', blocks)
    .u32('offset', params.offset >>> 0)
    .u32('k0', params.key[0] >>> 0)
    .u32('k1', params.key[1] >>> 0)
    .u32('s0', params.stream[0] >>> 0)
    .u32('s1', params.stream[1] >>> 0);
  const body =
    '  if (gid >= u.blocks) { return; }\n' +
    '  let w = philox(vec4<u32>(gid + u.offset, 0u, u.s0, u.s1), vec2<u32>(u.k0, u.k1));\n' +
    '  let i = gid * 4u;\n' +
    '  if (i + 3u < u.n) {\n' +
    '    out[i] = to_uniform(w.x);\n' +
    '    out[i + 1u] = to_uniform(w.y);\n' +
    '    out[i + 2u] = to_uniform(w.z);\n' +
    '    out[i + 3u] = to_uniform(w.w);\n' +
    '    return;\n' +
    '  }\n' +
    '  for (var j = 0u; i + j < u.n; j = j + 1u) { out[i + j] = to_uniform(w[j]); }\n';
  return {
    key: `randomUniform|wg${wg}`,
    wgsl: `${bindings(u, [], 'f32')}${PHILOX}\n${main1d(wg)}${body}}\n`,
    workgroups: launch1d(ctx, blocks, wg),
    uniforms: u.bytes(),
  };
}
