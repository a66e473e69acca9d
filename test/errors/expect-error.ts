/**
 * The one assertion of the issue-14 error tests: `fn` throws a TesseraError whose `op` is the op
 * the user called and whose message contains every pattern (the shapes or values, what was expected).
 */
import { expect } from 'vitest';
import { TesseraError } from '../../src/index.js';

export function expectTesseraError(fn: () => unknown, op: string, ...patterns: (string | RegExp)[]): TesseraError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${op} to throw a TesseraError`).toBeInstanceOf(TesseraError);
  const err = caught as TesseraError;
  expect(err.op).toBe(op);
  expect(err.message.startsWith(`${op}: `)).toBe(true);
  for (const p of patterns) {
    if (typeof p === 'string') expect(err.message).toContain(p);
    else expect(err.message).toMatch(p);
  }
  return err;
}

/** The same for an async call (a rejected promise). */
export async function expectTesseraRejection(
  fn: () => Promise<unknown>,
  op: string,
  ...patterns: (string | RegExp)[]
): Promise<TesseraError> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${op} to reject with a TesseraError`).toBeInstanceOf(TesseraError);
  const err = caught as TesseraError;
  expect(err.op).toBe(op);
  for (const p of patterns) {
    if (typeof p === 'string') expect(err.message).toContain(p);
    else expect(err.message).toMatch(p);
  }
  return err;
}
