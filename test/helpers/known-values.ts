/** Small readers and makers shared by the known-value op tests (test/ops/semantics*.test.ts). */
import type { Tensor } from '../../src/index.js';
import * as T from '../../src/index.js';

/** A float64 tensor from nested values. */
export const f64 = (v: T.NestedArray) => T.tensor(v, { dtype: 'float64' });
/** An int32 tensor from nested values. */
export const i32 = (v: T.NestedArray) => T.tensor(v, { dtype: 'int32' });
/** A tensor's values as a flat number array. */
export const vals = (t: Tensor) => Array.from(t.dataSync());
/** A tensor's values as nested arrays. */
export const arr = (t: Tensor) => t.arraySync();
