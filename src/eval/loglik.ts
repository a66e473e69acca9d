// Predictive log-likelihood by importance sampling (Dieng et al. 2019, Section 3.3, Eqs. 18-20;
// ../shared/spec/presgan.md 10.5): one evaluator for PresGAN (any lambda) and the VAE baseline.

import { valueAndGrad } from '../autograd/transforms.js';
import { fail, fmtShape } from '../errors.js';
import { type PresganHyper, presgan, sigmaFromRho } from '../gan/objectives/presgan.js';
import type { VaeHyper } from '../gan/objectives/vae.js';
import type { GanTrainer } from '../gan/trainer.js';
import type { ActivationName } from '../nn/layers.js';
import { ParameterDict } from '../nn/module.js';
import { Adam } from '../optim/optimizers.js';
import { Generator } from '../random/generator.js';
import { getBackend, keep, noGrad, tidy } from '../tensor/engine.js';
import { abs, concat, exp, full, logsumexp, maximum, min, zeros } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ParamTree } from '../tensor/tree.js';
import { type ExampleLogLikelihood, encodeGaussian, fitGaussianEncoder } from './encoder-fit.js';
import { gaussianLogDensityElementwise, sumPerExample, truncatedGaussianLogDensity } from './loglik-normal.js';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
const OP = 'predictiveLogLikelihood';

/** A frozen decoder with Gaussian noise: x = decode(z) + sigma * eta, z ~ N(0, I), eta ~ N(0, I). */
export interface DecoderModel {
  /** The decoder mean `[n, latentDim] -> [n, ...example shape]`, frozen (no training side effects). */
  decode(z: Tensor): Tensor;
  /** The noise std, broadcastable to one example's shape (scalar, per dimension or per pixel). */
  sigma: Tensor;
  latentDim: number;
  /** 'image' (default likelihood: truncated Gaussian on [-1, 1]) or 'vector' (plain Gaussian). */
  kind?: 'image' | 'vector';
  /** What the model is, for the protocol record. */
  description?: Record<string, unknown>;
}

export interface LogLikelihoodOptions {
  /** Importance samples S per example (default 1000; Eq. 18). */
  samples?: number;
  /** Overdispersion k of the proposal (default 1.2; ../shared/spec/presgan.md 10.5). */
  overdispersion?: number;
  /**
   * What k multiplies: 'covariance' (default; the paper, Section 3.3: "we multiply the elements of
   * the encoder's covariance by a factor k", so the std by sqrt k) or 'std' (../shared/spec/presgan.md
   * 10.5's r = N(z*, k^2 diag s^2)). docs/loglik.md has the choice.
   */
  overdispersionOf?: 'std' | 'covariance';
  /** Encoder fitting: Adam steps on the negative ELBO (default 1000). */
  encoderSteps?: number;
  /** Encoder fitting: minibatch size (default 64). */
  encoderBatchSize?: number;
  /** Encoder fitting: Adam learning rate (default 1e-3). */
  encoderLr?: number;
  /** Hidden sizes of the MLP encoder (default [256, 256]). */
  encoderHidden?: readonly number[];
  /** Hidden activation of the MLP encoder (default 'tanh'). */
  encoderActivation?: ActivationName;
  /** Data the encoder is fitted on (the paper: the training set). Default: the evaluated data. */
  encoderData?: Tensor;
  /** MAP refinement from the encoder mean: Adam steps on log p(x | z) + log p(z) (default 200). */
  mapSteps?: number;
  /** MAP refinement: Adam learning rate (default 0.01). */
  mapLr?: number;
  /** p(x | z): 'truncated-gaussian' on [-1, 1] (default for images) or 'gaussian' (default for vectors). */
  likelihood?: 'truncated-gaussian' | 'gaussian';
  /** Every random draw (encoder weights and batches, proposal draws). Default `new Generator(0)`. */
  rng?: Generator;
  /** Most decoder inputs per forward pass (examples x samples; default 256). */
  batchSize?: number;
}

export interface LogLikelihoodResult {
  /** Mean over examples of log p^(x) in nats (the log-likelihood; the paper's Table 5 lists its negative). */
  natsPerExample: number;
  /** Standard error of `natsPerExample` over examples: sd(perExample) / sqrt(n) (0 for one example). */
  standardError: number;
  /** Negative log-likelihood in bits per dimension: -natsPerExample / (D ln 2), on the data's scale. */
  bitsPerDim: number;
  /** log p^(x_i) for each example. */
  perExample: Float64Array;
  /** Monte Carlo standard error of each log p^(x_i) (delta method: sqrt((S / ESS - 1) / (S - 1))). */
  perExampleStandardError: Float64Array;
  /** Effective sample size (sum w)^2 / sum w^2 of each example's importance weights. */
  effectiveSampleSize: Float64Array;
  /** Everything that produced the numbers. */
  protocol: Record<string, unknown>;
}

function positiveInt(name: string, v: number, min = 1): void {
  if (!Number.isInteger(v) || v < min) fail(OP, `${name} must be an integer >= ${min}, got ${v}`);
}

/** Per-example log p(x | mu) under the chosen likelihood, summed over the example's entries. */
function exampleLogLikelihood(kind: 'truncated-gaussian' | 'gaussian', sigma: Tensor): ExampleLogLikelihood {
  return (x, mu) =>
    sumPerExample(
      kind === 'gaussian' ? gaussianLogDensityElementwise(x, mu, sigma) : truncatedGaussianLogDensity(x, mu, sigma),
    );
}

/** log N(z; 0, I) summed over the last axis. */
function logStandardNormal(z: Tensor): Tensor {
  return z
    .square()
    .sum(-1)
    .mul(-0.5)
    .sub(z.shape[z.rank - 1]! * HALF_LOG_2PI);
}

/** MAP refinement of z for data x, started at z0: Adam ascent on log p(x | z) + log p(z). No read-backs. */
function mapRefine(
  decode: (z: Tensor) => Tensor,
  logLik: ExampleLogLikelihood,
  x: Tensor,
  z0: Tensor,
  steps: number,
  lr: number,
): Tensor {
  const holder = new ParameterDict({ z: noGrad(() => z0.add(0)) }); // a copy: the holder frees its own
  const optimizer = new Adam(holder, { lr });
  // The examples' objectives are separate, so the sum's gradient is each example's own.
  const negJoint = (p: ParamTree, xb: Tensor): Tensor => {
    const z = p.z as Tensor;
    return logLik(xb, decode(z)).add(logStandardNormal(z)).sum().neg();
  };
  try {
    for (let i = 0; i < steps; i++) {
      tidy(() => {
        const [, grads] = valueAndGrad(negJoint)(holder.parameters(), x);
        optimizer.step(grads);
      });
    }
    return keep(holder.get('z').mul(1));
  } finally {
    optimizer.dispose();
    holder.dispose();
  }
}

/**
 * The predictive log-likelihood log p(x) of each example under x = decode(z) + sigma eta by
 * importance sampling (Dieng et al. 2019, Section 3.3):
 * 1. fit a Gaussian encoder q(z | x) by maximising the ELBO on `encoderData` with the decoder frozen
 *    (minimising the KL of Eq. 20);
 * 2. per example, z* = MAP of log p(x | z) + log N(z; 0, I), by Adam started at the encoder mean;
 * 3. proposal r = N(z*, k diag(s(x)^2)) with s(x) the encoder's std and k the overdispersion
 *    (Eq. 19 and the text after it; `overdispersionOf: 'std'` gives spec 10.5's k^2 diag(s^2));
 * 4. log p^(x) = logsumexp_s [log p(x | z_s) + log N(z_s; 0, I) - log r(z_s)] - log S with z_s ~ r
 *    (Eq. 18), S = `samples`.
 * p(x | z) is the per-pixel truncated Gaussian on [-1, 1] for images (../shared/spec/presgan.md 5)
 * or the plain Gaussian for vectors. Everything runs as tensor ops on the data's backend, batched
 * over examples and samples; the loops queue device work and the numbers are read back once.
 *
 * @example
 * const W = tensor([[1, 0.5], [-0.3, 0.8], [0.2, -0.4]], { dtype: 'float64' });
 * const model = { decode: (z: Tensor) => matmul(z, W.transpose()), sigma: tensor([0.5, 0.3, 0.7], { dtype: 'float64' }), latentDim: 2, kind: 'vector' as const };
 * const x = new Generator(1).normal([20, 3], 0, 1, { dtype: 'float64' });
 * const r = await predictiveLogLikelihood(model, x, { samples: 100, encoderSteps: 300 });
 * console.log(r.natsPerExample, '+-', r.standardError);
 */
export async function predictiveLogLikelihood(
  model: DecoderModel,
  data: Tensor,
  opts: LogLikelihoodOptions = {},
): Promise<LogLikelihoodResult> {
  const samples = opts.samples ?? 1000;
  const k = opts.overdispersion ?? 1.2;
  const kOf = opts.overdispersionOf ?? 'covariance';
  const mapSteps = opts.mapSteps ?? 200;
  const mapLr = opts.mapLr ?? 0.01;
  const batchSize = opts.batchSize ?? 256;
  positiveInt('samples', samples);
  positiveInt('mapSteps', mapSteps, 0);
  positiveInt('batchSize', batchSize);
  positiveInt('latentDim', model.latentDim);
  if (!(k > 0 && Number.isFinite(k))) fail(OP, `overdispersion must be a positive number, got ${k}`);
  if (kOf !== 'std' && kOf !== 'covariance')
    fail(OP, `overdispersionOf must be 'std' or 'covariance', got '${String(kOf)}'`);
  if (!(mapLr > 0 && Number.isFinite(mapLr))) fail(OP, `mapLr must be a positive number, got ${mapLr}`);
  if (data.rank < 2 || data.shape[0]! < 1)
    fail(OP, `data must be [n, ...example] with n >= 1, got ${fmtShape(data.shape)}`);
  if (data.dtype !== 'float32' && data.dtype !== 'float64')
    fail(OP, `data must be float32 or float64, got ${data.dtype}`);
  if (data.backend !== getBackend())
    fail(
      OP,
      `data is on the ${data.backend.name} backend, but the current backend is ${getBackend().name}: the evaluator draws and builds its encoder on the current backend`,
    );
  const kind = model.kind ?? (data.rank > 2 ? 'image' : 'vector');
  const likelihood = opts.likelihood ?? (kind === 'image' ? 'truncated-gaussian' : 'gaussian');
  if (likelihood !== 'gaussian' && likelihood !== 'truncated-gaussian')
    fail(OP, `likelihood must be 'truncated-gaussian' or 'gaussian', got '${String(likelihood)}'`);
  const encoderData = opts.encoderData ?? data;
  const exampleShape = data.shape.slice(1);
  if (encoderData.dtype !== data.dtype || fmtShape(encoderData.shape.slice(1)) !== fmtShape(exampleShape))
    fail(
      OP,
      `encoderData must be ${data.dtype} [m, ${exampleShape.join(', ')}], got ${encoderData.dtype} ${fmtShape(encoderData.shape)}`,
    );
  const n = data.shape[0]!;
  const dims = exampleShape.reduce((a, b) => a * b, 1);
  const latentDim = model.latentDim;
  const dtype = data.dtype;
  const rng = opts.rng ?? new Generator(0);
  const rngAtStart = rng.getState();

  // Checks before any loop: the decoder's output shape, sigma > 0, data inside [-1, 1] (one read-back).
  const sigma = model.sigma.dtype === dtype ? model.sigma : model.sigma.cast(dtype);
  const [probeShape, sigmaMin, dataAbsMax] = await (async () => {
    let probe: Tensor;
    try {
      probe = noGrad(() => tidy(() => model.decode(zeros([1, latentDim], dtype))));
    } catch (e) {
      return fail(
        OP,
        `decode(z [1, ${latentDim}]) failed (latentDim ${latentDim}): ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    const shape = probe.shape;
    probe.dispose();
    const checks = tidy(() => [min(sigma), maximum(abs(data).max(), abs(encoderData).max())]);
    const values = await Promise.all(checks.map((t) => t.data()));
    for (const t of checks) t.dispose();
    return [shape, Number(values[0]![0]), Number(values[1]![0])] as const;
  })();
  if (fmtShape(probeShape) !== fmtShape([1, ...exampleShape]))
    fail(OP, `decode(z [1, ${latentDim}]) gave ${fmtShape(probeShape)}, expected ${fmtShape([1, ...exampleShape])}`);
  if (!(sigmaMin > 0)) fail(OP, `sigma must be positive everywhere, got a minimum of ${sigmaMin}`);
  if (likelihood === 'truncated-gaussian' && !(dataAbsMax <= 1))
    fail(OP, `the truncated Gaussian likelihood needs data in [-1, 1], got max |x| = ${dataAbsMax}`);

  const logLik = exampleLogLikelihood(likelihood, sigma);
  const [encoderRng, proposalRng] = rng.split(2);
  const encoder = fitGaussianEncoder(model.decode, latentDim, logLik, encoderData, {
    steps: opts.encoderSteps ?? 1000,
    batchSize: opts.encoderBatchSize ?? 64,
    lr: opts.encoderLr ?? 1e-3,
    hidden: opts.encoderHidden ?? [256, 256],
    activation: opts.encoderActivation ?? 'tanh',
    rng: encoderRng!,
  });
  const stdFactor = kOf === 'std' ? k : Math.sqrt(k);
  const exampleChunk = Math.min(n, batchSize);
  const sampleChunk = Math.max(1, Math.floor(batchSize / exampleChunk));
  const outputs: { logP: Tensor; ess: Tensor; gain: Tensor }[] = [];
  try {
    for (let start = 0; start < n; start += exampleChunk) {
      const m = Math.min(exampleChunk, n - start);
      const whole = start === 0 && m === n;
      const x = whole ? data : keep(data.slice([[start, start + m]]));
      const { mean, std } = noGrad(() =>
        tidy(() => {
          const q = encodeGaussian(encoder.net, encoder.net.parameters(), x);
          return { mean: keep(q.mean), std: keep(q.logVar.mul(0.5).exp().mul(stdFactor)) };
        }),
      );
      const zStar = mapRefine(model.decode, logLik, x, mean, mapSteps, mapLr);
      const chunkOut = noGrad(() =>
        tidy(() => {
          const logJoint = (z: Tensor): Tensor => logLik(x, model.decode(z)).add(logStandardNormal(z));
          const gain = logJoint(zStar).sub(logJoint(mean));
          const pieces: Tensor[] = [];
          for (let s0 = 0; s0 < samples; s0 += sampleChunk) {
            const sc = Math.min(sampleChunk, samples - s0);
            pieces.push(
              tidy(() => {
                const eps = proposalRng!.normal([sc, m, latentDim], 0, 1, { dtype });
                const z = zStar.add(std.mul(eps)); // [sc, m, k]
                const mu = model.decode(z.reshape([sc * m, latentDim]));
                const xs = x.reshape([1, m, ...exampleShape]);
                const ll = logLik(xs.expand([sc, m, ...exampleShape]).reshape([sc * m, ...exampleShape]), mu).reshape([
                  sc,
                  m,
                ]);
                const logPrior = logStandardNormal(z);
                const logProposal = logStandardNormal(eps).sub(std.log().sum(-1));
                return ll.add(logPrior).sub(logProposal);
              }),
            );
          }
          const logW = concat(pieces, 0); // [S, m]
          const lse = logsumexp(logW, 0);
          const ess = exp(lse.mul(2).sub(logsumexp(logW.mul(2), 0)));
          return { logP: keep(lse.sub(Math.log(samples))), ess: keep(ess), gain: keep(gain) };
        }),
      );
      outputs.push(chunkOut);
      for (const t of [mean, std, zStar]) t.dispose();
      if (!whole) x.dispose();
    }
    // The one read-back.
    const [logP, ess, gain, lastElbo] = await (async () => {
      const cat = tidy(() => [
        concat(
          outputs.map((o) => o.logP),
          0,
        ),
        concat(
          outputs.map((o) => o.ess),
          0,
        ),
        concat(
          outputs.map((o) => o.gain),
          0,
        ).mean(),
      ]);
      const read = await Promise.all([...cat, ...(encoder.lastElbo ? [encoder.lastElbo] : [])].map((t) => t.data()));
      for (const t of cat) t.dispose();
      return [
        Float64Array.from(read[0]!),
        Float64Array.from(read[1]!),
        Number(read[2]![0]),
        read[3] ? Number(read[3][0]) : null,
      ] as const;
    })();
    const perExampleStandardError = ess.map((e) =>
      samples > 1 ? Math.sqrt(Math.max(samples / e - 1, 0) / (samples - 1)) : Number.NaN,
    );
    const mean = logP.reduce((a, b) => a + b, 0) / n;
    const variance = n > 1 ? logP.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
    const standardError = Math.sqrt(variance / n);
    if (!Number.isFinite(mean))
      fail(
        OP,
        `the estimate is not finite (${mean}); ${logP.filter((v) => !Number.isFinite(v)).length} of ${n} examples gave non-finite log p`,
      );
    const essSorted = [...ess].sort((a, b) => a - b);
    return {
      natsPerExample: mean,
      standardError,
      bitsPerDim: -mean / (dims * Math.LN2),
      perExample: logP,
      perExampleStandardError,
      effectiveSampleSize: ess,
      protocol: {
        method: 'importance sampling (Dieng et al. 2019, Section 3.3, Eqs. 18-20; ../shared/spec/presgan.md 10.5)',
        model: model.description ?? {},
        examples: n,
        dimensions: dims,
        dtype,
        backend: data.backend.name,
        likelihood:
          likelihood === 'gaussian'
            ? 'Gaussian N(x; G(z), sigma^2)'
            : 'Gaussian N(x; G(z), sigma^2) truncated to [-1, 1] per entry',
        sigma: { min: sigmaMin, shape: [...sigma.shape] },
        samples,
        overdispersion: k,
        overdispersionOf: kOf,
        proposal: `N(z*, ${kOf === 'std' ? 'k^2' : 'k'} diag(s_encoder(x)^2)), k = ${k}`,
        encoder: {
          ...encoder.settings,
          trainExamples: encoderData.shape[0],
          trainedOn: opts.encoderData ? 'encoderData' : 'the evaluated data',
          lastMinibatchElbo: lastElbo,
        },
        map: { optimizer: 'Adam', steps: mapSteps, lr: mapLr, meanLogJointGain: gain },
        batchSize,
        effectiveSampleSize: {
          min: essSorted[0],
          median: essSorted[Math.floor((n - 1) / 2)],
          mean: ess.reduce((a, b) => a + b, 0) / n,
        },
        rng: rngAtStart,
        units: {
          natsPerExample: 'nats, log p(x) (higher is better)',
          bitsPerDim: '-log2 p(x) / D (lower is better), data scale [-1, 1] or raw',
        },
      },
    };
  } finally {
    for (const o of outputs) for (const t of [o.logP, o.ess, o.gain]) t.dispose();
    encoder.lastElbo?.dispose();
    encoder.net.dispose();
    if (sigma !== model.sigma) sigma.dispose();
  }
}

/** Runs `f` with `net` in eval mode (BatchNorm on running statistics), restoring its mode after. */
function inEvalMode<T>(net: { training: boolean; eval(): unknown; train(on?: boolean): unknown }, f: () => T): T {
  if (!net.training) return f();
  net.eval();
  try {
    return f();
  } finally {
    net.train(true);
  }
}

/**
 * The decoder model of a trained PresGAN (any lambda; lambda = 0 is the paper's "GAN" row) or VAE
 * (Gaussian likelihood) trainer: decode = G in eval mode, sigma = the PresGAN's current
 * sigma(rho) (softplus or exp, its shape) or the VAE's fixed observation std. `sigma` is a new
 * tensor, a snapshot of the trainer's current value, owned by the caller (dispose it when done).
 *
 * @example
 * const trainer = new GanTrainer({ objective: OBJECTIVES.presgan, data: await loadDataSource('ring'), seed: 1 });
 * const r = await predictiveLogLikelihood(decoderModel(trainer), trainer.data.sample(100, new Generator(3)).x);
 */
export function decoderModel(trainer: GanTrainer): DecoderModel {
  const name = trainer.objective.name;
  const G = trainer.nets.G;
  if (G === undefined) fail('decoderModel', `trainer of objective '${name}' has no generator G`);
  const decode = (z: Tensor): Tensor => inEvalMode(G, () => G.forward(z));
  const kind = trainer.data.info.kind;
  if (name === presgan.name) {
    const h = trainer.hyper as unknown as PresganHyper;
    const sigma = noGrad(() => sigmaFromRho(trainer.nets.sigma!.getParameter('rho'), h.sigmaParam));
    return {
      decode,
      sigma,
      latentDim: h.latentDim,
      kind,
      description: {
        objective: name,
        lambda: h.lambda,
        sigmaParam: h.sigmaParam,
        sigmaShape: h.sigmaShape,
        step: trainer.stepCount,
        seed: trainer.seed,
        data: trainer.data.name,
      },
    };
  }
  if (name === 'vae') {
    const h = trainer.hyper as unknown as VaeHyper;
    if (h.likelihood !== 'gaussian')
      fail(
        'decoderModel',
        `a VAE with likelihood '${h.likelihood}' has no Gaussian noise model to evaluate; train it with likelihood 'gaussian'`,
      );
    const dtype = firstDtype(G.parameters());
    return {
      decode,
      sigma: full([], h.observationStd, dtype),
      latentDim: h.latentDim,
      kind,
      description: {
        objective: name,
        observationStd: h.observationStd,
        step: trainer.stepCount,
        seed: trainer.seed,
        data: trainer.data.name,
      },
    };
  }
  return fail('decoderModel', `expected a trainer of objective 'presgan' or 'vae', got '${name}'`);
}

function firstDtype(tree: ParamTree): 'float32' | 'float64' {
  for (const v of Object.values(tree)) {
    if (v === undefined) continue;
    if ('dtype' in v && typeof v.dtype === 'string') return v.dtype === 'float64' ? 'float64' : 'float32';
    return firstDtype(v as ParamTree);
  }
  return 'float32';
}
