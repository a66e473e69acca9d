// Network builders shared by the objectives: MLPs for vector data (the toy experiments) and the
// DCGAN builders for images, sized from the data and the `net` hyperparameters.

import { fail } from '../errors.js';
import { type DcganImageSize, dcganDiscriminator, dcganGenerator, mlp } from '../nn/builders.js';
import { Reshape, Sequential } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import type { Generator } from '../random/generator.js';
import type { DataInfo, NetworkHyper } from './objective.js';

/** Elements of one example (2 for the ring, C H W for images). */
export function exampleSize(data: DataInfo): number {
  return data.shape.reduce((a, b) => a * b, 1);
}

function hiddenSizes(net: NetworkHyper): number[] {
  return new Array<number>(net.layers).fill(net.hidden);
}

function imageSide(op: string, data: DataInfo): DcganImageSize {
  const [, h, w] = data.shape;
  if (h !== w || (h !== 28 && h !== 32 && h !== 64))
    fail(op, `DCGAN nets need 28, 32 or 64 square images, got ${data.shape}`);
  return h as DcganImageSize;
}

export interface GeneratorNetOptions {
  /** Input size (default the latent dimension). */
  inputDim?: number;
  /** Extra BatchNorm streams (MDGAN: one per kind of input). */
  bnStreams?: readonly string[];
}

/** G: z `[n, latentDim]` -> x `[n, ...data.shape]` (MLP with linear output, or the DCGAN generator). */
export function generatorNet(
  data: DataInfo,
  latentDim: number,
  net: NetworkHyper,
  rng: Generator,
  opts: GeneratorNetOptions = {},
): Module {
  const inputDim = opts.inputDim ?? latentDim;
  if (data.kind === 'image') {
    return dcganGenerator({
      imageSize: imageSide('generatorNet', data),
      nc: data.shape[0]!,
      nz: inputDim,
      ngf: net.ngf,
      rng,
      ...(opts.bnStreams ? { bnStreams: opts.bnStreams } : {}),
    });
  }
  return mlp([inputDim, ...hiddenSizes(net), exampleSize(data)], {
    activation: net.activation,
    rng,
    ...(opts.bnStreams ? { batchNorm: true, batchNormOptions: { streams: opts.bnStreams } } : {}),
  });
}

/**
 * A discriminator (or critic) with `outputs` logits per example: MLP on `[n, size + extraInputs]`
 * vectors, or the DCGAN discriminator on images (one logit, no extra inputs).
 */
export function discriminatorNet(
  data: DataInfo,
  net: NetworkHyper,
  rng: Generator,
  opts: { extraInputs?: number; outputs?: number } = {},
): Module {
  const extra = opts.extraInputs ?? 0;
  const outputs = opts.outputs ?? 1;
  if (data.kind === 'image') {
    if (extra !== 0 || outputs !== 1)
      fail('discriminatorNet', 'joint or multi-output discriminators on images are not built yet');
    return dcganDiscriminator({
      imageSize: imageSide('discriminatorNet', data),
      nc: data.shape[0]!,
      ndf: net.ndf,
      rng,
    });
  }
  return mlp([exampleSize(data) + extra, ...hiddenSizes(net), outputs], { activation: net.activation, rng });
}

/** An encoder / reconstructor x -> `[n, outDim]`: an MLP (on flattened images for image data). */
export function encoderNet(data: DataInfo, outDim: number, net: NetworkHyper, rng: Generator): Module {
  const body = mlp([exampleSize(data), ...hiddenSizes(net), outDim], { activation: net.activation, rng });
  return data.kind === 'image' ? new Sequential(new Reshape([exampleSize(data)]), body) : body;
}
