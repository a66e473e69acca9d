// The gradient rules: one vector-Jacobian product per primitive (gradRules), and unbroadcast.
import { fail, fmtShape } from '../errors.js';
import { allocArray } from '../tensor/dtype.js';
import { tensorFromArray } from '../tensor/engine.js';
import {
  batchNormBackward,
  batchNormParamGrad,
  compositeBackward,
  compositeParamGrad,
  compositeStats,
  leakyReluBackward,
  statsRow,
} from '../tensor/ops/fused-nn.js';
import {
  add,
  broadcastTo,
  cast,
  conv2d,
  conv2dBackwardFilter,
  conv2dBackwardInput,
  cos,
  div,
  eq,
  flip,
  gather,
  gt,
  log,
  lt,
  matmul,
  mul,
  neg,
  padPrimitive,
  permute,
  pow,
  reshape,
  scatterAdd,
  sign,
  sin,
  slicePrimitive,
  square,
  sub,
  sum,
  tanhBackward,
  where,
} from '../tensor/ops/index.js';
import type { BinaryOp, PrimitiveName, PrimitiveParams, UnaryOp } from '../tensor/primitives.js';
import { broadcastedAxes, shapesEqual } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { compositeVjp } from './composite.js';

/** What a rule sees: the node's inputs, its output, its parameters, and which inputs need a gradient. */
export interface RuleContext<P extends PrimitiveName> {
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly params: PrimitiveParams[P];
  readonly needs: readonly boolean[];
}

/**
 * A vector-Jacobian product: the cotangent of the output -> one cotangent per input (null = zero or
 * not needed). Written with the library's own differentiable ops, so rules can be differentiated.
 */
export type GradRule<P extends PrimitiveName> = (ctx: RuleContext<P>, g: Tensor) => (Tensor | null)[];

/** Sums `g` over the axes that broadcasting added or stretched, back to `shape`. */
export function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const axes = broadcastedAxes(shape, g.shape);
  return reshape(sum(g, axes, { keepdims: true }), shape);
}

function zerosOf(like: Tensor, shape: readonly number[]): Tensor {
  let n = 1;
  for (const d of shape) n *= d;
  return tensorFromArray(allocArray(like.dtype, n), shape, like.dtype, like.backend);
}

type UnaryRule = (x: Tensor, y: Tensor, g: Tensor) => Tensor | null;

const unaryRules: { readonly [U in UnaryOp]: UnaryRule } = {
  neg: (_x, _y, g) => neg(g),
  exp: (_x, y, g) => mul(g, y),
  log: (x, _y, g) => div(g, x),
  log1p: (x, _y, g) => div(g, add(x, 1)),
  expm1: (_x, y, g) => mul(g, add(y, 1)),
  sqrt: (_x, y, g) => div(mul(g, 0.5), y),
  rsqrt: (x, y, g) => mul(mul(g, -0.5), div(y, x)),
  abs: (x, _y, g) => mul(g, sign(x)),
  sign: () => null,
  sin: (x, _y, g) => mul(g, cos(x)),
  cos: (x, _y, g) => neg(mul(g, sin(x))),
  tanh: (_x, y, g) => tanhBackward(y, g),
  sigmoid: (_x, y, g) => mul(g, mul(y, sub(1, y))),
  // where(x > 0, g, 0) in one pass: the LeakyReLU gradient with slope 0.
  relu: (x, _y, g) => leakyReluBackward(x, g, 0),
  floor: () => null,
  ceil: () => null,
  round: () => null,
};

type BinaryRule = (
  a: Tensor,
  b: Tensor,
  out: Tensor,
  g: Tensor,
  needs: readonly boolean[],
) => [Tensor | null, Tensor | null];

/** Weight of `a` in max/min: 1 where it wins, 1/2 on ties (the gradient is split), 0 where it loses. */
function winWeight(wins: Tensor, a: Tensor, b: Tensor): Tensor {
  return add(cast(wins, a.dtype), mul(cast(eq(a, b), a.dtype), 0.5));
}

const binaryRules: { readonly [B in BinaryOp]: BinaryRule } = {
  add: (_a, _b, _o, g) => [g, g],
  sub: (_a, _b, _o, g, needs) => [g, needs[1] ? neg(g) : null],
  mul: (a, b, _o, g, needs) => [needs[0] ? mul(g, b) : null, needs[1] ? mul(g, a) : null],
  div: (_a, b, out, g, needs) => [needs[0] ? div(g, b) : null, needs[1] ? neg(div(mul(g, out), b)) : null],
  pow: (a, b, out, g, needs) => [
    // d/da a^b = b a^(b-1), defined as 0 where b == 0 (avoids 0 * inf at a == 0).
    needs[0] ? mul(g, where(eq(b, 0), 0, mul(b, pow(a, sub(b, 1))))) : null,
    // d/db a^b = a^b log a, defined as 0 where a <= 0.
    needs[1] ? mul(g, where(gt(a, 0), mul(out, log(where(gt(a, 0), a, 1))), 0)) : null,
  ],
  maximum: (a, b, _o, g) => {
    const wa = winWeight(gt(a, b), a, b);
    return [mul(g, wa), mul(g, sub(1, wa))];
  },
  minimum: (a, b, _o, g) => {
    const wa = winWeight(lt(a, b), a, b);
    return [mul(g, wa), mul(g, sub(1, wa))];
  },
  atan2: (a, b, _o, g, needs) => {
    const r2 = add(square(a), square(b));
    return [needs[0] ? div(mul(g, b), r2) : null, needs[1] ? neg(div(mul(g, a), r2)) : null];
  },
  // d/dy g (1 - y^2) = -2 g y; d/dg = 1 - y^2.
  tanhBackward: (y, g, _o, gOut, needs) => [
    needs[0] ? mul(mul(gOut, g), mul(y, -2)) : null,
    needs[1] ? tanhBackward(y, gOut) : null,
  ],
};

function convOpts(p: PrimitiveParams['conv2d']) {
  return { stride: p.stride, padding: p.padding, dilation: p.dilation, groups: p.groups };
}

/** The gradient table: one rule per primitive. A primitive without a rule does not compile. */
export const gradRules: { readonly [P in PrimitiveName]: GradRule<P> } = {
  unary: ({ inputs, output, params }, g) => [unaryRules[params.op](inputs[0]!, output, g)],

  binary: ({ inputs, output, params, needs }, g) => {
    const [a, b] = inputs as [Tensor, Tensor];
    const [ga, gb] = binaryRules[params.op](a, b, output, g, needs);
    return [ga && needs[0] ? unbroadcast(ga, a.shape) : null, gb && needs[1] ? unbroadcast(gb, b.shape) : null];
  },

  compare: () => [null, null],

  where: ({ inputs, needs }, g) => {
    const [c, a, b] = inputs as [Tensor, Tensor, Tensor];
    return [
      null,
      needs[1] ? unbroadcast(where(c, g, 0), a.shape) : null,
      needs[2] ? unbroadcast(where(c, 0, g), b.shape) : null,
    ];
  },

  cast: ({ inputs, output }, g) => {
    const x = inputs[0]!;
    const floatIn = x.dtype === 'float32' || x.dtype === 'float64';
    const floatOut = output.dtype === 'float32' || output.dtype === 'float64';
    return [floatIn && floatOut ? cast(g, x.dtype) : null];
  },

  reduce: ({ inputs, output, params }, g) => {
    const x = inputs[0]!;
    if (params.op === 'sum') return [broadcastTo(g, x.shape)];
    // max/min: the gradient goes to the extremal entries, split evenly between ties.
    const mask = cast(eq(x, output), x.dtype);
    const count = sum(mask, params.axes, { keepdims: true });
    return [mul(mask, div(g, count))];
  },

  argReduce: () => [null],

  matmul: ({ inputs, params, needs }, g) => {
    const [a, b] = inputs as [Tensor, Tensor];
    const { transA, transB } = params;
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (needs[0]) {
      // d op(A) = G op(B)^T; if A was transposed, dA = op(B) G^T.
      ga = transA ? matmul(b, g, { transA: transB, transB: true }) : matmul(g, b, { transB: !transB });
      ga = unbroadcast(ga, a.shape);
    }
    if (needs[1]) {
      // d op(B) = op(A)^T G; if B was transposed, dB = G^T op(A).
      gb = transB ? matmul(g, a, { transA: true, transB: transA }) : matmul(a, g, { transA: !transA });
      gb = unbroadcast(gb, b.shape);
    }
    return [ga, gb];
  },

  conv2d: ({ inputs, params, needs }, g) => {
    const [x, w] = inputs as [Tensor, Tensor];
    const o = convOpts(params);
    return [
      needs[0] ? conv2dBackwardInput(g, w, x.shape, o) : null,
      needs[1] ? conv2dBackwardFilter(x, g, w.shape, o) : null,
    ];
  },

  // out = convT(dy, w) is linear in both: <G, convT(dy, w)> = <conv(G, w), dy>.
  conv2dBackwardInput: ({ inputs, params, needs }, g) => {
    const [dy, w] = inputs as [Tensor, Tensor];
    const o = convOpts(params);
    return [needs[0] ? conv2d(g, w, o) : null, needs[1] ? conv2dBackwardFilter(g, dy, w.shape, o) : null];
  },

  // out = dW(x, dy): <G, dW(x, dy)> = <dy, conv(x, G)>.
  conv2dBackwardFilter: ({ inputs, params, needs }, g) => {
    const [x, dy] = inputs as [Tensor, Tensor];
    const o = convOpts(params);
    return [needs[0] ? conv2dBackwardInput(dy, g, x.shape, o) : null, needs[1] ? conv2d(x, g, o) : null];
  },

  reshape: ({ inputs }, g) => [reshape(g, inputs[0]!.shape)],

  permute: ({ params }, g) => {
    const inv = new Array<number>(params.perm.length);
    params.perm.forEach((p, i) => {
      inv[p] = i;
    });
    return [permute(g, inv)];
  },

  expand: ({ inputs }, g) => [unbroadcast(g, inputs[0]!.shape)],

  slice: ({ inputs, params }, g) => [padPrimitive(g, params.starts, params.steps, [...inputs[0]!.shape], 0)],

  pad: ({ inputs, params }, g) => [slicePrimitive(g, params.before, params.steps, [...inputs[0]!.shape])],

  concat: ({ inputs, params, needs }, g) => {
    let start = 0;
    return inputs.map((t, i) => {
      const starts = t.shape.map((_, a) => (a === params.axis ? start : 0));
      start += t.shape[params.axis]!;
      return needs[i]
        ? slicePrimitive(
            g,
            starts,
            t.shape.map(() => 1),
            [...t.shape],
          )
        : null;
    });
  },

  flip: ({ params }, g) => [flip(g, params.axes)],

  gather: ({ inputs, params }, g) => {
    const [x, idx] = inputs as [Tensor, Tensor];
    return [scatterAdd(zerosOf(g, x.shape), idx, g, params.axis), null];
  },

  scatterAdd: ({ inputs, params, needs }, g) => {
    const idx = inputs[1]!;
    return [needs[0] ? g : null, null, needs[2] ? gather(g, idx, params.axis) : null];
  },

  // stats of x: the composite mean / biased variance, differentiated with ordinary ops.
  batchNormStats: ({ inputs, needs }, g) => compositeVjp('batchNorm', compositeStats, inputs, needs, g),

  // inputs (x, stats, weight?, bias?) with stats = batchNormStats(x) (src/tensor/ops/fused-nn.ts):
  // x's cotangent is the full one, through the statistics too, so stats gets none from here.
  batchNorm: ({ inputs, params, needs }, g) => {
    const [x, stats, w] = inputs as [Tensor, Tensor, Tensor | undefined];
    const dx = needs[0] ? batchNormBackward(x, stats, g, params.eps, w) : null;
    if (inputs.length === 2) return [dx, null];
    const pg = needs[2] || needs[3] ? batchNormParamGrad(x, stats, g, params.eps) : null;
    return [dx, null, pg && needs[2] ? statsRow(pg, 0) : null, pg && needs[3] ? statsRow(pg, 1) : null];
  },

  // Gradient primitives: their rules differentiate the composite formula (stats recomputed from x
  // with ordinary ops, so stats, a function of x, gets no cotangent of its own).
  batchNormBackward: ({ inputs, params, needs }, g) => {
    const [x, , gy, w] = inputs as [Tensor, Tensor, Tensor, Tensor | undefined];
    const f = (a: Tensor, b: Tensor, c?: Tensor) => compositeBackward(a, b, params.eps, c);
    const args = w === undefined ? [x, gy] : [x, gy, w];
    const d = compositeVjp('batchNorm', f, args, [needs[0]!, needs[2]!, ...(w === undefined ? [] : [needs[3]!])], g);
    return [d[0] ?? null, null, d[1] ?? null, ...(w === undefined ? [] : [d[2] ?? null])];
  },

  batchNormParamGrad: ({ inputs, params, needs }, g) => {
    const [x, , gy] = inputs as [Tensor, Tensor, Tensor];
    const f = (a: Tensor, b: Tensor) => compositeParamGrad(a, b, params.eps);
    const d = compositeVjp('batchNorm', f, [x, gy], [needs[0]!, needs[2]!], g);
    return [d[0] ?? null, null, d[1] ?? null];
  },

  leakyRelu: ({ inputs, params }, g) => [leakyReluBackward(inputs[0]!, g, params.slope)],

  // Linear in g; piecewise constant in x (zero gradient, as the composite where(x > 0, g, g slope)).
  leakyReluBackward: ({ inputs, params, needs }, g) => [
    null,
    needs[1] ? leakyReluBackward(inputs[0]!, g, params.slope) : null,
  ],

  randomUniform: () => [],
};

/** Applies the rule for `prim` and checks every returned cotangent has its input's shape. */
export function applyRule<P extends PrimitiveName>(prim: P, ctx: RuleContext<P>, g: Tensor): (Tensor | null)[] {
  const rule = gradRules[prim] as GradRule<P>;
  const grads = rule(ctx, g);
  grads.forEach((gi, i) => {
    const x = ctx.inputs[i]!;
    if (gi !== null && !shapesEqual(gi.shape, x.shape)) {
      fail(
        `grad(${prim})`,
        `rule returned a cotangent of shape ${fmtShape(gi.shape)} for an input of shape ${fmtShape(x.shape)}`,
      );
    }
  });
  return grads;
}
