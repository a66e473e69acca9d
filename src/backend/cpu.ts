// The CPU backend: typed-array storage, the kernel table of src/kernels/cpu and the fused Adam.
import { fail } from '../errors.js';
import {
  batchNorm,
  batchNormBackward,
  batchNormParamGrad,
  batchNormStats,
  leakyRelu,
  leakyReluBackward,
} from '../kernels/cpu/batchnorm.js';
import { conv2d, conv2dBackwardFilter, conv2dBackwardInput } from '../kernels/cpu/conv.js';
import { binary, cast, compare, unary, where } from '../kernels/cpu/elementwise.js';
import { gather, scatterAdd } from '../kernels/cpu/indexing.js';
import { matmul } from '../kernels/cpu/matmul.js';
import { concat, expand, flip, pad, permute, slice } from '../kernels/cpu/movement.js';
import { cpuFusedAdam } from '../kernels/cpu/optim.js';
import { randomUniform } from '../kernels/cpu/random.js';
import { argReduce, reduce } from '../kernels/cpu/reduce.js';
import { pooledOutputBytes, recycle } from '../kernels/cpu/util.js';
import type { Backend, KernelTable } from '../tensor/backend.js';
import type { DType, TypedArray } from '../tensor/dtype.js';
import { registerBackend } from '../tensor/engine.js';

const kernels: KernelTable = {
  unary,
  binary,
  compare,
  where,
  cast,
  reduce,
  argReduce,
  matmul,
  conv2d,
  conv2dBackwardInput,
  conv2dBackwardFilter,
  permute,
  expand,
  slice,
  pad,
  concat,
  flip,
  gather,
  scatterAdd,
  randomUniform,
  batchNormStats,
  batchNorm,
  batchNormBackward,
  batchNormParamGrad,
  leakyRelu,
  leakyReluBackward,
};

let bytesInUse = 0;
let buffers = 0;

/** Wraps each kernel so its output counts as a live buffer until release(). */
function counted(table: KernelTable): KernelTable {
  const out: Record<string, unknown> = {};
  for (const [name, k] of Object.entries(table)) {
    out[name] = (...args: unknown[]) => {
      const r = (k as (...a: unknown[]) => TypedArray)(...args);
      bytesInUse += r.byteLength;
      buffers++;
      return r;
    };
  }
  return out as unknown as KernelTable;
}

/**
 * The reference backend: plain TypeScript over typed arrays, float32 and float64. It registers
 * itself with the engine on import and is the backend new tensors are created on until
 * `setBackend` picks another.
 */
export const cpuBackend: Backend = {
  name: 'cpu',
  description: 'CPU (TypeScript)',
  kernels: counted(kernels),
  /** The fused Adam update (float32): see src/kernels/cpu/optim.ts. */
  fusedAdam(inputs, size, params) {
    const outs = cpuFusedAdam(inputs as readonly Float32Array[], size, params);
    for (const o of outs) {
      bytesInUse += o.byteLength;
      buffers++;
    }
    return outs;
  },
  supportsDType: () => true,
  fromArray(data: TypedArray) {
    bytesInUse += data.byteLength;
    buffers++;
    return data;
  },
  read(data) {
    return Promise.resolve((data as TypedArray).slice());
  },
  readSync(data) {
    return (data as TypedArray).slice();
  },
  release(data) {
    bytesInUse -= (data as TypedArray).byteLength;
    buffers--;
    recycle(data as TypedArray);
  },
  memory: () => ({ bytesInUse, bytesPooled: pooledOutputBytes(), buffers }),
  checkFinite(data, _dtype: DType, _size, label) {
    const a = data as TypedArray;
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i]!)) {
        fail('checkNumerics', `${label} produced ${Number.isNaN(a[i]!) ? 'NaN' : 'Inf'} at element ${i}`);
      }
    }
  },
  sync: () => Promise.resolve(),
  destroy: () => {},
  destroyed: false,
};

registerBackend(cpuBackend);
