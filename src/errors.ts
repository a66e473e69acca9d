/**
 * The one error type the library throws for bad input. The message always names the op,
 * the shapes involved and what was expected, e.g.
 * `add: shapes [2,3] and [4] cannot be broadcast (dimension 1: 3 vs 4)`.
 */
export class TesseraError extends Error {
  readonly op: string;
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = 'TesseraError';
    this.op = op;
  }
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

export function fail(op: string, message: string): never {
  throw new TesseraError(op, message);
}
