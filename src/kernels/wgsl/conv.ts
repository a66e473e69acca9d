/**
 * WGSL 2-D convolutions (NCHW input, OIHW filter, stride / padding / dilation / groups) as implicit
 * GEMMs on the register-tiled skeleton of gemm-common.ts. Each invocation keeps a tm x tn block
 * of the output in registers; lanes run along the output's contiguous axis, so the "A" operand
 * (the filter, or dy for the filter gradient) is the same for all lanes of a row and the "B"
 * operand is an implicit im2col gather with the padding tests hoisted out of the channel loop.
 *
 * - conv2d: per group g, y[o, (n, p)] = sum_{c, i, j} w[o, c, i, j] x[n, c, p * s - pad + (i, j) * dil]
 *   (M = O / groups, N = batch * oH * oW with the batch folded into the columns, K = C/groups * kH * kW).
 * - conv2dBackwardInput (transposed convolution): dx[c, (n, h, w)] = sum_{o, i, j} w[o, c, i, j] dy[n, o, ...].
 *   The output pixels are split into stride phases (h mod sH, w mod sW): within a phase every
 *   column has the same valid taps, so the kernel visits only the taps that hit a dy pixel
 *   (kH kW / (sH sW) of them) instead of testing all taps per pixel; z = (phase, group).
 * - conv2dBackwardFilter: dw[o, (c, i, j)] = sum_{n, oy, ox} dy[n, o, oy, ox] x[n, c, ...]
 *   (M = O / groups, N = C/groups * kH * kW, K = batch * oH * oW; dy rows load as vec4 when oW % 4 == 0).
 *   Its output is usually small with a very long K, so it typically runs split-K.
 * - 1x1 convolutions with stride 1 and no padding go to the strided batched matmul (conv2d and
 *   conv2dBackwardInput; the filter gradient too when the batch is 1).
 * - Filters covering the whole unpadded image (one output pixel, one group: the DCGAN's 7x7 conv to
 *   a logit and its 1x1 -> 7x7 transposed conv) are plain matmuls of [N x C kh kw] rows, all three
 *   primitives: the transposed conv's implicit GEMM visited every tap for every output pixel, 49
 *   times the work (280 ms for the DCGAN generator's first layer on llvmpipe; about 4 ms as a matmul).
 * - Input gradients onto 1-3 channels (one group) take a column matmul and col2im instead
 *   (col2im.ts; the backend chooses, as the pair needs a buffer between two dispatches).
 */

import type { Conv2dParams, PrimitiveParams } from '../../tensor/primitives.js';
import {
  assertFloat32,
  buildGemm,
  chooseLayout,
  comp,
  convChoice,
  fmaBlock,
  type GemmLayout,
  rep,
  Uniforms,
  workgroupCols,
  workgroupRows,
} from './gemm-common.js';
import { stridedGemmProgram, type TensorSpec } from './matmul.js';
import type { Program, ProgramContext } from './program.js';

interface Geometry {
  nb: number;
  c: number;
  h: number;
  w: number;
  o: number;
  cg: number;
  og: number;
  kh: number;
  kw: number;
  oh: number;
  ow: number;
}

function geometry(x: readonly number[], w: readonly number[], y: readonly number[], p: Conv2dParams): Geometry {
  const [nb, c, h, wd] = x as [number, number, number, number];
  const [o, cg, kh, kw] = w as [number, number, number, number];
  return { nb, c, h, w: wd, o, cg, og: o / p.groups, kh, kw, oh: y[2]!, ow: y[3]! };
}

function convUniforms(g: Geometry, p: Conv2dParams): Uniforms {
  return new Uniforms()
    .u32('Nb', g.nb)
    .u32('C', g.c)
    .u32('H', g.h)
    .u32('W', g.w)
    .u32('O', g.o)
    .u32('cg', g.cg)
    .u32('og', g.og)
    .u32('groups', p.groups)
    .u32('kh', g.kh)
    .u32('kw', g.kw)
    .u32('oh', g.oh)
    .u32('ow', g.ow)
    .u32('sh', p.stride[0])
    .u32('sw', p.stride[1])
    .u32('ph', p.padding[0])
    .u32('pw', p.padding[1])
    .u32('dh', p.dilation[0])
    .u32('dw', p.dilation[1]);
}

/** Optional tuning hooks (tests and the benchmark). */
export interface ConvOptions {
  readonly layout?: GemmLayout;
  /** Disable the 1x1 -> matmul shortcut. */
  readonly noMatmul?: boolean;
}

/** One output pixel from a filter covering the whole unpadded image, one group. */
const isDense = (g: Geometry, p: Conv2dParams) =>
  p.groups === 1 &&
  g.kh === g.h &&
  g.kw === g.w &&
  g.oh === 1 &&
  g.ow === 1 &&
  p.padding[0] === 0 &&
  p.padding[1] === 0 &&
  p.dilation[0] === 1 &&
  p.dilation[1] === 1;

/** A dense convolution's GEMM (no batch axes): m x n x k with op(A), op(B) and A's binding. */
function denseGemm(
  ctx: ProgramContext,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  aBinding: 1 | 2,
): Program {
  return stridedGemmProgram(ctx, { m, n, k, transA, transB, batch: [], aStrides: [], bStrides: [] }, { aBinding });
}

const is1x1 = (g: Geometry, p: Conv2dParams) =>
  g.kh === 1 && g.kw === 1 && p.stride[0] === 1 && p.stride[1] === 1 && p.padding[0] === 0 && p.padding[1] === 0;

function isFit(l: GemmLayout, M: number, N: number): boolean {
  return l.ks > 1 ? M % l.tm === 0 && N % l.tn === 0 : M % workgroupRows(l) === 0 && N % workgroupCols(l) === 0;
}

/** b_c = vec4 of gathered B values for column group c: select(0, src[off_c_e + extra], v_c_e). */
function gatherB(tn4: number, src: string, extra: string, name = 'b'): string {
  return rep(
    tn4,
    (c) =>
      `        let ${name}_${c} = vec4<f32>(${rep(4, (e) => `${e ? ', ' : ''}select(0.0, ${src}[o_${c}_${e} + ${extra}], v_${c}_${e})`)});\n`,
  );
}

export function conv2dProgram(
  ctx: ProgramContext,
  inputs: readonly TensorSpec[],
  params: PrimitiveParams['conv2d'] & ConvOptions,
  out: TensorSpec,
): Program {
  const [x, w] = inputs as [TensorSpec, TensorSpec];
  assertFloat32('conv2d', [x.dtype, w.dtype, out.dtype]);
  const g = geometry(x.shape, w.shape, out.shape, params);
  const P = g.oh * g.ow;
  // y[n, o] = sum_k x[n, k] w[o, k]: A = x, B = w^T.
  if (isDense(g, params) && params.noMatmul !== true)
    return denseGemm(ctx, g.nb, g.o, g.c * g.kh * g.kw, false, true, 1);
  if (is1x1(g, params) && params.noMatmul !== true) {
    // y[n, g*og + o, p] = sum_c w[g*og + o, c] x[n, g*cg + c, p]: batch (n, g).
    return stridedGemmProgram(
      ctx,
      {
        m: g.og,
        n: P,
        k: g.cg,
        transA: false,
        transB: false,
        batch: [g.nb, params.groups],
        aStrides: [0, g.og * g.cg],
        bStrides: [g.c * P, g.cg * P],
      },
      { aBinding: 2 },
    );
  }
  const M = g.og;
  const N = g.nb * P;
  const Z = params.groups;
  const l = params.layout ?? chooseLayout(ctx, M, N, Z, g.cg, g.cg * g.kh * g.kw, { choice: convChoice(ctx) });
  const tn4 = l.tn / 4;
  const fit = isFit(l, M, N);
  const outVec = P % 4 === 0;
  const bindings = `@group(0) @binding(1) var<storage, read> X : array<f32>;
@group(0) @binding(2) var<storage, read> Wt : array<f32>;
@group(0) @binding(3) var<storage, read_write> Y : array<${outVec ? 'vec4<f32>' : 'f32'}>;
`;
  let setup = `  let grp = z;
  let P = u.oh * u.ow;
  let HW = u.H * u.W;
  let khkw = u.kh * u.kw;
  let xg = grp * u.cg * HW;
`;
  setup += rep(l.tm, (r) => `  let wR_${r} = (grp * u.og + rc_${r}) * u.cg * khkw;\n`);
  for (let c = 0; c < tn4; c++) {
    for (let e = 0; e < 4; e++) {
      const s = `${c}_${e}`;
      setup += `  let q_${s} = min(col4_${c} * 4u + ${e}u, u.N - 1u);
  let n_${s} = q_${s} / P;
  let p_${s} = q_${s} % P;
  let xb_${s} = n_${s} * u.C * HW + xg;
  let iy0_${s} = i32((p_${s} / u.ow) * u.sh) - i32(u.ph);
  let ix0_${s} = i32((p_${s} % u.ow) * u.sw) - i32(u.pw);
`;
    }
  }
  const cols = (f: (s: string) => string) => rep(tn4, (c) => rep(4, (e) => f(`${c}_${e}`)));
  const loop = `  for (var i = 0u; i < u.kh; i = i + 1u) {
${cols((s) => `    let iy_${s} = iy0_${s} + i32(i * u.dh);\n    let vy_${s} = iy_${s} >= 0 && iy_${s} < i32(u.H);\n    let ro_${s} = xb_${s} + u32(iy_${s}) * u.W;\n`)}    for (var j = 0u; j < u.kw; j = j + 1u) {
      let tap = i * u.kw + j;
${cols((s) => `      let ix_${s} = ix0_${s} + i32(j * u.dw);\n      let v_${s} = vy_${s} && ix_${s} >= 0 && ix_${s} < i32(u.W);\n      let o_${s} = select(0u, ro_${s} + u32(ix_${s}), v_${s});\n`)}      for (var ch = kl; ch < u.cg; ch = ch + ${l.ks}u) {
        let xo = ch * HW;
        let wo = ch * khkw + tap;
${rep(l.tm, (r) => `        let a_${r} = Wt[wR_${r} + wo];\n`)}${gatherB(tn4, 'X', 'xo')}${fmaBlock(
  l,
  1,
  (r) => `a_${r}`,
  (_kk, c) => `b_${c}`,
  '        ',
)}      }
    }
  }
`;
  // Store: y[n, grp*og + row, p].
  let store = '';
  for (let r = 0; r < l.tm; r++) {
    store += `  if (row_${r} < u.M) {\n`;
    for (let c = 0; c < tn4; c++) {
      if (outVec) {
        // 4 consecutive columns lie in one image (P % 4 == 0) and are contiguous in y.
        store += `    if (col4_${c} * 4u < u.N) { Y[(n_${c}_0 * u.O * P + (grp * u.og + row_${r}) * P + p_${c}_0) >> 2u] = acc_${r}_${c}; }\n`;
      } else {
        store += rep(
          4,
          (e) =>
            `    if (col4_${c} * 4u + ${e}u < u.N) { Y[n_${c}_${e} * u.O * P + (grp * u.og + row_${r}) * P + p_${c}_${e}] = acc_${r}_${c}.${comp(e)}; }\n`,
        );
      }
    }
    store += '  }\n';
  }
  return buildGemm(ctx, {
    key: `conv2d|c${outVec ? 4 : 1}`,
    layout: l,
    M,
    N,
    Z,
    uniforms: convUniforms(g, params),
    bindings,
    setup,
    loop,
    store,
    fit,
  });
}

export function conv2dBackwardInputProgram(
  ctx: ProgramContext,
  inputs: readonly TensorSpec[],
  params: PrimitiveParams['conv2dBackwardInput'] & ConvOptions,
  out: TensorSpec,
): Program {
  const [dy, w] = inputs as [TensorSpec, TensorSpec];
  assertFloat32('conv2dBackwardInput', [dy.dtype, w.dtype, out.dtype]);
  const g = geometry(params.inputShape, w.shape, dy.shape, params);
  const P = g.oh * g.ow;
  const [sh, sw] = params.stride;
  // dx[n, k] = sum_o dy[n, o] w[o, k]: A = dy, B = w.
  if (isDense(g, params) && params.noMatmul !== true)
    return denseGemm(ctx, g.nb, g.c * g.kh * g.kw, g.o, false, false, 1);
  if (is1x1(g, params) && params.noMatmul !== true) {
    // dx[n, g*cg + c, p] = sum_o w[g*og + o, c] dy[n, g*og + o, p]: A = w^T (stored [og, cg]).
    return stridedGemmProgram(
      ctx,
      {
        m: g.cg,
        n: P,
        k: g.og,
        transA: true,
        transB: false,
        batch: [g.nb, params.groups],
        aStrides: [0, g.og * g.cg],
        bStrides: [g.o * P, g.og * P],
      },
      { aBinding: 2 },
    );
  }
  const M = g.cg;
  // Columns of the largest phase (phase 0); other phases mask the excess.
  const N = g.nb * Math.ceil(g.h / sh) * Math.ceil(g.w / sw);
  const Z = sh * sw * params.groups;
  const tapsPerPhase = Math.ceil(g.kh / sh) * Math.ceil(g.kw / sw);
  const l = params.layout ?? chooseLayout(ctx, M, N, Z, g.og, g.og * tapsPerPhase, { choice: convChoice(ctx) });
  const tn4 = l.tn / 4;
  const bindings = `@group(0) @binding(1) var<storage, read> DY : array<f32>;
@group(0) @binding(2) var<storage, read> Wt : array<f32>;
@group(0) @binding(3) var<storage, read_write> DX : array<f32>;
`;
  const cols = (f: (s: string) => string) => rep(tn4, (c) => rep(4, (e) => f(`${c}_${e}`)));
  let setup = `  let phase = z / u.groups;
  let grp = z % u.groups;
  let rh = phase / u.sw;
  let rw = phase % u.sw;
  let Ha = select(0u, (u.H - rh + u.sh - 1u) / u.sh, rh < u.H);
  let Wb = select(0u, (u.W - rw + u.sw - 1u) / u.sw, rw < u.W);
  let Nq = u.Nb * Ha * Wb;
  if (Nq == 0u) { return; }
  let P = u.oh * u.ow;
  let HW = u.H * u.W;
  let khkw = u.kh * u.kw;
  let wg0 = grp * u.og * u.cg * khkw;
  let ocs = u.cg * khkw;
`;
  setup += rep(l.tm, (r) => `  let wR_${r} = wg0 + rc_${r} * khkw;\n`);
  setup += cols(
    (s) => `  let q_${s} = min(col4_${s.split('_')[0]} * 4u + ${s.split('_')[1]}u, Nq - 1u);
  let n_${s} = q_${s} / (Ha * Wb);
  let a_${s} = i32((q_${s} % (Ha * Wb)) / Wb);
  let b_${s} = i32(q_${s} % Wb);
  let dyb_${s} = n_${s} * u.O * P + grp * u.og * P;
  let dx_${s} = n_${s} * u.C * HW + grp * u.cg * HW + (rh + u.sh * u32(a_${s})) * u.W + rw + u.sw * u32(b_${s});
`,
  );
  const loop = `  let ish = i32(u.sh);
  let isw = i32(u.sw);
  for (var i = 0u; i < u.kh; i = i + 1u) {
    let ty = i32(rh + u.ph) - i32(i * u.dh);
    if (((ty % ish) + ish) % ish != 0) { continue; }
    let tyq = ty / ish;
${cols((s) => `    let yy_${s} = a_${s} + tyq;\n    let vy_${s} = yy_${s} >= 0 && yy_${s} < i32(u.oh);\n    let ro_${s} = dyb_${s} + u32(yy_${s}) * u.ow;\n`)}    for (var j = 0u; j < u.kw; j = j + 1u) {
      let tx = i32(rw + u.pw) - i32(j * u.dw);
      if (((tx % isw) + isw) % isw != 0) { continue; }
      let txq = tx / isw;
      let tap = i * u.kw + j;
${cols((s) => `      let xx_${s} = b_${s} + txq;\n      let v_${s} = vy_${s} && xx_${s} >= 0 && xx_${s} < i32(u.ow);\n      let o_${s} = select(0u, ro_${s} + u32(xx_${s}), v_${s});\n`)}      for (var oc = kl; oc < u.og; oc = oc + ${l.ks}u) {
        let wo = oc * ocs + tap;
        let yo = oc * P;
${rep(l.tm, (r) => `        let w_${r} = Wt[wR_${r} + wo];\n`)}${gatherB(tn4, 'DY', 'yo', 'g')}${fmaBlock(
  l,
  1,
  (r) => `w_${r}`,
  (_kk, c) => `g_${c}`,
  '        ',
)}      }
    }
  }
`;
  let store = '';
  for (let r = 0; r < l.tm; r++) {
    store += `  if (row_${r} < u.M) {\n`;
    store += cols((s) => {
      const [c, e] = s.split('_') as [string, string];
      return `    if (col4_${c} * 4u + ${e}u < Nq) { DX[dx_${s} + row_${r} * HW] = acc_${r}_${c}.${comp(Number(e))}; }\n`;
    });
    store += '  }\n';
  }
  return buildGemm(ctx, {
    key: 'conv2dBackwardInput',
    layout: l,
    M,
    N,
    Z,
    uniforms: convUniforms(g, params),
    bindings,
    setup,
    loop,
    store,
  });
}

export function conv2dBackwardFilterProgram(
  ctx: ProgramContext,
  inputs: readonly TensorSpec[],
  params: PrimitiveParams['conv2dBackwardFilter'] & ConvOptions,
  out: TensorSpec,
): Program {
  const [x, dy] = inputs as [TensorSpec, TensorSpec];
  assertFloat32('conv2dBackwardFilter', [x.dtype, dy.dtype, out.dtype]);
  const g = geometry(x.shape, params.filterShape, dy.shape, params);
  const P = g.oh * g.ow;
  // dw[o, k] = sum_n dy[n, o] x[n, k]: A = dy^T (dy stored [N, O]), B = x.
  if (isDense(g, params) && params.noMatmul !== true)
    return denseGemm(ctx, g.o, g.c * g.kh * g.kw, g.nb, true, false, 2);
  if (is1x1(g, params) && g.nb === 1 && params.noMatmul !== true) {
    // dw[g*og + o, c] = sum_p dy[g*og + o, p] x[g*cg + c, p]: A = dy, B = x^T; batch = groups.
    return stridedGemmProgram(
      ctx,
      {
        m: g.og,
        n: g.cg,
        k: P,
        transA: false,
        transB: true,
        batch: [params.groups],
        aStrides: [g.og * P],
        bStrides: [g.cg * P],
      },
      { aBinding: 2 },
    );
  }
  const M = g.og;
  const khkw = g.kh * g.kw;
  const N = g.cg * khkw;
  const Z = params.groups;
  const l = params.layout ?? chooseLayout(ctx, M, N, Z, g.nb * g.oh, g.nb * P, { choice: convChoice(ctx) });
  const tn4 = l.tn / 4;
  const fit = isFit(l, M, N);
  const vecDy = g.ow % 4 === 0 && g.nb > 0; // an empty dy cannot bind as vec4 (16-byte minimum)
  const outVec = N % 4 === 0;
  const bindings = `@group(0) @binding(1) var<storage, read> X : array<f32>;
@group(0) @binding(2) var<storage, read> DY : array<${vecDy ? 'vec4<f32>' : 'f32'}>;
@group(0) @binding(3) var<storage, read_write> DW : array<${outVec ? 'vec4<f32>' : 'f32'}>;
`;
  const cols = (f: (s: string) => string) => rep(tn4, (c) => rep(4, (e) => f(`${c}_${e}`)));
  let setup = `  let grp = z;
  let P = u.oh * u.ow;
  let HW = u.H * u.W;
  let khkw = u.kh * u.kw;
`;
  setup += rep(l.tm, (r) => `  let dR_${r} = (grp * u.og + rc_${r}) * P;\n`);
  setup += cols(
    (s) => `  let q_${s} = min(col4_${s.split('_')[0]} * 4u + ${s.split('_')[1]}u, u.N - 1u);
  let tap_${s} = q_${s} % khkw;
  let xb_${s} = (grp * u.cg + q_${s} / khkw) * HW;
  let iyo_${s} = i32((tap_${s} / u.kw) * u.dh) - i32(u.ph);
  let ixo_${s} = i32((tap_${s} % u.kw) * u.dw) - i32(u.pw);
`,
  );
  let inner: string;
  if (vecDy) {
    // Four output columns at a time: one vec4 of dy per row, four gathers of x per column.
    inner = `      for (var ox = 0u; ox < u.ow; ox = ox + 4u) {
${rep(l.tm, (r) => `        let a_${r} = DY[(dn + dR_${r} + ox) >> 2u];\n`)}${rep(4, (kk) => {
  let t = cols(
    (s) =>
      `        let ix_${s}_${kk} = i32((ox + ${kk}u) * u.sw) + ixo_${s};\n        let v_${s}_${kk} = vy_${s} && ix_${s}_${kk} >= 0 && ix_${s}_${kk} < i32(u.W);\n`,
  );
  t += rep(
    tn4,
    (c) =>
      `        let b_${kk}_${c} = vec4<f32>(${rep(4, (e) => {
        const v = `${c}_${e}_${kk}`;
        return `${e ? ', ' : ''}select(0.0, X[select(0u, ro_${c}_${e} + u32(ix_${v}), v_${v})], v_${v})`;
      })});\n`,
  );
  return t;
})}${fmaBlock(
  l,
  4,
  (r, kk) => `a_${r}.${comp(kk)}`,
  (kk, c) => `b_${kk}_${c}`,
  '        ',
)}      }
`;
  } else {
    inner = `      for (var ox = 0u; ox < u.ow; ox = ox + 1u) {
${rep(l.tm, (r) => `        let a_${r} = DY[dn + dR_${r} + ox];\n`)}${cols((s) => `        let ix_${s} = i32(ox * u.sw) + ixo_${s};\n        let v_${s} = vy_${s} && ix_${s} >= 0 && ix_${s} < i32(u.W);\n`)}${rep(tn4, (c) => `        let b_${c} = vec4<f32>(${rep(4, (e) => `${e ? ', ' : ''}select(0.0, X[select(0u, ro_${c}_${e} + u32(ix_${c}_${e}), v_${c}_${e})], v_${c}_${e})`)});\n`)}${fmaBlock(
  l,
  1,
  (r) => `a_${r}`,
  (_kk, c) => `b_${c}`,
  '        ',
)}      }
`;
  }
  const loop = `  let rows = u.Nb * u.oh;
  for (var t = kl; t < rows; t = t + ${l.ks}u) {
    let n = t / u.oh;
    let oy = t % u.oh;
    let dn = n * u.O * P + oy * u.ow;
    let xn = n * u.C * HW;
${cols((s) => `    let iy_${s} = i32(oy * u.sh) + iyo_${s};\n    let vy_${s} = iy_${s} >= 0 && iy_${s} < i32(u.H);\n    let ro_${s} = xn + xb_${s} + u32(iy_${s}) * u.W;\n`)}${inner}  }
`;
  let store = '';
  for (let r = 0; r < l.tm; r++) {
    store += `  if (row_${r} < u.M) {\n`;
    for (let c = 0; c < tn4; c++) {
      if (outVec) {
        store += `    if (col4_${c} < (u.N >> 2u)) { DW[(((grp * u.og + row_${r}) * u.N) >> 2u) + col4_${c}] = acc_${r}_${c}; }\n`;
      } else {
        store += rep(
          4,
          (e) =>
            `    if (col4_${c} * 4u + ${e}u < u.N) { DW[(grp * u.og + row_${r}) * u.N + col4_${c} * 4u + ${e}u] = acc_${r}_${c}.${comp(e)}; }\n`,
        );
      }
    }
    store += '  }\n';
  }
  return buildGemm(ctx, {
    key: `conv2dBackwardFilter|dy${vecDy ? 4 : 1}c${outVec ? 4 : 1}`,
    layout: l,
    M,
    N,
    Z,
    uniforms: convUniforms(g, params),
    bindings,
    setup,
    loop,
    store,
    fit,
  });
}
