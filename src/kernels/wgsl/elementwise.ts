/**
 * Elementwise WGSL programs: unary, binary (NumPy broadcasting), compare (bool out), where, cast.
 *
 * Variants (in the cache key; sizes, shapes and strides travel as uniforms):
 * - `same`: every operand has the output's shape: out[i] = f(a[i], b[i]); `v4` (vec4 loads and
 *   stores, one vec4 per invocation) when the element count is a multiple of 4;
 * - `scalar`: every operand has the output's shape or a single element (read as in_k[0]), `v4` too;
 * - `strided`: general broadcasting; the iteration space is coalesced (size-1 dims dropped,
 *   neighbouring dims merged when every operand's strides nest) and the index decomposition is
 *   unrolled for the coalesced rank.
 *
 * Float semantics follow the CPU backend (see math.ts): NaN propagates through maximum/minimum and
 * relu, sign(NaN) = NaN, sign(+-0) = +-0, round is half to even, compare ops treat NaN as unordered.
 * int32: add/sub/mul wrap, div truncates; a zero divisor is reported (checkNonZeroProgram, run by
 * the kernel table before the division) and the division itself gives 0 there; bool is stored as u32.
 */

import { fail, fmtShape } from '../../errors.js';
import type { BinaryOp, CompareOp, PrimitiveParams, UnaryOp } from '../../tensor/primitives.js';
import { shapesEqual, sizeOf, stridesOf } from '../../tensor/shape.js';
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
  type WgslScalar,
  wgslType,
  workgroupSize,
} from './common.js';
import { mathLib } from './math.js';
import type { Program, ProgramContext } from './program.js';

export type { TensorSpec } from './common.js';

/** Helpers declared in elementwise shaders (besides math.ts). */
const LOCAL_FNS = `
fn f_sign(x : f32) -> f32 {
  if (is_nan(x)) { return x; }
  return select(select(x, -1.0, x < 0.0), 1.0, x > 0.0);
}
fn f_relu(x : f32) -> f32 {
  if (is_nan(x)) { return x; }
  return select(0.0, x, x > 0.0);
}
fn f_max(a : f32, b : f32) -> f32 {
  if (is_nan(a) || is_nan(b)) { return nan_f(); }
  if (a == b) { return bitcast<f32>(bitcast<u32>(a) & bitcast<u32>(b)); }
  return select(b, a, a > b);
}
fn f_min(a : f32, b : f32) -> f32 {
  if (is_nan(a) || is_nan(b)) { return nan_f(); }
  if (a == b) { return bitcast<f32>(bitcast<u32>(a) | bitcast<u32>(b)); }
  return select(b, a, a < b);
}
fn i_div(a : i32, b : i32) -> i32 {
  if (b == 0) { return 0; }
  return a / b;
}
fn b32(c : bool) -> u32 { return select(0u, 1u, c); }
`;

interface OpDef {
  /** WGSL expression over the operand names. */
  readonly expr: (v: readonly string[]) => string;
  /** math.ts helpers it needs. */
  readonly libs: readonly string[];
}

const FLOAT_UNARY: { readonly [U in UnaryOp]: OpDef } = {
  neg: { expr: ([x]) => `-${x}`, libs: [] },
  exp: { expr: ([x]) => `t_exp(${x})`, libs: ['exp'] },
  log: { expr: ([x]) => `t_log(${x})`, libs: ['log'] },
  log1p: { expr: ([x]) => `t_log1p(${x})`, libs: ['log1p'] },
  expm1: { expr: ([x]) => `t_expm1(${x})`, libs: ['expm1'] },
  sqrt: { expr: ([x]) => `sqrt(${x})`, libs: [] },
  rsqrt: { expr: ([x]) => `(1.0 / sqrt(${x}))`, libs: [] },
  abs: { expr: ([x]) => `abs(${x})`, libs: [] },
  sign: { expr: ([x]) => `f_sign(${x})`, libs: ['consts'] },
  sin: { expr: ([x]) => `sin(${x})`, libs: [] },
  cos: { expr: ([x]) => `cos(${x})`, libs: [] },
  tanh: { expr: ([x]) => `t_tanh(${x})`, libs: ['tanh'] },
  sigmoid: { expr: ([x]) => `t_sigmoid(${x})`, libs: ['sigmoid'] },
  relu: { expr: ([x]) => `f_relu(${x})`, libs: ['consts'] },
  floor: { expr: ([x]) => `floor(${x})`, libs: [] },
  ceil: { expr: ([x]) => `ceil(${x})`, libs: [] },
  round: { expr: ([x]) => `round(${x})`, libs: [] },
};

const INT_UNARY: Partial<Record<UnaryOp, OpDef>> = {
  neg: { expr: ([x]) => `-${x}`, libs: [] },
  abs: { expr: ([x]) => `abs(${x})`, libs: [] },
  sign: { expr: ([x]) => `sign(${x})`, libs: [] },
};

const FLOAT_BINARY: { readonly [B in BinaryOp]: OpDef } = {
  add: { expr: ([a, b]) => `(${a} + ${b})`, libs: [] },
  sub: { expr: ([a, b]) => `(${a} - ${b})`, libs: [] },
  mul: { expr: ([a, b]) => `(${a} * ${b})`, libs: [] },
  div: { expr: ([a, b]) => `(${a} / ${b})`, libs: [] },
  pow: { expr: ([a, b]) => `t_pow(${a}, ${b})`, libs: ['pow'] },
  maximum: { expr: ([a, b]) => `f_max(${a}, ${b})`, libs: ['consts'] },
  minimum: { expr: ([a, b]) => `f_min(${a}, ${b})`, libs: ['consts'] },
  atan2: { expr: ([a, b]) => `t_atan2(${a}, ${b})`, libs: ['atan2'] },
  // (1 - y)(1 + y): 1 - y is exact for y in [0.5, 1], so no cancellation as |y| nears 1.
  tanhBackward: { expr: ([y, g]) => `(${g} * ((1.0 - ${y}) * (1.0 + ${y})))`, libs: [] },
};

const INT_BINARY: Partial<Record<BinaryOp, OpDef>> = {
  add: { expr: ([a, b]) => `(${a} + ${b})`, libs: [] },
  sub: { expr: ([a, b]) => `(${a} - ${b})`, libs: [] },
  mul: { expr: ([a, b]) => `(${a} * ${b})`, libs: [] },
  div: { expr: ([a, b]) => `i_div(${a}, ${b})`, libs: [] },
  maximum: { expr: ([a, b]) => `max(${a}, ${b})`, libs: [] },
  minimum: { expr: ([a, b]) => `min(${a}, ${b})`, libs: [] },
};

const CMP: { readonly [C in CompareOp]: string } = { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' };

function compareDef(op: CompareOp, t: WgslScalar): OpDef {
  const o = CMP[op];
  if (t !== 'f32') return { expr: ([a, b]) => `b32(${a} ${o} ${b})`, libs: [] };
  // NaN is unordered: every comparison with it is false except ne.
  if (op === 'ne') return { expr: ([a, b]) => `b32(is_nan(${a}) || is_nan(${b}) || ${a} != ${b})`, libs: ['consts'] };
  return { expr: ([a, b]) => `b32(!is_nan(${a}) && !is_nan(${b}) && ${a} ${o} ${b})`, libs: ['consts'] };
}

function castDef(from: WgslScalar, to: WgslScalar): OpDef {
  if (from === to) return { expr: ([x]) => x!, libs: [] };
  if (to === 'f32') return { expr: ([x]) => `f32(${x})`, libs: [] };
  if (to === 'i32')
    return from === 'f32' ? { expr: ([x]) => `f2i(${x})`, libs: ['f2i'] } : { expr: ([x]) => `i32(${x})`, libs: [] };
  // -> bool: != 0 (NaN and -0 by bit pattern: NaN is true, -0 false).
  if (from === 'f32') return { expr: ([x]) => `b32((bitcast<u32>(${x}) & 0x7fffffffu) != 0u)`, libs: [] };
  return { expr: ([x]) => `b32(${x} != 0)`, libs: [] };
}

/**
 * A generic elementwise program: out[i] = def.expr(operand values at the broadcast position of i).
 * `name` identifies the operation in the cache key (it must determine def and the types).
 */
function elementwiseProgram(
  ctx: ProgramContext,
  name: string,
  operands: readonly TensorSpec[],
  out: TensorSpec,
  def: OpDef,
): Program {
  const n = sizeOf(out.shape);
  checkIndexable(name, n);
  const types = operands.map((o) => wgslType(o.dtype, name));
  const outType = wgslType(out.dtype, name);
  const wg = workgroupSize(ctx);
  const lib = mathLib(['consts', ...def.libs]) + LOCAL_FNS;
  const u = new UniformStruct();
  const full = operands.map((o) => shapesEqual(o.shape, out.shape) || sizeOf(o.shape) === n);
  const scalar = operands.map((o, k) => !full[k] && sizeOf(o.shape) === 1);
  let body: string;
  let variant: string;
  let threads: number;
  let decl: string;
  if (operands.every((_, k) => full[k] || scalar[k])) {
    const v4 = n % 4 === 0 && n >= 4;
    variant = `${full.every((f) => f) ? 'same' : 'scalar'}${v4 ? '4' : '1'}:${scalar.map((s) => (s ? 's' : 'f')).join('')}`;
    threads = v4 ? n / 4 : n;
    u.u32('n', threads);
    const inTypes = types.map((t, k) => (v4 && full[k] ? `vec4<${t}>` : t));
    decl = bindings(u, inTypes, v4 ? `vec4<${outType}>` : outType);
    body = '  if (gid >= u.n) { return; }\n';
    operands.forEach((_, k) => {
      const load = scalar[k] ? `in${k}[0]` : `in${k}[gid]`;
      body += `  let v${k} = ${v4 && scalar[k] ? `vec4<${types[k]}>(${load})` : load};\n`;
    });
    if (v4) {
      const comps = ['x', 'y', 'z', 'w'].map((c) => def.expr(operands.map((_, k) => `v${k}.${c}`)));
      body += `  out[gid] = vec4<${outType}>(${comps.join(', ')});\n`;
    } else {
      body += `  out[gid] = ${def.expr(operands.map((_, k) => `v${k}`))};\n`;
    }
  } else {
    const outStrides = stridesOf(out.shape);
    const c = coalesce(out.shape, [outStrides, ...operands.map((o) => broadcastStrides(o.shape, out.shape))]);
    const rank = c.shape.length;
    const x4 = rank >= 1 && c.shape[rank - 1]! % 4 === 0;
    // Per operand along the innermost dim: b = broadcast (stride 0), v = contiguous and 4-aligned
    // (vec4 loads), s = strided (four scalar loads).
    const kinds = operands.map((_, k) => {
      const st = c.strides[k + 1]!;
      if (st[rank - 1] === 0) return 'b';
      if (st[rank - 1] === 1 && st.slice(0, -1).every((v) => v % 4 === 0)) return 'v';
      return 's';
    });
    variant = x4 ? `strided${rank}x4:${kinds.join('')}` : `strided${rank}`;
    threads = x4 ? n / 4 : n;
    u.u32('n', threads);
    c.shape.forEach((d, i) => {
      u.u32(`sh${i}`, d);
    });
    operands.forEach((_, k) => {
      c.strides[k + 1]!.forEach((st, i) => {
        u.i32(`st${k}_${i}`, st);
      });
    });
    decl = bindings(
      u,
      types.map((t, k) => (x4 && kinds[k] === 'v' ? `vec4<${t}>` : t)),
      x4 ? `vec4<${outType}>` : outType,
    );
    body = '  if (gid >= u.n) { return; }\n';
    body += unrollOffsets(
      rank,
      x4 ? 'gid * 4u' : 'gid',
      'sh',
      operands.map((_, k) => `st${k}_`),
      [],
    );
    if (x4) {
      operands.forEach((_, k) => {
        const t = types[k]!;
        const st = `u.st${k}_${rank - 1}`;
        if (kinds[k] === 'b') body += `  let v${k} = vec4<${t}>(in${k}[off${k}]);\n`;
        else if (kinds[k] === 'v') body += `  let v${k} = in${k}[off${k} / 4];\n`;
        else {
          body += `  let v${k} = vec4<${t}>(in${k}[off${k}], in${k}[off${k} + ${st}], in${k}[off${k} + 2 * ${st}], in${k}[off${k} + 3 * ${st}]);\n`;
        }
      });
      const comps = ['x', 'y', 'z', 'w'].map((cc) => def.expr(operands.map((_, k) => `v${k}.${cc}`)));
      body += `  out[gid] = vec4<${outType}>(${comps.join(', ')});\n`;
    } else {
      operands.forEach((_, k) => {
        body += `  let v${k} = in${k}[off${k}];\n`;
      });
      body += `  out[gid] = ${def.expr(operands.map((_, k) => `v${k}`))};\n`;
    }
  }
  const wgsl = `${decl}${lib}\n${main1d(wg)}${body}}\n`;
  return {
    key: `ew|${name}|${types.join(',')}>${outType}|${variant}|wg${wg}`,
    wgsl,
    workgroups: threads === 0 ? [0, 1, 1] : launch1d(ctx, threads, wg),
    uniforms: u.bytes(),
  };
}

export function unaryProgram(
  ctx: ProgramContext,
  inputs: readonly TensorSpec[],
  params: PrimitiveParams['unary'],
  out: TensorSpec,
): Program {
  const x = inputs[0]!;
  const t = wgslType(x.dtype, params.op);
  const def = t === 'f32' ? FLOAT_UNARY[params.op] : t === 'i32' ? INT_UNARY[params.op] : undefined;
  if (def === undefined) fail(params.op, `no WebGPU kernel for ${x.dtype} input of shape ${fmtShape(x.shape)}`);
  return elementwiseProgram(ctx, `unary.${params.op}`, [x], out, def);
}

export function binaryProgram(
  ctx: ProgramContext,
  inputs: readonly TensorSpec[],
  params: PrimitiveParams['binary'],
  out: TensorSpec,
): Program {
  const [a, b] = inputs as [TensorSpec, TensorSpec];
  const t = wgslType(a.dtype, params.op);
  if (a.dtype !== b.dtype) fail(params.op, `dtypes differ: ${a.dtype} and ${b.dtype}`);
  const def = t === 'f32' ? FLOAT_BINARY[params.op] : t === 'i32' ? INT_BINARY[params.op] : undefined;
  if (def === undefined) {
    fail(params.op, `no WebGPU kernel for ${a.dtype} inputs ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
  return elementwiseProgram(ctx, `binary.${params.op}`, [a, b], out, def);
}

export function compareProgram(
  ctx: ProgramContext,
  inputs: readonly TensorSpec[],
  params: PrimitiveParams['compare'],
  out: TensorSpec,
): Program {
  const [a, b] = inputs as [TensorSpec, TensorSpec];
  if (a.dtype !== b.dtype) fail(params.op, `dtypes differ: ${a.dtype} and ${b.dtype}`);
  return elementwiseProgram(ctx, `compare.${params.op}`, [a, b], out, compareDef(params.op, wgslType(a.dtype)));
}

export function whereProgram(
  ctx: ProgramContext,
  inputs: readonly TensorSpec[],
  _params: PrimitiveParams['where'],
  out: TensorSpec,
): Program {
  const [c, a, b] = inputs as [TensorSpec, TensorSpec, TensorSpec];
  if (c.dtype !== 'bool') fail('where', `condition must be bool, got ${c.dtype}`);
  return elementwiseProgram(ctx, 'where', [c, a, b], out, {
    expr: ([cv, av, bv]) => `select(${bv}, ${av}, ${cv} != 0u)`,
    libs: [],
  });
}

export function castProgram(
  ctx: ProgramContext,
  inputs: readonly TensorSpec[],
  params: PrimitiveParams['cast'],
  out: TensorSpec,
): Program {
  const x = inputs[0]!;
  const from = wgslType(x.dtype, 'cast');
  const to = wgslType(params.dtype, 'cast');
  return elementwiseProgram(ctx, 'cast', [x], out, castDef(from, to));
}
