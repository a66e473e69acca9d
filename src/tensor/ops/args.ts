// Argument checks shared by the public ops (a tensor where a tensor is expected, integer sizes,
// finite numbers) and `publicOp`, which makes errors raised by internal ops name the op the user called.
import { fail, TesseraError } from '../../errors.js';
import { Tensor } from '../tensor.js';

/** A short description of any JS value for error messages: `1.5`, `the string "1"`, `an array of length 2`, `undefined`. */
export function describeValue(x: unknown): string {
  if (x === undefined) return 'undefined';
  if (x === null) return 'null';
  if (x instanceof Tensor) return `a tensor of shape [${x.shape.join(',')}] (${x.dtype})`;
  if (typeof x === 'string') return `the string ${JSON.stringify(x.length > 20 ? `${x.slice(0, 20)}...` : x)}`;
  if (typeof x === 'number' || typeof x === 'boolean') return String(x);
  if (typeof x === 'bigint') return `the bigint ${String(x)}n`;
  if (typeof x === 'symbol') return `the symbol ${String(x)}`;
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  if (ArrayBuffer.isView(x)) return `a ${x.constructor.name}`;
  if (typeof x === 'function') return 'a function';
  return 'an object';
}

/** Throws unless `x` is a Tensor; `name` is the argument's name in the message. */
export function checkTensor(op: string, x: unknown, name = 'x'): asserts x is Tensor {
  if (!(x instanceof Tensor)) {
    fail(op, `${name} must be a Tensor, got ${describeValue(x)}${Array.isArray(x) ? ' (make one with tensor())' : ''}`);
  }
}

/** Throws unless `xs` is a non-empty array of Tensors. */
export function checkTensorList(op: string, xs: unknown, name = 'xs'): asserts xs is readonly Tensor[] {
  if (!Array.isArray(xs)) fail(op, `${name} must be an array of tensors, got ${describeValue(xs)}`);
  xs.forEach((t, i) => {
    checkTensor(op, t, `${name}[${i}]`);
  });
}

/** Throws unless `x` is an integer (>= min when given). */
export function checkInt(op: string, x: unknown, name: string, min?: number): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || (min !== undefined && x < min)) {
    fail(op, `${name} must be an integer${min === undefined ? '' : ` >= ${min}`}, got ${describeValue(x)}`);
  }
  return x;
}

/** Throws unless `x` is a finite number. */
export function checkFinite(op: string, x: unknown, name: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x))
    fail(op, `${name} must be a finite number, got ${describeValue(x)}`);
  return x;
}

/** Throws unless `x` is a number (NaN excluded; infinities allowed). */
export function checkNumber(op: string, x: unknown, name: string): number {
  if (typeof x !== 'number' || Number.isNaN(x)) fail(op, `${name} must be a number, got ${describeValue(x)}`);
  return x;
}

/** Throws unless `x` is an array (of anything; the caller checks the entries). */
export function checkArray(op: string, x: unknown, name: string): readonly unknown[] {
  if (!Array.isArray(x)) fail(op, `${name} must be an array, got ${describeValue(x)}`);
  return x;
}

/** Throws unless `x` is undefined or a plain object (an options bag). */
export function checkOptions(op: string, x: unknown, name = 'options'): void {
  if (x !== undefined && (typeof x !== 'object' || x === null || Array.isArray(x) || x instanceof Tensor)) {
    fail(op, `${name} must be an object, got ${describeValue(x)}`);
  }
}

let outerOp: string | null = null;

/** The public op being run (the outermost `publicOp`), or null outside every op. */
export function currentPublicOp(): string | null {
  return outerOp;
}

/**
 * Runs the body of the public op `op`. A TesseraError raised by an op it calls internally (say
 * `gather` inside `take`) is re-raised under `op`, keeping the internal op's words:
 * `take: index 5 is out of range for axis 0 of size 2 (raised by gather)`. Nested public ops keep the
 * outermost name. Any other error is rethrown unchanged.
 */
export function publicOp<T>(op: string, body: () => T): T {
  if (outerOp !== null) return body();
  outerOp = op;
  try {
    return body();
  } catch (e) {
    if (e instanceof TesseraError && e.op !== op) {
      const inner = e.message.startsWith(`${e.op}: `) ? e.message.slice(e.op.length + 2) : e.message;
      throw new TesseraError(op, `${inner} (raised by ${e.op})`);
    }
    throw e;
  } finally {
    outerOp = null;
  }
}
