// Modules that are not networks: a parameter group player (PresGAN's sigma) and the bag of
// objective state (HMC step size) that checkpoints carry as buffers.

import { fail } from '../errors.js';
import type { ForwardOptions } from '../nn/module.js';
import { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * A player that is a group of trained tensors rather than a network (PresGAN's `sigma`). Losses
 * read its tensors from `ctx.params.<player>`; calling it as a network is an error.
 */
export class ParameterGroup extends Module {
  constructor(tensors: Record<string, Tensor>) {
    super();
    for (const [k, t] of Object.entries(tensors)) this.registerParameter(k, t);
  }

  forward(_x: Tensor, _opts?: ForwardOptions): Tensor {
    return fail('ParameterGroup', 'a parameter group is not a network; read its tensors from ctx.params');
  }
}

/** Objective state as module buffers, so checkpoints save and restore it with the players. */
export class StateBuffers extends Module {
  constructor(tensors: Record<string, Tensor>) {
    super();
    for (const [k, t] of Object.entries(tensors)) this.registerBuffer(k, t);
  }

  /** The current values, by name. */
  values(): Record<string, Tensor> {
    return Object.fromEntries(this.namedBuffers());
  }

  /** Replaces some values (kept; the old tensors are disposed). */
  update(next: Record<string, Tensor>): void {
    for (const [k, t] of Object.entries(next)) this.setBuffer(k, t);
  }

  forward(_x: Tensor, _opts?: ForwardOptions): Tensor {
    return fail('StateBuffers', 'objective state is not a network');
  }
}
