import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeIdx, loadIdxImagePair, parseIdx, readIdx } from '../../src/data/index.js';
import { TesseraError } from '../../src/index.js';

describe('IDX reader', () => {
  it('parses hand-written uint8 bytes (MNIST image layout)', () => {
    // magic 0x00000803, dims 2 x 2 x 3, then 12 pixel bytes.
    const bytes = new Uint8Array([
      0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 255,
    ]);
    const a = parseIdx(bytes);
    expect(a.type).toBe('uint8');
    expect(a.shape).toEqual([2, 2, 3]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 255]);
  });

  it('reads big-endian int32 and float32 values', () => {
    // int32 [2]: 0x00000102 = 258 and 0xfffffffe = -2.
    const i32 = parseIdx(new Uint8Array([0, 0, 0x0c, 1, 0, 0, 0, 2, 0, 0, 1, 2, 0xff, 0xff, 0xff, 0xfe]));
    expect(Array.from(i32.data)).toEqual([258, -2]);
    // float32 1.5 = 0x3fc00000.
    const f32 = parseIdx(new Uint8Array([0, 0, 0x0d, 1, 0, 0, 0, 1, 0x3f, 0xc0, 0, 0]));
    expect(Array.from(f32.data)).toEqual([1.5]);
  });

  it('round-trips every element type through encodeIdx, plain and gzipped', () => {
    const cases = [
      ['uint8', [0, 7, 255]],
      ['int8', [-128, 0, 127]],
      ['int16', [-30000, 1, 30000]],
      ['int32', [-2e9, 5, 2e9]],
      ['float32', [0.5, -2.25, 1e10]],
      ['float64', [Math.PI, -1e-300, 7]],
    ] as const;
    for (const [type, values] of cases) {
      const enc = encodeIdx(type, [3], values);
      for (const bytes of [enc, new Uint8Array(gzipSync(enc))]) {
        const a = parseIdx(bytes);
        expect(a.type).toBe(type);
        expect(a.shape).toEqual([3]);
        expect(Array.from(a.data)).toEqual([...values]);
      }
    }
  });

  it('rejects bad magic, unknown types and truncated files with clear errors', () => {
    expect(() => parseIdx(new Uint8Array([1, 0, 8, 1, 0, 0, 0, 1, 5]))).toThrow(/magic/);
    expect(() => parseIdx(new Uint8Array([0, 0, 0x42, 1, 0, 0, 0, 1, 5]))).toThrow(/unknown element type 0x42/);
    expect(() => parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 4, 5]))).toThrow(TesseraError);
    expect(() => parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 4, 5]))).toThrow(/truncated/);
  });

  it('reads gzipped image/label files from disk into a [0, 1] dataset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-idx-'));
    const pixels = [0, 51, 102, 153, 204, 255, 0, 0];
    writeFileSync(join(dir, 'img.gz'), gzipSync(encodeIdx('uint8', [2, 2, 2], pixels)));
    writeFileSync(join(dir, 'lab.gz'), gzipSync(encodeIdx('uint8', [2], [3, 9])));
    const raw = await readIdx(join(dir, 'img.gz'));
    expect(raw.shape).toEqual([2, 2, 2]);
    const ds = await loadIdxImagePair('t', join(dir, 'img.gz'), join(dir, 'lab.gz'), 10);
    expect(ds.count).toBe(2);
    expect([ds.channels, ds.height, ds.width]).toEqual([1, 2, 2]);
    expect(Array.from(ds.labels)).toEqual([3, 9]);
    expect(Array.from(ds.images)).toEqual(pixels.map((p) => Math.fround(p / 255)));
    await expect(readIdx(join(dir, 'missing.gz'))).rejects.toThrow(/cannot read/);
  });
});
