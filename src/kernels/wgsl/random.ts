/**
 * Philox-4x32-10 uniforms, bit for bit the layout of src/random/philox.ts `uniformBits`: element i
 * is word i % 4 of philox(counter = (floor(i / 4) + offset, 0, stream0, stream1), key), mapped to
 * [0, 1) as (w >> 8) * 2^-24. mulhi uses 16-bit halves exactly like `mulhi32`, so the CPU and
 * WebGPU backends draw identical numbers.
 */

import { fail } from '../../errors.js';
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

export function randomUniformProgram(
  ctx: ProgramContext,
  _inputs: readonly TensorSpec[],
  params: PrimitiveParams['randomUniform'],
  out: TensorSpec,
): Program {
  if (out.dtype !== 'float32') fail('randomUniform', `the WebGPU backend draws float32, not ${out.dtype}`);
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
