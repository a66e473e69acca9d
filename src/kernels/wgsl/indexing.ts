/**
 * gather (take_along_axis) and scatterAdd.
 *
 * Both view tensors as [outer, axis, inner]. gather: out[o, j, i] = x[o, idx[o, j, i], i].
 * scatterAdd is written output-centric, so it is deterministic and collision-free without atomics:
 * each output element (o, c, i) starts from base[o, c, i] and adds, in increasing j, every
 * src[o, j, i] with idx[o, j, i] == c. This is the CPU backend's order of additions, so float32
 * results are bitwise identical to it. Cost: outer * n * inner * J index reads (J = idx's axis
 * length), fine for the usual J (class gathers, small index sets); see docs/webgpu.md.
 *
 * Out-of-range indices never read or write out of bounds: the kernel writes its error code into
 * the runtime's error word (errorFlag), the first reporter also the offending index (err[1]), and
 * the next read-back throws a TesseraError naming the op the user called, the index and the shapes
 * (the CPU backend throws at once).
 */

import { fail } from '../../errors.js';
import type { PrimitiveParams } from '../../tensor/primitives.js';
import { sizeOf } from '../../tensor/shape.js';
import {
  bindings,
  checkIndexable,
  launch1d,
  MAX_LOOP_ITERATIONS,
  main1d,
  type TensorSpec,
  UniformStruct,
  wgslType,
  workgroupSize,
} from './common.js';
import type { Program, ProgramContext } from './program.js';

export function gatherProgram(
  ctx: ProgramContext,
  inputs: readonly TensorSpec[],
  params: PrimitiveParams['gather'] & { code: number },
  out: TensorSpec,
): Program {
  const [x, idx] = inputs as [TensorSpec, TensorSpec];
  if (idx.dtype !== 'int32') fail('gather', `indices must be int32, got ${idx.dtype}`);
  const axis = params.axis;
  const n = sizeOf(out.shape);
  checkIndexable('gather', Math.max(n, sizeOf(x.shape)));
  const wg = workgroupSize(ctx);
  const inner = sizeOf(x.shape.slice(axis + 1));
  const u = new UniformStruct()
    .u32('n', n)
    .u32('inner', inner)
    .u32('J', idx.shape[axis]!)
    .u32('nx', x.shape[axis]!)
    .u32('code', params.code);
  const body =
    '  if (gid >= u.n) { return; }\n' +
    '  let inn = gid % u.inner;\n' +
    '  let o = gid / u.inner / u.J;\n' +
    '  let k = in1[gid];\n' +
    '  if (k < 0 || k >= i32(u.nx)) {\n' +
    // The first reporter of this code also leaves the offending index in the detail word err[1].
    '    let prev = atomicMin(&err[0], u.code);\n' +
    '    if (prev > u.code) { atomicStore(&err[1], bitcast<u32>(k)); }\n' +
    '    out[gid] = 0u;\n' +
    '    return;\n' +
    '  }\n' +
    '  out[gid] = in0[(o * u.nx + u32(k)) * u.inner + inn];\n';
  return {
    key: `gather|wg${wg}`,
    wgsl: `${bindings(u, ['u32', 'i32'], 'u32', true)}\n${main1d(wg)}${body}}\n`,
    workgroups: launch1d(ctx, n, wg),
    uniforms: u.bytes(),
    errorFlag: true,
  };
}

/**
 * One pass of scatterAdd over index positions j in [jStart, jEnd) along the axis: out = acc + the
 * matching src entries (acc is `base` for the first pass, the previous pass's output after).
 * Passes keep each invocation within MAX_LOOP_ITERATIONS (see `scatterAddPasses`).
 */
export function scatterAddProgram(
  ctx: ProgramContext,
  inputs: readonly TensorSpec[],
  params: PrimitiveParams['scatterAdd'] & { code: number; jStart?: number; jEnd?: number },
  out: TensorSpec,
): Program {
  const [base, idx, src] = inputs as [TensorSpec, TensorSpec, TensorSpec];
  if (idx.dtype !== 'int32') fail('scatterAdd', `indices must be int32, got ${idx.dtype}`);
  const t = wgslType(base.dtype, 'scatterAdd');
  if (t === 'u32') fail('scatterAdd', 'bool tensors cannot be added; cast to int32 or float32 first');
  const axis = params.axis;
  const n = sizeOf(out.shape);
  checkIndexable('scatterAdd', Math.max(n, sizeOf(src.shape)));
  const wg = workgroupSize(ctx);
  const inner = sizeOf(base.shape.slice(axis + 1));
  const u = new UniformStruct()
    .u32('n', n)
    .u32('inner', inner)
    .u32('nb', base.shape[axis]!)
    .u32('J', idx.shape[axis]!)
    .u32('code', params.code)
    .u32('j0', params.jStart ?? 0)
    .u32('j1', params.jEnd ?? idx.shape[axis]!);
  const body =
    '  if (gid >= u.n) { return; }\n' +
    '  let inn = gid % u.inner;\n' +
    '  let t = gid / u.inner;\n' +
    '  let c = i32(t % u.nb);\n' +
    '  let o = t / u.nb;\n' +
    '  var acc = in0[gid];\n' +
    '  var bad = false;\n' +
    '  var badK = 0;\n' +
    '  for (var j = u.j0; j < u.j1; j = j + 1u) {\n' +
    '    let p = (o * u.J + j) * u.inner + inn;\n' +
    '    let k = in1[p];\n' +
    '    if (k == c) { acc = acc + in2[p]; }\n' +
    '    if (k < 0 || k >= i32(u.nb)) { bad = true; badK = k; }\n' +
    '  }\n' +
    '  if (bad) {\n' +
    '    let prev = atomicMin(&err[0], u.code);\n' +
    '    if (prev > u.code) { atomicStore(&err[1], bitcast<u32>(badK)); }\n' +
    '  }\n' +
    '  out[gid] = acc;\n';
  return {
    key: `scatterAdd|${t}|wg${wg}`,
    wgsl: `${bindings(u, [t, 'i32', t], t, true)}\n${main1d(wg)}${body}}\n`,
    workgroups: launch1d(ctx, n, wg),
    uniforms: u.bytes(),
    errorFlag: true,
  };
}

/** The [jStart, jEnd) ranges of the scatterAdd passes for an index axis of length J. */
export function scatterAddPasses(j: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < j; s += MAX_LOOP_ITERATIONS) out.push([s, Math.min(j, s + MAX_LOOP_ITERATIONS)]);
  return out.length === 0 ? [[0, 0]] : out;
}
