// isnan, isfinite and isinf.
import type { Tensor } from '../tensor.js';
import { abs, eq, lt, ne } from './elementwise.js';

/** True where x is NaN. */
export const isnan = (x: Tensor): Tensor => ne(x, x);
/** True where x is finite (not NaN, not +-Inf). */
export const isfinite = (x: Tensor): Tensor => lt(abs(x), Number.POSITIVE_INFINITY);
/** True where x is +-Inf. */
export const isinf = (x: Tensor): Tensor => eq(abs(x), Number.POSITIVE_INFINITY);
