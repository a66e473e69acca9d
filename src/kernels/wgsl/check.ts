/**
 * Device-side checks that write the runtime's error word. checkNumerics: flags a float32 buffer that holds a NaN or an Inf (exponent bits all ones) by
 * writing its error code into the runtime's error word. Binds the input at 1 and the error word
 * at 2 (no output tensor).
 */

import { launch1d, main1d, UniformStruct, workgroupSize } from './common.js';
import type { Program, ProgramContext } from './program.js';

/**
 * Integer division by zero: flags an int32 divisor that holds a 0, writing its error code and
 * (first reporter only) the flat index of a zero into the error word's detail slot err[1].
 */
export function checkNonZeroProgram(ctx: ProgramContext, n: number, code: number): Program {
  const wg = workgroupSize(ctx);
  const u = new UniformStruct().u32('n', n).u32('code', code);
  const wgsl =
    `${u.struct()}@group(0) @binding(0) var<uniform> u : U;\n` +
    '@group(0) @binding(1) var<storage, read> in0 : array<i32>;\n' +
    '@group(0) @binding(2) var<storage, read_write> err : array<atomic<u32>>;\n' +
    main1d(wg) +
    '  if (gid >= u.n) { return; }\n' +
    '  if (in0[gid] == 0) {\n' +
    '    let prev = atomicMin(&err[0], u.code);\n' +
    '    if (prev > u.code) { atomicStore(&err[1], gid); }\n' +
    '  }\n' +
    '}\n';
  return { key: `checkNonZero|wg${wg}`, wgsl, workgroups: launch1d(ctx, n, wg), uniforms: u.bytes(), errorFlag: true };
}

export function checkFiniteProgram(ctx: ProgramContext, n: number, code: number): Program {
  const wg = workgroupSize(ctx);
  const u = new UniformStruct().u32('n', n).u32('code', code);
  const wgsl =
    `${u.struct()}@group(0) @binding(0) var<uniform> u : U;\n` +
    '@group(0) @binding(1) var<storage, read> in0 : array<u32>;\n' +
    '@group(0) @binding(2) var<storage, read_write> err : array<atomic<u32>>;\n' +
    main1d(wg) +
    '  if (gid >= u.n) { return; }\n' +
    '  if ((in0[gid] & 0x7f800000u) == 0x7f800000u) { atomicMin(&err[0], u.code); }\n' +
    '}\n';
  return { key: `checkFinite|wg${wg}`, wgsl, workgroups: launch1d(ctx, n, wg), uniforms: u.bytes(), errorFlag: true };
}
