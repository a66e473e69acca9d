// MMD-GAN (Li et al. 2017): an autoencoder critic (encoder D, decoder Dec) whose codes carry a
// mixture-of-RBF kernel MMD; encoder clipping, the reference code's critic schedule, RMSprop.
import { fail } from '../../errors.js';
import { noGrad, tidy } from '../../tensor/engine.js';
import { clamp } from '../../tensor/ops/elementwise.js';
import type { Tensor } from '../../tensor/tensor.js';
import { mapTree } from '../../tensor/tree.js';
import { meanSquaredError } from '../latent.js';
import { MMD_SIGMAS, mixRbfMmd2 } from '../mmd.js';
import { encoderNet, generatorNet } from '../networks.js';
import type { BaseHyper, Objective, PhaseContext, StepContext } from '../objective.js';
import { DCGAN_IMAGE_PRESET, realAndLatents, TOY_NET } from './gan.js';

export interface MmdGanHyper extends BaseHyper {
  /** Dimension of the encoder's codes, on which the MMD is measured (the reference code's k = nz). */
  codeDim: number;
  /** RBF bandwidths s of the kernel mixture sum_s exp(-||a - b||^2 / (2 s^2)) (reference: 1, 2, 4, 8, 16). */
  sigmas: number[];
  /** Weight of the one-sided term r in both losses (reference `lambda_rg` = 16). */
  lambdaRg: number;
  /** Weight of the real-data reconstruction error in D's objective (reference `lambda_AE_X` = 8). */
  lambdaAeX: number;
  /** Weight of the generated-data reconstruction error in D's objective (reference `lambda_AE_Y` = 8). */
  lambdaAeY: number;
  /** The encoder's weights are clipped to [-clip, clip] before each D step (reference 0.01; decoder unclipped). */
  clip: number;
  /** D steps per G step after the warm-up (reference 5). */
  criticSteps: number;
  /** D steps per G step in the warm-up iterations (reference 100). */
  warmupCriticSteps: number;
  /** The first `warmupIterations` G iterations are warm-up ones (reference 25). */
  warmupIterations: number;
  /** Every `warmupEvery`-th G iteration (iteration % warmupEvery == 0) is also a warm-up one (reference 500). */
  warmupEvery: number;
}

const rmsprop = (lr: number) => ({ kind: 'rmsprop' as const, lr });

/** D steps in G iteration `step` (the reference code's Diters schedule; spec 13). */
export function mmdCriticSteps(step: number, h: MmdGanHyper): number {
  const warm = step < h.warmupIterations || step % h.warmupEvery === 0;
  return warm ? h.warmupCriticSteps : h.criticSteps;
}

/** The one-sided term r = -mean(ReLU(-(mean f(x) - mean f(y)))), mean over the code dimensions (reference `one_sided`). */
export function oneSidedTerm(codesReal: Tensor, codesFake: Tensor): Tensor {
  return codesReal.mean(0).sub(codesFake.mean(0)).neg().relu().mean().neg();
}

/** sqrt(ReLU(MMD^2_b)) of two batches of codes (the reference code's `sqrt(relu(mix_rbf_mmd2))`). */
export function mmdDistance(codesReal: Tensor, codesFake: Tensor, sigmas: readonly number[]): Tensor {
  return mixRbfMmd2(codesReal, codesFake, sigmas).relu().sqrt();
}

/** Clips every encoder weight to [-c, c] in place (the reference clamps `netD.encoder` only). */
function clipEncoder(ctx: PhaseContext<MmdGanHyper>): void {
  const net = ctx.nets.D!;
  const c = ctx.hyper.clip;
  const clipped = noGrad(() => tidy(() => mapTree(net.parameters(), (t) => clamp(t, -c, c))));
  net.setParameters(clipped);
}

/** D's loss: -(sqrt MMD^2 + lambdaRg r - lambdaAeX AE_x - lambdaAeY AE_y), G(z) a constant. */
function criticLoss(c: StepContext<MmdGanHyper>) {
  const h = c.hyper;
  const x = c.draws.real!;
  const y = noGrad(() => c.apply('G', c.draws.z!));
  const fx = c.apply('D', x);
  const fy = c.apply('D', y);
  const mmd = mmdDistance(fx, fy, h.sigmas);
  const r = oneSidedTerm(fx, fy);
  const aeX = meanSquaredError(c.apply('Dec', fx), x);
  const aeY = meanSquaredError(c.apply('Dec', fy), y);
  const objective = mmd.add(r.mul(h.lambdaRg)).sub(aeX.mul(h.lambdaAeX)).sub(aeY.mul(h.lambdaAeY));
  return { loss: objective.neg(), logs: { mmd, oneSided: r, aeReal: aeX, aeFake: aeY } };
}

/** G's loss: sqrt MMD^2 + lambdaRg r on the (fixed) encoder's codes. */
function generatorLoss(c: StepContext<MmdGanHyper>) {
  const h = c.hyper;
  const fx = c.apply('D', c.draws.real!);
  const fy = c.apply('D', c.apply('G', c.draws.z!));
  const mmd = mmdDistance(fx, fy, h.sigmas);
  const r = oneSidedTerm(fx, fy);
  return { loss: mmd.add(r.mul(h.lambdaRg)), logs: { mmd, oneSided: r } };
}

const isCount = (v: number, min: number) => Number.isInteger(v) && v >= min;

/**
 * MMD-GAN (Li et al. 2017, "MMD GAN: Towards Deeper Understanding of Moment Matching Network",
 * Eq. 3 with the autoencoder of section 3 and Algorithm 1; the reference code's losses, spec 13).
 * Players: G, the encoder `D` = f_phi (x -> code) and the decoder `Dec` (code -> x) of the critic's
 * autoencoder. With f = D's codes and k the RBF mixture over `sigmas`:
 * - D+Dec step (`repeat` = 100 in the first 25 iterations and every 500th, else 5; the encoder
 *   clipped to [-0.01, 0.01] before each): maximise sqrt(ReLU(MMD^2_b(f(x), f(G(z))))) + 16 r
 *   - 8 AE_x - 8 AE_y, with r = -mean ReLU(mean f(G(z)) - mean f(x)) the one-sided term, AE the
 *   mean squared reconstruction error ||Dec(f(x)) - x||^2 averaged over every element, G(z) a
 *   constant; the loss minimised is the negation.
 * - G step (fresh real batch and z): minimise sqrt(ReLU(MMD^2_b)) + 16 r, the encoder fixed.
 * Defaults: RMSprop lr 5e-5 for every player, batch 64, nz = codeDim = 10 (the MNIST setting).
 * Vector data (our choice, documented): G 10-128-128-2, encoder 2-128-128-10, decoder
 * 10-128-128-2, tanh MLPs (`net`, like the other toy objectives). Images: the DCGAN generator for
 * G and for the decoder (code -> image); the encoder is an MLP on the flattened image (the
 * reference uses a DCGAN conv encoder with k outputs, which our builders do not make yet).
 */
export const mmdGan: Objective<MmdGanHyper> = {
  name: 'mmd-gan',
  title: 'MMD-GAN',
  paper:
    'Li et al. 2017, MMD GAN: Towards Deeper Understanding of Moment Matching Network (Eq. 3, Algorithm 1; reference code OctoberChang/MMD-GAN)',
  players: ['G', 'D', 'Dec'],
  defaults: {
    batchSize: 64,
    latentDim: 10,
    steps: 2000,
    optimizers: { G: rmsprop(5e-5), D: rmsprop(5e-5), Dec: rmsprop(5e-5) },
    net: { ...TOY_NET },
    codeDim: 10,
    sigmas: [...MMD_SIGMAS],
    lambdaRg: 16,
    lambdaAeX: 8,
    lambdaAeY: 8,
    clip: 0.01,
    criticSteps: 5,
    warmupCriticSteps: 100,
    warmupIterations: 25,
    warmupEvery: 500,
  },
  presets: {
    image: { ...DCGAN_IMAGE_PRESET, latentDim: 10, codeDim: 10, steps: 5000 },
  },
  validate(h) {
    const op = 'mmd-gan';
    if (!isCount(h.codeDim, 1)) fail(op, `codeDim must be a positive integer, got ${h.codeDim}`);
    if (!Array.isArray(h.sigmas) || h.sigmas.length === 0 || h.sigmas.some((s) => !(s > 0)))
      fail(op, `sigmas must be a non-empty list of positive numbers, got ${JSON.stringify(h.sigmas)}`);
    for (const k of ['lambdaRg', 'lambdaAeX', 'lambdaAeY'] as const) {
      if (!(Number.isFinite(h[k]) && h[k] >= 0)) fail(op, `${k} must be a non-negative number, got ${h[k]}`);
    }
    if (!(h.clip > 0)) fail(op, `clip must be a positive number, got ${h.clip}`);
    for (const k of ['criticSteps', 'warmupCriticSteps', 'warmupIterations'] as const) {
      if (!isCount(h[k], 0)) fail(op, `${k} must be a non-negative integer, got ${h[k]}`);
    }
    if (!isCount(h.warmupEvery, 1)) fail(op, `warmupEvery must be a positive integer, got ${h.warmupEvery}`);
  },
  build(data, h, rng) {
    return {
      G: generatorNet(data, h.latentDim, h.net, rng),
      D: encoderNet(data, h.codeDim, h.net, rng),
      Dec: generatorNet(data, h.codeDim, h.net, rng),
    };
  },
  phases() {
    return [
      {
        name: 'D',
        repeat: mmdCriticSteps,
        before: clipEncoder,
        draw: realAndLatents,
        updates: [{ name: 'D', players: ['D', 'Dec'], loss: criticLoss }],
      },
      {
        name: 'G',
        draw: realAndLatents,
        updates: [{ name: 'G', players: ['G'], loss: generatorLoss }],
      },
    ];
  },
  sample: (ctx, z) => ctx.nets.G!.forward(z),
};
