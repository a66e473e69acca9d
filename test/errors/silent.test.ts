/**
 * issue 14, "Bad input accepted silently": integer division by zero, leakyRelu with a NaN slope,
 * oneHot labels out of range, losses that broadcast prediction and target to a bigger shape, and
 * unknown backend names. (Creation: creation.test.ts; draws: random.test.ts; HMC: hmc.test.ts.)
 */
import '../../src/index.js'; // registers the CPU backend
import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../../src/index.js';
import { expectTesseraError, expectTesseraRejection } from './expect-error.js';

const i32 = (v: number[]): T.Tensor => T.tensor(v, { dtype: 'int32' });

describe('integer division by zero is an error (PyTorch on the CPU), not 0', () => {
  it('div of int32 tensors with a zero divisor names the index', () => {
    expectTesseraError(() => T.div(i32([1, 2]), i32([1, 0])), 'div', 'integer division by zero', 'flat index 1', '[2]');
  });
  it('div of an int32 tensor by the number 0', () => {
    expectTesseraError(() => T.div(i32([4]), 0), 'div', 'integer division by zero');
  });
  it('a broadcast zero divisor', () => {
    expectTesseraError(() => T.div(T.zeros([2, 3], 'int32'), i32([0])), 'div', 'integer division by zero');
  });
  it('int32 division otherwise truncates towards zero (C, PyTorch trunc)', () => {
    expect(Array.from(T.div(i32([7, -7, 6]), i32([2, 2, -4])).dataSync())).toEqual([3, -3, -1]);
  });
  it('float division by zero is IEEE (inf, nan), not an error', () => {
    expect(Array.from(T.div(T.tensor([1, 0]), 0).dataSync())).toEqual([Number.POSITIVE_INFINITY, Number.NaN]);
  });
  it('reciprocal of an int32 zero', () => {
    expectTesseraError(() => T.reciprocal(i32([0])), 'reciprocal', 'integer division by zero');
  });
});

describe('activations', () => {
  it('leakyRelu(x, NaN)', () => {
    expectTesseraError(
      () => T.leakyRelu(T.tensor([-1, 1]), Number.NaN),
      'leakyRelu',
      'slope must be a finite number',
      'NaN',
    );
  });
  it('leakyRelu(x, Infinity)', () => {
    expectTesseraError(() => T.leakyRelu(T.tensor([-1]), Number.POSITIVE_INFINITY), 'leakyRelu', 'Infinity');
  });
  it("leakyRelu(x, '0.1')", () => {
    expectTesseraError(() => T.leakyRelu(T.tensor([-1]), '0.1' as unknown as number), 'leakyRelu', '"0.1"');
  });
  it('nn.LeakyReLU with a NaN slope fails when called, naming leakyRelu', () => {
    const layer = new T.nn.LeakyReLU(Number.NaN);
    expectTesseraError(() => layer.call({}, T.tensor([1])), 'leakyRelu', 'slope');
  });
  it('elu(x, NaN)', () => {
    expectTesseraError(() => T.elu(T.tensor([-1]), Number.NaN), 'elu', 'alpha must be a finite number');
  });
});

describe('oneHot labels out of [0, depth)', () => {
  it('a label equal to depth (was an all-zero row)', () => {
    expectTesseraError(() => T.oneHot(i32([0, 3]), 3), 'oneHot', 'label 3 at flat index 1', '[0, 3)');
  });
  it('a negative label', () => {
    expectTesseraError(() => T.oneHot(i32([-1]), 3), 'oneHot', 'label -1', '[0, 3)');
  });
  it('depth 0', () => {
    expectTesseraError(() => T.oneHot(i32([0]), 0), 'oneHot', 'depth must be an integer >= 1', '0');
  });
  it('float labels', () => {
    expectTesseraError(() => T.oneHot(T.tensor([1]), 3), 'oneHot', 'must be int32', 'float32');
  });
  it('valid labels still encode', () => {
    expect(T.oneHot(i32([2, 0]), 3).arraySync()).toEqual([
      [0, 0, 1],
      [1, 0, 0],
    ]);
  });
});

describe('losses do not broadcast prediction and target to a bigger shape', () => {
  it('mseLoss([4, 1], [4]) (was a [4, 4] loss)', () => {
    expectTesseraError(() => T.mseLoss(T.zeros([4, 1]), T.zeros([4])), 'mseLoss', 'target [4]', 'pred [4,1]');
  });
  it('mseLoss([4], [4, 1])', () => {
    expectTesseraError(() => T.mseLoss(T.zeros([4]), T.zeros([4, 1])), 'mseLoss', 'target [4,1]', 'pred [4]');
  });
  it('binaryCrossEntropyWithLogits([4, 1], [4])', () => {
    expectTesseraError(
      () => T.binaryCrossEntropyWithLogits(T.zeros([4, 1]), T.zeros([4])),
      'binaryCrossEntropyWithLogits',
      'targets [4]',
      'logits [4,1]',
    );
  });
  it('binaryCrossEntropyWithLogits with int32 targets names the loss, not mul', () => {
    expectTesseraError(
      () => T.binaryCrossEntropyWithLogits(T.zeros([2]), i32([1, 0])),
      'binaryCrossEntropyWithLogits',
      'float32',
      'int32',
    );
  });
  it('an unknown reduction', () => {
    expectTesseraError(
      () => T.mseLoss(T.zeros([2]), T.zeros([2]), 'avg' as 'mean'),
      'mseLoss',
      'reduction must be one of mean, sum, none',
      '"avg"',
    );
  });
  it('equal shapes, and a target that broadcasts without changing the shape, still work', () => {
    // mse([1, 2], [1, 4]) = (0 + 4) / 2; bce(0, t) = log 2 for any t.
    expect(T.mseLoss(T.tensor([1, 2]), T.tensor([1, 4])).dataSync()[0]).toBe(2);
    const v = T.binaryCrossEntropyWithLogits(T.zeros([4, 1]), T.zeros([1, 1])).dataSync()[0]!;
    expect(v).toBeCloseTo(Math.log(2), 6);
  });
});

describe('setBackend with an unknown name', () => {
  afterAll(async () => {
    await T.setBackend('cpu');
  });
  it("setBackend('tpu') rejects with the valid names (was taken as 'auto')", async () => {
    await expectTesseraRejection(
      () => T.setBackend('tpu' as 'cpu'),
      'setBackend',
      'unknown backend "tpu"',
      'cpu, webgpu, auto',
    );
  });
  it("setBackend('CPU') (names are lower case)", async () => {
    await expectTesseraRejection(() => T.setBackend('CPU' as 'cpu'), 'setBackend', '"CPU"', 'lower case');
  });
  it('setBackend(undefined)', async () => {
    await expectTesseraRejection(() => T.setBackend(undefined as unknown as 'cpu'), 'setBackend', 'undefined');
  });
  it("the backend is unchanged after a bad name ('cpu' stays)", async () => {
    await T.setBackend('cpu');
    await T.setBackend('gpu' as 'cpu').catch(() => undefined);
    expect(T.getBackendInfo().name).toBe('cpu');
  });
});
