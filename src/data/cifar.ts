// CIFAR-10: the binary-format parser and loader, and concatDatasets.

import { fail } from '../errors.js';
import type { ImageDataset } from './dataset.js';
import { nodeBuiltin } from './node.js';

export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
] as const;

const SIDE = 32;
const PIXELS = SIDE * SIDE * 3;

export interface CifarParseOptions {
  /** Label bytes before each image: 1 for CIFAR-10; 2 for CIFAR-100 (coarse, fine). Default 1. */
  labelBytes?: 1 | 2;
  /** With labelBytes 2, which label to keep (0 coarse, 1 fine). Default 1. */
  labelIndex?: 0 | 1;
  numClasses?: number;
  name?: string;
}

/**
 * Parses the CIFAR binary format: records of `labelBytes` label bytes followed by 3072 bytes, the
 * 1024 red, then green, then blue values of a 32x32 image in row-major order. The images come out
 * as [N, 3, 32, 32] in [0, 1].
 */
export function parseCifar(bytes: Uint8Array, opts: CifarParseOptions = {}): ImageDataset {
  const labelBytes = opts.labelBytes ?? 1;
  const labelIndex = opts.labelIndex ?? 1;
  const numClasses = opts.numClasses ?? (labelBytes === 1 ? 10 : labelIndex === 0 ? 20 : 100);
  const record = labelBytes + PIXELS;
  if (bytes.length === 0 || bytes.length % record !== 0) {
    fail('parseCifar', `expected a multiple of ${record}-byte records, got ${bytes.length} bytes`);
  }
  const count = bytes.length / record;
  const images = new Float32Array(count * PIXELS);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const o = i * record;
    const label = bytes[o + (labelBytes === 1 ? 0 : labelIndex)]!;
    if (label >= numClasses) fail('parseCifar', `record ${i}: label ${label} is outside [0, ${numClasses})`);
    labels[i] = label;
    const src = o + labelBytes;
    const dst = i * PIXELS;
    for (let j = 0; j < PIXELS; j++) images[dst + j] = bytes[src + j]! / 255;
  }
  return { name: opts.name ?? 'cifar', images, labels, count, channels: 3, height: SIDE, width: SIDE, numClasses };
}

/** Concatenates datasets of the same image size. */
export function concatDatasets(name: string, parts: readonly ImageDataset[]): ImageDataset {
  if (parts.length === 0) fail('concatDatasets', 'needs at least one dataset');
  const f = parts[0]!;
  for (const p of parts) {
    if (p.channels !== f.channels || p.height !== f.height || p.width !== f.width) {
      fail(
        'concatDatasets',
        `image sizes differ: ${parts.map((q) => `${q.channels}x${q.height}x${q.width}`).join(', ')}`,
      );
    }
  }
  const count = parts.reduce((s, p) => s + p.count, 0);
  const images = new Float32Array(parts.reduce((s, p) => s + p.images.length, 0));
  const labels = new Int32Array(count);
  let io = 0;
  let lo = 0;
  for (const p of parts) {
    images.set(p.images, io);
    labels.set(p.labels, lo);
    io += p.images.length;
    lo += p.count;
  }
  return { ...f, name, images, labels, count, numClasses: Math.max(...parts.map((p) => p.numClasses)) };
}

/**
 * CIFAR-10 from the binary version's folder (`cifar-10-batches-bin`): data_batch_1..5.bin for
 * 'train' (50,000), test_batch.bin for 'test' (10,000). It cannot be downloaded here; point `dir`
 * at a copy.
 */
export async function loadCifar10(dir: string, split: 'train' | 'test' = 'train'): Promise<ImageDataset> {
  const files =
    split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : split === 'test' ? ['test_batch.bin'] : [];
  if (files.length === 0) fail('loadCifar10', `split must be 'train' or 'test', got '${String(split)}'`);
  const browser = 'in a browser fetch the batch files and use parseCifar';
  const { join } = nodeBuiltin('node:path', 'loadCifar10', browser);
  const { readFile } = nodeBuiltin('node:fs/promises', 'loadCifar10', browser);
  const parts: ImageDataset[] = [];
  for (const f of files) {
    const path = join(dir, f);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (e) {
      return fail(
        'loadCifar10',
        `cannot read ${path} (${(e as Error).message}); expected the CIFAR-10 binary version (cifar-10-batches-bin)`,
      );
    }
    parts.push(parseCifar(bytes, { name: `cifar10-${split}` }));
  }
  return concatDatasets(`cifar10-${split}`, parts);
}
