/**
 * WGSL batched matmul: C[..., m, n] = op(A)[..., m, k] op(B)[..., k, n] with broadcast batch dims
 * and transpose flags, on the register-tiled GEMM skeleton of gemm-common.ts.
 *
 * Variants (all in the cache key, never the sizes):
 * - layout: tiled (tm x tn per invocation, default 8 x 16) or split-K (small outputs, long K: GEMV,
 *   dot products; one workgroup per 4 x 4 block reduces along K with a tree reduction);
 * - A loads: vec4 along K (A row-major, K % 4 == 0) or along M (transA, M % 4 == 0), else scalar;
 *   B loads: vec4 along N (B row-major, N % 4 == 0) or along K (transB, K % 4 == 0), else scalar;
 *   transposes cost nothing: the loader reads the stored layout and the FMA block takes components;
 * - `fit`: M and N multiples of the workgroup tile (no clamps or store guards);
 * - a K tail loop only when K % 4 != 0; vec4 stores when N % 4 == 0;
 * - batch broadcasting: the batch dims are collapsed on the host (size-1 dims dropped, adjacent dims
 *   with the same broadcast pattern merged) and the kernel decodes z with per-dim strides (uniforms);
 * - `smem` (optional, off by default): a classic workgroup-memory tiled kernel (32 x 32 block,
 *   8 x 8 invocations, 4 x 4 each, 32-deep K tile staged as vec4s, two barriers per K tile), the
 *   recipe for GPUs with fast shared memory; slower than the register-tiled default on llvmpipe.
 * - optional fused epilogue: y = act(C + bias[n]) with the bias as a third input.
 * - n == 1 (matrix-vector) is computed as its transpose (1 x m) so it runs the row-vector variant.
 */

import type { DType } from '../../tensor/dtype.js';
import type { PrimitiveParams } from '../../tensor/primitives.js';
import { sizeOf } from '../../tensor/shape.js';
import {
  type Activation,
  activationExpr,
  assertFloat32,
  buildGemm,
  ceilDiv,
  chooseLayout,
  comp,
  fmaBlock,
  type GemmContextHints,
  type GemmLayout,
  rep,
  Uniforms,
  workgroupCols,
  workgroupRows,
} from './gemm-common.js';
import type { Program, ProgramContext } from './program.js';
import { grid1d } from './program.js';

export interface TensorSpec {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

interface MatmulEpilogue {
  /** Adds bias[n] (a third input of length n) to every row. */
  readonly bias: boolean;
  readonly activation: Activation;
}

export interface MatmulOptions {
  readonly epilogue?: MatmulEpilogue;
  /**
   * Use the workgroup-memory tiled kernel where it applies (M, N >= 32). Default: the context's
   * `preferWorkgroupMemory` hint (GemmContextHints), else false.
   */
  readonly smem?: boolean;
  /** Force a layout (tests and tuning). */
  readonly layout?: GemmLayout;
  /** Binding of the A operand (1 or 2; B takes the other). Internal: convolutions pass [x, w]. */
  readonly aBinding?: 1 | 2;
}

type MatmulParams = PrimitiveParams['matmul'] & MatmulOptions;

/**
 * A strided batched GEMM: for z < prod(batch), C_z = op(A_z) op(B_z) where A_z starts at element
 * sum_d idx_d aStrides[d] (B likewise) and C_z at z * m * n (row-major m x n). Shared with the 1x1
 * convolutions.
 */
interface StridedGemm {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly transA: boolean;
  readonly transB: boolean;
  readonly batch: readonly number[];
  readonly aStrides: readonly number[];
  readonly bStrides: readonly number[];
}

/** Drops size-1 batch dims and merges neighbours whose strides nest for both operands. */
function collapseBatch(g: StridedGemm): StridedGemm {
  const dims: { s: number; a: number; b: number }[] = [];
  g.batch.forEach((s, d) => {
    if (s !== 1) dims.push({ s, a: g.aStrides[d]!, b: g.bStrides[d]! });
  });
  const out: { s: number; a: number; b: number }[] = [];
  for (const d of dims) {
    const last = out[out.length - 1];
    if (last !== undefined && last.a === d.a * d.s && last.b === d.b * d.s) {
      out[out.length - 1] = { s: last.s * d.s, a: d.a, b: d.b };
    } else {
      out.push(d);
    }
  }
  return { ...g, batch: out.map((d) => d.s), aStrides: out.map((d) => d.a), bStrides: out.map((d) => d.b) };
}

/** Batch strides (in elements) of an operand with batch shape `own` broadcast to `batch`. */
function broadcastBatchStrides(own: readonly number[], batch: readonly number[], matrix: number): number[] {
  const strides = new Array<number>(batch.length).fill(0);
  let s = matrix;
  for (let i = 1; i <= own.length; i++) {
    const d = own[own.length - i]!;
    if (d !== 1) strides[batch.length - i] = s;
    s *= d;
  }
  return strides;
}

export function matmulProgram(
  ctx: ProgramContext,
  inputs: readonly TensorSpec[],
  params: MatmulParams,
  out: TensorSpec,
): Program {
  const [A, B] = inputs as [TensorSpec, TensorSpec];
  assertFloat32('matmul', [A.dtype, B.dtype, out.dtype]);
  const { transA, transB } = params;
  const r = out.shape.length;
  const m = out.shape[r - 2]!;
  const n = out.shape[r - 1]!;
  const k = A.shape[A.shape.length - (transA ? 2 : 1)]!;
  const batch = out.shape.slice(0, -2);
  const g: StridedGemm = {
    m,
    n,
    k,
    transA,
    transB,
    batch,
    aStrides: broadcastBatchStrides(A.shape.slice(0, -2), batch, m * k),
    bStrides: broadcastBatchStrides(B.shape.slice(0, -2), batch, k * n),
  };
  return stridedGemmProgram(ctx, g, params);
}

/** Builds the program of a strided batched GEMM (inputs A, B[, bias]; output C). */
export function stridedGemmProgram(ctx: ProgramContext, g0: StridedGemm, opts: MatmulOptions = {}): Program {
  let g = collapseBatch(g0);
  const epi = opts.epilogue;
  const hasBias = epi?.bias === true;
  let swapped = false;
  if (g.n === 1 && g.m > 1 && !hasBias) {
    // C (m x 1) has the memory layout of C^T (1 x m) = op(B)^T op(A)^T.
    swapped = true;
    g = {
      ...g,
      m: 1,
      n: g.m,
      transA: !g.transB,
      transB: !g.transA,
      aStrides: g.bStrides,
      bStrides: g.aStrides,
    };
  }
  const { m: M, n: N, k: K, transA, transB } = g;
  const Z = sizeOf(g.batch);
  const nb = g.batch.length;
  const all4 = (s: readonly number[]) => s.every((v) => v % 4 === 0);
  const layout0 = opts.layout ?? chooseLayout(ctx, M, N, Z, Math.ceil(K / 4), K, {});
  // vec4 bindings need at least 16 bytes bound: never for empty operands (K = 0).
  const aVec = K > 0 && (transA ? M % 4 === 0 && layout0.tm % 4 === 0 : K % 4 === 0) && all4(g.aStrides);
  const layout = layout0;
  const bVec = K > 0 && (transB ? K % 4 === 0 : N % 4 === 0) && all4(g.bStrides);
  const outVec = N % 4 === 0;
  const smem = opts.smem ?? (ctx as ProgramContext & GemmContextHints).preferWorkgroupMemory === true;
  if (smem && opts.layout === undefined && M >= 32 && N >= 32) {
    return smemGemmProgram(ctx, g, {
      aVec,
      bVec,
      outVec,
      epi,
      aBind: ((opts.aBinding ?? 1) === 1) !== swapped ? 1 : 2,
    });
  }
  const tail = K % 4 !== 0;
  const split = layout.ks > 1;
  const fit = split
    ? M % layout.tm === 0 && N % layout.tn === 0
    : M % workgroupRows(layout) === 0 && N % workgroupCols(layout) === 0;
  const tm = layout.tm;
  const tn4 = layout.tn / 4;
  const act = epi?.activation ?? 'none';

  const u = new Uniforms().u32('K', K);
  for (let d = 0; d < nb; d++) u.u32(`bd${d}`, g.batch[d]!).u32(`as${d}`, g.aStrides[d]!).u32(`bs${d}`, g.bStrides[d]!);

  const aT = aVec ? 'vec4<f32>' : 'f32';
  const bT = bVec ? 'vec4<f32>' : 'f32';
  const oT = outVec ? 'vec4<f32>' : 'f32';
  // Swapped: the shader's A is the other input.
  const aBind = ((opts.aBinding ?? 1) === 1) !== swapped ? 1 : 2;
  let bindings = `@group(0) @binding(${aBind}) var<storage, read> A : array<${aT}>;\n`;
  bindings += `@group(0) @binding(${3 - aBind}) var<storage, read> B : array<${bT}>;\n`;
  let ob = 3;
  if (hasBias)
    bindings += `@group(0) @binding(${ob++}) var<storage, read> bias : array<${outVec ? 'vec4<f32>' : 'f32'}>;\n`;
  bindings += `@group(0) @binding(${ob}) var<storage, read_write> C : array<${oT}>;\n`;
  const helpers = `${aVec ? 'fn ldA(i : u32) -> f32 { return A[i >> 2u][i & 3u]; }\n' : ''}${bVec ? 'fn ldB(i : u32) -> f32 { return B[i >> 2u][i & 3u]; }\n' : ''}`;

  // Batch offsets.
  let setup = '  var zz = z;\n  var aOff = 0u;\n  var bOff = 0u;\n';
  for (let d = nb - 1; d >= 0; d--) {
    setup += `  { let i = zz % u.bd${d}; zz = zz / u.bd${d}; aOff = aOff + i * u.as${d}; bOff = bOff + i * u.bs${d}; }\n`;
  }
  setup += '  let cOff = z * u.M * u.N;\n';
  // Per-invocation operand bases.
  const ce = (c: number, e: number) => (fit ? `col4_${c} * 4u + ${e}u` : `min(col4_${c} * 4u + ${e}u, u.N - 1u)`);
  if (!transA) {
    setup += rep(tm, (r) =>
      aVec ? `  let aR_${r} = (aOff + rc_${r} * u.K) >> 2u;\n` : `  let aR_${r} = aOff + rc_${r} * u.K;\n`,
    );
  } else if (aVec) {
    setup += '  let M4 = u.M >> 2u;\n';
    setup += rep(
      tm / 4,
      (gr) =>
        `  let aG_${gr} = (aOff >> 2u) + ${fit ? `(rbase >> 2u) + ${gr}u` : `min((rbase >> 2u) + ${gr}u, M4 - 1u)`};\n`,
    );
  } else {
    setup += rep(tm, (r) => `  let aC_${r} = aOff + rc_${r};\n`);
  }
  if (!transB) {
    if (bVec) {
      setup += '  let N4 = u.N >> 2u;\n';
      setup += rep(tn4, (c) => `  let bC_${c} = (bOff >> 2u) + ${fit ? `col4_${c}` : `min(col4_${c}, N4 - 1u)`};\n`);
    } else {
      setup += rep(tn4, (c) => rep(4, (e) => `  let bC_${c}_${e} = bOff + ${ce(c, e)};\n`));
    }
  } else {
    setup += rep(tn4, (c) =>
      rep(
        4,
        (e) => `  let bR_${c}_${e} = ${bVec ? `(bOff + (${ce(c, e)}) * u.K) >> 2u` : `bOff + (${ce(c, e)}) * u.K`};\n`,
      ),
    );
  }

  // Loads for one 4-deep chunk at k (multiple of 4): a_r (vec4 over kk), b_kk_c (vec4 over columns).
  let chunk = '';
  if (!transA) {
    chunk += rep(tm, (r) =>
      aVec
        ? `    let a_${r} = A[aR_${r} + (k >> 2u)];\n`
        : `    let a_${r} = vec4<f32>(${rep(4, (kk) => `${kk ? ', ' : ''}A[aR_${r} + k + ${kk}u]`)});\n`,
    );
  } else if (aVec) {
    chunk += rep(4, (kk) => rep(tm / 4, (gr) => `    let av_${kk}_${gr} = A[aG_${gr} + (k + ${kk}u) * M4];\n`));
    chunk += rep(
      tm,
      (r) => `    let a_${r} = vec4<f32>(${rep(4, (kk) => `${kk ? ', ' : ''}av_${kk}_${r >> 2}.${comp(r & 3)}`)});\n`,
    );
  } else {
    chunk += rep(
      tm,
      (r) => `    let a_${r} = vec4<f32>(${rep(4, (kk) => `${kk ? ', ' : ''}A[aC_${r} + (k + ${kk}u) * u.M]`)});\n`,
    );
  }
  if (!transB) {
    chunk += rep(4, (kk) =>
      rep(tn4, (c) =>
        bVec
          ? `    let b_${kk}_${c} = B[bC_${c} + (k + ${kk}u) * N4];\n`
          : `    let b_${kk}_${c} = vec4<f32>(${rep(4, (e) => `${e ? ', ' : ''}B[bC_${c}_${e} + (k + ${kk}u) * u.N]`)});\n`,
      ),
    );
  } else if (bVec) {
    chunk += rep(tn4, (c) => rep(4, (e) => `    let bv_${c}_${e} = B[bR_${c}_${e} + (k >> 2u)];\n`));
    chunk += rep(4, (kk) =>
      rep(
        tn4,
        (c) => `    let b_${kk}_${c} = vec4<f32>(${rep(4, (e) => `${e ? ', ' : ''}bv_${c}_${e}.${comp(kk)}`)});\n`,
      ),
    );
  } else {
    chunk += rep(4, (kk) =>
      rep(
        tn4,
        (c) => `    let b_${kk}_${c} = vec4<f32>(${rep(4, (e) => `${e ? ', ' : ''}B[bR_${c}_${e} + k + ${kk}u]`)});\n`,
      ),
    );
  }
  chunk += fmaBlock(
    layout,
    4,
    (r, kk) => `a_${r}.${comp(kk)}`,
    (kk, c) => `b_${kk}_${c}`,
  );

  // Tail: one k at a time (only when K % 4 != 0, which rules out the K-contiguous vec4 loaders).
  let tailCode = '';
  if (tail) {
    tailCode += rep(tm, (r) => {
      if (!transA) return `    let a_${r} = A[aR_${r} + k];\n`;
      if (aVec) return `    let a_${r} = A[aG_${r >> 2} + k * M4].${comp(r & 3)};\n`;
      return `    let a_${r} = A[aC_${r} + k * u.M];\n`;
    });
    tailCode += rep(tn4, (c) => {
      if (!transB) {
        if (bVec) return `    let b_0_${c} = B[bC_${c} + k * N4];\n`;
        return `    let b_0_${c} = vec4<f32>(${rep(4, (e) => `${e ? ', ' : ''}B[bC_${c}_${e} + k * u.N]`)});\n`;
      }
      return `    let b_0_${c} = vec4<f32>(${rep(4, (e) => `${e ? ', ' : ''}B[bR_${c}_${e} + k]`)});\n`;
    });
    tailCode += fmaBlock(
      layout,
      1,
      (r) => `a_${r}`,
      (_kk, c) => `b_0_${c}`,
    );
  }
  const ks = layout.ks;
  let loop = `  let K4 = u.K & ~3u;\n  for (var k = kl * 4u; k < K4; k = k + ${ks * 4}u) {\n${chunk}  }\n`;
  if (tail) loop += `  for (var k = K4 + kl; k < u.K; k = k + ${ks}u) {\n${tailCode}  }\n`;

  // Store with the epilogue.
  let store = '';
  for (let r = 0; r < tm; r++) {
    for (let c = 0; c < tn4; c++) {
      let v = `acc_${r}_${c}`;
      if (hasBias) {
        v = outVec
          ? `${v} + bias[min(col4_${c}, (u.N >> 2u) - 1u)]`
          : `${v} + vec4<f32>(${rep(4, (e) => `${e ? ', ' : ''}bias[min(col4_${c} * 4u + ${e}u, u.N - 1u)]`)})`;
      }
      v = activationExpr(act, v);
      if (outVec) {
        const idx = `((cOff + row_${r} * u.N) >> 2u) + col4_${c}`;
        store += fit
          ? `  C[${idx}] = ${v};\n`
          : `  if (row_${r} < u.M && col4_${c} < (u.N >> 2u)) { C[${idx}] = ${v}; }\n`;
      } else {
        store += `  if (row_${r} < u.M) {\n    let v = ${v};\n`;
        store += rep(
          4,
          (e) =>
            `    if (col4_${c} * 4u + ${e}u < u.N) { C[cOff + row_${r} * u.N + col4_${c} * 4u + ${e}u] = v.${comp(e)}; }\n`,
        );
        store += '  }\n';
      }
    }
  }
  const key = `matmul|b${nb}|A@${aBind}|${transA ? 'tA' : ''}${transB ? 'tB' : ''}|a${aVec ? 4 : 1}b${bVec ? 4 : 1}c${outVec ? 4 : 1}|${tail ? 'tail' : ''}|${hasBias ? 'bias' : ''}${act}${swapped ? '|sw' : ''}`;
  return buildGemm(ctx, { key, layout, M, N, Z, uniforms: u, bindings, helpers, setup, loop, store, fit });
}

/**
 * Workgroup-memory tiled GEMM (opt-in, `smem: true`), the classic recipe for GPUs with fast shared
 * memory: 8 x 8 invocations, 4 x 4 outputs each (a 32 x 32 block), a 32-deep K tile staged in
 * workgroup memory as vec4s (A as [row][k / 4], B as [k][n / 4], 8 KiB), two barriers per K tile.
 * Tile loads are vec4 where the layout allows (A row-major with K % 4 == 0, B row-major with
 * N % 4 == 0), else four scalar loads; edges are zero-filled unless M, N, K fit the tile.
 */
function smemGemmProgram(
  ctx: ProgramContext,
  g: StridedGemm,
  f: { aVec: boolean; bVec: boolean; outVec: boolean; epi: MatmulEpilogue | undefined; aBind: 1 | 2 },
): Program {
  const BM = 32;
  const BN = 32;
  const KT = 32;
  const WG = 8;
  if (WG * WG > ctx.maxInvocationsPerWorkgroup || (BM * KT + KT * BN) * 4 > ctx.maxWorkgroupStorageSize) {
    throw new Error('smem matmul does not fit the device limits');
  }
  const { m: M, n: N, k: K, transA, transB } = g;
  const Z = sizeOf(g.batch);
  const nb = g.batch.length;
  const hasBias = f.epi?.bias === true;
  const act = f.epi?.activation ?? 'none';
  const fit = M % BM === 0 && N % BN === 0 && K % KT === 0;
  const u = new Uniforms().u32('M', M).u32('N', N).u32('K', K).u32('Z', Z);
  for (let d = 0; d < nb; d++) u.u32(`bd${d}`, g.batch[d]!).u32(`as${d}`, g.aStrides[d]!).u32(`bs${d}`, g.bStrides[d]!);
  const tilesN = ceilDiv(N, BN);
  const tilesM = ceilDiv(M, BM);
  u.u32('tilesN', tilesN).u32('tilesM', tilesM);
  // Element of op(A)(mm, kk) and op(B)(kk, nn), relative to the batch offsets.
  const aEl = (mm: string, kk: string) => `ldA(aOff + ${transA ? `(${kk}) * u.M + ${mm}` : `(${mm}) * u.K + ${kk}`})`;
  const bEl = (kk: string, nn: string) => `ldB(bOff + ${transB ? `(${nn}) * u.K + ${kk}` : `(${kk}) * u.N + ${nn}`})`;
  const guard = (cond: string, v: string) => (fit ? v : `select(0.0, ${v}, ${cond})`);
  let loadA: string;
  if (!transA && f.aVec) {
    loadA = fit
      ? 'A[((aOff + mm * u.K) >> 2u) + (kb >> 2u)]'
      : 'select(vec4<f32>(0.0), A[((aOff + min(mm, u.M - 1u) * u.K) >> 2u) + (min(kb, u.K - 4u) >> 2u)], mm < u.M && kb < u.K)';
  } else {
    loadA = `vec4<f32>(${rep(4, (e) => `${e ? ', ' : ''}${guard(`mm < u.M && kb + ${e}u < u.K`, aEl(fit ? 'mm' : 'min(mm, u.M - 1u)', fit ? `kb + ${e}u` : `min(kb + ${e}u, u.K - 1u)`))}`)})`;
  }
  let loadB: string;
  if (!transB && f.bVec) {
    loadB = fit
      ? 'B[((bOff + kk * u.N) >> 2u) + (nb4 >> 2u)]'
      : 'select(vec4<f32>(0.0), B[((bOff + min(kk, u.K - 1u) * u.N) >> 2u) + (min(nb4, u.N - 4u) >> 2u)], kk < u.K && nb4 < u.N)';
  } else {
    loadB = `vec4<f32>(${rep(4, (e) => `${e ? ', ' : ''}${guard(`kk < u.K && nb4 + ${e}u < u.N`, bEl(fit ? 'kk' : 'min(kk, u.K - 1u)', fit ? `nb4 + ${e}u` : `min(nb4 + ${e}u, u.N - 1u)`))}`)})`;
  }
  let setup = '  var zz = z;\n  var aOff = 0u;\n  var bOff = 0u;\n';
  for (let d = nb - 1; d >= 0; d--) {
    setup += `  { let i = zz % u.bd${d}; zz = zz / u.bd${d}; aOff = aOff + i * u.as${d}; bOff = bOff + i * u.bs${d}; }\n`;
  }
  const col4 = `(tc * ${BN / 4}u + lid.x)`;
  let store = '';
  for (let r = 0; r < 4; r++) {
    const row = `(tr * ${BM}u + lid.y * 4u + ${r}u)`;
    let v = `acc_${r}`;
    if (hasBias) {
      v += f.outVec
        ? ` + bias[min(${col4}, (u.N >> 2u) - 1u)]`
        : ` + vec4<f32>(${rep(4, (e) => `${e ? ', ' : ''}bias[min(${col4} * 4u + ${e}u, u.N - 1u)]`)})`;
    }
    store += `  if (${row} < u.M) {\n    let v = ${activationExpr(act, v)};\n`;
    if (f.outVec)
      store += `    if (${col4} < (u.N >> 2u)) { C[((z * u.M * u.N + ${row} * u.N) >> 2u) + ${col4}] = v; }\n`;
    else {
      store += rep(
        4,
        (e) =>
          `    if (${col4} * 4u + ${e}u < u.N) { C[z * u.M * u.N + ${row} * u.N + ${col4} * 4u + ${e}u] = v.${comp(e)}; }\n`,
      );
    }
    store += '  }\n';
  }
  const ld = (fn: string, arr: string, vec: boolean) =>
    vec
      ? `fn ${fn}(i : u32) -> f32 { return ${arr}[i >> 2u][i & 3u]; }\n`
      : `fn ${fn}(i : u32) -> f32 { return ${arr}[i]; }\n`;
  const T = WG * WG;
  const wgsl = `${u.struct()}
@group(0) @binding(0) var<uniform> u : Uniforms;
@group(0) @binding(${f.aBind}) var<storage, read> A : array<${f.aVec ? 'vec4<f32>' : 'f32'}>;
@group(0) @binding(${3 - f.aBind}) var<storage, read> B : array<${f.bVec ? 'vec4<f32>' : 'f32'}>;
${hasBias ? `@group(0) @binding(3) var<storage, read> bias : array<${f.outVec ? 'vec4<f32>' : 'f32'}>;\n` : ''}@group(0) @binding(${hasBias ? 4 : 3}) var<storage, read_write> C : array<${f.outVec ? 'vec4<f32>' : 'f32'}>;
var<workgroup> As : array<vec4<f32>, ${(BM * KT) / 4}>;
var<workgroup> Bs : array<vec4<f32>, ${(KT * BN) / 4}>;
${ld('ldA', 'A', f.aVec)}${ld('ldB', 'B', f.bVec)}
@compute @workgroup_size(${WG}, ${WG})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_id) lid : vec3<u32>, @builtin(local_invocation_index) li : u32) {
  let wlin = wid.x + wid.y * nwg.x;
  let tc = wlin % u.tilesN;
  let tr = (wlin / u.tilesN) % u.tilesM;
  let z = wlin / (u.tilesN * u.tilesM);
  if (z >= u.Z) { return; }
${setup}
${rep(4, (r) => `  var acc_${r} = vec4<f32>(0.0);\n`)}
  for (var k0 = 0u; k0 < u.K; k0 = k0 + ${KT}u) {
${rep((BM * KT) / 4 / T, (i) => `    {\n      let s = li + ${i * T}u;\n      let mm = tr * ${BM}u + s / ${KT / 4}u;\n      let kb = k0 + (s % ${KT / 4}u) * 4u;\n      As[s] = ${loadA};\n    }\n`)}${rep((KT * BN) / 4 / T, (i) => `    {\n      let s = li + ${i * T}u;\n      let kk = k0 + s / ${BN / 4}u;\n      let nb4 = tc * ${BN}u + (s % ${BN / 4}u) * 4u;\n      Bs[s] = ${loadB};\n    }\n`)}    workgroupBarrier();
    for (var k4 = 0u; k4 < ${KT / 4}u; k4 = k4 + 1u) {
${rep(4, (kk) => `      let b_${kk} = Bs[(k4 * 4u + ${kk}u) * ${BN / 4}u + lid.x];\n`)}${rep(4, (r) => `      let a_${r} = As[(lid.y * 4u + ${r}u) * ${KT / 4}u + k4];\n`)}${rep(4, (r) => rep(4, (kk) => `      acc_${r} = fma(vec4<f32>(a_${r}.${comp(kk)}), b_${kk}, acc_${r});\n`))}    }
    workgroupBarrier();
  }
${store}
}
`;
  return {
    key: `matmul-smem|b${nb}|A@${f.aBind}|${transA ? 'tA' : ''}${transB ? 'tB' : ''}|a${f.aVec ? 4 : 1}b${f.bVec ? 4 : 1}c${f.outVec ? 4 : 1}|${fit ? 'fit' : ''}|${hasBias ? 'bias' : ''}${act}`,
    wgsl,
    workgroups: M * N * Z === 0 ? [0, 0, 0] : grid1d(tilesN * tilesM * Z, ctx.maxWorkgroupsPerDimension),
    uniforms: u.bytes(),
  };
}
