import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCifar10, parseCifar } from '../../src/data/index.js';

/** One CIFAR-10 record: label byte, then R, G, B planes of 1024 bytes; pixel value from f(channel, y, x). */
function record(label: number, f: (c: number, y: number, x: number) => number): Uint8Array {
  const r = new Uint8Array(1 + 3072);
  r[0] = label;
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) r[1 + c * 1024 + y * 32 + x] = f(c, y, x);
  return r;
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('CIFAR-10 binary reader', () => {
  it('parses a file the test writes: labels and NCHW planes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-cifar-'));
    const recs = [record(3, (c, y, x) => (c * 100 + y + x) % 256), record(9, (c) => [255, 0, 51][c]!)];
    writeFileSync(join(dir, 'test_batch.bin'), concatBytes(recs));
    const ds = await loadCifar10(dir, 'test');
    expect(ds.count).toBe(2);
    expect([ds.channels, ds.height, ds.width, ds.numClasses]).toEqual([3, 32, 32, 10]);
    expect(Array.from(ds.labels)).toEqual([3, 9]);
    // image 0, channel 1 (green), y = 2, x = 5 -> (100 + 7) / 255
    expect(ds.images[0 * 3072 + 1 * 1024 + 2 * 32 + 5]).toBeCloseTo(107 / 255, 6);
    // image 1 is a constant colour (1, 0, 0.2)
    expect(ds.images[3072 + 17]).toBeCloseTo(1, 6);
    expect(ds.images[3072 + 1024 + 17]).toBeCloseTo(0, 6);
    expect(ds.images[3072 + 2048 + 17]).toBeCloseTo(0.2, 6);
  });

  it('reads the five training batches in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-cifar-'));
    for (let i = 1; i <= 5; i++)
      writeFileSync(
        join(dir, `data_batch_${i}.bin`),
        record(i, () => i),
      );
    const ds = await loadCifar10(dir, 'train');
    expect(ds.count).toBe(5);
    expect(Array.from(ds.labels)).toEqual([1, 2, 3, 4, 5]);
    expect(ds.images[4 * 3072]).toBeCloseTo(5 / 255, 6);
  });

  it('reads CIFAR-100 records (two label bytes) and rejects bad sizes and labels', () => {
    const r = new Uint8Array(2 + 3072);
    r[0] = 4;
    r[1] = 77;
    expect(Array.from(parseCifar(r, { labelBytes: 2 }).labels)).toEqual([77]);
    expect(Array.from(parseCifar(r, { labelBytes: 2, labelIndex: 0 }).labels)).toEqual([4]);
    expect(() => parseCifar(new Uint8Array(100))).toThrow(/3073-byte records/);
    expect(() => parseCifar(record(12, () => 0))).toThrow(/label 12/);
  });

  it('says which file is missing', async () => {
    await expect(loadCifar10('/nonexistent-tessera-dir', 'test')).rejects.toThrow(
      /test_batch\.bin.*cifar-10-batches-bin/,
    );
  });
});
