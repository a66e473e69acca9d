/**
 * The WebGPU kernel table: every primitive maps to a WGSL program builder (src/kernels/wgsl/*)
 * dispatched by the runtime. No CPU fallback: a kernel that cannot run says why.
 */
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
import { randomUniformProgram } from '../../kernels/wgsl/random.js';
import { argReduceProgram, reduceSteps } from '../../kernels/wgsl/reduce.js';
import type { DType } from '../../tensor/dtype.js';
import { fail, fmtShape } from '../../tensor/errors.js';
import type { KernelInput, KernelOutput, KernelTable } from '../backend.js';
import type { Program } from './program.js';
import type { GpuData, WebGPURuntime } from './runtime.js';

const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
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

export function webgpuKernels(rt: WebGPURuntime): KernelTable {
  const ctx = rt.ctx;

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

  return {
    unary: (inputs, params, out) => run(params.op, unaryProgram(ctx, inputs.map(spec), params, spec(out)), inputs, out),
    binary: (inputs, params, out) =>
      run(params.op, binaryProgram(ctx, inputs.map(spec), params, spec(out)), inputs, out),
    compare: (inputs, params, out) =>
      run(params.op, compareProgram(ctx, inputs.map(spec), params, spec(out)), inputs, out),
    where: (inputs, params, out) => run('where', whereProgram(ctx, inputs.map(spec), params, spec(out)), inputs, out),
    cast: (inputs, params, out) => {
      if (inputs[0]!.dtype === params.dtype)
        return copyPlan('cast', inputs[0]!, { shape: [], strides: [], base: 0, size: sizeOf(out.shape) }, out);
      return run('cast', castProgram(ctx, inputs.map(spec), params, spec(out)), inputs, out);
    },
    reduce: (inputs, params, out) => {
      const { steps, partials } = reduceSteps(ctx, inputs.map(spec), params, spec(out));
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
      return run('matmul', matmulProgram(ctx, inputs.map(spec), params, spec(out)), inputs, out);
    },
    conv2d: (inputs, params, out) => {
      assertFloat32('conv2d', inputs);
      return run('conv2d', conv2dProgram(ctx, inputs.map(spec), params, spec(out)), inputs, out);
    },
    conv2dBackwardInput: (inputs, params, out) => {
      assertFloat32('conv2dBackwardInput', inputs);
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
      const code = rt.errorCode('gather', outOfRange(x, idx, params.axis));
      return run('gather', gatherProgram(ctx, inputs.map(spec), { ...params, code }, spec(out)), inputs, out);
    },
    scatterAdd: (inputs, params, out) => {
      const [base, idx] = inputs as [KernelInput, KernelInput];
      if (base.shape[params.axis] === 0 && sizeOf(idx.shape) > 0) {
        fail('scatterAdd', outOfRange(base, idx, params.axis));
      }
      const code = rt.errorCode('scatterAdd', outOfRange(base, idx, params.axis));
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
