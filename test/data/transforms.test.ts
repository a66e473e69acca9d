import { describe, expect, it } from 'vitest';
import {
  type ImageDataset,
  padImages,
  resizeImages,
  scaleToSymmetric,
  scaleToUnit,
  shiftImages,
  transformDataset,
} from '../../src/data/index.js';

describe('image transforms', () => {
  it('scales [0, 1] to [-1, 1] and back', () => {
    expect(Array.from(scaleToSymmetric(Float32Array.from([0, 0.25, 1])))).toEqual([-1, -0.5, 1]);
    expect(Array.from(scaleToUnit(Float32Array.from([-1, 0, 1])))).toEqual([0, 0.5, 1]);
  });

  it('pads 28 -> 32 with 2 pixels on each side', () => {
    const img = new Float32Array(28 * 28);
    img[0] = 1; // top-left
    img[28 * 28 - 1] = 2; // bottom-right
    const out = padImages(img, { count: 1, channels: 1, height: 28, width: 28 }, 32, 32);
    expect(out.length).toBe(32 * 32);
    expect(out[2 * 32 + 2]).toBe(1);
    expect(out[29 * 32 + 29]).toBe(2);
    expect(out.reduce((a, b) => a + b, 0)).toBe(3);
    expect(() => padImages(img, { count: 1, channels: 1, height: 28, width: 28 }, 20, 20)).toThrow(
      /at least the input/,
    );
  });

  it('bilinear resize matches PyTorch interpolate(align_corners=False)', () => {
    // torch.nn.functional.interpolate(tensor([[[[0., 1.], [2., 3.]]]]), size=4, mode='bilinear', align_corners=False)
    const out = resizeImages(Float32Array.from([0, 1, 2, 3]), { count: 1, channels: 1, height: 2, width: 2 }, 4, 4);
    expect(Array.from(out)).toEqual([0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3]);
    // Same size is the identity.
    const x = Float32Array.from({ length: 9 }, (_, i) => i * 0.1);
    expect(Array.from(resizeImages(x, { count: 1, channels: 1, height: 3, width: 3 }, 3, 3))).toEqual(Array.from(x));
  });

  it('transforms a whole dataset (28 -> 64, to [-1, 1])', () => {
    const ds: ImageDataset = {
      name: 't',
      images: new Float32Array(2 * 28 * 28).fill(1),
      labels: Int32Array.from([0, 1]),
      count: 2,
      channels: 1,
      height: 28,
      width: 28,
      numClasses: 2,
    };
    const out = transformDataset(ds, { resizeTo: 64, symmetric: true });
    expect([out.height, out.width, out.images.length]).toEqual([64, 64, 2 * 64 * 64]);
    expect(out.images.every((v) => Math.abs(v - 1) < 1e-6)).toBe(true);
    const padded = transformDataset(ds, { padTo: 32, symmetric: true });
    expect(padded.images[0]).toBe(-1);
    expect(padded.images[2 * 32 + 2]).toBe(1);
  });

  it('shifts images by whole pixels, filling the border', () => {
    // 1 x 3 x 3 image with values 1..9; shift down 1 and left 1.
    const img = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const s = { count: 1, channels: 1, height: 3, width: 3 };
    expect(Array.from(shiftImages(img, s, [1, -1]))).toEqual([0, 0, 0, 2, 3, 0, 5, 6, 0]);
    expect(Array.from(shiftImages(img, s, [0, 0]))).toEqual(Array.from(img));
    expect(Array.from(shiftImages(img, s, [-2, 2], -1))).toEqual([-1, -1, 7, -1, -1, -1, -1, -1, -1]);
    expect(() => shiftImages(img, s, [1])).toThrow(/2 shifts per image/);
  });
});
