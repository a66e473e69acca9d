/**
 * Gradients of the movement and indexing ops against float64 finite differences: reshape,
 * permute/transpose, broadcastTo, slice (steps, negative steps, integer indices, clamped bounds),
 * pad, concat, stack, split, squeeze/unsqueeze, flip, tile, repeat, gather/take, scatterAdd/indexAdd.
 * These are linear, so gradcheck's random cotangent exercises every entry of the VJP.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import * as T from '../../src/index.js';
import { sizeOf } from '../../src/tensor/shape.js';
import {
  axesArb,
  axisArb,
  indicesArb,
  intArb,
  type Shape,
  type ShapedValues,
  shapeArb,
  shapedArb,
  uniformArb,
  valuesArb,
} from '../helpers/arbitraries.js';
import { expectGradcheck, runs } from '../helpers/gradcheck.js';

const shapes = (minRank = 0, maxRank = 4) => shapeArb({ minRank, maxRank, maxSize: 36 });
const shaped = (minRank = 0, maxRank = 4) => shapedArb(shapes(minRank, maxRank));

function permutationArb(n: number): fc.Arbitrary<number[]> {
  const idx = Array.from({ length: n }, (_, i) => i);
  return fc.shuffledSubarray(idx, { minLength: n, maxLength: n });
}

type SliceEntry = T.SliceRange;

function sliceEntryArb(n: number): fc.Arbitrary<SliceEntry> {
  const bound = fc.option(fc.integer({ min: -n - 2, max: n + 2 }), { nil: null });
  const step = fc.integer({ min: -3, max: 3 }).filter((s) => s !== 0);
  return fc.oneof(
    fc.constant<SliceEntry>(null),
    fc.integer({ min: -n, max: n - 1 }),
    fc.tuple(bound, bound, step).map(([a, b, s]): SliceEntry => [a, b, s]),
  );
}

const ints = (values: Int32Array, shape: Shape): Tensor => T.tensor(values, { shape, dtype: 'int32' });

/**
 * A base tensor, a source with k entries along `axis`, and in-range indices: one per source
 * element (scatterAdd) or one per source slice along the axis (indexAdd).
 */
function scatterCaseArb(indices: 'per source element' | 'per source slice') {
  return shapes(1, 3).chain((shape) =>
    intArb(0, shape.length - 1).chain((axis) =>
      intArb(1, 4).chain((k) => {
        const srcShape = shape.map((d, i) => (i === axis ? k : d));
        return fc.record({
          base: valuesArb(sizeOf(shape)).map((values) => ({ shape, values })),
          src: valuesArb(sizeOf(srcShape)).map((values) => ({ shape: srcShape, values })),
          axis: fc.constant(axis),
          idx: indicesArb(indices === 'per source element' ? sizeOf(srcShape) : k, shape[axis]!),
        });
      }),
    ),
  );
}

describe('shape ops: autodiff vs finite differences', () => {
  it('reshape (with an inferred -1) and flatten', () => {
    fc.assert(
      fc.property(shaped(), fc.nat(), (x, pick) => {
        const size = x.values.length;
        const divisors = Array.from({ length: size }, (_, i) => i + 1).filter((d) => size % d === 0);
        const d = divisors[pick % divisors.length]!;
        expectGradcheck((t) => T.reshape(t, [d, -1]).mul(T.reshape(t, [-1, d]).sum()), [x], { label: 'reshape' });
        expectGradcheck((t) => t.flatten(), [x], { label: 'flatten' });
      }),
      runs(20),
    );
  });

  it('permute and transpose', () => {
    const arb = shaped(1).chain((x) => fc.tuple(fc.constant(x), permutationArb(x.shape.length)));
    fc.assert(
      fc.property(arb, ([x, perm]) => {
        expectGradcheck(
          (t) => {
            const y = T.permute(t, perm);
            expect(y.shape).toEqual(perm.map((p) => x.shape[p]));
            return y;
          },
          [x],
          { label: `permute ${perm}` },
        );
        expectGradcheck((t) => T.transpose(t), [x], { label: 'transpose' });
        if (x.shape.length >= 2) expectGradcheck((t) => t.T, [x], { label: '.T' });
      }),
      runs(20),
    );
  });

  it('broadcastTo: new leading axes and stretched size-1 axes', () => {
    const arb = shapes(0, 3).chain((target) =>
      fc
        .tuple(intArb(0, target.length), fc.array(fc.boolean(), { minLength: target.length, maxLength: target.length }))
        .chain(([drop, ones]) => {
          const from = target.map((d, i) => (ones[i] ? 1 : d)).slice(drop);
          return valuesArb(sizeOf(from)).map((values) => ({ x: { shape: from, values }, target }));
        }),
    );
    fc.assert(
      fc.property(arb, ({ x, target }) => {
        expectGradcheck((t) => T.broadcastTo(t, target), [x], { label: `broadcastTo ${target}` });
        expectGradcheck((t) => t.expand(target), [x], { label: `expand ${target}` });
      }),
      runs(25),
    );
  });

  it('squeeze and unsqueeze', () => {
    const arb = shaped(0, 3).chain((x) => fc.tuple(fc.constant(x), intArb(-(x.shape.length + 1), x.shape.length)));
    fc.assert(
      fc.property(arb, ([x, axis]) => {
        expectGradcheck((t) => T.squeeze(T.unsqueeze(t, axis)).mul(T.unsqueeze(t, axis).sum()), [x], {
          label: `unsqueeze ${axis}`,
        });
      }),
      runs(20),
    );
  });
});

describe('slicing, padding, flipping: autodiff vs finite differences', () => {
  it('slice with steps, negative steps, integer indices and out-of-range bounds', () => {
    const arb = shaped(1).chain((x) => fc.tuple(fc.constant(x), fc.tuple(...x.shape.map((n) => sliceEntryArb(n)))));
    fc.assert(
      fc.property(arb, ([x, spec]) => {
        expectGradcheck((t) => T.slice(t, spec), [x], { label: `slice ${JSON.stringify(spec)}` });
      }),
      runs(40),
    );
  });

  it('pad with a fill value (fewer pairs than axes allowed)', () => {
    const arb = shaped(0, 3).chain((x) =>
      fc.tuple(
        fc.constant(x),
        fc.array(fc.tuple(intArb(0, 2), intArb(0, 2)), { maxLength: x.shape.length }),
        uniformArb(-5, 5),
      ),
    );
    fc.assert(
      fc.property(arb, ([x, padding, value]) => {
        expectGradcheck(
          (t) => {
            const y = T.pad(t, padding, value);
            expect(y.shape).toEqual(x.shape.map((d, i) => d + (padding[i]?.[0] ?? 0) + (padding[i]?.[1] ?? 0)));
            return y.square();
          },
          [x],
          { label: `pad ${JSON.stringify(padding)}` },
        );
      }),
      runs(25),
    );
  });

  it('flip over random axes (or all)', () => {
    const arb = shaped(0, 4).chain((x) =>
      fc.tuple(fc.constant(x), fc.option(axesArb(x.shape.length), { nil: undefined })),
    );
    fc.assert(
      fc.property(arb, ([x, axes]) => {
        expectGradcheck((t) => T.flip(t, axes).mul(T.arange(0, t.size, 1, 'float64').reshape(t.shape)), [x], {
          label: `flip ${axes}`,
        });
      }),
      runs(20),
    );
  });
});

describe('joining and splitting: autodiff vs finite differences', () => {
  it('concat of 1-3 tensors along a random axis', () => {
    const arb = shapes(1, 3)
      .chain((shape) =>
        fc.tuple(
          fc.constant(shape),
          intArb(0, shape.length - 1),
          fc.array(intArb(0, 3), { minLength: 1, maxLength: 3 }),
        ),
      )
      .chain(([shape, axis, sizes]) => {
        const parts = sizes.map((k) => shape.map((d, i) => (i === axis ? k : d)));
        return fc.tuple(
          fc.constant(axis),
          fc.tuple(...parts.map((s) => valuesArb(sizeOf(s)).map((values) => ({ shape: s, values })))),
        );
      });
    fc.assert(
      fc.property(arb, ([axis, parts]) => {
        expectGradcheck((...ts) => T.concat(ts, axis).sin(), parts as ShapedValues[], { label: `concat axis ${axis}` });
      }),
      runs(25),
    );
  });

  it('stack along a new axis', () => {
    const arb = shapes(0, 3).chain((shape) =>
      fc.tuple(
        intArb(-(shape.length + 1), shape.length),
        fc.array(
          valuesArb(sizeOf(shape)).map((values) => ({ shape, values })),
          { minLength: 1, maxLength: 3 },
        ),
      ),
    );
    fc.assert(
      fc.property(arb, ([axis, parts]) => {
        expectGradcheck((...ts) => T.stack(ts, axis), parts, { label: `stack axis ${axis}` });
      }),
      runs(20),
    );
  });

  it('split into equal sections or given sizes', () => {
    const arb = shaped(1, 3).chain((x) =>
      axisArb(x.shape.length).chain((axis) => {
        const n = x.shape[axis < 0 ? axis + x.shape.length : axis]!;
        const divisors = Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);
        const sizes = fc.array(intArb(0, n), { minLength: 1, maxLength: 3 }).map((parts) => {
          const head = [];
          let left = n;
          for (const p of parts) {
            const s = Math.min(p, left);
            head.push(s);
            left -= s;
          }
          return [...head, left];
        });
        return fc.tuple(fc.constant(x), fc.constant(axis), fc.oneof(fc.constantFrom(...divisors), sizes));
      }),
    );
    fc.assert(
      fc.property(arb, ([x, axis, sections]) => {
        expectGradcheck(
          (t) => {
            const parts = T.split(t, sections, axis);
            // Weight each part differently so a mixed-up part changes the value.
            return T.concat(
              parts.map((p, i) => p.mul(i + 1).reshape([-1])),
              0,
            );
          },
          [x],
          { label: `split ${JSON.stringify(sections)} axis ${axis}` },
        );
      }),
      runs(20),
    );
  });

  it('tile and repeat', () => {
    const arb = shaped(0, 3).chain((x) =>
      fc.tuple(
        fc.constant(x),
        fc.array(intArb(0, 3), { maxLength: x.shape.length + 1 }),
        intArb(0, 3),
        x.shape.length > 0 ? axisArb(x.shape.length) : fc.constant(0),
      ),
    );
    fc.assert(
      fc.property(arb, ([x, reps, repeats, axis]) => {
        expectGradcheck((t) => T.tile(t, reps), [x], { label: `tile ${reps}` });
        if (x.shape.length > 0) expectGradcheck((t) => T.repeat(t, repeats, axis), [x], { label: `repeat ${repeats}` });
      }),
      runs(25),
    );
  });
});

describe('gather / scatter: autodiff vs finite differences', () => {
  it('gather (take_along_axis), repeated indices accumulate', () => {
    const arb = shapes(1, 3).chain((shape) =>
      intArb(0, shape.length - 1).chain((axis) =>
        intArb(1, 4).chain((k) => {
          const idxShape = shape.map((d, i) => (i === axis ? k : d));
          return fc.record({
            x: valuesArb(sizeOf(shape)).map((values) => ({ shape, values })),
            axis: fc.constant(axis),
            idxShape: fc.constant(idxShape),
            idx: indicesArb(sizeOf(idxShape), shape[axis]!),
          });
        }),
      ),
    );
    fc.assert(
      fc.property(arb, ({ x, axis, idxShape, idx }) => {
        const it = ints(idx, idxShape);
        expectGradcheck((t) => T.gather(t, it, axis), [x], { label: 'gather' });
        it.dispose();
      }),
      runs(25),
    );
  });

  it('take with an index tensor of any shape', () => {
    const arb = shapes(1, 3).chain((shape) =>
      fc
        .record({
          x: valuesArb(sizeOf(shape)).map((values) => ({ shape, values })),
          axis: axisArb(shape.length),
          idxShape: shapeArb({ maxRank: 2, dims: [1, 2, 3] }),
        })
        .chain((r) => {
          const n = shape[r.axis < 0 ? r.axis + shape.length : r.axis]!;
          return indicesArb(sizeOf(r.idxShape), n).map((idx) => ({ ...r, idx }));
        }),
    );
    fc.assert(
      fc.property(arb, ({ x, axis, idxShape, idx }) => {
        const it = ints(idx, idxShape);
        expectGradcheck((t) => T.take(t, it, axis), [x], { label: 'take' });
        it.dispose();
      }),
      runs(25),
    );
  });

  it('scatterAdd (collisions accumulate) in base and source', () => {
    const arb = scatterCaseArb('per source element');
    fc.assert(
      fc.property(arb, ({ base, src, axis, idx }) => {
        const it = ints(idx, src.shape);
        expectGradcheck((b, s) => T.scatterAdd(b, it, s, axis).square(), [base, src], { label: 'scatterAdd' });
        it.dispose();
      }),
      runs(25),
    );
  });

  it('indexAdd with 1-D indices', () => {
    const arb = scatterCaseArb('per source slice');
    fc.assert(
      fc.property(arb, ({ base, src, axis, idx }) => {
        const it = ints(idx, [idx.length]);
        expectGradcheck((b, s) => T.indexAdd(b, axis, it, s).square(), [base, src], { label: 'indexAdd' });
        it.dispose();
      }),
      runs(20),
    );
  });
});
