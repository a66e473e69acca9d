/**
 * Tolerances and comparison helpers. `expectClose` compares element by element with
 * |actual - expected| <= atol + rtol |expected|; NaN matches only NaN and infinities match exactly.
 */
import { expect } from 'vitest';

export interface Tolerance {
  rtol: number;
  atol: number;
}

/** float64 results of exact-in-principle computations (sums of a few terms). */
export const F64_TOL: Tolerance = { rtol: 1e-12, atol: 1e-12 };
/** float32 elementwise ops. */
export const F32_TOL: Tolerance = { rtol: 1e-5, atol: 1e-6 };

/**
 * Tolerance for a result of `dtype` whose elements each accumulate `reductionLength` products
 * (matmul's k, conv's C/groups * kH * kW): rounding error grows about linearly with the length.
 */
export function tolFor(dtype: 'float32' | 'float64', reductionLength = 1): Tolerance {
  const base = dtype === 'float32' ? F32_TOL : F64_TOL;
  const scale = Math.max(1, reductionLength);
  return { rtol: base.rtol * scale, atol: base.atol * scale };
}

function describeMismatch(i: number, a: number, e: number, tol: Tolerance): string {
  return `element ${i}: got ${a}, expected ${e} (|diff| ${Math.abs(a - e)} > atol ${tol.atol} + rtol ${tol.rtol} * ${Math.abs(e)})`;
}

/** True when `a` matches `e` under `tol` (NaN with NaN, infinities exactly). */
export function isClose(a: number, e: number, tol: Tolerance = F64_TOL): boolean {
  if (Number.isNaN(e)) return Number.isNaN(a);
  if (!Number.isFinite(e)) return a === e;
  return Math.abs(a - e) <= tol.atol + tol.rtol * Math.abs(e);
}

/** Asserts `actual` matches `expected` element by element (same length). */
export function expectClose(
  actual: ArrayLike<number> | number,
  expected: ArrayLike<number> | number,
  tol: Tolerance = F64_TOL,
  label = '',
): void {
  const a = typeof actual === 'number' ? [actual] : actual;
  const e = typeof expected === 'number' ? [expected] : expected;
  const prefix = label === '' ? '' : `${label}: `;
  if (a.length !== e.length) throw new Error(`${prefix}length ${a.length}, expected ${e.length}`);
  for (let i = 0; i < e.length; i++) {
    if (!isClose(a[i]!, e[i]!, tol)) throw new Error(prefix + describeMismatch(i, a[i]!, e[i]!, tol));
  }
  expect(a.length).toBe(e.length);
}

/** Largest |a - e| / (1 + |e|) over the elements (for reporting). */
export function maxScaledError(a: ArrayLike<number>, e: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(a[i]! - e[i]!) / (1 + Math.abs(e[i]!)));
  return worst;
}
