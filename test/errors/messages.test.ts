/**
 * issue 14, "Unhelpful errors": RangeErrors and TypeErrors from inside the library, messages that
 * name the wrong problem, and errors raised by an internal op (gather, scatterAdd, mul, max,
 * uniform) that must name the op the user called. Also what softmax / logsumexp return over an
 * empty axis (PyTorch: an empty tensor, and -inf).
 */
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import * as T from '../../src/index.js';
import { expectTesseraError } from './expect-error.js';

const t = (): T.Tensor =>
  T.tensor([
    [1, 2],
    [3, 4],
  ]);
const i32 = (v: number[]): T.Tensor => T.tensor(v, { dtype: 'int32' });
const loose = <V>(v: unknown): V => v as V;

describe('no RangeError or TypeError from inside the library', () => {
  it('zeros([1e6, 1e6])', () => {
    expectTesseraError(() => T.zeros([1e6, 1e6]), 'zeros', '1000000000000 elements', '2147483647');
  });
  it('arange(0, Infinity)', () => {
    expectTesseraError(() => T.arange(0, Number.POSITIVE_INFINITY), 'arange', 'stop', 'finite');
  });
  it('concat([t, [1, 2]])', () => {
    expectTesseraError(() => T.concat([t(), loose<T.Tensor>([1, 2])]), 'concat', 'xs[1] must be a Tensor', 'an array');
  });
  it("concat('ab')", () => {
    expectTesseraError(() => T.concat(loose<T.Tensor[]>('ab')), 'concat', 'must be an array of tensors', '"ab"');
  });
  it('mean(t, "1")', () => {
    expectTesseraError(() => T.mean(t(), loose<number>('1')), 'mean', 'axis must be an integer or an array', '"1"');
  });
  it('sum(t, ["0"])', () => {
    expectTesseraError(() => T.sum(t(), loose<number[]>(['0'])), 'sum', 'axis "0" must be an integer');
  });
  it('matmul(t, [[1, 2]]) (was "dtypes differ: float32 and undefined")', () => {
    expectTesseraError(() => T.matmul(t(), loose<T.Tensor>([[1, 2]])), 'matmul', 'b must be a Tensor', 'tensor()');
  });
  it('matmul(undefined, t)', () => {
    expectTesseraError(() => T.matmul(loose<T.Tensor>(undefined), t()), 'matmul', 'a must be a Tensor, got undefined');
  });
  it('reshape(t, "4")', () => {
    expectTesseraError(() => T.reshape(t(), loose<number[]>('4')), 'reshape', 'shape must be an array', '"4"');
  });
  it('exp("x")', () => {
    expectTesseraError(() => T.exp(loose<T.Tensor>('x')), 'exp', 'expected a tensor, number or array', '"x"');
  });
  it('a method on a disposed tensor', () => {
    const x = t();
    x.dispose();
    expectTesseraError(() => x.sum(), 'sum', 'already disposed');
  });
});

describe('messages that named the wrong problem', () => {
  it('slice(t, [1.5]) says the index must be an integer (was "out of range")', () => {
    expectTesseraError(() => T.slice(t(), [1.5]), 'slice', 'index 1.5 on axis 0 must be an integer');
  });
  it("slice(t, ['1:2']) says strings are not parsed (was about the step)", () => {
    expectTesseraError(
      () => T.slice(t(), [loose<number>('1:2')]),
      'slice',
      'spec[0] must be null, an integer index or [start, stop, step]',
      '"1:2"',
    );
  });
  it('slice(t, [[0.5, 2]])', () => {
    expectTesseraError(() => T.slice(t(), [[0.5, 2]]), 'slice', 'bounds must be integers', '0.5');
  });
  it('softmax of an int32 tensor names softmax and the dtype (was lt and Infinity)', () => {
    expectTesseraError(() => T.softmax(i32([1, 2])), 'softmax', 'expected a float32 or float64 tensor', 'int32', '[2]');
  });
  it('logSoftmax of a bool tensor', () => {
    expectTesseraError(() => T.logSoftmax(T.tensor([true])), 'logSoftmax', 'bool');
  });
  it('softmax(scalar) says a scalar has no axes (was "an integer in [0, -1]")', () => {
    expectTesseraError(() => T.softmax(T.scalar(1)), 'softmax', 'axis -1 does not exist', 'rank 0');
  });
  it('sum(scalar, 0)', () => {
    expectTesseraError(() => T.sum(T.scalar(1), 0), 'sum', 'axis 0 does not exist', 'scalar');
  });
  it('the in-range message is unchanged for rank >= 1', () => {
    expectTesseraError(() => T.sum(t(), 2), 'sum', 'axis 2 is out of range', '[-2, 1]');
  });
});

describe('errors of internal ops name the op the user called', () => {
  it('take (was gather)', () => {
    expectTesseraError(() => T.take(t(), i32([5])), 'take', 'index 5', 'size 2', 'raised by gather');
  });
  it('indexAdd (was scatterAdd)', () => {
    expectTesseraError(() => T.indexAdd(t(), 0, i32([5]), T.ones([1, 2])), 'indexAdd', 'index 5', 'size 2');
  });
  it('indexAdd with a src of the wrong size', () => {
    expectTesseraError(() => T.indexAdd(t(), 0, i32([0]), T.ones([3, 2])), 'indexAdd', 'src [3,2]', '1 entries');
  });
  it('crossEntropy with a label out of range (was gather)', () => {
    expectTesseraError(() => T.crossEntropy(t(), i32([5, 0])), 'crossEntropy', 'label 5 of row 0', '[0, 2)', '[2,2]');
  });
  it('binaryCrossEntropyWithLogits with float64 targets (was mul)', () => {
    expectTesseraError(
      () => T.binaryCrossEntropyWithLogits(t(), T.zeros([2, 2], 'float64')),
      'binaryCrossEntropyWithLogits',
      'float32',
      'float64',
    );
  });
  it('logsumexp of an int32 tensor (was max / lt)', () => {
    expectTesseraError(() => T.logsumexp(i32([1, 2])), 'logsumexp', 'int32');
  });
  it('normal with a bad shape (was uniform)', () => {
    expectTesseraError(() => new T.Generator(1).normal([-1]), 'normal', 'non-negative integers');
  });
  it('dot of float32 and float64 (was matmul)', () => {
    expectTesseraError(() => T.dot(T.zeros([2]), T.zeros([2], 'float64')), 'dot', 'dtypes differ');
  });
  it('maxPool2d with a bool input', () => {
    expectTesseraError(() => T.maxPool2d(T.zeros([1, 1, 2, 2], 'bool'), 2), 'maxPool2d', 'bool');
  });
  it('stack of tensors of different dtypes (was concat)', () => {
    expectTesseraError(() => T.stack([T.zeros([2]), T.zeros([2], 'int32')]), 'stack', 'dtypes differ');
  });
});

describe('softmax and logsumexp over an empty axis (what PyTorch returns)', () => {
  it('softmax of [2, 0] over the last axis is an empty [2, 0] tensor', () => {
    const y = T.softmax(T.zeros([2, 0]));
    expect(y.shape).toEqual([2, 0]);
    expect(y.dtype).toBe('float32');
  });
  it('logSoftmax of [0, 3] over the last axis is an empty [0, 3] tensor', () => {
    expect(T.logSoftmax(T.zeros([0, 3])).shape).toEqual([0, 3]);
  });
  it('logsumexp of [2, 0] over axis 1 is [-inf, -inf] (the log of an empty sum)', () => {
    expect(Array.from(T.logsumexp(T.zeros([2, 0]), 1).dataSync())).toEqual([
      Number.NEGATIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ]);
  });
  it('logsumexp over an empty axis with keepdims', () => {
    const y = T.logsumexp(T.zeros([0, 2], 'float64'), 0, { keepdims: true });
    expect(y.shape).toEqual([1, 2]);
    expect(Array.from(y.dataSync())).toEqual([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY]);
  });
  it('logsumexp of a non-empty axis is unchanged: log(e^0 + e^0) = log 2', () => {
    expect(T.logsumexp(T.zeros([2]), 0).dataSync()[0]).toBeCloseTo(Math.log(2), 6);
  });
});

describe('arrays passed in place of tensors', () => {
  it('add(int32 tensor, [1.5]) names add and the value', () => {
    expectTesseraError(() => T.add(i32([1]), [1.5]), 'add', 'value 1.5', 'not an int32', 'raised by tensor');
  });
  it("mul(t, ['a']) names mul", () => {
    expectTesseraError(() => T.mul(t(), loose<number[]>(['a'])), 'mul', 'the string "a"');
  });
});
