// The Gaussian encoder q(z | x) of the predictive log-likelihood: an MLP fitted by maximising the
// ELBO with the decoder frozen (Dieng et al. 2019, Section 3.3, Eq. 20), on the device, no read-backs.

import { valueAndGrad } from '../autograd/transforms.js';
import { fail } from '../errors.js';
import { mlp } from '../nn/builders.js';
import type { ActivationName } from '../nn/layers.js';
import { functionalCall, type Module } from '../nn/module.js';
import { Adam } from '../optim/optimizers.js';
import type { Generator } from '../random/generator.js';
import { keep, tidy } from '../tensor/engine.js';
import { split, take } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ParamTree } from '../tensor/tree.js';

/** Per-example log p(x | mu) `[n]` of data `[n, ...]` given decoder means `[n, ...]`. */
export type ExampleLogLikelihood = (x: Tensor, mu: Tensor) => Tensor;

export interface EncoderFitOptions {
  /** Adam steps on the negative ELBO (default 1000). 0 keeps the encoder as it is. */
  steps?: number;
  /** Training examples per step (default 64). */
  batchSize?: number;
  /** Adam learning rate (default 1e-3; betas (0.9, 0.999)). */
  lr?: number;
  /** Hidden layer sizes of the default MLP encoder (default [256, 256]). */
  hidden?: readonly number[];
  /** Hidden activation of the default MLP encoder (default 'tanh'). */
  activation?: ActivationName;
  /** A ready encoder mapping `[n, ...example]` to `[n, 2 latentDim]` (mean, log-variance); fitted further. */
  encoder?: Module;
  /** Draws (initial weights, batches, reparameterisation noise). */
  rng: Generator;
}

/** The fitted encoder and its last minibatch ELBO (mean over the batch; a device scalar, caller-owned). */
export interface FittedEncoder {
  net: Module;
  lastElbo: Tensor | undefined;
  /** The settings used (for the protocol record). */
  settings: { steps: number; batchSize: number; lr: number; architecture: string };
}

/** q(z | x) = N(mean, diag exp(logVar)) of data `[n, ...]` through the encoder's parameters. */
export function encodeGaussian(net: Module, params: ParamTree, x: Tensor): { mean: Tensor; logVar: Tensor } {
  const flat = x.rank > 2 ? x.reshape([x.shape[0]!, -1]) : x;
  const out = functionalCall(net, params, flat);
  const [mean, logVar] = split(out, 2, 1);
  return { mean: mean!, logVar: logVar! };
}

/**
 * Fits q(z | x) by maximising the ELBO E_q[log p(x | z)] - KL(q(z | x) || N(0, I)) over minibatches
 * of `trainData` with the decoder frozen (Dieng et al. 2019, Section 3.3: minimising the KL of Eq. 20
 * with the generator fixed is maximising the ELBO; Kingma and Welling 2014, Eq. 10, one
 * reparameterised draw per example, closed-form KL). Only the encoder is differentiated; the decoder
 * runs as the caller's `decode` (frozen weights). The loop queues device work only: no read-back.
 */
export function fitGaussianEncoder(
  decode: (z: Tensor) => Tensor,
  latentDim: number,
  logLikelihood: ExampleLogLikelihood,
  trainData: Tensor,
  opts: EncoderFitOptions,
): FittedEncoder {
  const op = 'predictiveLogLikelihood';
  const steps = opts.steps ?? 1000;
  const batchSize = opts.batchSize ?? 64;
  const lr = opts.lr ?? 1e-3;
  if (!Number.isInteger(steps) || steps < 0) fail(op, `encoderSteps must be an integer >= 0, got ${steps}`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    fail(op, `encoderBatchSize must be a positive integer, got ${batchSize}`);
  if (!(lr > 0 && Number.isFinite(lr))) fail(op, `encoderLr must be a positive number, got ${lr}`);
  const dtype = trainData.dtype === 'float64' ? 'float64' : 'float32';
  const inputSize = trainData.shape.slice(1).reduce((a, b) => a * b, 1);
  const hidden = opts.hidden ?? [256, 256];
  const activation = opts.activation ?? 'tanh';
  const net = opts.encoder ?? mlp([inputSize, ...hidden, 2 * latentDim], { activation, rng: opts.rng, dtype });
  const architecture = opts.encoder
    ? `caller's encoder (${net.name})`
    : `MLP ${[inputSize, ...hidden, 2 * latentDim].join(' -> ')} (${activation})`;
  const optimizer = new Adam(net, { lr });
  const n = trainData.shape[0]!;
  const negativeElbo = (params: ParamTree, x: Tensor, eps: Tensor): Tensor => {
    const { mean, logVar } = encodeGaussian(net, params, x);
    const z = mean.add(logVar.mul(0.5).exp().mul(eps));
    const kl = mean.square().add(logVar.exp()).sub(1).sub(logVar).sum(1).mul(0.5);
    return logLikelihood(x, decode(z)).sub(kl).mean().neg();
  };
  let lastElbo: Tensor | undefined;
  try {
    for (let step = 0; step < steps; step++) {
      const loss = tidy(() => {
        const idx = opts.rng.randint(0, n, [batchSize]);
        const x = take(trainData, idx, 0);
        const eps = opts.rng.normal([batchSize, latentDim], 0, 1, { dtype });
        const [value, grads] = valueAndGrad(negativeElbo)(net.parameters(), x, eps);
        optimizer.step(grads);
        return value;
      });
      lastElbo?.dispose();
      lastElbo = keep(loss.neg());
      loss.dispose();
    }
  } finally {
    optimizer.dispose();
  }
  return { net, lastElbo, settings: { steps, batchSize, lr, architecture } };
}
