/**
 * serialGemm's thin paths (outer products, matrix-vector dot products and k-outer axpys, each with
 * its own unrolled loops) against a loop written here with the rule every GEMM path follows: each
 * element a float64 sum from zero over each KC slice of k in order, stored for the first slice (or
 * added to C's old value with `accumulate`), the later slices added, rounded once into C. Bit for
 * bit, on strided and transposed operands, float32 and float64 C, odd sizes and unroll tails.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KC, serialGemm } from '../src/kernels/cpu/gemm-serial.js';
import type { FloatArr, MatView } from '../src/kernels/cpu/gemm-types.js';
import { values } from './helpers/kernel-values.js';

/** An operand of `rows` x `cols` values, stored row-major or transposed (column-major). */
function operand(rows: number, cols: number, transposed: boolean, seed: number): MatView {
  const data = new Float32Array(values(rows * cols + 3, seed, 'float32'));
  // Offset 3: views never start at the array's first element.
  return transposed
    ? { data, offset: 3, rowStride: 1, colStride: rows }
    : { data, offset: 3, rowStride: cols, colStride: 1 };
}

/** The reference: blocked()'s summation rule, element by element. */
function reference(m: number, n: number, k: number, a: MatView, b: MatView, c0: FloatArr, ldc: number, acc: boolean) {
  const c = c0.slice();
  const at = (v: MatView, r: number, col: number) => v.data[v.offset + r * v.rowStride + col * v.colStride]!;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let total = 0;
      for (let pc = 0; pc < k; pc += KC) {
        let s = 0;
        for (let p = pc; p < Math.min(k, pc + KC); p++) s += at(a, i, p) * at(b, p, j);
        total = pc > 0 ? total + s : acc ? c0[i * ldc + j]! + s : s;
      }
      c[i * ldc + j] = total;
    }
  }
  return c;
}

/** Elements whose bits differ (Object.is: -0 and NaN count). */
function mismatches(got: FloatArr, want: FloatArr): number {
  let bad = 0;
  for (let i = 0; i < got.length; i++) if (!Object.is(got[i], want[i])) bad++;
  return bad;
}

const thinShape = fc.oneof(
  // Outer products (k = 1), up to a few unrolled columns and an odd row.
  fc.tuple(fc.integer({ min: 2, max: 13 }), fc.integer({ min: 2, max: 23 }), fc.constant(1)),
  // One output row or column (dot products or axpys), k across a KC slice and the 8-row tail.
  fc.tuple(fc.constant(1), fc.integer({ min: 2, max: 19 }), fc.integer({ min: 1, max: 2 * KC + 9 })),
  fc.tuple(fc.integer({ min: 2, max: 19 }), fc.constant(1), fc.integer({ min: 1, max: 2 * KC + 9 })),
);

describe('serialGemm: thin paths against the summation rule, bit for bit', () => {
  it('outer products, dot products and axpys; strided, transposed, accumulated, float32 and float64 C', () => {
    fc.assert(
      fc.property(
        thinShape,
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.nat(1000),
        ([m, n, k], tA, tB, accumulate, f64, seed) => {
          const a = operand(m, k, tA, seed);
          const b = operand(k, n, tB, seed + 1);
          const ldc = n + 2; // rows of C are strided too
          const c0 = f64
            ? new Float64Array(values(m * ldc, seed + 2, 'float64'))
            : new Float32Array(values(m * ldc, seed + 2, 'float32'));
          const want = reference(m, n, k, a, b, c0, ldc, accumulate);
          const got = c0.slice();
          serialGemm(m, n, k, a, b, got, 0, ldc, accumulate);
          expect(mismatches(got, want)).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the DCGAN logit layer shapes: 64 x 6272 x 1 outer, 1 x 6272 x 64 axpy, 64 x 1 x 6272 dot', () => {
    for (const [m, n, k, tA] of [
      [64, 6272, 1, false],
      [1, 6272, 64, true],
      [64, 1, 6272, false],
    ] as const) {
      for (const accumulate of [false, true]) {
        const a = operand(m, k, tA, m + k);
        const b = operand(k, n, false, n);
        const c0 = new Float32Array(values(m * n, 5, 'float32'));
        const got = c0.slice();
        serialGemm(m, n, k, a, b, got, 0, n, accumulate);
        const want = reference(m, n, k, a, b, c0, n, accumulate);
        expect(mismatches(got, want)).toBe(0);
      }
    }
  });
});
