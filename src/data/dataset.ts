// ImageDataset, the in-memory image set every loader returns, with subset, class counts and checks.
import { fail } from '../errors.js';

/**
 * A labelled image set held on the host: `images` is [count, channels, height, width] in C order
 * (NCHW) with values in [0, 1] unless a transform changed them; `labels` are class indices.
 */
export interface ImageDataset {
  name: string;
  images: Float32Array;
  labels: Int32Array;
  count: number;
  channels: number;
  height: number;
  width: number;
  /** Number of classes (labels lie in [0, numClasses)). */
  numClasses: number;
}

/** The number of values per image. */
export function imageSize(ds: Pick<ImageDataset, 'channels' | 'height' | 'width'>): number {
  return ds.channels * ds.height * ds.width;
}

/** Checks that the arrays of a dataset agree with its declared sizes. */
export function checkDataset(op: string, ds: ImageDataset): void {
  const per = imageSize(ds);
  if (ds.images.length !== ds.count * per) {
    fail(
      op,
      `${ds.name}: ${ds.count} images of ${ds.channels}x${ds.height}x${ds.width} need ${ds.count * per} values, got ${ds.images.length}`,
    );
  }
  if (ds.labels.length !== ds.count) fail(op, `${ds.name}: ${ds.count} images but ${ds.labels.length} labels`);
}

/**
 * A new dataset holding the images at `indices` (in that order), copied on the host; `op` is the
 * name errors give (gatherBatch, for one).
 */
export function subset(ds: ImageDataset, indices: ArrayLike<number>, name = ds.name, op = 'subset'): ImageDataset {
  const per = imageSize(ds);
  const images = new Float32Array(indices.length * per);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i]!;
    if (!Number.isInteger(j) || j < 0 || j >= ds.count) fail(op, `index ${j} is out of range for ${ds.count} images`);
    images.set(ds.images.subarray(j * per, (j + 1) * per), i * per);
    labels[i] = ds.labels[j]!;
  }
  return { ...ds, name, images, labels, count: indices.length };
}

/** How many images of each class (an array of length numClasses). */
export function classCounts(ds: Pick<ImageDataset, 'labels' | 'numClasses'>): number[] {
  const counts = new Array<number>(ds.numClasses).fill(0);
  for (const l of ds.labels) counts[l]!++;
  return counts;
}
