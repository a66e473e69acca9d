/**
 * Known-value tests of NumPy slicing, tile / repeat / oneHot / take / gather / scatter, creation
 * functions, read-back and dtype inference, with expected values derived by hand or by small
 * references written here.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../../src/index.js';
import { runs } from '../helpers/gradcheck.js';
import { arr, f64, i32, vals } from '../helpers/known-values.js';

// ------------------------------------------------------------ slicing

/** Python's slice.indices(n) and the selected indices, written from the Python reference. */
function refSliceIndices(n: number, start: number | null, stop: number | null, step: number): number[] {
  const lower = step < 0 ? -1 : 0;
  const upper = step < 0 ? n - 1 : n;
  const norm = (v: number | null, dflt: number) => {
    if (v === null) return dflt;
    let r = v < 0 ? v + n : v;
    if (r < lower) r = lower;
    if (r > upper) r = upper;
    return r;
  };
  const s = norm(start, step < 0 ? upper : lower);
  const e = norm(stop, step < 0 ? lower : upper);
  const out: number[] = [];
  if (step > 0) for (let i = s; i < e; i += step) out.push(i);
  else for (let i = s; i > e; i += step) out.push(i);
  return out;
}

describe('slicing (NumPy semantics)', () => {
  const r = () => T.arange(0, 10, 1, 'float64');

  it('by hand: steps, negative steps, clamped bounds, empty results, integer indices', () => {
    expect(arr(T.slice(r(), [[2, 8, 2]]))).toEqual([2, 4, 6]);
    expect(arr(T.slice(r(), [[null, null, -1]]))).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(arr(T.slice(r(), [[8, 2, -2]]))).toEqual([8, 6, 4]);
    expect(arr(T.slice(r(), [[-3]]))).toEqual([7, 8, 9]);
    expect(arr(T.slice(r(), [[-100, 100]]))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(arr(T.slice(r(), [[5, 2]]))).toEqual([]);
    expect(arr(T.slice(r(), [[null, null, -3]]))).toEqual([9, 6, 3, 0]);
    expect(arr(T.slice(r(), [[3, -100, -1]]))).toEqual([3, 2, 1, 0]);
    expect(arr(T.slice(r(), [[100, 5, -2]]))).toEqual([9, 7]);
    const last = T.slice(r(), [-1]);
    expect(last.shape).toEqual([]);
    expect(arr(last)).toBe(9);
    const m = T.reshape(T.arange(0, 12, 1, 'float64'), [3, 4]);
    expect(arr(T.slice(m, [1, [null, null, -1]]))).toEqual([7, 6, 5, 4]);
    expect(
      arr(
        T.slice(m, [
          [null, null, 2],
          [1, 3],
        ]),
      ),
    ).toEqual([
      [1, 2],
      [9, 10],
    ]);
    expect(arr(T.slice(m, [null, -1]))).toEqual([3, 7, 11]);
    expect(T.slice(m, [[0, 0]]).shape).toEqual([0, 4]);
    expect(arr(m.slice([[-2], 0]))).toEqual([4, 8]);
  });

  it('matches Python slice.indices on random specs', () => {
    const bound = fc.option(fc.integer({ min: -14, max: 14 }), { nil: null });
    const arb = fc.tuple(
      fc.integer({ min: 1, max: 9 }),
      bound,
      bound,
      fc.integer({ min: -4, max: 4 }).filter((s) => s !== 0),
    );
    fc.assert(
      fc.property(arb, ([n, start, stop, step]) => {
        T.tidy(() => {
          const y = T.slice(T.arange(0, n, 1, 'float64'), [[start, stop, step]]);
          expect(vals(y)).toEqual(refSliceIndices(n, start, stop, step));
        });
      }),
      runs(40),
    );
  });
});

describe('movement ops by hand', () => {
  it('tile and repeat', () => {
    expect(arr(T.tile(f64([1, 2]), [2]))).toEqual([1, 2, 1, 2]);
    expect(arr(T.tile(f64([[1, 2]]), [2, 2]))).toEqual([
      [1, 2, 1, 2],
      [1, 2, 1, 2],
    ]);
    expect(arr(T.tile(f64([1, 2]), [2, 1]))).toEqual([
      [1, 2],
      [1, 2],
    ]);
    expect(arr(T.tile(f64([[1], [2]]), [3]))).toEqual([
      [1, 1, 1],
      [2, 2, 2],
    ]);
    expect(T.tile(f64([1, 2]), [0]).shape).toEqual([0]);
    const m = f64([
      [1, 2],
      [3, 4],
    ]);
    expect(arr(T.repeat(m, 2, 1))).toEqual([
      [1, 1, 2, 2],
      [3, 3, 4, 4],
    ]);
    expect(arr(T.repeat(m, 2, 0))).toEqual([
      [1, 2],
      [1, 2],
      [3, 4],
      [3, 4],
    ]);
    expect(arr(T.repeat(f64([5, 6]), 3, -1))).toEqual([5, 5, 5, 6, 6, 6]);
  });

  it('pad, flip, permute, concat, stack, split, squeeze, unsqueeze, broadcastTo', () => {
    expect(
      arr(
        T.pad(
          f64([[1, 2]]),
          [
            [1, 0],
            [0, 2],
          ],
          9,
        ),
      ),
    ).toEqual([
      [9, 9, 9, 9],
      [1, 2, 9, 9],
    ]);
    expect(arr(T.pad(f64([1, 2]), []))).toEqual([1, 2]);
    expect(
      arr(
        T.flip(
          f64([
            [1, 2],
            [3, 4],
          ]),
        ),
      ),
    ).toEqual([
      [4, 3],
      [2, 1],
    ]);
    expect(
      arr(
        T.flip(
          f64([
            [1, 2],
            [3, 4],
          ]),
          1,
        ),
      ),
    ).toEqual([
      [2, 1],
      [4, 3],
    ]);
    const p = T.permute(T.reshape(T.arange(0, 6, 1, 'float64'), [1, 2, 3]), [2, 0, 1]);
    expect(p.shape).toEqual([3, 1, 2]);
    expect(arr(p)).toEqual([[[0, 3]], [[1, 4]], [[2, 5]]]);
    expect(arr(f64([[1, 2, 3]]).T)).toEqual([[1], [2], [3]]);
    expect(
      arr(
        T.concat(
          [
            f64([[1, 2]]),
            f64([
              [3, 4],
              [5, 6],
            ]),
          ],
          0,
        ),
      ),
    ).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(arr(T.concat([f64([[1], [2]]), f64([[3], [4]])], -1))).toEqual([
      [1, 3],
      [2, 4],
    ]);
    expect(arr(T.stack([f64([1, 2]), f64([3, 4])], 1))).toEqual([
      [1, 3],
      [2, 4],
    ]);
    const parts = T.split(T.arange(0, 6, 1, 'float64'), [1, 0, 5]);
    expect(parts.map((t) => arr(t))).toEqual([[0], [], [1, 2, 3, 4, 5]]);
    expect(T.split(T.zeros([2, 6]), 3, 1).map((t) => t.shape)).toEqual([
      [2, 2],
      [2, 2],
      [2, 2],
    ]);
    expect(T.squeeze(T.zeros([1, 3, 1])).shape).toEqual([3]);
    expect(T.squeeze(T.zeros([1, 3, 1]), -1).shape).toEqual([1, 3]);
    expect(T.unsqueeze(T.zeros([3]), -1).shape).toEqual([3, 1]);
    expect(T.unsqueeze(T.zeros([3]), 0).shape).toEqual([1, 3]);
    expect(arr(T.broadcastTo(f64([1, 2]), [2, 2]))).toEqual([
      [1, 2],
      [1, 2],
    ]);
    expect(T.reshape(T.zeros([2, 3, 4]), [4, -1]).shape).toEqual([4, 6]);
  });
});

describe('indexing by hand', () => {
  it('oneHot, take, gather, scatterAdd, indexAdd', () => {
    const oh = T.oneHot(i32([0, 2, 1]), 3);
    expect(oh.dtype).toBe('float32');
    expect(arr(oh)).toEqual([
      [1, 0, 0],
      [0, 0, 1],
      [0, 1, 0],
    ]);
    expect(T.oneHot(i32([[1]]), 2, 'float64').shape).toEqual([1, 1, 2]);
    expect(
      arr(
        T.take(
          f64([10, 20, 30, 40]),
          i32([
            [3, 0],
            [1, 1],
          ]),
        ),
      ),
    ).toEqual([
      [40, 10],
      [20, 20],
    ]);
    const m = f64([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(arr(T.take(m, i32([2, 0]), 1))).toEqual([
      [3, 1],
      [6, 4],
    ]);
    expect(arr(T.take(m, i32(1), 0))).toEqual([4, 5, 6]);
    expect(
      arr(
        T.gather(
          f64([
            [1, 2],
            [3, 4],
          ]),
          i32([
            [0, 0],
            [1, 0],
          ]),
          1,
        ),
      ),
    ).toEqual([
      [1, 1],
      [4, 3],
    ]);
    expect(arr(T.scatterAdd(T.zeros([3], 'float64'), i32([0, 2, 0]), f64([1, 2, 3]), 0))).toEqual([4, 0, 2]);
    expect(
      arr(
        T.indexAdd(
          T.ones([3, 2], 'float64'),
          0,
          i32([2, 2]),
          f64([
            [1, 2],
            [10, 20],
          ]),
        ),
      ),
    ).toEqual([
      [1, 1],
      [1, 1],
      [12, 23],
    ]);
  });
});

describe('creation, read-back and dtypes', () => {
  it('zeros / ones / full / arange / linspace / eye / *Like', () => {
    const z = T.zeros([2, 3]);
    expect(z.shape).toEqual([2, 3]);
    expect(z.dtype).toBe('float32');
    expect(vals(z)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(arr(T.ones([2], 'int32'))).toEqual([1, 1]);
    expect(T.ones([2], 'int32').dtype).toBe('int32');
    expect(arr(T.full([2, 1], 7, 'float64'))).toEqual([[7], [7]]);
    expect(arr(T.full([2], 1, 'bool'))).toEqual([true, true]);
    expect(arr(T.arange(5))).toEqual([0, 1, 2, 3, 4]);
    expect(arr(T.arange(1, 2, 0.25))).toEqual([1, 1.25, 1.5, 1.75]);
    expect(arr(T.arange(5, 0, -2))).toEqual([5, 3, 1]);
    expect(arr(T.arange(3, 3))).toEqual([]);
    expect(T.arange(0, 3, 1, 'int32').dtype).toBe('int32');
    expect(arr(T.linspace(0, 1, 5))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(arr(T.linspace(0, 1, 1))).toEqual([0]);
    expect(arr(T.linspace(2, -2, 3, 'float64'))).toEqual([2, 0, -2]);
    expect(arr(T.eye(2, 3))).toEqual([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    expect(arr(T.eye(2))).toEqual([
      [1, 0],
      [0, 1],
    ]);
    const like = f64([[1, 2]]);
    expect(T.zerosLike(like).dtype).toBe('float64');
    expect(arr(T.onesLike(like))).toEqual([[1, 1]]);
    expect(arr(T.fullLike(like, 3))).toEqual([[3, 3]]);
    expect(T.zeros([0, 4]).size).toBe(0);
  });

  it('await data(), await array() nested, dataSync, arraySync, item', async () => {
    const t = T.tensor([
      [
        [1, 2],
        [3, 4],
      ],
      [
        [5, 6],
        [7, 8],
      ],
    ]);
    const d = await t.data();
    expect(d).toBeInstanceOf(Float32Array);
    expect(Array.from(d)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await t.array()).toEqual([
      [
        [1, 2],
        [3, 4],
      ],
      [
        [5, 6],
        [7, 8],
      ],
    ]);
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await T.scalar(2.5).array()).toBe(2.5);
    expect(await T.tensor([true, false]).array()).toEqual([true, false]);
    expect(await T.zeros([2, 0]).array()).toEqual([[], []]);
    expect(await T.scalar(4, 'int32').item()).toBe(4);
    // Reading back returns a copy: mutating it does not change the tensor.
    d[0] = 100;
    expect(t.dataSync()[0]).toBe(1);
  });

  it('dtype inference and weak typing of JS numbers', () => {
    expect(T.tensor([1, 2]).dtype).toBe('float32');
    expect(T.tensor(3).dtype).toBe('float32');
    expect(T.tensor(3).shape).toEqual([]);
    expect(T.tensor([true, false]).dtype).toBe('bool');
    expect(T.tensor(new Float64Array([1])).dtype).toBe('float64');
    expect(T.tensor(new Int32Array([1])).dtype).toBe('int32');
    expect(T.tensor(new Uint8Array([1])).dtype).toBe('bool');
    expect(T.tensor(new Float32Array(6), { shape: [2, 3] }).shape).toEqual([2, 3]);
    expect(
      T.tensor([
        [1, 2],
        [3, 4],
      ]).shape,
    ).toEqual([2, 2]);
    // issue 14: int32 creation no longer truncates silently (1.7 is an error; see test/errors/creation.test.ts).
    expect(() => T.tensor([1.7, -1.7], { dtype: 'int32' })).toThrow(
      /tensor: value 1.7 at flat index 0 is not an int32/,
    );
    expect(T.tensor([1, -1], { dtype: 'int32' }).dataSync()).toEqual(new Int32Array([1, -1]));
    expect(T.tensor([1, 2, 3, 4], { shape: [2, 2] }).shape).toEqual([2, 2]);
    expect(T.scalar(1, 'float64').dtype).toBe('float64');
    expect(T.add(f64([1]), 1).dtype).toBe('float64');
    expect(T.add(2, f64([1])).dtype).toBe('float64');
    expect(T.mul(T.tensor([1], { dtype: 'float32' }), 0.1).dtype).toBe('float32');
    expect(T.add(f64([1]), [1]).dtype).toBe('float64');
    expect(T.lt(f64([1]), 2).dtype).toBe('bool');
    // float32 arithmetic rounds to float32.
    expect(vals(T.add(T.tensor([1]), 1e-8))).toEqual([1]);
  });
});
