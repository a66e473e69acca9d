/**
 * Input gradients (and so transposed convolutions) onto few channels, through a column matrix:
 * dcols[n] = W^T dY[n] as one batched matmul, then col2im sums each input pixel's taps.
 */
import type { PrimitiveParams } from '../../tensor/primitives.js';
import { checkIndexable, launch1d, main1d, UniformStruct, workgroupSize } from './common.js';
import { stridedGemmProgram, type TensorSpec } from './matmul.js';
import type { Program, ProgramContext } from './program.js';

/**
 * Below this many input channels (one group) the input gradient goes through columns. The implicit
 * GEMM of conv.ts holds a (channels x 16) block per invocation, so with one channel each filter
 * value it loads meets 16 gathered dY values, where the column matmul holds 16 taps x 16 pixels
 * per invocation: the 28x28 DCGAN's 64 -> 1 transposed conv (its generator's last layer), 64 images,
 * 9.1 -> 4.35 ms on llvmpipe; PresGAN's 64 -> 3 on 64x64, 60.5 -> 57 ms (so not beyond 3 channels).
 */
const MAX_CHANNELS = 4;
/** Columns up to WebGPU's default storage-binding limit (128 MiB). */
const MAX_COLUMN_FLOATS = 2 ** 25;

/** The two programs and the column buffer's size (floats) between them. */
export interface ColumnPlan {
  readonly gemm: Program;
  readonly col2im: Program;
  readonly columnFloats: number;
}

type Params = PrimitiveParams['conv2dBackwardInput'] & { readonly noMatmul?: boolean };

/**
 * The column plan of conv2dBackwardInput(dy, w), or undefined where the implicit GEMM serves (many
 * channels, groups, columns too large, or `noMatmul`, which tests use to force the implicit GEMM).
 * Inputs bind as [dy, w]; the matmul writes dcols [N, C kh kw, oh ow], col2im reads it.
 */
export function inputGradientColumns(
  ctx: ProgramContext,
  inputs: readonly TensorSpec[],
  params: Params,
): ColumnPlan | undefined {
  const [dy, w] = inputs as [TensorSpec, TensorSpec];
  const [nb, c, h, wd] = params.inputShape as [number, number, number, number];
  const [o, , kh, kw] = w.shape as [number, number, number, number];
  const [oh, ow] = [dy.shape[2]!, dy.shape[3]!];
  const k = c * kh * kw;
  const p = oh * ow;
  const columnFloats = nb * k * p;
  if (params.noMatmul === true || params.groups !== 1 || c >= MAX_CHANNELS || kh * kw === 1) return undefined;
  if (columnFloats === 0 || columnFloats > MAX_COLUMN_FLOATS || nb * c * h * wd === 0) return undefined;
  // dcols[n] [k x p] = W^T [k x o] (W stored [o x k]) * dY[n] [o x p].
  const gemm = stridedGemmProgram(
    ctx,
    { m: k, n: p, k: o, transA: true, transB: false, batch: [nb], aStrides: [0], bStrides: [o * p] },
    { aBinding: 2 },
  );
  return { gemm, col2im: col2imProgram(ctx, params, [kh, kw], [oh, ow]), columnFloats };
}

/**
 * dx[n, c, y, x] = sum over the taps (i, j) that reach an output pixel (oy, ox) of
 * dcols[n, (c kh + i) kw + j, oy ow + ox], in tap order; one invocation per dx element.
 */
function col2imProgram(
  ctx: ProgramContext,
  params: Params,
  [kh, kw]: [number, number],
  [oh, ow]: [number, number],
): Program {
  const [nb, c, h, w] = params.inputShape as [number, number, number, number];
  const total = nb * c * h * w;
  checkIndexable('conv2dBackwardInput', total);
  const wg = workgroupSize(ctx);
  const u = new UniformStruct()
    .u32('total', total)
    .u32('C', c)
    .u32('H', h)
    .u32('W', w)
    .u32('kh', kh)
    .u32('kw', kw)
    .i32('sh', params.stride[0])
    .i32('sw', params.stride[1])
    .i32('ph', params.padding[0])
    .i32('pw', params.padding[1])
    .i32('dh', params.dilation[0])
    .i32('dw', params.dilation[1])
    .i32('oh', oh)
    .i32('ow', ow);
  const wgsl = `${u.struct()}@group(0) @binding(0) var<uniform> u : U;
@group(0) @binding(1) var<storage, read> cols : array<f32>;
@group(0) @binding(2) var<storage, read_write> dx : array<f32>;
${main1d(wg)}  if (gid >= u.total) { return; }
  let xw = gid % u.W;
  let xh = (gid / u.W) % u.H;
  let ch = (gid / (u.W * u.H)) % u.C;
  let n = gid / (u.W * u.H * u.C);
  let P = u32(u.oh * u.ow);
  let taps = u.kh * u.kw;
  let base = (n * u.C + ch) * taps;
  var acc = 0.0;
  for (var i = 0u; i < u.kh; i = i + 1u) {
    let ty = i32(xh) + u.ph - i32(i) * u.dh;
    if (ty < 0 || ty % u.sh != 0 || ty / u.sh >= u.oh) { continue; }
    let row = u32(ty / u.sh) * u32(u.ow);
    for (var j = 0u; j < u.kw; j = j + 1u) {
      let tx = i32(xw) + u.pw - i32(j) * u.dw;
      if (tx < 0 || tx % u.sw != 0 || tx / u.sw >= u.ow) { continue; }
      acc = acc + cols[(base + i * u.kw + j) * P + row + u32(tx / u.sw)];
    }
  }
  dx[gid] = acc;
}
`;
  return { key: `col2im|wg${wg}`, wgsl, workgroups: launch1d(ctx, total, wg), uniforms: u.bytes() };
}
