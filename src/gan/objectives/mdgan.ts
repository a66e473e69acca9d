// Manifold-diffusion GAN (Che et al. 2017, section 3.3 and Appendix A): a manifold step matching
// G(E(x)) to x with D1 and the reconstruction error, then a diffusion step matching G(z) to G(E(x)) with D2.

import { fail } from '../../errors.js';
import { noGrad } from '../../tensor/engine.js';
import { adamSpec } from '../config.js';
import { discriminatorLogisticLoss, generatorNonSaturatingLoss } from '../losses.js';
import { encoderNet, generatorNet } from '../networks.js';
import type { BaseHyper, Objective, PhaseContext } from '../objective.js';
import { DCGAN_IMAGE_PRESET } from './gan.js';
import {
  applyG,
  CHE_TOY,
  cheDiscriminator,
  drawLatents,
  type LatentDistribution,
  realAndPrior,
  sharedDraw,
  squaredDistance,
  validateCommon,
} from './reg-gan.js';

export interface MdganHyper extends BaseHyper {
  /** Weight of log D1(G(E(x))) against the reconstruction error in G's manifold loss (Appendix A step 3). */
  lambda: number;
  /** The prior p(z) of the diffusion step (the toy settings: uniform on [0, 1]). */
  latentDistribution: LatentDistribution;
  /** Hidden layers of D1 and D2 on vector data; image data use the DCGAN discriminator. */
  discriminatorLayers: number;
}

/** The manifold step's real batch (Appendix A step 1). */
function manifoldDraw(ctx: PhaseContext<MdganHyper>) {
  return { real: ctx.sampleReal(ctx.hyper.batchSize) };
}

/**
 * MDGAN (Che et al. 2017, section 3.3; the procedure of Appendix A, Figure 8). Players G, E: x -> z,
 * D1 (x against G(E(x))) and D2 (G(E(x)) against G(z)). Per iteration, in order:
 * - Manifold step: sample x (step 1). Phase `manifold-D1`: D1 ascends
 *   mean[log D1(x) + log(1 - D1(G(E(x))))] (step 2), i.e. minimises BCE(D1(x), 1) + BCE(D1(sg G(E(x))), 0).
 *   Phase `manifold-G`, on the same x and the updated D1: G ascends
 *   mean[lambda log D1(G(E(x))) - ||x - G(E(x))||^2] (step 3), i.e. minimises
 *   lambda mean softplus(-D1(G(E(x)))) + mean ||x - G(E(x))||^2; and E minimises the same
 *   reconstruction error mean ||x - G(E(x))||^2 (section 3.1: "the encoder itself is trained by
 *   minimizing the same reconstruction error"). Appendix A has no separate encoder step and section
 *   3.1 trains E "jointly" with G, so the G and E updates are simultaneous (both at the same
 *   parameters, then both optimisers step).
 * - Diffusion step: sample x and z ~ p(z) (steps 4-5). Phase `diffusion-D2`: D2 ascends
 *   mean[log D2(G(E(x))) + log(1 - D2(G(z)))] (step 6; the appendix prints D2(z), a typo: D2
 *   separates the two generated distributions, section 3.3), i.e. minimises
 *   BCE(D2(sg G(E(x))), 1) + BCE(D2(sg G(z)), 0). Phase `diffusion-G`, on the same z and the
 *   updated D2: G ascends mean log D2(G(z)) (step 7), i.e. minimises mean softplus(-D2(G(z))).
 * Every step in the appendix is sequential and uses the batch sampled for its part of the
 * iteration, so each step's two phases share their draws (`sharedDraw`).
 *
 * d is ||x - G(E(x))||^2 summed over an example's elements, averaged over the batch. G has
 * BatchNorm with separate batch statistics for prior z (the default stream) and encoder outputs
 * E(x) (the `'encoded'` stream), sharing the affine parameters (Appendix B); running statistics
 * move only in G's own updates (the `'encoded'` stream in `manifold-G`, the default stream in
 * `diffusion-G`), once per batch. Samples use batch statistics of the default stream.
 *
 * lambda: the paper gives no value. Dividing Reg-GAN's T_G (Eq. 1) by lambda1 gives Appendix A's
 * form with lambda = lambda2 / lambda1, so we take Reg-GAN's ratios: 1 for vector data (Appendix
 * C's lambda1 = lambda2 = 0.005) and 2 for images (section 4.1.1's 0.2 and 0.4). Optimisers: the
 * appendix's "SGD" is the generic wording of the pseudo-code; vector data use Appendix C's Adam
 * 1e-4 (beta1 0.5) and networks (G with BatchNorm added for the two streams, D1 and D2 with one
 * ReLU hidden layer of 128, z 3-D uniform on [0, 1]); images the DCGAN nets of Appendix B with
 * Adam 2e-4, beta1 0.5 (Radford et al.), z ~ N(0, I) of 200 (Table 3's MDGAN(200)) and E an MLP
 * on the flattened image (Appendix B's convolutional encoder is not built yet).
 */
export const mdgan: Objective<MdganHyper> = {
  name: 'mdgan',
  title: 'MDGAN',
  paper: 'Che et al. 2017, Mode Regularized Generative Adversarial Networks (section 3.3; Appendix A and B)',
  players: ['G', 'E', 'D1', 'D2'],
  defaults: {
    ...CHE_TOY,
    optimizers: { G: adamSpec(1e-4), E: adamSpec(1e-4), D1: adamSpec(1e-4), D2: adamSpec(1e-4) },
    lambda: 1,
  },
  presets: {
    image: {
      ...DCGAN_IMAGE_PRESET,
      latentDim: 200,
      latentDistribution: 'normal',
      optimizers: { G: adamSpec(2e-4), E: adamSpec(2e-4), D1: adamSpec(2e-4), D2: adamSpec(2e-4) },
      lambda: 2,
    },
  },
  validate(h) {
    validateCommon('mdgan', h, { lambda: h.lambda });
    if (h.batchSize < 2) fail('mdgan', `batchSize must be at least 2 (G has BatchNorm), got ${h.batchSize}`);
  },
  build(data, h, rng) {
    return {
      G: generatorNet(data, h.latentDim, h.net, rng, { bnStreams: ['encoded'] }),
      E: encoderNet(data, h.latentDim, h.net, rng),
      D1: cheDiscriminator(data, h.net, h.discriminatorLayers, rng),
      D2: cheDiscriminator(data, h.net, h.discriminatorLayers, rng),
    };
  },
  phases(h) {
    const manifold = sharedDraw(manifoldDraw);
    const diffusion = sharedDraw(realAndPrior<MdganHyper>); // Appendix A steps 4 and 5
    return [
      {
        name: 'manifold-D1',
        draw: manifold.first,
        updates: [
          {
            name: 'D1',
            players: ['D1'],
            loss: (c) => {
              const x = c.draws.real!;
              const rec = noGrad(() => applyG(c, c.apply('E', x), 'encoded', false));
              return discriminatorLogisticLoss(c.apply('D1', x), c.apply('D1', rec));
            },
          },
        ],
      },
      {
        name: 'manifold-G',
        draw: manifold.again,
        updates: [
          {
            name: 'G-manifold',
            players: ['G'],
            loss: (c) => {
              const x = c.draws.real!;
              const rec = applyG(c, c.apply('E', x), 'encoded', true);
              const adv = generatorNonSaturatingLoss(c.apply('D1', rec)).mul(h.lambda);
              const recon = squaredDistance(x, rec);
              return { loss: adv.add(recon), logs: { adv, recon } };
            },
          },
          {
            name: 'E',
            players: ['E'],
            loss: (c) => {
              const x = c.draws.real!;
              return squaredDistance(x, applyG(c, c.apply('E', x), 'encoded', false));
            },
          },
        ],
      },
      {
        name: 'diffusion-D2',
        draw: diffusion.first,
        updates: [
          {
            name: 'D2',
            players: ['D2'],
            loss: (c) => {
              const [rec, fake] = noGrad(() => [
                applyG(c, c.apply('E', c.draws.real!), 'encoded', false),
                applyG(c, c.draws.z!, 'prior', false),
              ]);
              return discriminatorLogisticLoss(c.apply('D2', rec!), c.apply('D2', fake!));
            },
          },
        ],
      },
      {
        name: 'diffusion-G',
        draw: diffusion.again,
        updates: [
          {
            name: 'G-diffusion',
            players: ['G'],
            loss: (c) => generatorNonSaturatingLoss(c.apply('D2', applyG(c, c.draws.z!, 'prior', true))),
          },
        ],
      },
    ];
  },
  sample: (ctx, z, rng) => {
    const h = ctx.hyper;
    const zz = h.latentDistribution === 'uniform' ? drawLatents(rng, z.shape[0]!, h.latentDim, 'uniform') : z;
    return ctx.nets.G!.forward(zz, { updateStats: false });
  },
};
