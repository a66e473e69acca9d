// Synthetic sets for GAN mode-coverage experiments: ring, grid and high-dimensional Gaussian
// mixtures, and two moons.
import { fail } from '../errors.js';
import { Generator } from '../random/generator.js';
import { tidy } from '../tensor/engine.js';
import { tensor } from '../tensor/ops/convert.js';
import { add, cos, mul, sin, sub } from '../tensor/ops/elementwise.js';
import { take } from '../tensor/ops/indexing.js';
import { concat } from '../tensor/ops/movement.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * An equally weighted mixture of axis-aligned Gaussians: the synthetic benchmarks of
 * ../shared/spec/objectives.md section 8. `std[d]` is the standard deviation along dimension d (0
 * means the coordinate is constant, as in the 1200-D set).
 */
export interface GaussianMixture {
  name: string;
  dim: number;
  means: number[][];
  std: number[];
}

export interface RingOptions {
  /** Number of modes (default 8). */
  modes?: number;
  /** Radius of the circle (default 1, the PacGAN / VEEGAN ring; the unrolled-GAN ring uses 2). */
  radius?: number;
  /** Standard deviation of every mode (default 0.01; the unrolled-GAN ring uses 0.02). */
  std?: number;
}

function positive(op: string, name: string, v: number): number {
  if (!(Number.isFinite(v) && v > 0)) fail(op, `${name} must be a positive number, got ${v}`);
  return v;
}

/** Ring: means (r cos 2 pi i / k, r sin 2 pi i / k), i = 0..k-1 (no repeated angle: all k modes are distinct). */
export function ringMixture(opts: RingOptions = {}): GaussianMixture {
  const k = opts.modes ?? 8;
  if (!Number.isInteger(k) || k < 1) fail('ringMixture', `modes must be a positive integer, got ${k}`);
  const r = positive('ringMixture', 'radius', opts.radius ?? 1);
  const s = positive('ringMixture', 'std', opts.std ?? 0.01);
  const means = Array.from({ length: k }, (_, i) => [
    r * Math.cos((2 * Math.PI * i) / k),
    r * Math.sin((2 * Math.PI * i) / k),
  ]);
  return { name: `ring${k}`, dim: 2, means, std: [s, s] };
}

export interface GridOptions {
  /** Points per side (default 5, giving 25 modes). */
  side?: number;
  /** Distance between neighbouring means (default 2: means {-4,-2,0,2,4}^2). */
  spacing?: number;
  /** Standard deviation of every mode (default 0.05). */
  std?: number;
}

/** Grid: means on a side x side lattice centred at 0 (default {-4,-2,0,2,4}^2, std 0.05). */
export function gridMixture(opts: GridOptions = {}): GaussianMixture {
  const side = opts.side ?? 5;
  if (!Number.isInteger(side) || side < 1) fail('gridMixture', `side must be a positive integer, got ${side}`);
  const spacing = positive('gridMixture', 'spacing', opts.spacing ?? 2);
  const s = positive('gridMixture', 'std', opts.std ?? 0.05);
  const c = (side - 1) / 2;
  const means: number[][] = [];
  for (let i = 0; i < side; i++) for (let j = 0; j < side; j++) means.push([(i - c) * spacing, (j - c) * spacing]);
  return { name: `grid${side * side}`, dim: 2, means, std: [s, s] };
}

/** PacGAN's offsets of the 10 modes of the 1200-D set. */
export const HIGH_DIM_OFFSETS = [-1, -0.5, 0, 0.5, -2, -2.5, 10, 0.25, -13, -5.5] as const;

/**
 * The 1200-D set (PacGAN's version): 10 modes; x = c 1_1200 + [e_1..e_700, 0, ..., 0] with
 * e ~ N(0, 1), so dimensions 1-700 have unit variance and 701-1200 are constant at c.
 */
export function highDimMixture(): GaussianMixture {
  const dim = 1200;
  const noisy = 700;
  const means = HIGH_DIM_OFFSETS.map((c) => new Array<number>(dim).fill(c));
  const std = Array.from({ length: dim }, (_, d) => (d < noisy ? 1 : 0));
  return { name: 'highdim1200', dim, means, std };
}

export interface MixtureSample {
  /** [n, dim] float32 points. */
  x: Tensor;
  /** [n] int32 index of the mode each point came from. */
  modes: Tensor;
}

function checkCount(op: string, n: number): void {
  if (!Number.isInteger(n) || n < 0) fail(op, `n must be a non-negative integer, got ${n}`);
}

/** Draws n points (each mode equally likely) on the current backend, with `rng`. */
export function sampleMixture(m: GaussianMixture, n: number, rng: Generator = new Generator(0)): MixtureSample {
  checkCount('sampleMixture', n);
  return tidy(() => {
    const modes = rng.randint(0, m.means.length, [n]);
    const centres = take(tensor(m.means.flat(), { shape: [m.means.length, m.dim] }), modes, 0);
    const noise = rng.normal([n, m.dim]);
    const x = add(centres, mul(noise, tensor(m.std)));
    return { x, modes };
  });
}

export interface MoonsOptions {
  /** Standard deviation of Gaussian noise added to both coordinates (default 0, as in the survey). */
  noise?: number;
}

/**
 * Two interleaving half circles, scikit-learn's make_moons as a distribution: the upper moon
 * (cos t, sin t) and the lower moon (1 - cos t, 1/2 - sin t) with t ~ U[0, pi], each with
 * probability 1/2, plus optional Gaussian noise. (make_moons spaces t evenly; drawing t uniformly
 * gives the distribution it discretises.) The survey's experiment uses noise 0. `modes` is 0 for
 * the upper moon and 1 for the lower.
 */
export function twoMoons(n: number, rng: Generator = new Generator(0), opts: MoonsOptions = {}): MixtureSample {
  checkCount('twoMoons', n);
  const noise = opts.noise ?? 0;
  if (!(Number.isFinite(noise) && noise >= 0)) fail('twoMoons', `noise must be a non-negative number, got ${noise}`);
  return tidy(() => {
    const modes = rng.randint(0, 2, [n]);
    const t = rng.uniform([n, 1], 0, Math.PI);
    const lower = take(tensor([0, 1]), modes, 0).reshape([n, 1]);
    // upper: (cos t, sin t); lower: (1 - cos t, 1/2 - sin t) = lower * (1, 1/2) + (1 - 2 lower) * (cos t, sin t).
    const sign = sub(1, mul(lower, 2));
    const base = mul(lower, tensor([[1, 0.5]]));
    let x = add(base, mul(sign, concat([cos(t), sin(t)], 1)));
    if (noise > 0) x = add(x, rng.normal([n, 2], 0, noise));
    return { x, modes };
  });
}

/** The data sets the CLI knows by name. */
export type ToyDataName = 'ring' | 'grid' | 'moons' | 'highdim';

/** The mixture behind a named 2D set (undefined for 'moons', which is not a Gaussian mixture). */
export function toyMixture(
  name: ToyDataName,
  ring: RingOptions = {},
  grid: GridOptions = {},
): GaussianMixture | undefined {
  switch (name) {
    case 'ring':
      return ringMixture(ring);
    case 'grid':
      return gridMixture(grid);
    case 'highdim':
      return highDimMixture();
    case 'moons':
      return undefined;
    default:
      return fail('toyMixture', `unknown data set '${String(name)}'; expected ring, grid, moons or highdim`);
  }
}
