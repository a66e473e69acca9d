// Inference via optimisation (IvOM; Metz et al. 2017 as used by VEEGAN section 5.3): the distance from
// test images to the nearest image a frozen generator can produce, by gradient descent on z.
import { grad } from '../autograd/transforms.js';
import { fail, fmtShape } from '../errors.js';
import { Generator, rngOption } from '../random/generator.js';
import { keep, tidy } from '../tensor/engine.js';
import { concat, slice, tile } from '../tensor/ops/movement.js';
import { argmin } from '../tensor/ops/reduce.js';
import type { Tensor } from '../tensor/tensor.js';

export interface IvomOptions {
  /** Latent dimension of the generator's input (z ~ N(0, I) at the start). */
  latentDim: number;
  /** Independent starting points per image; the best end point is kept (default 3). */
  restarts?: number;
  /** Gradient steps per start (default 200). */
  steps?: number;
  /** Step size (default 0.05 with Adam, 1 with SGD on the per-pixel MSE). */
  lr?: number;
  /** 'adam' (betas 0.9, 0.999, eps 1e-8; default) or 'sgd' (plain gradient descent). */
  optimizer?: 'adam' | 'sgd';
  /** Images optimised together (each with all its restarts) per device batch (default 50). */
  batchSize?: number;
  /** Draws the starting latents (default a Generator seeded 0). */
  rng?: Generator;
}

export interface IvomResult {
  /** Per image: min over restarts of ||G(z*) - x||^2 / D (per-element MSE, VEEGAN's unit). */
  distances: Float64Array;
  mean: number;
  /** Standard error of the mean over images (sample std / sqrt(n)). */
  standardError: number;
  /** Which restart won, per image. */
  bestRestart: Int32Array;
  /** The protocol, for reports. */
  protocol: {
    images: number;
    restarts: number;
    steps: number;
    lr: number;
    optimizer: 'adam' | 'sgd';
    latentDim: number;
    batchSize: number;
  };
}

/** The documented defaults (../shared/spec/objectives.md 9 leaves optimiser, steps, restarts and lr unstated). */
export const IVOM_DEFAULTS = { restarts: 3, steps: 200, adamLr: 0.05, sgdLr: 1, batchSize: 50 } as const;

/**
 * IvOM: for each target image x (rows of `targets`, `[n, ...]`), minimises ||G(z) - x||^2 over z with
 * G frozen (`generate` maps `[m, latentDim]` latents to `[m, ...]` images), from `restarts` starting
 * points z ~ N(0, I), and keeps the best. Every image's restarts run together on the device; the
 * loop reads nothing back (one read-back at the end).
 *
 * @example
 * const G = mlp([2, 16, 4], { rng: new Generator(0) });
 * const targets = G.forward(new Generator(1).normal([10, 2])); // images G can make
 * const r = await ivom((z) => G.forward(z), targets, { latentDim: 2, rng: new Generator(2) });
 * r.mean; // close to 0: the nearest generated image is the image itself
 */
export async function ivom(generate: (z: Tensor) => Tensor, targets: Tensor, opts: IvomOptions): Promise<IvomResult> {
  const op = 'ivom';
  const restarts = opts.restarts ?? IVOM_DEFAULTS.restarts;
  const steps = opts.steps ?? IVOM_DEFAULTS.steps;
  const optimizer = opts.optimizer ?? 'adam';
  const lr = opts.lr ?? (optimizer === 'adam' ? IVOM_DEFAULTS.adamLr : IVOM_DEFAULTS.sgdLr);
  const batchSize = opts.batchSize ?? IVOM_DEFAULTS.batchSize;
  const latentDim = opts.latentDim;
  for (const [k, v, min] of [
    ['latentDim', latentDim, 1],
    ['restarts', restarts, 1],
    ['steps', steps, 0],
    ['batchSize', batchSize, 1],
  ] as const) {
    if (!Number.isInteger(v) || v < min) fail(op, `${k} must be an integer >= ${min}, got ${v}`);
  }
  if (!(Number.isFinite(lr) && lr > 0)) fail(op, `lr must be a positive number, got ${lr}`);
  if (optimizer !== 'adam' && optimizer !== 'sgd')
    fail(op, `optimizer must be 'adam' or 'sgd', got '${String(optimizer)}'`);
  if (targets.rank < 2 || targets.shape[0] === 0)
    fail(op, `targets must be [n, ...] with n >= 1 images, got ${fmtShape(targets.shape)}`);
  const rng = rngOption(op, opts) ?? new Generator(0);
  const n = targets.shape[0]!;
  const dims = targets.size / n;
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  const bestParts: Tensor[] = [];
  const argParts: Tensor[] = [];
  try {
    for (let start = 0; start < n; start += batchSize) {
      const b = Math.min(batchSize, n - start);
      const m = restarts * b;
      // Rows r*b + i: restart r of image i.
      const x = keep(
        tidy(() =>
          tile(slice(targets, [[start, start + b]]), [restarts, ...targets.shape.slice(1).map(() => 1)]).reshape([
            m,
            dims,
          ]),
        ),
      );
      /** Per-row squared distance ||G(z) - x||^2 / D, [m]. */
      const perRow = (z: Tensor) => generate(z).reshape([m, dims]).sub(x).square().mean(1);
      // The sum of independent per-row losses: each z's gradient is its own row's (for generators
      // without batch statistics).
      const loss = (z: Tensor) => perRow(z).sum();
      let z = keep(rng.normal([m, latentDim]));
      let mom = optimizer === 'adam' ? keep(z.mul(0)) : undefined;
      let vel = optimizer === 'adam' ? keep(z.mul(0)) : undefined;
      for (let t = 1; t <= steps; t++) {
        const next = tidy(() => {
          const g = grad(loss)(z);
          if (optimizer === 'sgd') return { z: z.sub(g.mul(lr)) };
          const m1 = mom!.mul(beta1).add(g.mul(1 - beta1));
          const v1 = vel!.mul(beta2).add(g.square().mul(1 - beta2));
          const stepSize = (lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
          return { z: z.sub(m1.div(v1.sqrt().add(eps)).mul(stepSize)), m: m1, v: v1 };
        });
        z.dispose();
        z = keep(next.z);
        if (next.m !== undefined) {
          mom!.dispose();
          vel!.dispose();
          mom = keep(next.m);
          vel = keep(next.v!);
        }
      }
      const [best, which] = tidy(() => {
        const d = perRow(z).reshape([restarts, b]);
        return [keep(d.min(0)), keep(argmin(d, 0))];
      });
      bestParts.push(best);
      argParts.push(which);
      for (const t of [x, z, mom, vel]) t?.dispose();
    }
    const [bestT, argT] = tidy(() => [keep(concat(bestParts, 0)), keep(concat(argParts, 0))]);
    const [bd, ad] = await Promise.all([bestT.data(), argT.data()]);
    bestT.dispose();
    argT.dispose();
    const distances = Float64Array.from(bd as ArrayLike<number>);
    let mean = 0;
    for (const d of distances) mean += d / n;
    let ss = 0;
    for (const d of distances) ss += (d - mean) ** 2;
    const standardError = n > 1 ? Math.sqrt(ss / (n - 1) / n) : Number.NaN;
    return {
      distances,
      mean,
      standardError,
      bestRestart: Int32Array.from(ad as ArrayLike<number>),
      protocol: { images: n, restarts, steps, lr, optimizer, latentDim, batchSize },
    };
  } finally {
    for (const t of [...bestParts, ...argParts]) if (!t.isDisposed) t.dispose();
  }
}
