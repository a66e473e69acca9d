// Image transforms on host arrays: rescaling, padding, bilinear resizing, shifts, and
// transformDataset.
import { fail } from '../errors.js';
import { checkDataset, type ImageDataset } from './dataset.js';

/** Maps values from [0, 1] to [-1, 1] (2 x - 1), the input range of tanh generators. */
export function scaleToSymmetric(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = 2 * values[i]! - 1;
  return out;
}

/** Maps values from [-1, 1] back to [0, 1] ((x + 1) / 2). */
export function scaleToUnit(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = (values[i]! + 1) / 2;
  return out;
}

export interface ImageShape {
  count: number;
  channels: number;
  height: number;
  width: number;
}

function checkShape(op: string, values: Float32Array, s: ImageShape): void {
  const need = s.count * s.channels * s.height * s.width;
  if (values.length !== need) {
    fail(op, `${s.count} images of ${s.channels}x${s.height}x${s.width} need ${need} values, got ${values.length}`);
  }
}

/**
 * Pads NCHW images with a constant border so they become outHeight x outWidth, centred (the extra
 * pixel of an odd difference goes to the bottom/right). 28 -> 32 pads 2 on each side.
 */
export function padImages(
  values: Float32Array,
  s: ImageShape,
  outHeight: number,
  outWidth: number,
  value = 0,
): Float32Array {
  const op = 'padImages';
  checkShape(op, values, s);
  if (!Number.isInteger(outHeight) || !Number.isInteger(outWidth) || outHeight < s.height || outWidth < s.width) {
    fail(op, `target ${outHeight}x${outWidth} must be integers at least the input size ${s.height}x${s.width}`);
  }
  const top = Math.floor((outHeight - s.height) / 2);
  const left = Math.floor((outWidth - s.width) / 2);
  const planes = s.count * s.channels;
  const out = new Float32Array(planes * outHeight * outWidth);
  if (value !== 0) out.fill(value);
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < s.height; y++) {
      const src = (p * s.height + y) * s.width;
      out.set(values.subarray(src, src + s.width), (p * outHeight + y + top) * outWidth + left);
    }
  }
  return out;
}

/**
 * Bilinear resize of NCHW images, with pixel centres aligned as in PyTorch's
 * `interpolate(mode='bilinear', align_corners=False)` and torchvision's Resize (no antialiasing).
 */
export function resizeImages(values: Float32Array, s: ImageShape, outHeight: number, outWidth: number): Float32Array {
  const op = 'resizeImages';
  checkShape(op, values, s);
  if (!Number.isInteger(outHeight) || !Number.isInteger(outWidth) || outHeight < 1 || outWidth < 1) {
    fail(op, `target size must be positive integers, got ${outHeight}x${outWidth}`);
  }
  const planes = s.count * s.channels;
  const out = new Float32Array(planes * outHeight * outWidth);
  const sy = s.height / outHeight;
  const sx = s.width / outWidth;
  const coord = (o: number, scale: number, n: number): [number, number, number] => {
    const c = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), n - 1);
    const i0 = Math.floor(c);
    const i1 = Math.min(i0 + 1, n - 1);
    return [i0, i1, c - i0];
  };
  const ys = Array.from({ length: outHeight }, (_, o) => coord(o, sy, s.height));
  const xs = Array.from({ length: outWidth }, (_, o) => coord(o, sx, s.width));
  for (let p = 0; p < planes; p++) {
    const base = p * s.height * s.width;
    for (let oy = 0; oy < outHeight; oy++) {
      const [y0, y1, fy] = ys[oy]!;
      for (let ox = 0; ox < outWidth; ox++) {
        const [x0, x1, fx] = xs[ox]!;
        const a = values[base + y0 * s.width + x0]!;
        const b = values[base + y0 * s.width + x1]!;
        const c = values[base + y1 * s.width + x0]!;
        const d = values[base + y1 * s.width + x1]!;
        out[(p * outHeight + oy) * outWidth + ox] = (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
      }
    }
  }
  return out;
}

export interface DatasetTransform {
  /** Map [0, 1] to [-1, 1]. */
  symmetric?: boolean;
  /** Zero-pad to this square size (e.g. 28 -> 32). */
  padTo?: number;
  /** Bilinear resize to this square size (e.g. 28 -> 64). */
  resizeTo?: number;
}

/** Applies pad/resize then scaling to a whole dataset, returning a new one. */
export function transformDataset(ds: ImageDataset, t: DatasetTransform): ImageDataset {
  checkDataset('transformDataset', ds);
  if (t.padTo !== undefined && t.resizeTo !== undefined) fail('transformDataset', 'give padTo or resizeTo, not both');
  let images = ds.images;
  let height = ds.height;
  let width = ds.width;
  const shape = { count: ds.count, channels: ds.channels, height, width };
  if (t.padTo !== undefined) {
    images = padImages(images, shape, t.padTo, t.padTo);
    height = width = t.padTo;
  } else if (t.resizeTo !== undefined) {
    images = resizeImages(images, shape, t.resizeTo, t.resizeTo);
    height = width = t.resizeTo;
  }
  if (t.symmetric) images = scaleToSymmetric(images);
  return { ...ds, images, height, width };
}

/**
 * Translates each NCHW image by whole pixels (`shifts[2i]` down, `shifts[2i + 1]` right; negative
 * values move up / left), filling the uncovered border with `fill`. Data augmentation for small
 * training sets.
 */
export function shiftImages(values: Float32Array, s: ImageShape, shifts: ArrayLike<number>, fill = 0): Float32Array {
  const op = 'shiftImages';
  checkShape(op, values, s);
  if (shifts.length !== 2 * s.count) fail(op, `need 2 shifts per image (${2 * s.count}), got ${shifts.length}`);
  const out = new Float32Array(values.length);
  if (fill !== 0) out.fill(fill);
  const plane = s.height * s.width;
  for (let i = 0; i < s.count; i++) {
    const dy = shifts[2 * i]!;
    const dx = shifts[2 * i + 1]!;
    if (!Number.isInteger(dy) || !Number.isInteger(dx)) fail(op, `shifts must be integers, got ${dy}, ${dx}`);
    for (let c = 0; c < s.channels; c++) {
      const base = (i * s.channels + c) * plane;
      for (let y = Math.max(0, dy); y < Math.min(s.height, s.height + dy); y++) {
        const sy = y - dy;
        for (let x = Math.max(0, dx); x < Math.min(s.width, s.width + dx); x++) {
          out[base + y * s.width + x] = values[base + sy * s.width + x - dx]!;
        }
      }
    }
  }
  return out;
}
