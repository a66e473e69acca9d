// Convolution ops: conv2d, its backward primitives, convTranspose2d, and max and average pooling.
import { fail, fmtShape } from '../../errors.js';
import { runPrimitive } from '../engine.js';
import type { Conv2dParams } from '../primitives.js';
import { checkShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { checkArray, checkOptions, checkTensor, describeValue, publicOp } from './args.js';
import { add, mul } from './elementwise.js';
import { pad, reshape, slice, stack } from './movement.js';
import { max, sum } from './reduce.js';

export type Pair = number | readonly [number, number];

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  /** Added per output channel. */
  bias?: Tensor;
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  /** Extra rows/columns on the bottom/right of the output (disambiguates the size for stride > 1). */
  outputPadding?: Pair;
}

function pair(op: string, name: string, v: Pair | undefined, dflt: number, min: number): [number, number] {
  if (v !== undefined && typeof v !== 'number' && (!Array.isArray(v) || v.length !== 2)) {
    fail(op, `${name} must be an integer or a pair of integers, got ${describeValue(v)}`);
  }
  const p: [number, number] = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= min))
    fail(op, `${name} must be integers >= ${min}, got ${p.map((x) => describeValue(x)).join(' and ')}`);
  return p;
}

/** Output size of a convolution along one axis. */
export function convOutSize(inSize: number, k: number, stride: number, padding: number, dilation: number): number {
  return Math.floor((inSize + 2 * padding - dilation * (k - 1) - 1) / stride) + 1;
}

function convParams(op: string, o: Conv2dOptions): Conv2dParams {
  checkOptions(op, o);
  if (o.bias !== undefined) checkTensor(op, o.bias, 'bias');
  const groups = o.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) fail(op, `groups must be a positive integer, got ${String(groups)}`);
  return {
    stride: pair(op, 'stride', o.stride, 1, 1),
    padding: pair(op, 'padding', o.padding, 0, 0),
    dilation: pair(op, 'dilation', o.dilation, 1, 1),
    groups,
  };
}

function checkFloat4(op: string, name: string, t: Tensor): void {
  checkTensor(op, t, name);
  if (t.rank !== 4) fail(op, `${name} must be 4-D, got ${fmtShape(t.shape)}`);
  if (t.dtype !== 'float32' && t.dtype !== 'float64') fail(op, `${name} must be float, got ${t.dtype}`);
}

function addBias(op: string, y: Tensor, bias: Tensor | undefined): Tensor {
  if (bias === undefined) return y;
  if (bias.rank !== 1 || bias.shape[0] !== y.shape[1]) {
    fail(op, `bias must have shape [${y.shape[1]}], got ${fmtShape(bias.shape)}`);
  }
  return add(y, reshape(bias, [1, y.shape[1]!, 1, 1]));
}

/**
 * 2-D convolution (cross-correlation, as in PyTorch): x [N, C, H, W], w [O, C/groups, kH, kW]
 * -> [N, O, oH, oW] with oH = floor((H + 2 pad - dil (kH - 1) - 1) / stride) + 1.
 */
export function conv2d(x: Tensor, w: Tensor, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  checkFloat4(op, 'input', x);
  checkFloat4(op, 'weight', w);
  if (x.dtype !== w.dtype) fail(op, `dtypes differ: input ${x.dtype}, weight ${w.dtype}`);
  const p = convParams(op, opts);
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [o, cg, kh, kw] = w.shape as [number, number, number, number];
  if (c % p.groups !== 0 || o % p.groups !== 0) {
    fail(op, `input channels ${c} and output channels ${o} must be divisible by groups ${p.groups}`);
  }
  if (cg * p.groups !== c) {
    fail(
      op,
      `weight ${fmtShape(w.shape)} expects ${cg * p.groups} input channels (groups ${p.groups}), input ${fmtShape(x.shape)} has ${c}`,
    );
  }
  const oh = convOutSize(h, kh, p.stride[0], p.padding[0], p.dilation[0]);
  const ow = convOutSize(wd, kw, p.stride[1], p.padding[1], p.dilation[1]);
  if (oh <= 0 || ow <= 0) {
    fail(
      op,
      `input ${fmtShape(x.shape)} is too small for kernel ${kh}x${kw} (dilation ${p.dilation}, padding ${p.padding}): output ${oh}x${ow}`,
    );
  }
  const y = runPrimitive('conv2d', [x, w], p, [n, o, oh, ow], x.dtype);
  return publicOp(op, () => addBias(op, y, opts.bias));
}

/**
 * The geometry both conv2d gradients check: `dy` must be the conv2d output of an input of shape
 * `x` and a weight of shape `w` (4-D both, channels matching the groups); `mismatch` says which
 * operands do not fit, and the error adds the dy shape that would.
 */
function checkGradientGeometry(
  op: string,
  p: Conv2dParams,
  x: readonly number[],
  w: readonly number[],
  dy: Tensor,
  mismatch: string,
): void {
  const [n, c, h, wd] = x as [number, number, number, number];
  const [o, cg, kh, kw] = w as [number, number, number, number];
  const oh = convOutSize(h, kh, p.stride[0], p.padding[0], p.dilation[0]);
  const ow = convOutSize(wd, kw, p.stride[1], p.padding[1], p.dilation[1]);
  const [dn, dc, dh, dw] = dy.shape;
  if (o % p.groups !== 0) fail(op, `output channels ${o} must be divisible by groups ${p.groups}`);
  if (x.length !== 4 || w.length !== 4 || dn !== n || dc !== o || dh !== oh || dw !== ow || cg * p.groups !== c) {
    fail(op, `${mismatch} (expected dy [${n},${o},${oh},${ow}])`);
  }
}

/**
 * Gradient of conv2d with respect to its input (a transposed convolution): dy [N, O, oH, oW],
 * w [O, C/groups, kH, kW] -> [N, C, H, W] for the given input shape.
 */
export function conv2dBackwardInput(
  dy: Tensor,
  w: Tensor,
  inputShape: readonly number[],
  opts: Conv2dOptions = {},
): Tensor {
  const op = 'conv2dBackwardInput';
  checkFloat4(op, 'dy', dy);
  checkFloat4(op, 'weight', w);
  checkArray(op, inputShape, 'inputShape');
  checkShape(op, inputShape);
  if (dy.dtype !== w.dtype) fail(op, `dtypes differ: dy ${dy.dtype}, weight ${w.dtype}`);
  const p = convParams(op, opts);
  checkGradientGeometry(
    op,
    p,
    inputShape,
    w.shape,
    dy,
    `dy ${fmtShape(dy.shape)} and weight ${fmtShape(w.shape)} do not fit input shape ${fmtShape(inputShape)}`,
  );
  return runPrimitive(op, [dy, w], { ...p, inputShape: [...inputShape] }, inputShape, dy.dtype);
}

/** Gradient of conv2d with respect to its weight: x [N, C, H, W], dy [N, O, oH, oW] -> [O, C/groups, kH, kW]. */
export function conv2dBackwardFilter(
  x: Tensor,
  dy: Tensor,
  filterShape: readonly number[],
  opts: Conv2dOptions = {},
): Tensor {
  const op = 'conv2dBackwardFilter';
  checkFloat4(op, 'input', x);
  checkFloat4(op, 'dy', dy);
  checkArray(op, filterShape, 'filterShape');
  checkShape(op, filterShape);
  if (dy.dtype !== x.dtype) fail(op, `dtypes differ: input ${x.dtype}, dy ${dy.dtype}`);
  const p = convParams(op, opts);
  checkGradientGeometry(
    op,
    p,
    x.shape,
    filterShape,
    dy,
    `input ${fmtShape(x.shape)} and dy ${fmtShape(dy.shape)} do not fit filter shape ${fmtShape(filterShape)}`,
  );
  return runPrimitive(op, [x, dy], { ...p, filterShape: [...filterShape] }, filterShape, x.dtype);
}

/**
 * Transposed convolution as in PyTorch: x [N, Cin, H, W], w [Cin, Cout/groups, kH, kW]
 * -> [N, Cout, (H - 1) stride - 2 pad + dil (kH - 1) + outputPadding + 1, ...].
 */
export function convTranspose2d(x: Tensor, w: Tensor, opts: ConvTranspose2dOptions = {}): Tensor {
  const op = 'convTranspose2d';
  checkFloat4(op, 'input', x);
  checkFloat4(op, 'weight', w);
  if (x.dtype !== w.dtype) fail(op, `dtypes differ: input ${x.dtype}, weight ${w.dtype}`);
  const p = convParams(op, opts);
  const op2 = pair(op, 'outputPadding', opts.outputPadding, 0, 0);
  const [n, cin, h, wd] = x.shape as [number, number, number, number];
  const [wi, coutG, kh, kw] = w.shape as [number, number, number, number];
  if (wi !== cin)
    fail(op, `weight ${fmtShape(w.shape)} expects ${wi} input channels, input ${fmtShape(x.shape)} has ${cin}`);
  if (cin % p.groups !== 0) fail(op, `input channels ${cin} must be divisible by groups ${p.groups}`);
  if (op2[0] >= Math.max(p.stride[0], p.dilation[0]) || op2[1] >= Math.max(p.stride[1], p.dilation[1])) {
    fail(op, `outputPadding [${op2}] must be smaller than stride or dilation`);
  }
  const oh = (h - 1) * p.stride[0] - 2 * p.padding[0] + p.dilation[0] * (kh - 1) + op2[0] + 1;
  const ow = (wd - 1) * p.stride[1] - 2 * p.padding[1] + p.dilation[1] * (kw - 1) + op2[1] + 1;
  if (oh <= 0 || ow <= 0) fail(op, `output size ${oh}x${ow} is not positive`);
  // outputPadding >= stride (allowed when the dilation is larger) adds output rows that conv2d of
  // the output size maps to extra dy rows: those rows of x are zeros.
  const eh = convOutSize(oh, kh, p.stride[0], p.padding[0], p.dilation[0]) - h;
  const ew = convOutSize(ow, kw, p.stride[1], p.padding[1], p.dilation[1]) - wd;
  const xp =
    eh > 0 || ew > 0
      ? pad(x, [
          [0, 0],
          [0, 0],
          [0, eh],
          [0, ew],
        ])
      : x;
  return publicOp(op, () => {
    const y = conv2dBackwardInput(xp, w, [n, coutG * p.groups, oh, ow], opts);
    return addBias(op, y, opts.bias);
  });
}

export interface Pool2dOptions {
  stride?: Pair;
  padding?: Pair;
}

/** Stacks the kH*kW strided window views of a (padded) input along a new last axis. */
function windows(op: string, x: Tensor, kernel: Pair, opts: Pool2dOptions, padValue: number): Tensor {
  checkTensor(op, x);
  checkOptions(op, opts);
  if (x.dtype === 'bool') fail(op, `expected a numeric tensor, got bool of shape ${fmtShape(x.shape)}`);
  if (x.rank !== 4) fail(op, `input must be 4-D [N, C, H, W], got ${fmtShape(x.shape)}`);
  const k = pair(op, 'kernel', kernel, 1, 1);
  const s = pair(op, 'stride', opts.stride ?? k, 1, 1);
  const p = pair(op, 'padding', opts.padding, 0, 0);
  if (p[0] * 2 > k[0] || p[1] * 2 > k[1]) fail(op, `padding [${p}] must be at most half the kernel [${k}]`);
  const oh = convOutSize(x.shape[2]!, k[0], s[0], p[0], 1);
  const ow = convOutSize(x.shape[3]!, k[1], s[1], p[1], 1);
  if (oh <= 0 || ow <= 0) fail(op, `input ${fmtShape(x.shape)} is too small for kernel [${k}]`);
  const xp = pad(
    x,
    [
      [0, 0],
      [0, 0],
      [p[0], p[0]],
      [p[1], p[1]],
    ],
    padValue,
  );
  const views: Tensor[] = [];
  for (let i = 0; i < k[0]; i++) {
    for (let j = 0; j < k[1]; j++) {
      views.push(slice(xp, [null, null, [i, i + (oh - 1) * s[0] + 1, s[0]], [j, j + (ow - 1) * s[1] + 1, s[1]]]));
    }
  }
  return stack(views, -1);
}

/** Max pooling over kH x kW windows (stride defaults to the kernel; padding counts as -inf). */
export function maxPool2d(x: Tensor, kernel: Pair, opts: Pool2dOptions = {}): Tensor {
  return publicOp('maxPool2d', () => max(windows('maxPool2d', x, kernel, opts, Number.NEGATIVE_INFINITY), -1));
}

/** Average pooling (padding counts as zeros in the average, like PyTorch's default). */
export function avgPool2d(x: Tensor, kernel: Pair, opts: Pool2dOptions = {}): Tensor {
  const k = pair('avgPool2d', 'kernel', kernel, 1, 1);
  checkTensor('avgPool2d', x);
  if (x.dtype !== 'float32' && x.dtype !== 'float64') fail('avgPool2d', `expected a float tensor, got ${x.dtype}`);
  return publicOp('avgPool2d', () => mul(sum(windows('avgPool2d', x, kernel, opts, 0), -1), 1 / (k[0] * k[1])));
}
