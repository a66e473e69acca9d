// Batching: shuffled epochs of indices (epochBatches), gathering a dataset's batch onto the device,
// and iterateBatches.

import { fail } from '../errors.js';
import { type Generator, type RngOptions, rngOption } from '../random/generator.js';
import { tensor } from '../tensor/ops/convert.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkDataset, type ImageDataset, subset } from './dataset.js';

/**
 * A random order of 0..n-1 from `rng` (Generator.permutation, read back to the host).
 * The same generator state gives the same order on every backend.
 */
export async function shuffledIndices(n: number, rng: Generator): Promise<Int32Array> {
  const p = rng.permutation(n);
  try {
    return Int32Array.from(await p.data());
  } finally {
    p.dispose();
  }
}

/** Batching options; with `rng` the order is shuffled each epoch, without it it is in order. */
export interface BatchOptions extends RngOptions {
  batchSize: number;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
}

function checkBatchSize(op: string, batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) fail(op, `batchSize must be a positive integer, got ${batchSize}`);
}

/** Splits an index order into consecutive batches (views of `order`). */
export function splitBatches(order: Int32Array, batchSize: number, dropLast = false): Int32Array[] {
  checkBatchSize('splitBatches', batchSize);
  const out: Int32Array[] = [];
  for (let s = 0; s < order.length; s += batchSize) {
    const e = Math.min(s + batchSize, order.length);
    if (dropLast && e - s < batchSize) break;
    out.push(order.subarray(s, e));
  }
  return out;
}

/**
 * The batches of one epoch over n items: every index exactly once (unless dropLast drops the
 * tail), shuffled with `rng` when one is given.
 */
export async function epochBatches(n: number, opts: BatchOptions): Promise<Int32Array[]> {
  checkBatchSize('epochBatches', opts.batchSize);
  if (!Number.isInteger(n) || n < 0) fail('epochBatches', `n must be a non-negative integer, got ${n}`);
  const rng = rngOption('epochBatches', opts);
  const order = rng ? await shuffledIndices(n, rng) : Int32Array.from({ length: n }, (_, i) => i);
  return splitBatches(order, opts.batchSize, opts.dropLast ?? false);
}

/** A batch on the current backend: x [B, C, H, W] float32 and y [B] int32. */
export interface ImageBatch {
  x: Tensor;
  y: Tensor;
}

/** Uploads the images and labels at `indices` as tensors on the current backend. */
export function gatherBatch(ds: ImageDataset, indices: ArrayLike<number>): ImageBatch {
  const { images, labels } = subset(ds, indices, ds.name, 'gatherBatch');
  return {
    x: tensor(images, { shape: [indices.length, ds.channels, ds.height, ds.width] }),
    y: tensor(labels, { shape: [indices.length] }),
  };
}

/**
 * Iterates over one epoch of a dataset in batches, uploading each batch as it is reached. The
 * caller disposes each batch's tensors (or works inside tidy).
 */
export async function* iterateBatches(
  ds: ImageDataset,
  opts: BatchOptions,
): AsyncGenerator<ImageBatch & { indices: Int32Array }> {
  checkDataset('iterateBatches', ds);
  for (const idx of await epochBatches(ds.count, opts)) yield { ...gatherBatch(ds, idx), indices: idx };
}
