// Shared adversarial loss pieces on discriminator logits (../shared/spec/objectives.md section 1): the logistic
// discriminator loss and the saturating and non-saturating generator losses.
import { binaryCrossEntropyWithLogits } from '../tensor/ops/losses.js';
import type { Tensor } from '../tensor/tensor.js';

/** D's logistic loss: BCE(l_real, 1) + BCE(l_fake, 0), each averaged over the batch. */
export function discriminatorLogisticLoss(realLogits: Tensor, fakeLogits: Tensor): Tensor {
  return binaryCrossEntropyWithLogits(realLogits, 1).add(binaryCrossEntropyWithLogits(fakeLogits, 0));
}

/** Non-saturating generator loss: BCE(l_fake, 1) = mean softplus(-l_fake) (Goodfellow et al. 2014, section 3). */
export function generatorNonSaturatingLoss(fakeLogits: Tensor): Tensor {
  return binaryCrossEntropyWithLogits(fakeLogits, 1);
}

/**
 * Saturating (minimax) generator loss: mean log(1 - D(G(z))) = -BCE(l_fake, 0) = -mean softplus(l_fake)
 * (Goodfellow et al. 2014, Eq. 1: G minimises the value function).
 */
export function generatorSaturatingLoss(fakeLogits: Tensor): Tensor {
  return binaryCrossEntropyWithLogits(fakeLogits, 0).neg();
}

/** Generator loss by form: 'non-saturating' (default in practice) or 'saturating' (the minimax game). */
export type GeneratorLossForm = 'non-saturating' | 'saturating';

/** The generator loss of the given form. */
export function generatorLoss(fakeLogits: Tensor, form: GeneratorLossForm): Tensor {
  return form === 'saturating' ? generatorSaturatingLoss(fakeLogits) : generatorNonSaturatingLoss(fakeLogits);
}
