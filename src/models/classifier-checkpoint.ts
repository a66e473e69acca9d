// Saving and loading the trained MNIST classifier (safetensors with a kind marker) and the
// MnistClassifier predictor.
import { loadCheckpoint, saveCheckpoint } from '../checkpoint/checkpoint.js';
import { fail, fmtShape } from '../errors.js';
import type { Sequential } from '../nn/layers.js';
import { noGrad, tidy } from '../tensor/engine.js';
import { argmax, softmax } from '../tensor/ops/reduce.js';
import type { Tensor } from '../tensor/tensor.js';
import { mnistClassifier } from './classifier.js';

/** Marks files written by `saveClassifier`. */
export const CLASSIFIER_KIND = 'tessera.mnist-classifier.v1';

/**
 * Saves the classifier's weights (safetensors with PyTorch state-dict names '0.weight', '2.weight',
 * '7.weight', '10.weight', ...; written atomically) with string metadata.
 */
export async function saveClassifier(
  path: string,
  model: Sequential,
  info: Record<string, string | number>,
): Promise<void> {
  const metadata: Record<string, string> = { kind: CLASSIFIER_KIND, inputs: '[N, 1, 28, 28] in [0, 1]' };
  for (const [k, v] of Object.entries(info)) metadata[k] = String(v);
  await saveCheckpoint(path, { modules: model, metadata });
}

/**
 * A trained MNIST classifier loaded from a checkpoint, in eval mode (dropout off): the evaluation
 * code of the Stacked-MNIST protocol applies it to each channel of generated images.
 */
export class MnistClassifier {
  constructor(
    readonly model: Sequential,
    readonly metadata: Record<string, string>,
  ) {}

  /** Logits [N, 10] of images [N, 1, 28, 28] (or [N, 28, 28]) with values in [0, 1]. */
  logits(images: Tensor): Tensor {
    const x = images.rank === 3 ? images.reshape([images.shape[0]!, 1, 28, 28]) : images;
    if (x.rank !== 4 || x.shape[1] !== 1 || x.shape[2] !== 28 || x.shape[3] !== 28) {
      fail('MnistClassifier', `images must be [N, 1, 28, 28] or [N, 28, 28], got ${fmtShape(images.shape)}`);
    }
    return tidy(() => noGrad(() => this.model.forward(x)));
  }

  /** Class probabilities [N, 10]. */
  probabilities(images: Tensor): Tensor {
    return tidy(() => softmax(this.logits(images), 1));
  }

  /** Predicted digits [N] (int32). */
  predict(images: Tensor): Tensor {
    return tidy(() => argmax(this.logits(images), 1));
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** Loads a classifier saved by `saveClassifier` (or `tessera train-classifier`). */
export async function loadClassifier(path: string): Promise<MnistClassifier> {
  const model = mnistClassifier();
  try {
    const { metadata } = await loadCheckpoint(path, { modules: model });
    if (metadata.kind !== CLASSIFIER_KIND) {
      fail(
        'loadClassifier',
        `${path} is not a tessera MNIST classifier checkpoint (kind '${metadata.kind ?? 'missing'}')`,
      );
    }
    model.eval();
    return new MnistClassifier(model, metadata);
  } catch (e) {
    model.dispose();
    throw e;
  }
}
