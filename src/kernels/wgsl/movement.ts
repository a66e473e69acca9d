/**
 * Movement programs: permute, expand, slice and flip are one strided gather
 * (out[i] = in[base + sum_d c_d(i) * stride_d], signed strides, coalesced dims); pad is the
 * inverse placement with a fill value (interior padding when a step > 1); concat joins up to
 * `maxStorageBuffersPerShaderStage - 1` inputs per dispatch (more inputs: several dispatches into
 * the same output). All of them move 32-bit words, so one pipeline serves every dtype.
 */

import type { PrimitiveParams } from '../../tensor/primitives.js';
import { sizeOf, stridesOf } from '../../tensor/shape.js';
import {
  bindings,
  broadcastStrides,
  checkIndexable,
  coalesce,
  launch1d,
  main1d,
  type TensorSpec,
  UniformStruct,
  unrollOffsets,
  workgroupSize,
} from './common.js';
import type { Program, ProgramContext } from './program.js';

/** A strided gather after coalescing: out[i] = in[base + sum_d c_d(i) * strides[d]] over `shape`. */
export interface StridedPlan {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly base: number;
  readonly size: number;
}

function stridedPlan(outShape: readonly number[], inStrides: readonly number[], base: number): StridedPlan {
  const c = coalesce(outShape, [stridesOf(outShape), inStrides]);
  return { shape: c.shape, strides: c.strides[1]!, base, size: sizeOf(outShape) };
}

/** True when the plan is a contiguous block copy (in[base .. base + size)). */
export function isContiguous(p: StridedPlan): boolean {
  return p.shape.length === 0 || (p.shape.length === 1 && p.strides[0] === 1);
}

export function stridedCopyProgram(ctx: ProgramContext, name: string, p: StridedPlan): Program {
  checkIndexable(name, p.size);
  const wg = workgroupSize(ctx);
  const rank = p.shape.length;
  // Four elements per invocation (one vec4 store) when the innermost dim allows it; the input
  // side is then a broadcast (b), contiguous 4-aligned (v, one vec4 load) or strided (s) read.
  const x4 = rank >= 1 && p.shape[rank - 1]! % 4 === 0;
  const inner = p.strides[rank - 1];
  const kind = !x4
    ? ''
    : inner === 0
      ? 'b'
      : inner === 1 && p.base % 4 === 0 && p.strides.slice(0, -1).every((v) => v % 4 === 0)
        ? 'v'
        : 's';
  const u = new UniformStruct().u32('n', x4 ? p.size / 4 : p.size).i32('base', p.base);
  p.shape.forEach((d, i) => {
    u.u32(`sh${i}`, d);
  });
  p.strides.forEach((s, i) => {
    u.i32(`st${i}`, s);
  });
  let body = '  if (gid >= u.n) { return; }\n' + unrollOffsets(rank, x4 ? 'gid * 4u' : 'gid', 'sh', ['st'], ['u.base']);
  if (!x4) body += '  out[gid] = in0[off0];\n';
  else if (kind === 'b') body += '  out[gid] = vec4<u32>(in0[off0]);\n';
  else if (kind === 'v') body += '  out[gid] = in0[off0 / 4];\n';
  else {
    const st = `u.st${rank - 1}`;
    body += `  out[gid] = vec4<u32>(in0[off0], in0[off0 + ${st}], in0[off0 + 2 * ${st}], in0[off0 + 3 * ${st}]);\n`;
  }
  return {
    key: `copy|r${rank}${x4 ? `x4${kind}` : ''}|wg${wg}`,
    wgsl: `${bindings(u, [kind === 'v' ? 'vec4<u32>' : 'u32'], x4 ? 'vec4<u32>' : 'u32')}\n${main1d(wg)}${body}}\n`,
    workgroups: launch1d(ctx, x4 ? p.size / 4 : p.size, wg),
    uniforms: u.bytes(),
  };
}

export function permutePlan(x: TensorSpec, params: PrimitiveParams['permute'], out: TensorSpec): StridedPlan {
  const s = stridesOf(x.shape);
  return stridedPlan(
    out.shape,
    params.perm.map((p) => s[p]!),
    0,
  );
}

export function expandPlan(x: TensorSpec, _params: PrimitiveParams['expand'], out: TensorSpec): StridedPlan {
  return stridedPlan(out.shape, broadcastStrides(x.shape, out.shape), 0);
}

export function slicePlan(x: TensorSpec, params: PrimitiveParams['slice'], out: TensorSpec): StridedPlan {
  const s = stridesOf(x.shape);
  const base = params.starts.reduce((acc, st, d) => acc + st * s[d]!, 0);
  return stridedPlan(
    out.shape,
    params.steps.map((st, d) => st * s[d]!),
    sizeOf(out.shape) === 0 ? 0 : base,
  );
}

export function flipPlan(x: TensorSpec, params: PrimitiveParams['flip'], out: TensorSpec): StridedPlan {
  const s = stridesOf(x.shape);
  let base = 0;
  const strides = s.map((st, d) => {
    if (!params.axes.includes(d)) return st;
    base += (x.shape[d]! - 1) * st;
    return -st;
  });
  return stridedPlan(out.shape, strides, sizeOf(out.shape) === 0 ? 0 : base);
}

/** The fill value's 32-bit pattern as the CPU backend would store it for `dtype`. */
function fillBits(value: number, dtype: TensorSpec['dtype']): number {
  if (dtype === 'float32') return new Uint32Array(new Float32Array([value]).buffer)[0]!;
  if (dtype === 'int32') return new Int32Array([value])[0]! >>> 0;
  return new Uint8Array([value])[0]!;
}

export function padProgram(
  ctx: ProgramContext,
  inputs: readonly TensorSpec[],
  params: PrimitiveParams['pad'],
  out: TensorSpec,
): Program {
  const x = inputs[0]!;
  const n = sizeOf(out.shape);
  checkIndexable('pad', n);
  const wg = workgroupSize(ctx);
  const rank = out.shape.length;
  const stepped = params.steps.some((s) => s !== 1);
  const xs = stridesOf(x.shape);
  const u = new UniformStruct().u32('n', n).u32('fill', fillBits(params.value, out.dtype));
  for (let d = 0; d < rank; d++) {
    u.u32(`sh${d}`, out.shape[d]!)
      .i32(`b${d}`, params.before[d]!)
      .i32(`stp${d}`, params.steps[d]!)
      .i32(`xn${d}`, x.shape[d]!)
      .i32(`xst${d}`, xs[d]!);
  }
  let body = '  if (gid >= u.n) { return; }\n  var off : i32 = 0;\n  var inside = true;\n  var rem = gid;\n';
  for (let d = rank - 1; d >= 0; d--) {
    body += `  {\n    let c = i32(rem % u.sh${d});\n    rem = rem / u.sh${d};\n    let q = c - u.b${d};\n`;
    if (stepped) {
      body += `    if (q < 0 || q % u.stp${d} != 0 || q / u.stp${d} >= u.xn${d}) { inside = false; }\n`;
      body += `    else { off = off + (q / u.stp${d}) * u.xst${d}; }\n  }\n`;
    } else {
      body += `    if (q < 0 || q >= u.xn${d}) { inside = false; } else { off = off + q * u.xst${d}; }\n  }\n`;
    }
  }
  body += '  if (inside) { out[gid] = in0[off]; } else { out[gid] = u.fill; }\n';
  return {
    key: `pad|r${rank}|${stepped ? 'stepped' : 'plain'}|wg${wg}`,
    wgsl: `${bindings(u, ['u32'], 'u32')}\n${main1d(wg)}${body}}\n`,
    workgroups: launch1d(ctx, n, wg),
    uniforms: u.bytes(),
  };
}

/** One concat dispatch: which inputs it reads and the program. */
interface ConcatPart {
  readonly inputs: readonly number[];
  readonly program: Program;
}

/**
 * The dispatches of a concat: inputs with no elements are skipped; the rest are grouped (at most
 * `maxInputs` per dispatch) and each group writes its own column range of every output row.
 */
export function concatPrograms(
  ctx: ProgramContext,
  inputs: readonly TensorSpec[],
  params: PrimitiveParams['concat'],
  out: TensorSpec,
  maxInputs: number,
): ConcatPart[] {
  const axis = params.axis;
  const outer = sizeOf(out.shape.slice(0, axis));
  const rowOut = sizeOf(out.shape.slice(axis));
  checkIndexable('concat', outer * rowOut);
  const wg = workgroupSize(ctx);
  const parts: ConcatPart[] = [];
  let col = 0;
  let group: { index: number; col: number; row: number }[] = [];
  const emit = (): void => {
    if (group.length === 0) return;
    const start = group[0]!.col;
    const last = group[group.length - 1]!;
    const width = last.col + last.row - start;
    const u = new UniformStruct()
      .u32('n', outer * width)
      .u32('w', width)
      .u32('rowOut', rowOut)
      .u32('colStart', start);
    group.forEach((g, k) => {
      u.u32(`col${k}`, g.col - start).u32(`row${k}`, g.row);
    });
    let body = '  if (gid >= u.n) { return; }\n  let o = gid / u.w;\n  let c = gid % u.w;\n  var v = 0u;\n';
    for (let k = group.length - 1; k >= 0; k--) {
      const load = `in${k}[o * u.row${k} + c - u.col${k}]`;
      if (k === group.length - 1 && k > 0) body += `  if (c >= u.col${k}) { v = ${load}; }\n`;
      else if (k > 0) body += `  else if (c >= u.col${k}) { v = ${load}; }\n`;
      else body += group.length === 1 ? `  v = ${load};\n` : `  else { v = ${load}; }\n`;
    }
    body += '  out[o * u.rowOut + u.colStart + c] = v;\n';
    parts.push({
      inputs: group.map((g) => g.index),
      program: {
        key: `concat|k${group.length}|wg${wg}`,
        wgsl: `${bindings(
          u,
          group.map(() => 'u32'),
          'u32',
        )}\n${main1d(wg)}${body}}\n`,
        workgroups: launch1d(ctx, outer * width, wg),
        uniforms: u.bytes(),
      },
    });
    group = [];
  };
  inputs.forEach((t, index) => {
    const row = sizeOf(t.shape.slice(axis));
    if (row > 0 && outer > 0) {
      group.push({ index, col, row });
      if (group.length >= maxInputs) emit();
    }
    col += row;
  });
  emit();
  return parts;
}
