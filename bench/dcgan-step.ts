// The DCGAN training step of issue 12 in tessera (used by bench/dcgan.bench.ts and docs/profiling.md):
// PyTorch's DCGAN example step (G forward once; D step on real and detached fake; G step through D), Adam.
import {
  Adam,
  binaryCrossEntropyWithLogits,
  dcganDiscriminator,
  dcganGenerator,
  flattenTree,
  Generator,
  getBackend,
  type ParamTree,
  type Tensor,
  tidy,
  unflattenTree,
  valueAndGrad,
  vjp,
} from '../src/index.js';

/** The two nets of the issue: 28x28 MNIST (nc 1) and PresGAN's 64x64 (nc 3); ngf = ndf = 64, batch 64. */
export type DcganNet = 'dcgan28' | 'presgan64';

export const NETS: Record<DcganNet, { imageSize: 28 | 64; nc: number; title: string }> = {
  dcgan28: { imageSize: 28, nc: 1, title: '28x28x1 DCGAN' },
  presgan64: { imageSize: 64, nc: 3, title: '64x64x3 PresGAN nets' },
};

export const BATCH = 64;
export const NZ = 100;

export interface DcganStep {
  /** One D step + G step; resolves when the backend has finished it. */
  step(): Promise<void>;
  /** The losses of the last step are not kept; frees the nets, the batch and the optimisers' state. */
  free(): void;
}

/**
 * The step: z ~ N(0, I); fake = G(z) (recorded once, as PyTorch's example does); D step on
 * BCE(D(real), 1) + BCE(D(fake.detach()), 0); G step on BCE(D(fake), 1), differentiated through D to
 * `fake` and then through G with the recorded G forward (no second G forward). Adam(2e-4, 0.5, 0.999).
 */
export function tesseraDcganStep(net: DcganNet, seed = 1): DcganStep {
  const { imageSize, nc } = NETS[net];
  const rng = new Generator(seed);
  const G = dcganGenerator({ imageSize, nc, nz: NZ, ngf: 64, rng });
  const D = dcganDiscriminator({ imageSize, nc, ndf: 64, rng });
  const optG = new Adam(G, { lr: 2e-4, betas: [0.5, 0.999] });
  const optD = new Adam(D, { lr: 2e-4, betas: [0.5, 0.999] });
  const real = tidy(() => rng.uniform([BATCH, nc, imageSize, imageSize], -1, 1));
  return {
    async step() {
      tidy(() => {
        const z = rng.normal([BATCH, NZ]);
        const gEntries = flattenTree(G.parameters());
        const gLeaves = gEntries.map(([, t]) => t);
        const [fake, fakeVjp] = vjp(
          (...ps: Tensor[]) => G.call(unflattenTree(gEntries.map(([k], i) => [k, ps[i]!] as const)), z),
          ...gLeaves,
        );
        const dLoss = (p: ParamTree) =>
          binaryCrossEntropyWithLogits(D.call(p, real), 1).add(binaryCrossEntropyWithLogits(D.call(p, fake), 0));
        const [, dGrads] = valueAndGrad(dLoss)(D.parameters());
        optD.step(dGrads);
        const [, gFake] = valueAndGrad((f: Tensor) => binaryCrossEntropyWithLogits(D.call(D.parameters(), f), 1))(fake);
        const gGrads = fakeVjp(gFake);
        optG.step(unflattenTree(gEntries.map(([k], i) => [k, gGrads[i]!] as const)));
      });
      await getBackend().sync();
    },
    free() {
      real.dispose();
      G.dispose();
      D.dispose();
      optG.dispose();
      optD.dispose();
    },
  };
}
