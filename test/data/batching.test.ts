import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { epochBatches, gatherBatch, type ImageDataset, iterateBatches, splitBatches } from '../../src/data/index.js';
import { Generator } from '../../src/index.js';

describe('batching', () => {
  it('one epoch visits every index exactly once, in batches of the requested size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 1, max: 64 }),
        fc.nat(1000),
        async (n, bs, seed) => {
          const batches = await epochBatches(n, { batchSize: bs, rng: new Generator(seed) });
          const all = batches.flatMap((b) => Array.from(b));
          expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
          for (const b of batches.slice(0, -1)) expect(b.length).toBe(bs);
          expect(batches.length).toBe(Math.ceil(n / bs));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('shuffles reproducibly from the seed, differently per epoch and per seed', async () => {
    const g1 = new Generator(11);
    const g2 = new Generator(11);
    const e1 = (await epochBatches(100, { batchSize: 100, rng: g1 }))[0]!;
    const e1b = (await epochBatches(100, { batchSize: 100, rng: g2 }))[0]!;
    const e2 = (await epochBatches(100, { batchSize: 100, rng: g1 }))[0]!;
    const other = (await epochBatches(100, { batchSize: 100, rng: new Generator(12) }))[0]!;
    expect(Array.from(e1)).toEqual(Array.from(e1b));
    expect(Array.from(e1)).not.toEqual(Array.from(e2));
    expect(Array.from(e1)).not.toEqual(Array.from(other));
    expect(Array.from(e1)).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('keeps order without a generator and can drop the short last batch', async () => {
    const b = await epochBatches(10, { batchSize: 4 });
    expect(b.map((x) => Array.from(x))).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect(splitBatches(Int32Array.from([5, 6, 7, 8, 9]), 2, true).map((x) => Array.from(x))).toEqual([
      [5, 6],
      [7, 8],
    ]);
    await expect(epochBatches(10, { batchSize: 0 })).rejects.toThrow(/batchSize must be a positive integer/);
  });

  it('gathers images and labels of a batch as tensors', async () => {
    const ds: ImageDataset = {
      name: 'toy',
      images: Float32Array.from({ length: 5 * 4 }, (_, i) => i),
      labels: Int32Array.from([0, 1, 2, 3, 4]),
      count: 5,
      channels: 1,
      height: 2,
      width: 2,
      numClasses: 5,
    };
    const b = gatherBatch(ds, [4, 1]);
    expect(b.x.shape).toEqual([2, 1, 2, 2]);
    expect(Array.from(await b.x.data())).toEqual([16, 17, 18, 19, 4, 5, 6, 7]);
    expect(Array.from(await b.y.data())).toEqual([4, 1]);
    expect(b.y.dtype).toBe('int32');
    let seen = 0;
    for await (const batch of iterateBatches(ds, { batchSize: 2, rng: new Generator(1) })) {
      seen += batch.indices.length;
      batch.x.dispose();
      batch.y.dispose();
    }
    expect(seen).toBe(5);
    expect(() => gatherBatch(ds, [5])).toThrow(/out of range/);
  });
});
