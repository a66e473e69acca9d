/**
 * issue 14, "Bad input accepted silently" (tensor creation) and the creation cases of "Unhelpful
 * errors": non-numeric input, values an int32 tensor cannot hold exactly, and sizes no tensor can
 * have. Each case is its own assertion on the error's class, op and message.
 */
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import * as T from '../../src/index.js';
import { expectTesseraError } from './expect-error.js';

const bad = (x: unknown): T.NestedArray => x as T.NestedArray;

describe('non-numeric input to tensor()', () => {
  it("tensor(['a', 'b'])", () => {
    expectTesseraError(() => T.tensor(bad(['a', 'b'])), 'tensor', 'expected numbers or booleans', 'the string "a"');
  });
  it("tensor([1, 'a'])", () => {
    expectTesseraError(() => T.tensor(bad([1, 'a'])), 'tensor', 'the string "a"', 'flat index 1');
  });
  it('tensor(undefined)', () => {
    expectTesseraError(() => T.tensor(bad(undefined)), 'tensor', 'got undefined', 'expected a number, boolean');
  });
  it('tensor(null)', () => {
    expectTesseraError(() => T.tensor(bad(null)), 'tensor', 'got null');
  });
  it('tensor({ a: 1 })', () => {
    expectTesseraError(() => T.tensor(bad({ a: 1 })), 'tensor', 'got an object');
  });
  it('tensor([[1], [null]]) (a null leaf)', () => {
    expectTesseraError(() => T.tensor(bad([[1], [null]])), 'tensor', 'got null at flat index 1');
  });
  it("tensor('12') (a string is not parsed)", () => {
    expectTesseraError(() => T.tensor(bad('12')), 'tensor', 'the string "12"');
  });
});

describe('values an int32 tensor cannot hold', () => {
  it('1.5 is not truncated to 1', () => {
    expectTesseraError(() => T.tensor([1.5], { dtype: 'int32' }), 'tensor', 'value 1.5', 'not an int32', 'integer in');
  });
  it('NaN does not become 0', () => {
    expectTesseraError(() => T.tensor([0, Number.NaN], { dtype: 'int32' }), 'tensor', 'value NaN at flat index 1');
  });
  it('Infinity does not become 0', () => {
    expectTesseraError(() => T.tensor([Number.POSITIVE_INFINITY], { dtype: 'int32' }), 'tensor', 'value Infinity');
  });
  it('3e9 does not wrap to a negative number', () => {
    expectTesseraError(() => T.tensor([3e9], { dtype: 'int32' }), 'tensor', 'value 3000000000', '2147483647');
  });
  it('a Float32Array with a fraction, as int32', () => {
    expectTesseraError(() => T.tensor(new Float32Array([2, 0.5]), { dtype: 'int32' }), 'tensor', 'value 0.5');
  });
  it("full([2], 1.5, 'int32')", () => {
    expectTesseraError(() => T.full([2], 1.5, 'int32'), 'full', 'value 1.5', 'not an int32');
  });
  it('fullLike(int32 tensor, NaN)', () => {
    const x = T.zeros([2], 'int32');
    expectTesseraError(() => T.fullLike(x, Number.NaN), 'fullLike', 'value NaN');
    x.dispose();
  });
  it("full([2], 'a')", () => {
    expectTesseraError(() => T.full([2], 'a' as unknown as number), 'full', 'value must be a number', '"a"');
  });
  it("arange(0, 2, 0.5, 'int32')", () => {
    expectTesseraError(() => T.arange(0, 2, 0.5, 'int32'), 'arange', 'value 0.5', 'not an int32');
  });
  it('an int32 tensor plus 3e9', () => {
    const x = T.zeros([2], 'int32');
    expectTesseraError(() => T.add(x, 3e9), 'add', 'cannot combine 3000000000', 'int32');
    x.dispose();
  });
  it('valid int32 values are still exact (the edges of the range)', () => {
    const x = T.tensor([-(2 ** 31), 2 ** 31 - 1, 0], { dtype: 'int32' });
    expect(Array.from(x.dataSync())).toEqual([-2147483648, 2147483647, 0]);
    x.dispose();
  });
});

describe('sizes no tensor can have', () => {
  it('zeros([1e6, 1e6]) names the op and the element count (not a RangeError)', () => {
    expectTesseraError(() => T.zeros([1e6, 1e6]), 'zeros', '[1000000,1000000]', '1000000000000 elements', '2^31 - 1');
  });
  it('arange(0, Infinity)', () => {
    expectTesseraError(
      () => T.arange(0, Number.POSITIVE_INFINITY),
      'arange',
      'stop must be a finite number',
      'Infinity',
    );
  });
  it('arange(NaN)', () => {
    expectTesseraError(() => T.arange(Number.NaN), 'arange', 'must be a finite number', 'NaN');
  });
  it('arange(0, 1e10) (too many values)', () => {
    expectTesseraError(() => T.arange(0, 1e10), 'arange', '10000000000 values', 'more than');
  });
  it('zeros([-1])', () => {
    expectTesseraError(() => T.zeros([-1]), 'zeros', 'non-negative integers', '-1');
  });
  it('ones([2.5])', () => {
    expectTesseraError(() => T.ones([2.5]), 'ones', 'non-negative integers', '2.5');
  });
  it("zeros('3') (a string shape)", () => {
    expectTesseraError(() => T.zeros('3' as unknown as number[]), 'zeros', 'shape must be an array', '"3"');
  });
  it("zeros([2, '3'])", () => {
    expectTesseraError(() => T.zeros([2, '3'] as unknown as number[]), 'zeros', 'non-negative integers', '"3"');
  });
  it('linspace(0, 1, 2.5)', () => {
    expectTesseraError(() => T.linspace(0, 1, 2.5), 'linspace', 'num must be an integer >= 0', '2.5');
  });
  it('linspace(0, NaN, 3)', () => {
    expectTesseraError(() => T.linspace(0, Number.NaN, 3), 'linspace', 'stop must be a finite number');
  });
  it('eye(-2)', () => {
    expectTesseraError(() => T.eye(-2), 'eye', 'non-negative integers');
  });
});
