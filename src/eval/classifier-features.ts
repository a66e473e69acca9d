// The evaluation classifier: loading the cached MNIST classifier (assets/mnist-classifier.safetensors),
// its class probabilities and penultimate features of generated images, and the half-precision asset writer.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../checkpoint/checkpoint.js';
import { decodeSafetensors } from '../checkpoint/safetensors.js';
import { fail, fmtShape } from '../errors.js';
import type { Matrix } from '../metrics/matrix.js';
import { loadClassifier, type MnistClassifier } from '../models/classifier-checkpoint.js';
import { keep, noGrad, tidy } from '../tensor/engine.js';
import { concat, slice } from '../tensor/ops/movement.js';
import { softmax } from '../tensor/ops/reduce.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Where the cached classifier lives: `TESSERA_CLASSIFIER` when set, else the package's
 * `assets/mnist-classifier.safetensors` (recipe, accuracy and sha256 in `assets/README.md`).
 */
export function defaultClassifierPath(): string {
  const env = process.env.TESSERA_CLASSIFIER;
  if (env !== undefined && env !== '') return env;
  return fileURLToPath(new URL('../../assets/mnist-classifier.safetensors', import.meta.url));
}

/** A loaded evaluation classifier with the file's identity (recorded in every evaluation's protocol). */
export interface EvalClassifier {
  classifier: MnistClassifier;
  path: string;
  /** sha256 of the checkpoint file, hex. */
  sha256: string;
  metadata: Record<string, string>;
}

/**
 * Loads the MNIST classifier used by the evaluations (default `defaultClassifierPath()`), with the
 * sha256 of its file. A missing file fails with how to make one.
 *
 * @example
 * const { classifier, sha256 } = await loadEvalClassifier();
 * const out = await classifierOutputs(classifier, images, { range: [-1, 1] });
 */
export async function loadEvalClassifier(path = defaultClassifierPath()): Promise<EvalClassifier> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch {
    return fail(
      'loadEvalClassifier',
      `no classifier checkpoint at ${path}; train one with 'tessera train-classifier' (recipe in assets/README.md) and pass its path (or set TESSERA_CLASSIFIER)`,
    );
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const classifier = await loadClassifier(path);
  return { classifier, path, sha256, metadata: classifier.metadata };
}

export interface ClassifierOutputOptions {
  /** Value range of the images: [-1, 1] (GAN outputs, data sources) is mapped to the classifier's [0, 1]. Default [-1, 1]. */
  range?: readonly [number, number];
  /** Images per forward pass (default 500). */
  batchSize?: number;
}

/** Classifier outputs for N images of C channels: one row per image and channel (row i*C + c). */
export interface ClassifierOutputs {
  /** Class probabilities [N*C, 10]. */
  probs: Matrix;
  /** Penultimate-layer features (the ReLU after FC 128) [N*C, 128]. */
  features: Matrix;
  /** Argmax class per image and channel [N*C]. */
  labels: Int32Array;
  count: number;
  channels: number;
}

/** Index in the classifier's Sequential of the penultimate ReLU (conv, relu, conv, relu, pool, drop, flat, fc, relu, ...). */
const PENULTIMATE = 8;

/**
 * Class probabilities and penultimate features of images `[N, C, 28, 28]` on the active backend:
 * each channel is classified on its own (Stacked MNIST: C = 3, so the triples of Metz et al.). Runs
 * in batches on the device and reads the results back once, at the end.
 */
export async function classifierOutputs(
  classifier: MnistClassifier,
  images: Tensor,
  opts: ClassifierOutputOptions = {},
): Promise<ClassifierOutputs> {
  const op = 'classifierOutputs';
  if (images.rank !== 4 || images.shape[2] !== 28 || images.shape[3] !== 28)
    fail(op, `images must be [N, C, 28, 28], got ${fmtShape(images.shape)}`);
  const [lo, hi] = opts.range ?? [-1, 1];
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo))
    fail(op, `range must be [low, high] with low < high, got [${lo}, ${hi}]`);
  const batchSize = opts.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1) fail(op, `batchSize must be a positive integer, got ${batchSize}`);
  const [n, c] = [images.shape[0]!, images.shape[1]!];
  if (n === 0) fail(op, 'images is empty');
  const layers = classifier.model.layers;
  const probsParts: Tensor[] = [];
  const featureParts: Tensor[] = [];
  try {
    for (let start = 0; start < n; start += batchSize) {
      const b = Math.min(batchSize, n - start);
      const [p, f] = tidy(() =>
        noGrad(() => {
          const x = slice(images, [[start, start + b]])
            .reshape([b * c, 1, 28, 28])
            .sub(lo)
            .mul(1 / (hi - lo));
          let h = x;
          for (let i = 0; i <= PENULTIMATE; i++) h = layers[i]!.forward(h);
          let logits = h;
          for (let i = PENULTIMATE + 1; i < layers.length; i++) logits = layers[i]!.forward(logits);
          return [keep(softmax(logits, 1)), keep(h)];
        }),
      );
      probsParts.push(p);
      featureParts.push(f);
    }
    const [probsT, featuresT] = tidy(() => [keep(concat(probsParts, 0)), keep(concat(featureParts, 0))]);
    const [pd, fd] = await Promise.all([probsT.data(), featuresT.data()]);
    const classes = probsT.shape[1]!;
    const dim = featuresT.shape[1]!;
    probsT.dispose();
    featuresT.dispose();
    const probs = Float64Array.from(pd as ArrayLike<number>);
    const labels = new Int32Array(n * c);
    for (let r = 0; r < n * c; r++) {
      let best = 0;
      for (let k = 1; k < classes; k++) if (probs[r * classes + k]! > probs[r * classes + best]!) best = k;
      labels[r] = best;
    }
    return {
      probs: { data: probs, rows: n * c, cols: classes },
      features: { data: Float64Array.from(fd as ArrayLike<number>), rows: n * c, cols: dim },
      labels,
      count: n,
      channels: c,
    };
  } finally {
    for (const t of [...probsParts, ...featureParts]) if (!t.isDisposed) t.dispose();
  }
}

/** Per image, the channels' features side by side: [N, C * 128] (the Fréchet / kernel / PR features). */
export function imageFeatures(out: ClassifierOutputs): Matrix {
  const { count: n, channels: c } = out;
  const d = out.features.cols;
  // Rows i*C + c are consecutive, so [N*C, d] read row-major is already [N, C*d].
  return { data: out.features.data, rows: n, cols: c * d };
}

/** Nearest float16 (round to nearest even), as bits. */
function halfBits(v: number): number {
  const f32 = new Float32Array([v]);
  const x = new Uint32Array(f32.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) {
    half++;
    if (half === 0x400) {
      half = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | half;
}

/**
 * Rewrites a classifier checkpoint with float16 weights (safetensors F16, which `loadClassifier`
 * widens back to float32), halving its size so the asset fits in the repository. The metadata is
 * kept, plus `weights: 'float16'` and `extra`.
 */
export async function writeHalfClassifier(
  srcPath: string,
  dstPath: string,
  extra: Record<string, string> = {},
): Promise<void> {
  const op = 'writeHalfClassifier';
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(await readFile(srcPath)));
  const header: Record<string, unknown> = { __metadata__: { ...metadata, weights: 'float16', ...extra } };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (t.dtype !== 'float32') fail(op, `'${name}' is ${t.dtype}, expected float32`);
    const bytes = new Uint8Array(t.data.length * 2);
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < t.data.length; i++) dv.setUint16(2 * i, halfBits(Number(t.data[i])), true);
    header[name] = { dtype: 'F16', shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  while ((8 + new TextEncoder().encode(json).length) % 8 !== 0) json += ' ';
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  await writeFileAtomic(dstPath, out);
}
