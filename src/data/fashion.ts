// Fashion-MNIST from IDX files (Debian's dataset-fashion-mnist by default), and the IDX image/label
// pair loader.
import { fail } from '../errors.js';
import type { ImageDataset } from './dataset.js';
import { readIdx } from './idx.js';
import { nodeBuiltin } from './node.js';

/** Where Debian's `dataset-fashion-mnist` package puts the files. */
export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

export interface IdxImageOptions {
  /** 'train' (60,000) or 'test' (10,000). Default 'train'. */
  split?: 'train' | 'test';
  /** Folder with the four gzipped IDX files. Default: $TESSERA_FASHION_MNIST_DIR, else the Debian path. */
  dir?: string;
}

/** Reads an images/labels pair of IDX files (MNIST layout) into a dataset with values in [0, 1]. */
export async function loadIdxImagePair(
  name: string,
  imagesPath: string,
  labelsPath: string,
  numClasses: number,
): Promise<ImageDataset> {
  const op = 'loadIdxImagePair';
  const img = await readIdx(imagesPath);
  const lab = await readIdx(labelsPath);
  if (img.type !== 'uint8' || img.shape.length !== 3) {
    fail(op, `${imagesPath}: expected uint8 images [N, H, W], got ${img.type} [${img.shape.join(',')}]`);
  }
  if (lab.shape.length !== 1 || lab.shape[0] !== img.shape[0]) {
    fail(op, `${labelsPath}: expected ${img.shape[0]} labels, got shape [${lab.shape.join(',')}]`);
  }
  const [count, height, width] = img.shape as [number, number, number];
  const images = new Float32Array(img.data.length);
  for (let i = 0; i < images.length; i++) images[i] = img.data[i]! / 255;
  const labels = Int32Array.from(lab.data as ArrayLike<number>);
  for (const l of labels)
    if (l < 0 || l >= numClasses) fail(op, `${labelsPath}: label ${l} outside [0, ${numClasses})`);
  return { name, images, labels, count, channels: 1, height, width, numClasses };
}

/**
 * Fashion-MNIST (Zalando; 60,000 train + 10,000 test, 28x28 grey, 10 classes) from the gzipped
 * IDX files of Debian's `dataset-fashion-mnist` package.
 */
export async function loadFashionMnist(opts: IdxImageOptions = {}): Promise<ImageDataset> {
  const split = opts.split ?? 'train';
  if (split !== 'train' && split !== 'test') {
    fail('loadFashionMnist', `split must be 'train' or 'test', got '${String(split)}'`);
  }
  const browser = 'in a browser fetch the IDX files and use parseIdx';
  const { existsSync } = nodeBuiltin('node:fs', 'loadFashionMnist', browser);
  const { join } = nodeBuiltin('node:path', 'loadFashionMnist', browser);
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const dir = opts.dir ?? env?.TESSERA_FASHION_MNIST_DIR ?? FASHION_MNIST_DEFAULT_DIR;
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesPath = join(dir, `${prefix}-images-idx3-ubyte.gz`);
  const labelsPath = join(dir, `${prefix}-labels-idx1-ubyte.gz`);
  for (const p of [imagesPath, labelsPath]) {
    if (!existsSync(p)) {
      fail(
        'loadFashionMnist',
        `${p} not found. Install the data with \`apt-get install dataset-fashion-mnist\` (Debian/Ubuntu), or point TESSERA_FASHION_MNIST_DIR (or the dir option) at a folder holding the four gzipped IDX files`,
      );
    }
  }
  return loadIdxImagePair(`fashion-mnist-${split}`, imagesPath, labelsPath, FASHION_MNIST_CLASSES.length);
}
