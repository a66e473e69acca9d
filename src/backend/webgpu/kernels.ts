/**
 * The WebGPU kernel table: every primitive maps to a WGSL program builder (src/kernels/wgsl/*)
 * dispatched by the runtime. No CPU fallback: a kernel that cannot run says why.
 */

import { fail, fmtShape } from '../../errors.js';
import {
  batchNormBackwardProgram,
  batchNormProgram,
  type ChannelGeometry,
  channelFinishProgram,
  channelGeometry,
  channelPartialProgram,
  leakyReluProgram,
  type PartialKind,
  partialCount,
} from '../../kernels/wgsl/batchnorm.js';
import { checkNonZeroProgram } from '../../kernels/wgsl/check.js';
import { inputGradientColumns } from '../../kernels/wgsl/col2im.js';
import { conv2dBackwardFilterProgram, conv2dBackwardInputProgram, conv2dProgram } from '../../kernels/wgsl/conv.js';
import {
  binaryProgram,
  castProgram,
  compareProgram,
  unaryProgram,
  whereProgram,
} from '../../kernels/wgsl/elementwise.js';
import { gatherProgram, scatterAddPasses, scatterAddProgram } from '../../kernels/wgsl/indexing.js';
import { matmulProgram } from '../../kernels/wgsl/matmul.js';
import {
  concatPrograms,
  expandPlan,
  flipPlan,
  isContiguous,
  padProgram,
  permutePlan,
  type StridedPlan,
  slicePlan,
  stridedCopyProgram,
} from '../../kernels/wgsl/movement.js';
import { adamBindings, adamProgram } from '../../kernels/wgsl/optim.js';
import type { Program } from '../../kernels/wgsl/program.js';
import { randomUniformProgram } from '../../kernels/wgsl/random.js';
import { argReduceProgram, reduceSteps } from '../../kernels/wgsl/reduce.js';
import type { AdamKernelParams, KernelInput, KernelOutput, KernelTable } from '../../tensor/backend.js';
import type { DType } from '../../tensor/dtype.js';
import { currentPublicOp } from '../../tensor/ops/args.js';
import { sizeOf } from '../../tensor/shape.js';
import type { GpuData } from './buffers.js';
import type { WebGPURuntime } from './runtime.js';

const spec = (i: KernelInput | KernelOutput): { shape: readonly number[]; dtype: DType } => ({
  shape: i.shape,
  dtype: i.dtype,
});
const gpu = (i: KernelInput): GpuData => i.data as GpuData;

function assertFloat32(op: string, inputs: readonly KernelInput[]): void {
  for (const i of inputs) {
    if (i.dtype !== 'float32') {
      fail(op, `the WebGPU kernel takes float32 tensors, got ${i.dtype} of shape ${fmtShape(i.shape)}; cast first`);
    }
  }
}

/** Programs kept per runtime by `memo` (the map is emptied when full). */
const MAX_MEMO_PROGRAMS = 2048;

/** A cache key for a builder call: its kind, params and the input and output shapes and dtypes. */
function callKey(kind: string, inputs: readonly KernelInput[], params: unknown, out: KernelOutput): string {
  let k = `${kind}|${JSON.stringify(params)}|`;
  for (const i of inputs) k += `${i.dtype}[${i.shape.join(',')}]`;
  return `${k}>${out.dtype}[${out.shape.join(',')}]`;
}

export function webgpuKernels(rt: WebGPURuntime): KernelTable {
  const ctx = rt.ctx;

  /**
   * Builder results by call (callKey): the elementwise, reduce and matmul builders are pure
   * functions of the context, shapes and params (Program.uniforms included), so a training loop
   * that repeats its shapes builds each WGSL text once instead of at every op.
   */
  const programs = new Map<string, unknown>();
  const memo = <T>(key: string, build: () => T): T => {
    let v = programs.get(key) as T | undefined;
    if (v === undefined) {
      v = build();
      if (programs.size >= MAX_MEMO_PROGRAMS) programs.clear();
      programs.set(key, v);
    }
    return v;
  };
  const cached =
    <P>(
      kind: string,
      builder: (
        c: typeof ctx,
        i: { shape: readonly number[]; dtype: DType }[],
        p: P,
        o: { shape: readonly number[]; dtype: DType },
      ) => Program,
    ) =>
    (inputs: readonly KernelInput[], params: P, out: KernelOutput): Program =>
      memo(callKey(kind, inputs, params, out), () => builder(ctx, inputs.map(spec), params, spec(out)));
  const unaryP = cached('unary', unaryProgram);
  const binaryP = cached('binary', binaryProgram);
  const compareP = cached('compare', compareProgram);
  const whereP = cached('where', whereProgram);
  const castP = cached('cast', castProgram);
  const matmulP = cached('matmul', matmulProgram);

  /** Allocates the output and dispatches one program over all inputs. */
  const run = (op: string, program: Program, inputs: readonly KernelInput[], out: KernelOutput): GpuData => {
    const o = rt.alloc(sizeOf(out.shape) * 4, op);
    try {
      rt.dispatch(program, inputs.map(gpu), [o]);
    } catch (e) {
      rt.release(o);
      throw e;
    }
    return o;
  };

  const copyPlan = (op: string, x: KernelInput, plan: StridedPlan, out: KernelOutput): GpuData => {
    if (isContiguous(plan)) {
      const o = rt.alloc(plan.size * 4, op);
      rt.copy(gpu(x), plan.base * 4, o, 0, plan.size * 4);
      return o;
    }
    return run(op, stridedCopyProgram(ctx, op, plan), [x], out);
  };

  const outOfRange = (x: KernelInput, idx: KernelInput, axis: number): string =>
    `an index is out of range [0, ${x.shape[axis]}) for axis ${axis} (input shape ${fmtShape(x.shape)}, indices shape ${fmtShape(idx.shape)})`;
  /**
   * The error a device-side check reports at the next read-back: under the op the user called
   * (`take`, not `gather`), with `{detail}` (the offending index the kernel stores) in the text.
   */
  const deviceError = (prim: string, message: string): number => {
    const op = currentPublicOp() ?? prim;
    return rt.errorCode(op, op === prim ? message : `${message} (raised by ${prim})`);
  };
  const indexError = (prim: string, x: KernelInput, idx: KernelInput, axis: number): number =>
    deviceError(
      prim,
      `index {detail} is out of range for axis ${axis} of size ${x.shape[axis]} (input shape ${fmtShape(x.shape)}, indices shape ${fmtShape(idx.shape)})`,
    );

  /**
   * The batch-norm channel reductions (src/kernels/wgsl/batchnorm.ts): partial sums of `kind` into a
   * scratch buffer, then `finish` adding each channel's partials into `dst`.
   */
  const channelSums = (
    kind: PartialKind,
    finish: 'mean' | 'var' | 'both',
    geo: ChannelGeometry,
    eps: number,
    ins: readonly GpuData[],
    dst: GpuData,
  ): void => {
    const partial = memo(`bn-partial|${kind}|${geo.n},${geo.c},${geo.s}|${eps}`, () =>
      channelPartialProgram(ctx, kind, geo, eps),
    );
    const fin = memo(`bn-finish|${finish}|${geo.n},${geo.c},${geo.s}`, () => channelFinishProgram(ctx, finish, geo));
    const tmp = rt.alloc(2 * geo.c * partialCount(geo) * 4, 'batchNorm');
    try {
      rt.dispatch(partial, ins, [tmp]);
      rt.dispatch(fin, [tmp], [dst]);
    } finally {
      rt.release(tmp);
    }
  };
  /** Allocates `floats` output floats and fills them with `fill`, releasing them on an error. */
  const produce = (floats: number, op: string, fill: (o: GpuData) => void): GpuData => {
    const o = rt.alloc(floats * 4, op);
    try {
      fill(o);
    } catch (e) {
      rt.release(o);
      throw e;
    }
    return o;
  };

  return {
    batchNormStats: (inputs) => {
      assertFloat32('batchNorm', inputs);
      const x = inputs[0]!;
      const geo = channelGeometry(x.shape);
      return produce(2 * geo.c, 'batchNorm', (o) => {
        channelSums('sum', 'mean', geo, 0, [gpu(x)], o);
        channelSums('sq', 'var', geo, 0, [gpu(x), o], o);
      });
    },
    batchNorm: (inputs, params, out) => {
      assertFloat32('batchNorm', inputs);
      const geo = channelGeometry(inputs[0]!.shape);
      const affine = inputs.length === 4;
      const prog = memo(callKey('batchNorm', inputs, params, out), () =>
        batchNormProgram(ctx, geo, params.eps, affine),
      );
      return run('batchNorm', prog, inputs, out);
    },
    batchNormBackward: (inputs, params, out) => {
      assertFloat32('batchNorm', inputs);
      const [x, st, g, w] = inputs as [KernelInput, KernelInput, KernelInput, KernelInput | undefined];
      const geo = channelGeometry(x.shape);
      const prog = memo(callKey('batchNormBackward', inputs, params, out), () =>
        batchNormBackwardProgram(ctx, geo, params.eps, w !== undefined),
      );
      const sums = rt.alloc(2 * geo.c * 4, 'batchNorm');
      try {
        channelSums('grad', 'both', geo, params.eps, [gpu(x), gpu(st), gpu(g)], sums);
        const ins = [gpu(x), gpu(st), gpu(g), sums, ...(w === undefined ? [] : [gpu(w)])];
        return produce(sizeOf(out.shape), 'batchNorm', (o) => rt.dispatch(prog, ins, [o]));
      } finally {
        rt.release(sums);
      }
    },
    batchNormParamGrad: (inputs, params) => {
      assertFloat32('batchNorm', inputs);
      const geo = channelGeometry(inputs[0]!.shape);
      return produce(2 * geo.c, 'batchNorm', (o) => channelSums('param', 'both', geo, params.eps, inputs.map(gpu), o));
    },
    leakyRelu: (inputs, params, out) => {
      assertFloat32('leakyRelu', inputs);
      const prog = memo(callKey('leakyRelu', inputs, params, out), () =>
        leakyReluProgram(ctx, sizeOf(out.shape), params.slope, false),
      );
      return run('leakyRelu', prog, inputs, out);
    },
    leakyReluBackward: (inputs, params, out) => {
      assertFloat32('leakyReluBackward', inputs);
      const prog = memo(callKey('leakyReluBackward', inputs, params, out), () =>
        leakyReluProgram(ctx, sizeOf(out.shape), params.slope, true),
      );
      return run('leakyReluBackward', prog, inputs, out);
    },
    unary: (inputs, params, out) => run(params.op, unaryP(inputs, params, out), inputs, out),
    binary: (inputs, params, out) => {
      const divisor = inputs[1]!;
      if (params.op === 'div' && divisor.dtype === 'int32' && sizeOf(divisor.shape) > 0) {
        // Integer division by zero is an error (as on the CPU backend), reported at the next read-back.
        const n = sizeOf(divisor.shape);
        const code = deviceError(
          'div',
          `integer division by zero: the int32 divisor of shape ${fmtShape(divisor.shape)} holds 0 at flat index {detail} (PyTorch raises here too; cast to float for IEEE inf/NaN)`,
        );
        rt.dispatch(checkNonZeroProgram(ctx, n, code), [gpu(divisor)], []);
      }
      return run(params.op, binaryP(inputs, params, out), inputs, out);
    },
    compare: (inputs, params, out) => run(params.op, compareP(inputs, params, out), inputs, out),
    where: (inputs, params, out) => run('where', whereP(inputs, params, out), inputs, out),
    cast: (inputs, params, out) => {
      if (inputs[0]!.dtype === params.dtype)
        return copyPlan('cast', inputs[0]!, { shape: [], strides: [], base: 0, size: sizeOf(out.shape) }, out);
      return run('cast', castP(inputs, params, out), inputs, out);
    },
    reduce: (inputs, params, out) => {
      const { steps, partials } = memo(callKey('reduce', inputs, params, out), () =>
        reduceSteps(ctx, inputs.map(spec), params, spec(out)),
      );
      if (steps.length === 1) return run(params.op, steps[0]!.program, inputs, out);
      const o = rt.alloc(sizeOf(out.shape) * 4, params.op);
      const tmp = rt.alloc(partials * 4, params.op);
      try {
        for (const st of steps) {
          rt.dispatch(st.program, [st.src === 'input' ? gpu(inputs[0]!) : tmp], [st.dst === 'output' ? o : tmp]);
        }
      } catch (e) {
        rt.release(o);
        throw e;
      } finally {
        rt.release(tmp);
      }
      return o;
    },
    argReduce: (inputs, params, out) =>
      run(params.op, argReduceProgram(ctx, inputs.map(spec), params, spec(out)), inputs, out),
    matmul: (inputs, params, out) => {
      assertFloat32('matmul', inputs);
      return run('matmul', matmulP(inputs, params, out), inputs, out);
    },
    conv2d: (inputs, params, out) => {
      assertFloat32('conv2d', inputs);
      return run('conv2d', conv2dProgram(ctx, inputs.map(spec), params, spec(out)), inputs, out);
    },
    conv2dBackwardInput: (inputs, params, out) => {
      assertFloat32('conv2dBackwardInput', inputs);
      const cols = memo(callKey('conv2dBackwardInput|cols', inputs, params, out), () =>
        inputGradientColumns(ctx, inputs.map(spec), params),
      );
      if (cols !== undefined) {
        // Few channels: a column matmul, then col2im (src/kernels/wgsl/col2im.ts).
        const tmp = rt.alloc(cols.columnFloats * 4, 'conv2dBackwardInput');
        try {
          rt.dispatch(cols.gemm, inputs.map(gpu), [tmp]);
          return produce(sizeOf(out.shape), 'conv2dBackwardInput', (o) => rt.dispatch(cols.col2im, [tmp], [o]));
        } finally {
          rt.release(tmp);
        }
      }
      return run(
        'conv2dBackwardInput',
        conv2dBackwardInputProgram(ctx, inputs.map(spec), params, spec(out)),
        inputs,
        out,
      );
    },
    conv2dBackwardFilter: (inputs, params, out) => {
      assertFloat32('conv2dBackwardFilter', inputs);
      return run(
        'conv2dBackwardFilter',
        conv2dBackwardFilterProgram(ctx, inputs.map(spec), params, spec(out)),
        inputs,
        out,
      );
    },
    permute: (inputs, params, out) => copyPlan('permute', inputs[0]!, permutePlan(spec(inputs[0]!), params, out), out),
    expand: (inputs, params, out) => copyPlan('expand', inputs[0]!, expandPlan(spec(inputs[0]!), params, out), out),
    slice: (inputs, params, out) => copyPlan('slice', inputs[0]!, slicePlan(spec(inputs[0]!), params, out), out),
    flip: (inputs, params, out) => copyPlan('flip', inputs[0]!, flipPlan(spec(inputs[0]!), params, out), out),
    pad: (inputs, params, out) => run('pad', padProgram(ctx, inputs.map(spec), params, spec(out)), inputs, out),
    concat: (inputs, params, out) => {
      const o = rt.alloc(sizeOf(out.shape) * 4, 'concat');
      try {
        const outer = sizeOf(out.shape.slice(0, params.axis));
        if (outer === 1) {
          // Each input is one contiguous block of the output.
          let at = 0;
          for (const t of inputs) {
            const bytes = sizeOf(t.shape) * 4;
            rt.copy(gpu(t), 0, o, at, bytes);
            at += bytes;
          }
          return o;
        }
        const maxInputs = Math.max(1, Math.min(8, rt.limits.maxStorageBuffersPerShaderStage - 1));
        for (const part of concatPrograms(ctx, inputs.map(spec), params, spec(out), maxInputs)) {
          rt.dispatch(
            part.program,
            part.inputs.map((i) => gpu(inputs[i]!)),
            [o],
          );
        }
      } catch (e) {
        rt.release(o);
        throw e;
      }
      return o;
    },
    gather: (inputs, params, out) => {
      const [x, idx] = inputs as [KernelInput, KernelInput];
      if (x.shape[params.axis] === 0 && sizeOf(idx.shape) > 0) fail('gather', outOfRange(x, idx, params.axis));
      const code = indexError('gather', x, idx, params.axis);
      return run('gather', gatherProgram(ctx, inputs.map(spec), { ...params, code }, spec(out)), inputs, out);
    },
    scatterAdd: (inputs, params, out) => {
      const [base, idx] = inputs as [KernelInput, KernelInput];
      if (base.shape[params.axis] === 0 && sizeOf(idx.shape) > 0) {
        fail('scatterAdd', outOfRange(base, idx, params.axis));
      }
      const code = indexError('scatterAdd', base, idx, params.axis);
      // Passes over chunks of the index axis, each adding onto the previous pass's output.
      const passes = scatterAddPasses(idx.shape[params.axis]!);
      const specs = inputs.map(spec);
      let acc = gpu(base);
      for (const [jStart, jEnd] of passes) {
        const o = rt.alloc(sizeOf(out.shape) * 4, 'scatterAdd');
        try {
          const prog = scatterAddProgram(ctx, specs, { ...params, code, jStart, jEnd }, spec(out));
          rt.dispatch(prog, [acc, gpu(idx), gpu(inputs[2]!)], [o]);
        } catch (e) {
          rt.release(o);
          if (acc !== gpu(base)) rt.release(acc);
          throw e;
        }
        if (acc !== gpu(base)) rt.release(acc);
        acc = o;
      }
      return acc;
    },
    randomUniform: (inputs, params, out) =>
      run('randomUniform', randomUniformProgram(ctx, inputs.map(spec), params, spec(out)), inputs, out),
  };
}

/**
 * The fused Adam update (src/kernels/wgsl/optim.ts) for one float32 parameter: inputs p, g, m, v
 * (, vmax), all of `size` elements; returns new buffers p', m', v' (, vmax'), or undefined when the
 * device cannot bind that many storage buffers (the caller then runs the ops one by one).
 */
export function webgpuFusedAdam(
  rt: WebGPURuntime,
  inputs: readonly GpuData[],
  size: number,
  params: AdamKernelParams,
): GpuData[] | undefined {
  const b = adamBindings(params.amsgrad);
  if (inputs.length !== b.inputs) fail('adam', `internal: the fused update takes ${b.inputs} inputs`);
  if (b.inputs + b.outputs > rt.limits.maxStorageBuffersPerShaderStage) return undefined;
  const program = adamProgram(rt.ctx, size, params);
  const outs: GpuData[] = [];
  try {
    for (let i = 0; i < b.outputs; i++) outs.push(rt.alloc(size * 4, 'adam'));
    rt.dispatch(program, inputs, outs);
  } catch (e) {
    for (const o of outs) rt.release(o);
    throw e;
  }
  return outs;
}
