/**
 * Reductions: sum / max / min over any set of axes (kept as size 1) and argmax / argmin along one
 * axis (first index wins; the first NaN wins, as on the CPU backend).
 *
 * The input is split into kept dims (the output index) and reduced dims, each coalesced. Three
 * variants, chosen by shape and device (`chooseReduceVariant`); every one keeps each invocation
 * under MAX_LOOP_ITERATIONS loop iterations (llvmpipe silently truncates longer loops):
 * - `serial`: one invocation per output walks the reduced dims with nested loops (no division in
 *   the loop, no barriers). Used when there are enough outputs to fill the device or the reduced
 *   length is short.
 * - `tree`: one workgroup per output; each invocation accumulates a strided share of the reduced
 *   elements, then a shared-memory tree (log2(wg) barriers) combines them. Used for few, long
 *   reductions on GPUs with fast barriers.
 * - `split` (two dispatches, see `reduceSteps`): nOut x G invocations reduce contiguous chunks of
 *   the reduced index into partials, then a second pass reduces the G partials. Used for long
 *   reductions (any reduced length above the loop budget, or few outputs with long rows).
 * max/min propagate NaN with explicit bit tests (WGSL may assume NaN never occurs).
 * Sums accumulate in f32 (the CPU backend uses float64): expect relative differences growing
 * with the reduced length (about sqrt(n) ulp for the tree).
 */

import { fail } from '../../errors.js';
import type { PrimitiveParams, ReduceOp } from '../../tensor/primitives.js';
import { sizeOf, stridesOf } from '../../tensor/shape.js';
import {
  bindings,
  checkIndexable,
  coalesce,
  MAX_LOOP_ITERATIONS,
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
import { grid1d } from './program.js';

export type ReduceVariant = 'serial' | 'tree' | 'split';

/**
 * - short reductions: serial;
 * - one long reduced dim and few outputs: split (two barrier-free passes: nOut x G partial sums
 *   over contiguous chunks, then a reduction over G);
 * - CPU rasterisers (slow barriers): serial;
 * - otherwise: serial when the outputs alone fill the device, else the workgroup tree.
 */
function chooseReduceVariant(ctx: ProgramContext, plan: ReducePlan): ReduceVariant {
  const { nOut, nRed } = plan;
  if (nRed <= 64) return 'serial';
  if (nRed > MAX_LOOP_ITERATIONS / 2) return 'split';
  if (nRed >= 4096 && nOut < 256) return 'split';
  if (ctx.slowBarriers === true) return 'serial';
  if (nOut >= 2048) return 'serial';
  return 'tree';
}

/** Partial results per output of the split variant (chunks stay within the loop budget). */
function splitCount(nOut: number, nRed: number): number {
  const wanted = Math.max(1, Math.min(1024, Math.ceil(nRed / 256), Math.ceil(4096 / Math.max(nOut, 1))));
  return Math.max(wanted, Math.ceil(nRed / (MAX_LOOP_ITERATIONS / 2)));
}

function init(op: ReduceOp, t: WgslScalar): string {
  if (op === 'sum') return t === 'f32' ? '0.0' : '0';
  if (t === 'f32') return op === 'max' ? '-inf_f()' : 'inf_f()';
  return op === 'max' ? 'i32(-2147483647 - 1)' : '2147483647';
}

const COMBINE_FNS = `
fn r_max(a : f32, b : f32) -> f32 {
  if (is_nan(a) || is_nan(b)) { return nan_f(); }
  return select(a, b, b > a);
}
fn r_min(a : f32, b : f32) -> f32 {
  if (is_nan(a) || is_nan(b)) { return nan_f(); }
  return select(a, b, b < a);
}
`;

function combine(op: ReduceOp, t: WgslScalar, a: string, b: string): string {
  if (op === 'sum') return `(${a} + ${b})`;
  if (t === 'f32') return `r_${op}(${a}, ${b})`;
  return `${op}(${a}, ${b})`;
}

interface ReducePlan {
  readonly nOut: number;
  readonly nRed: number;
  readonly kept: { shape: number[]; strides: number[] };
  readonly red: { shape: number[]; strides: number[] };
}

function reducePlan(shape: readonly number[], axes: readonly number[]): ReducePlan {
  const s = stridesOf(shape);
  const keptIdx = shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const redIdx = shape.map((_, d) => d).filter((d) => axes.includes(d));
  const k = coalesce(
    keptIdx.map((d) => shape[d]!),
    [keptIdx.map((d) => s[d]!)],
  );
  const r = coalesce(
    redIdx.map((d) => shape[d]!),
    [redIdx.map((d) => s[d]!)],
  );
  return {
    nOut: sizeOf(keptIdx.map((d) => shape[d]!)),
    nRed: sizeOf(redIdx.map((d) => shape[d]!)),
    kept: { shape: k.shape, strides: k.strides[0]! },
    red: { shape: r.shape, strides: r.strides[0]! },
  };
}

function reduceProgram(
  ctx: ProgramContext,
  inputs: readonly TensorSpec[],
  params: PrimitiveParams['reduce'] & { variant?: ReduceVariant },
  _out: TensorSpec,
): Program {
  const x = inputs[0]!;
  const t = wgslType(x.dtype, params.op);
  if (t === 'u32') fail(params.op, 'expected a numeric tensor, got bool');
  checkIndexable(params.op, sizeOf(x.shape));
  const plan = reducePlan(x.shape, params.axes);
  const variant = params.variant ?? chooseReduceVariant(ctx, plan);
  if (variant === 'split') fail(params.op, 'internal: the split reduction has two passes; use reduceSteps');
  const nk = plan.kept.shape.length;
  const nr = plan.red.shape.length;
  const treeWg = workgroupSize(ctx, 256);
  const trips = variant === 'serial' ? plan.nRed * 1.5 : Math.ceil(plan.nRed / treeWg) * 1.5 + 16;
  if (trips > MAX_LOOP_ITERATIONS * 1.5) {
    fail(params.op, `internal: a ${variant} reduction of ${plan.nRed} elements exceeds the per-invocation loop budget`);
  }
  const u = new UniformStruct().u32('nOut', plan.nOut).u32('nRed', plan.nRed);
  plan.kept.shape.forEach((d, i) => {
    u.u32(`ks${i}`, d).i32(`kst${i}`, plan.kept.strides[i]!);
  });
  plan.red.shape.forEach((d, i) => {
    u.u32(`rs${i}`, d).i32(`rst${i}`, plan.red.strides[i]!);
  });
  const lib = mathLib(['consts']) + COMBINE_FNS;
  const op = params.op;
  const comb = (a: string, b: string): string => combine(op, t, a, b);
  let body: string;
  let wg: number;
  let workgroups: [number, number, number];
  if (variant === 'serial') {
    wg = workgroupSize(ctx, 128);
    body = '  if (gid >= u.nOut) { return; }\n';
    body += unrollOffsets(nk, 'gid', 'ks', ['kst'], []);
    body += `  var acc : ${t} = ${init(op, t)};\n`;
    let ind = '  ';
    for (let i = 0; i < nr; i++) {
      body += `${ind}for (var j${i} = 0u; j${i} < u.rs${i}; j${i} = j${i} + 1u) {\n`;
      ind += '  ';
    }
    const off = ['off0', ...plan.red.shape.map((_, i) => `i32(j${i}) * u.rst${i}`)].join(' + ');
    body += `${ind}acc = ${comb('acc', `in0[${off}]`)};\n`;
    for (let i = nr - 1; i >= 0; i--) {
      ind = ind.slice(2);
      body += `${ind}}\n`;
    }
    body += '  out[gid] = acc;\n';
    workgroups = grid1d(Math.ceil(plan.nOut / wg), ctx.maxWorkgroupsPerDimension);
    body = main1d(wg) + body;
  } else {
    wg = treeWg;
    body =
      `var<workgroup> sh : array<${t}, ${wg}>;\n` +
      `@compute @workgroup_size(${wg})\n` +
      'fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(local_invocation_index) lid : u32,\n' +
      '        @builtin(num_workgroups) nwg : vec3<u32>) {\n' +
      '  let o = wid.x + wid.y * nwg.x;\n' +
      '  let live = o < u.nOut;\n' +
      `  var acc : ${t} = ${init(op, t)};\n` +
      '  if (live) {\n' +
      unrollOffsets(nk, 'o', 'ks', ['kst'], [], '    ') +
      `    for (var r = lid; r < u.nRed; r = r + ${wg}u) {\n` +
      unrollOffsets(nr, 'r', 'rs', ['rst'], ['off0'], '      ', 'r_') +
      `      acc = ${comb('acc', 'in0[r_off0]')};\n` +
      '    }\n' +
      '  }\n' +
      '  sh[lid] = acc;\n' +
      '  workgroupBarrier();\n' +
      `  for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {\n` +
      `    if (lid < s) { sh[lid] = ${comb('sh[lid]', 'sh[lid + s]')}; }\n` +
      '    workgroupBarrier();\n' +
      '  }\n' +
      '  if (live && lid == 0u) { out[o] = sh[0]; }\n';
    workgroups = grid1d(plan.nOut, ctx.maxWorkgroupsPerDimension);
  }
  return {
    key: `reduce|${op}|${t}|${variant}|k${nk}|r${nr}|wg${wg}`,
    wgsl: `${bindings(u, [t], t)}${lib}\n${body}}\n`,
    workgroups: plan.nOut === 0 ? [0, 1, 1] : workgroups,
    uniforms: u.bytes(),
  };
}

export function argReduceProgram(
  ctx: ProgramContext,
  inputs: readonly TensorSpec[],
  params: PrimitiveParams['argReduce'] & { variant?: ReduceVariant },
  _out: TensorSpec,
): Program {
  const x = inputs[0]!;
  const t = wgslType(x.dtype, params.op);
  if (t === 'u32') fail(params.op, 'expected a numeric tensor, got bool');
  checkIndexable(params.op, sizeOf(x.shape));
  const n = x.shape[params.axis]!;
  const inner = sizeOf(x.shape.slice(params.axis + 1));
  const outer = sizeOf(x.shape.slice(0, params.axis));
  const nOut = outer * inner;
  const treeWg = workgroupSize(ctx, 1024);
  const short = n <= MAX_LOOP_ITERATIONS;
  const variant =
    params.variant ?? (short && (n <= 64 || nOut >= 2048 || ctx.slowBarriers === true) ? 'serial' : 'tree');
  if (variant === 'split') fail(params.op, 'internal: argReduce has no split variant');
  if ((variant === 'serial' && !short) || n / treeWg > MAX_LOOP_ITERATIONS) {
    fail(
      params.op,
      `an axis of ${n} elements is longer than one WebGPU pass can scan (${MAX_LOOP_ITERATIONS * treeWg})`,
    );
  }
  const cmp = params.op === 'argmax' ? '>' : '<';
  const u = new UniformStruct().u32('nOut', nOut).u32('n', n).u32('inner', inner);
  // better(va, ia, vb, ib): should (vb, ib) replace (va, ia)? NaN first, then value, then lower index.
  const better =
    t === 'f32'
      ? `
fn better(va : f32, ia : u32, vb : f32, ib : u32) -> bool {
  let na = is_nan(va);
  let nb = is_nan(vb);
  if (na || nb) {
    if (na && nb) { return ib < ia; }
    return nb;
  }
  if (vb ${cmp} va) { return true; }
  return vb == va && ib < ia;
}
`
      : `
fn better(va : i32, ia : u32, vb : i32, ib : u32) -> bool {
  if (vb ${cmp} va) { return true; }
  return vb == va && ib < ia;
}
`;
  const lib = mathLib(['consts']) + better;
  let body: string;
  let wg: number;
  let workgroups: [number, number, number];
  if (variant === 'serial') {
    wg = workgroupSize(ctx, 128);
    body =
      main1d(wg) +
      '  if (gid >= u.nOut) { return; }\n' +
      '  let base = (gid / u.inner) * u.n * u.inner + gid % u.inner;\n' +
      '  var bv = in0[base];\n' +
      '  var bi = 0u;\n' +
      '  for (var k = 1u; k < u.n; k = k + 1u) {\n' +
      '    let v = in0[base + k * u.inner];\n' +
      '    if (better(bv, bi, v, k)) { bv = v; bi = k; }\n' +
      '  }\n' +
      '  out[gid] = i32(bi);\n';
    workgroups = grid1d(Math.ceil(nOut / wg), ctx.maxWorkgroupsPerDimension);
  } else {
    wg = n > MAX_LOOP_ITERATIONS * 64 ? treeWg : Math.min(treeWg, workgroupSize(ctx, 256));
    body =
      `var<workgroup> shv : array<${t}, ${wg}>;\n` +
      `var<workgroup> shi : array<u32, ${wg}>;\n` +
      `@compute @workgroup_size(${wg})\n` +
      'fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(local_invocation_index) lid : u32,\n' +
      '        @builtin(num_workgroups) nwg : vec3<u32>) {\n' +
      '  let o = wid.x + wid.y * nwg.x;\n' +
      '  let live = o < u.nOut;\n' +
      '  var base = 0u;\n' +
      '  if (live) { base = (o / u.inner) * u.n * u.inner + o % u.inner; }\n' +
      '  var bv = in0[base];\n' +
      '  var bi = 0u;\n' +
      '  if (live && lid < u.n) {\n' +
      '    bv = in0[base + lid * u.inner];\n' +
      '    bi = lid;\n' +
      `    for (var k = lid + ${wg}u; k < u.n; k = k + ${wg}u) {\n` +
      '      let v = in0[base + k * u.inner];\n' +
      '      if (better(bv, bi, v, k)) { bv = v; bi = k; }\n' +
      '    }\n' +
      '  }\n' +
      '  shv[lid] = bv;\n' +
      '  shi[lid] = bi;\n' +
      '  workgroupBarrier();\n' +
      `  for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {\n` +
      '    if (lid < s && lid + s < u.n) {\n' +
      '      if (better(shv[lid], shi[lid], shv[lid + s], shi[lid + s])) {\n' +
      '        shv[lid] = shv[lid + s];\n' +
      '        shi[lid] = shi[lid + s];\n' +
      '      }\n' +
      '    }\n' +
      '    workgroupBarrier();\n' +
      '  }\n' +
      '  if (live && lid == 0u) { out[o] = i32(shi[0]); }\n';
    workgroups = grid1d(nOut, ctx.maxWorkgroupsPerDimension);
  }
  return {
    key: `argReduce|${params.op}|${t}|${variant}|wg${wg}`,
    wgsl: `${bindings(u, [t], 'i32')}${lib}\n${body}}\n`,
    workgroups: nOut === 0 ? [0, 1, 1] : workgroups,
    uniforms: u.bytes(),
  };
}

/** One pass of a reduction: reads the input or the partials, writes the partials or the output. */
interface ReduceStep {
  readonly program: Program;
  readonly src: 'input' | 'partials';
  readonly dst: 'partials' | 'output';
}

/**
 * The dispatches of a reduction: one program (serial / tree), or for `split` a first pass over
 * contiguous chunks of the (single, coalesced) reduced dim into `partials` elements and a second
 * pass reducing those.
 */
export function reduceSteps(
  ctx: ProgramContext,
  inputs: readonly TensorSpec[],
  params: PrimitiveParams['reduce'] & { variant?: ReduceVariant },
  out: TensorSpec,
): { steps: ReduceStep[]; partials: number } {
  const x = inputs[0]!;
  const plan = reducePlan(x.shape, params.axes);
  const variant = params.variant ?? chooseReduceVariant(ctx, plan);
  if (variant !== 'split' || plan.red.shape.length === 0) {
    const v = variant === 'split' ? 'serial' : variant;
    return {
      steps: [{ program: reduceProgram(ctx, inputs, { ...params, variant: v }, out), src: 'input', dst: 'output' }],
      partials: 0,
    };
  }
  const t = wgslType(x.dtype, params.op);
  if (t === 'u32') fail(params.op, 'expected a numeric tensor, got bool');
  checkIndexable(params.op, sizeOf(x.shape));
  const g = splitCount(plan.nOut, plan.nRed);
  const chunk = Math.ceil(plan.nRed / g);
  const nk = plan.kept.shape.length;
  const nr = plan.red.shape.length;
  const wg = workgroupSize(ctx, 128);
  const u = new UniformStruct()
    .u32('n', plan.nOut * g)
    .u32('g', g)
    .u32('chunk', chunk)
    .u32('nRed', plan.nRed);
  plan.kept.shape.forEach((d, i) => {
    u.u32(`ks${i}`, d).i32(`kst${i}`, plan.kept.strides[i]!);
  });
  plan.red.shape.forEach((d, i) => {
    u.u32(`rs${i}`, d).i32(`rst${i}`, plan.red.strides[i]!);
  });
  const op = params.op;
  // One reduced dim: the element offset is linear in j; several: decompose j (division per element).
  const load =
    nr === 1
      ? '    let v = in0[off0 + i32(j) * u.rst0];\n'
      : `${unrollOffsets(nr, 'j', 'rs', ['rst'], ['off0'], '    ', 'r_')}    let v = in0[r_off0];\n`;
  const body =
    main1d(wg) +
    '  if (gid >= u.n) { return; }\n' +
    '  let o = gid / u.g;\n' +
    '  let start = (gid % u.g) * u.chunk;\n' +
    '  let end = min(start + u.chunk, u.nRed);\n' +
    unrollOffsets(nk, 'o', 'ks', ['kst'], []) +
    `  var acc : ${t} = ${init(op, t)};\n` +
    '  for (var j = start; j < end; j = j + 1u) {\n' +
    load +
    `    acc = ${combine(op, t, 'acc', 'v')};\n` +
    '  }\n' +
    '  out[gid] = acc;\n';
  const first: Program = {
    key: `reduce|${op}|${t}|split|k${nk}|r${nr}|wg${wg}`,
    wgsl: `${bindings(u, [t], t)}${mathLib(['consts'])}${COMBINE_FNS}\n${body}}\n`,
    workgroups: plan.nOut === 0 ? [0, 1, 1] : grid1d(Math.ceil((plan.nOut * g) / wg), ctx.maxWorkgroupsPerDimension),
    uniforms: u.bytes(),
  };
  const pShape = [plan.nOut, g];
  const second = reduceProgram(
    ctx,
    [{ shape: pShape, dtype: x.dtype }],
    { op, axes: [1], variant: ctx.slowBarriers === true || g <= 64 ? 'serial' : 'tree' },
    { shape: [plan.nOut, 1], dtype: out.dtype },
  );
  return {
    steps: [
      { program: first, src: 'input', dst: 'partials' },
      { program: second, src: 'partials', dst: 'output' },
    ],
    partials: plan.nOut * g,
  };
}
