/**
 * Bad input in every op family raises a TesseraError whose message names the op and the shapes
 * (or dtypes / axes) involved.
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import * as T from '../../src/index.js';

/** Asserts `fn` throws a TesseraError for `op` whose message matches every pattern. */
function expectError(fn: () => unknown, op: string, ...patterns: (string | RegExp)[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${op} to throw`).toBeInstanceOf(T.TesseraError);
  const err = caught as T.TesseraError;
  expect(err.op).toBe(op);
  expect(err.message.startsWith(`${op}: `)).toBe(true);
  for (const p of patterns) {
    if (typeof p === 'string') expect(err.message).toContain(p);
    else expect(err.message).toMatch(p);
  }
}

const z = (shape: number[], dtype: T.DType = 'float32') => T.zeros(shape, dtype);

describe('shape mismatches name the op and the shapes', () => {
  it('binary broadcasting', () => {
    expectError(() => T.add(z([2, 3]), z([4])), 'add', '[2,3]', '[4]', 'cannot be broadcast');
    expectError(() => T.mul(z([2, 3, 4]), z([3, 3, 4])), 'mul', '[2,3,4]', '[3,3,4]');
    expectError(() => T.maximum(z([5]), z([2, 4])), 'maximum', '[5]', '[2,4]');
    expectError(() => T.lt(z([2]), z([3])), 'lt', '[2]', '[3]');
    expectError(() => T.where(T.tensor([true, false]), z([3]), z([3])), 'where', '[2]', '[3]');
    expectError(() => T.broadcastTo(z([3]), [4]), 'broadcastTo', '[3]', '[4]');
    expectError(() => T.broadcastTo(z([2, 3]), [3]), 'broadcastTo', '[2,3]', '[3]');
  });

  it('matmul inner dimensions and batch axes', () => {
    expectError(() => T.matmul(z([2, 3]), z([4, 5])), 'matmul', '[2,3]', '[4,5]', '3 vs 4');
    expectError(() => T.matmul(z([2, 3]), z([2, 3]), { transB: false }), 'matmul', '[2,3]', '3 vs 2');
    expectError(() => T.matmul(z([3, 2]), z([4, 5]), { transA: true }), 'matmul', '[3,2]^T', '[4,5]');
    expectError(() => T.matmul(z([2, 2, 3]), z([3, 3, 1])), 'matmul', '[2]', '[3]');
    expectError(() => T.matmul(z([]), z([3])), 'matmul', '[]', '[3]');
    expectError(() => T.dot(z([2, 2]), z([2])), 'dot', '[2,2]', '[2]');
  });

  it('conv channel mismatch, bad geometry, too-small input', () => {
    expectError(() => T.conv2d(z([1, 3, 5, 5]), z([2, 4, 3, 3])), 'conv2d', '[2,4,3,3]', '[1,3,5,5]', 'input channels');
    expectError(() => T.conv2d(z([1, 3, 5, 5]), z([2, 1, 3, 3]), { groups: 2 }), 'conv2d', 'divisible by groups 2');
    expectError(() => T.conv2d(z([1, 1, 2, 2]), z([1, 1, 3, 3])), 'conv2d', '[1,1,2,2]', 'too small', '3x3');
    expectError(() => T.conv2d(z([1, 5, 5]), z([1, 1, 3, 3])), 'conv2d', 'input must be 4-D', '[1,5,5]');
    expectError(() => T.conv2d(z([1, 1, 5, 5]), z([1, 1, 3, 3]), { stride: 0 }), 'conv2d', 'stride');
    expectError(() => T.conv2d(z([1, 1, 5, 5]), z([1, 1, 3, 3], 'float64')), 'conv2d', 'float32', 'float64');
    expectError(
      () => T.conv2dBackwardInput(z([1, 2, 3, 3]), z([2, 1, 3, 3]), [1, 1, 4, 4]),
      'conv2dBackwardInput',
      '[1,2,3,3]',
      '[1,1,4,4]',
    );
    expectError(
      () => T.conv2dBackwardFilter(z([1, 1, 4, 4]), z([1, 2, 3, 3]), [2, 1, 3, 3]),
      'conv2dBackwardFilter',
      '[1,1,4,4]',
      '[1,2,3,3]',
      '[2,1,3,3]',
    );
    expectError(() => T.convTranspose2d(z([1, 3, 2, 2]), z([2, 1, 3, 3])), 'convTranspose2d', '[2,1,3,3]', '[1,3,2,2]');
    expectError(
      () => T.convTranspose2d(z([1, 1, 2, 2]), z([1, 1, 3, 3]), { outputPadding: 1 }),
      'convTranspose2d',
      'outputPadding',
    );
    expectError(() => T.maxPool2d(z([2, 2]), 2), 'maxPool2d', '[2,2]');
    expectError(() => T.avgPool2d(z([1, 1, 4, 4]), 2, { padding: 2 }), 'avgPool2d', 'padding');
  });

  it('concat, stack, split, reshape size, permute, squeeze, slice, pad, tile, repeat', () => {
    expectError(() => T.concat([z([2, 3]), z([2, 4])], 0), 'concat', '[2,3]', '[2,4]', 'axis 0');
    expectError(() => T.concat([z([2, 3]), z([2, 3, 1])], 1), 'concat', '[2,3]', '[2,3,1]');
    expectError(() => T.concat([z([2]), z([2], 'float64')]), 'concat', 'float32', 'float64');
    expectError(() => T.concat([]), 'concat', 'at least one');
    expectError(() => T.stack([z([2]), z([3])]), 'stack', '[2]', '[3]');
    expectError(() => T.split(z([5]), 2), 'split', 'size 5', '2 equal parts');
    expectError(() => T.split(z([5]), [2, 2]), 'split', '[2,2]', 'summing to 5', '[5]');
    expectError(() => T.reshape(z([2, 3]), [4, 2]), 'reshape', '[2,3]', '[4,2]', '6 elements', '8 elements');
    expectError(() => T.reshape(z([2, 3]), [4, -1]), 'reshape', '[2,3]', '[4,-1]');
    expectError(() => T.reshape(z([2, 3]), [-1, -1]), 'reshape', '[-1,-1]');
    expectError(() => T.permute(z([2, 3]), [0]), 'permute', '[0]', '[2,3]');
    expectError(() => T.permute(z([2, 3]), [1, 1]), 'permute', 'not a permutation');
    expectError(() => T.squeeze(z([2, 1]), 0), 'squeeze', '[2,1]', 'size 2');
    expectError(() => T.slice(z([3]), [5]), 'slice', 'index 5', 'size 3');
    expectError(() => T.slice(z([3]), [null, null]), 'slice', '[3]', 'rank 1');
    expectError(() => T.slice(z([3]), [[0, 3, 0]]), 'slice', 'step');
    expectError(() => T.pad(z([3]), [[-1, 0]]), 'pad', 'non-negative', '[-1,0]');
    expectError(() => T.tile(z([3]), [-1]), 'tile', '[-1]');
    expectError(() => T.repeat(z([3]), -1, 0), 'repeat', '-1');
  });

  it('gather / scatter: out-of-range indices, non-int32 indices, shape mismatch', () => {
    const x = z([3, 2]);
    expectError(() => T.gather(x, T.tensor([[5, 0]], { dtype: 'int32' }), 0), 'gather', 'index 5', 'size 3', '[3,2]');
    expectError(() => T.gather(x, T.tensor([[-1, 0]], { dtype: 'int32' }), 0), 'gather', 'index -1', '[3,2]');
    expectError(() => T.gather(x, T.tensor([[1, 0]]), 0), 'gather', 'int32', 'float32', '[1,2]');
    expectError(() => T.gather(x, T.tensor([[1, 0, 0]], { dtype: 'int32' }), 0), 'gather', '[1,3]', '[3,2]');
    // issue 14: the error names the op the user called (take), not the internal gather.
    expectError(() => T.take(T.zeros([4]), T.tensor([4], { dtype: 'int32' })), 'take', 'index 4', 'size 4');
    expectError(() => T.take(T.zeros([4]), T.tensor([1.5])), 'take', 'int32', 'float32');
    expectError(
      () => T.scatterAdd(z([3]), T.tensor([3], { dtype: 'int32' }), z([1]), 0),
      'scatterAdd',
      'index 3',
      'size 3',
      '[3]',
    );
    expectError(
      () => T.scatterAdd(z([3]), T.tensor([0, 1], { dtype: 'int32' }), z([3]), 0),
      'scatterAdd',
      '[2]',
      '[3]',
    );
    expectError(
      () => T.scatterAdd(z([3]), T.tensor([0], { dtype: 'int32' }), z([1], 'float64'), 0),
      'scatterAdd',
      'float64',
      'float32',
    );
    expectError(() => T.indexAdd(z([3]), 0, T.tensor([[0]], { dtype: 'int32' }), z([1])), 'indexAdd', '[1,1]');
    expectError(() => T.oneHot(T.tensor([1]), 3), 'oneHot', 'int32');
    expectError(() => T.crossEntropy(z([2, 3]), T.tensor([0, 1, 2], { dtype: 'int32' })), 'crossEntropy', '[2]', '[3]');
  });
});

describe('axes, sizes, dtypes, disposed tensors', () => {
  it('bad axis', () => {
    expectError(() => T.sum(z([2, 3]), 2), 'sum', 'axis 2', 'rank 2', '[-2, 1]');
    expectError(() => T.max(z([2, 3]), -3), 'max', 'axis -3');
    expectError(() => T.mean(z([2]), [0, 0]), 'mean', 'repeat');
    expectError(() => T.sum(z([2]), 0.5), 'sum', 'axis 0.5');
    expectError(() => T.argmax(z([2]), 1), 'argmax', 'axis 1', 'rank 1');
    expectError(() => T.concat([z([2]), z([2])], 1), 'concat', 'axis 1');
    expectError(() => T.softmax(z([2]), 3), 'softmax', 'axis 3', 'rank 1');
    expectError(() => T.logSoftmax(z([2, 2]), -3), 'logSoftmax', 'axis -3');
    expectError(() => T.logsumexp(z([2]), [0, 1]), 'logsumexp', 'axis 1');
    expectError(() => T.variance(z([2]), 1), 'variance', 'axis 1');
    expectError(() => T.max(z([0, 2]), 0), 'max', 'empty axis 0', '[0,2]');
  });

  it('negative or non-integer sizes', () => {
    expectError(() => T.zeros([-1, 2]), 'zeros', '[-1,2]', 'non-negative integers');
    expectError(() => T.ones([1.5]), 'ones', '[1.5]');
    expectError(() => T.full([2, -3], 1), 'full', '[2,-3]');
    expectError(() => T.eye(-2), 'eye', '[-2,-2]');
    expectError(() => T.linspace(0, 1, -1), 'linspace', '-1');
    expectError(() => T.arange(0, 1, 0), 'arange', 'step');
    expectError(() => T.tensor([1, 2, 3], { shape: [2, 2] }), 'tensor', '[2,2]', '4 values', 'got 3');
    expectError(() => T.tensor([[1, 2], [3]]), 'tensor', 'ragged');
    expectError(() => T.uniform([-2]), 'uniform', '[-2]');
  });

  it('dtype mismatches', () => {
    expectError(() => T.add(z([2]), z([2], 'float64')), 'add', 'float32 [2]', 'float64 [2]');
    expectError(() => T.matmul(z([2, 2]), z([2, 2], 'float64')), 'matmul', 'float32', 'float64');
    expectError(() => T.matmul(z([2, 2], 'int32'), z([2, 2], 'int32')), 'matmul', 'int32');
    expectError(() => T.where(T.tensor([1]), z([1]), z([1])), 'where', 'bool', 'float32', '[1]');
    expectError(() => T.where(T.tensor([true]), z([1]), z([1], 'float64')), 'where', 'float32', 'float64');
    expectError(() => T.exp(z([2], 'int32')), 'exp', 'int32', '[2]');
    expectError(() => T.pow(z([2], 'int32'), z([2], 'int32')), 'pow', 'int32');
    expectError(() => T.add(z([2], 'bool'), z([2], 'bool')), 'add', 'bool');
    expectError(() => T.add(z([2], 'int32'), 1.5), 'add', '1.5', 'int32');
    expectError(() => T.mean(z([2], 'int32')), 'mean', 'int32');
    expectError(() => T.max(T.tensor([true])), 'max', 'bool');
  });

  it('unknown dtypes (from JavaScript callers) are named, with the valid list', () => {
    const bad = 'float16' as unknown as T.DType;
    expectError(() => T.zeros([2], bad), 'zeros', '"float16"', 'float32, float64, int32, bool');
    expectError(() => T.zeros([2], { dtype: 'float64' } as unknown as T.DType), 'zeros', 'unknown dtype');
    expectError(() => T.full([2], 1, bad), 'full', 'float16');
    expectError(() => T.arange(3, undefined, 1, bad), 'arange', 'float16');
    expectError(() => T.eye(2, 2, bad), 'eye', 'float16');
    expectError(() => T.tensor([1, 2], { dtype: bad }), 'tensor', 'float16');
    expectError(() => T.cast(z([2]), bad), 'cast', 'float16');
  });

  it('using a disposed tensor names the op and the tensor', () => {
    const x = T.tensor([1, 2]);
    const y = T.tensor([3, 4]);
    x.dispose();
    expect(x.isDisposed).toBe(true);
    expectError(() => T.add(x, y), 'add', 'already disposed', '[2]', 'float32');
    expectError(() => T.exp(x), 'exp', 'already disposed');
    expectError(() => T.sum(x), 'sum', 'already disposed');
    const m = T.zeros([2, 2]);
    m.dispose();
    expectError(() => T.matmul(m, m), 'matmul', 'already disposed', '[2,2]');
    expectError(() => x.dataSync(), 'dataSync', 'already disposed', '[2]');
    expectError(() => T.reshape(x, [2, 1]), 'reshape', 'already disposed');
    expect(() => x.dispose()).not.toThrow();
    y.dispose();
  });

  it('gradients: non-scalar output, non-float target, mismatched cotangent', () => {
    const x = T.tensor([1, 2]);
    expectError(() => T.grad((t: Tensor) => t.square())(x), 'grad', 'one element', '[2]');
    expectError(() => T.grad((t: Tensor) => t.sum(), { argnums: [0, 3] })(x), 'grad', 'argnums 3');
    expectError(
      () => T.grad((t: Tensor) => t.cast('float32').sum())(T.tensor([1], { dtype: 'int32' })),
      'grad',
      'int32',
      '[1]',
    );
    T.tidy(() => {
      const [, vjpFn] = T.vjp((t: Tensor) => t.mul(2), x);
      expectError(() => vjpFn(T.tensor([1, 2, 3])), 'backward', '[3]', '[2]');
    });
    x.dispose();
  });

  it('tidy rejects async functions', () => {
    expectError(() => T.tidy(() => Promise.resolve(1)), 'tidy', 'Promise');
  });
});
