/**
 * issue 14, random draws: `low > high`, a negative standard deviation, a Bernoulli probability
 * outside [0, 1] or NaN, and `setState` with an invalid state are errors naming the draw the user
 * called (normal, not the uniform it is built on).
 */
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { bernoulli, Generator, type GeneratorState, normal, tensor, uniform } from '../../src/index.js';
import { expectTesseraError } from './expect-error.js';

describe('draw arguments', () => {
  const rng = new Generator(7);
  it('uniform with low > high', () => {
    expectTesseraError(() => rng.uniform([2], 1, 0), 'uniform', 'low 1 is greater than high 0');
  });
  it('the free uniform with low > high', () => {
    expectTesseraError(() => uniform([2], 3, -3), 'uniform', 'low 3 is greater than high -3');
  });
  it('uniform with a NaN bound', () => {
    expectTesseraError(() => rng.uniform([2], Number.NaN, 1), 'uniform', 'low must be a finite number', 'NaN');
  });
  it('uniform with an infinite bound', () => {
    expectTesseraError(() => rng.uniform([2], 0, Number.POSITIVE_INFINITY), 'uniform', 'high must be a finite number');
  });
  it('normal with a negative std', () => {
    expectTesseraError(() => rng.normal([2], 0, -1), 'normal', 'std must be >= 0', '-1');
  });
  it('the free normal with a negative std', () => {
    expectTesseraError(() => normal([2], 0, -0.5), 'normal', 'std must be >= 0, got -0.5');
  });
  it('normal with a NaN mean', () => {
    expectTesseraError(() => rng.normal([2], Number.NaN), 'normal', 'mean must be a finite number');
  });
  it('normal with a bad shape names normal (float32 and float64)', () => {
    expectTesseraError(() => rng.normal([2, -1]), 'normal', 'non-negative integers');
    expectTesseraError(() => rng.normal([1.5], 0, 1, { dtype: 'float64' }), 'normal', 'non-negative integers');
  });
  it("normal with dtype 'int32'", () => {
    expectTesseraError(
      () => rng.normal([2], 0, 1, { dtype: 'int32' as 'float32' }),
      'normal',
      'dtype must be float32 or float64',
    );
  });
  it('bernoulli with p > 1', () => {
    expectTesseraError(() => rng.bernoulli(1.5, [2]), 'bernoulli', 'probability must be in [0, 1], got 1.5');
  });
  it('bernoulli with p < 0', () => {
    expectTesseraError(() => bernoulli(-0.1, [2]), 'bernoulli', 'got -0.1');
  });
  it('bernoulli with p NaN', () => {
    expectTesseraError(() => rng.bernoulli(Number.NaN, [2]), 'bernoulli', 'got NaN');
  });
  it('bernoulli with a tensor p holding 2', () => {
    expectTesseraError(
      () => rng.bernoulli(tensor([0.5, 2]), [2]),
      'bernoulli',
      'probability 2 at flat index 1',
      'not in [0, 1]',
    );
  });
  it('bernoulli with a bad shape', () => {
    expectTesseraError(() => rng.bernoulli(0.5, [-2]), 'bernoulli', 'non-negative integers');
  });
  it('randint with low >= high', () => {
    expectTesseraError(() => rng.randint(3, 3, [2]), 'randint', 'low < high', '3, 3');
  });
  it('valid edge cases still draw: low == high, std 0, p 0 and 1', () => {
    expect(Array.from(rng.uniform([2], 2, 2).dataSync())).toEqual([2, 2]);
    expect(Array.from(rng.normal([2], 1.5, 0).dataSync())).toEqual([1.5, 1.5]);
    expect(Array.from(rng.bernoulli(0, [3]).dataSync())).toEqual([0, 0, 0]);
    expect(Array.from(rng.bernoulli(1, [3]).dataSync())).toEqual([1, 1, 1]);
  });
});

describe('Generator.setState with an invalid state', () => {
  const bad = (s: unknown): GeneratorState => s as GeneratorState;
  it('undefined', () => {
    expectTesseraError(() => new Generator(1).setState(bad(undefined)), 'setState', 'expected a GeneratorState');
  });
  it('a missing key', () => {
    expectTesseraError(() => new Generator(1).setState(bad({ draws: 0 })), 'setState', 'key must be two integers');
  });
  it('a key word of 2^32 (would wrap to 0)', () => {
    expectTesseraError(
      () => new Generator(1).setState(bad({ key: [2 ** 32, 0], draws: 0 })),
      'setState',
      'key must be two integers in [0, 2^32)',
      '4294967296',
    );
  });
  it('a negative key word', () => {
    expectTesseraError(() => new Generator(1).setState(bad({ key: [-1, 0], draws: 0 })), 'setState', '[-1,0]');
  });
  it('a fractional draw count', () => {
    expectTesseraError(
      () => new Generator(1).setState(bad({ key: [1, 2], draws: 1.5 })),
      'setState',
      'draws must be a non-negative safe integer',
      '1.5',
    );
  });
  it('a negative draw count', () => {
    expectTesseraError(() => new Generator(1).setState(bad({ key: [1, 2], draws: -1 })), 'setState', '-1');
  });
  it('NaN draws', () => {
    expectTesseraError(() => new Generator(1).setState(bad({ key: [1, 2], draws: Number.NaN })), 'setState', 'NaN');
  });
  it('Generator.fromState checks too', () => {
    expectTesseraError(() => Generator.fromState(bad({ key: [1], draws: 0 })), 'setState', 'key');
  });
  it('a valid state restores the stream exactly', () => {
    const a = new Generator(9);
    a.uniform([3]);
    const b = Generator.fromState(a.getState());
    expect(Array.from(b.uniform([4]).dataSync())).toEqual(Array.from(a.uniform([4]).dataSync()));
  });
});
