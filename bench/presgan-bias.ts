// PresGAN's entropy-gradient estimator on the linear-Gaussian fixture of presgan.md 9.3: its mean
// under exact posterior samples and under HMC started at the generating z (the bias of 9.4), and
// the rate of PresGAN ring iterations on the CPU backend. Run: npm run bench -- bench/presgan-bias.ts
// (PRESGAN_BENCH=bias or speed runs one part; PRESGAN_BENCH_THREADS=1,2 the thread counts).

import { loadDataSource } from '../src/gan/data.js';
import { presganEntropySurrogate, presganPosteriorSamples } from '../src/gan/entropy.js';
import type { BaseHyper, Objective } from '../src/gan/objective.js';
import { gan } from '../src/gan/objectives/gan.js';
import { presgan } from '../src/gan/objectives/presgan.js';
import { disposeLosses, GanTrainer } from '../src/gan/trainer.js';
import { Generator, matmul, setCpuThreads, type Tensor, tensor, tidy, valueAndGrad } from '../src/index.js';

const f64 = { dtype: 'float64' } as const;

/** presgan.md 9.3: x = W z + b + sigma * eta, z in R^2, x in R^3. */
export const FIXTURE = {
  W: [
    [1, 0.5],
    [-0.3, 0.8],
    [0.2, -0.4],
  ],
  b: [0.1, -0.2, 0.3],
  sigma: [0.5, 0.3, 0.7],
};

function inv3(a: number[][]): number[][] {
  const [[p, q, r], [s, t, u], [v, w, x]] = a as [[number, number, number], [number, number, number], number[]];
  const A = t * x! - u * w!;
  const B = -(s * x! - u * v!);
  const C = s * w! - t * v!;
  const det = p * A + q * B + r * C;
  return [
    [A / det, -(q * x! - r * w!) / det, (q * u - r * t) / det],
    [B / det, (p * x! - r * v!) / det, -(p * u - r * s) / det],
    [C / det, -(p * w! - q * v!) / det, (p * t - q * s) / det],
  ];
}

/**
 * Closed forms of presgan.md 9.1 for the fixture: Sigma = W W^T + diag(sigma^2), H = 1/2 log det(2 pi e Sigma),
 * grad_W H = Sigma^-1 W, dH/dsigma_i = sigma_i [Sigma^-1]_ii; posterior z | x ~ N(M^T (x - b), S) with
 * S = (I + W^T D^-1 W)^-1 and M = D^-1 W S.
 */
export function closedForm() {
  const { W, sigma } = FIXTURE;
  const Sig = [0, 1, 2].map((i) =>
    [0, 1, 2].map((j) => W[i]![0]! * W[j]![0]! + W[i]![1]! * W[j]![1]! + (i === j ? sigma[i]! ** 2 : 0)),
  );
  const det =
    Sig[0]![0]! * (Sig[1]![1]! * Sig[2]![2]! - Sig[1]![2]! * Sig[2]![1]!) -
    Sig[0]![1]! * (Sig[1]![0]! * Sig[2]![2]! - Sig[1]![2]! * Sig[2]![0]!) +
    Sig[0]![2]! * (Sig[1]![0]! * Sig[2]![1]! - Sig[1]![1]! * Sig[2]![0]!);
  const Si = inv3(Sig);
  const H = 0.5 * Math.log((2 * Math.PI * Math.E) ** 3 * det);
  const gradW = [0, 1, 2].map((i) => [0, 1].map((k) => [0, 1, 2].reduce((s, j) => s + Si[i]![j]! * W[j]![k]!, 0)));
  const gradSigma = [0, 1, 2].map((i) => sigma[i]! * Si[i]![i]!);
  const A = [0, 1].map((i) =>
    [0, 1].map((k) => (i === k ? 1 : 0) + [0, 1, 2].reduce((s, r) => s + (W[r]![i]! * W[r]![k]!) / sigma[r]! ** 2, 0)),
  );
  const dA = A[0]![0]! * A[1]![1]! - A[0]![1]! * A[1]![0]!;
  const S = [
    [A[1]![1]! / dA, -A[0]![1]! / dA],
    [-A[1]![0]! / dA, A[0]![0]! / dA],
  ];
  const M = [0, 1, 2].map((r) => [0, 1].map((k) => (W[r]![0]! * S[0]![k]! + W[r]![1]! * S[1]![k]!) / sigma[r]! ** 2));
  return { H, gradW, gradSigma, S, M };
}

/** How the posterior samples of one estimator row are drawn. */
export interface SamplerSpec {
  label: string;
  /** 'exact': independent draws from N(m(x), S); 'stuck': z' = z (a chain that never moves); 'hmc'. */
  kind: 'exact' | 'stuck' | 'hmc';
  leapfrogGradient?: 'full' | 'prior-only';
  burnin?: number;
  stepSize?: number;
  /** Posterior samples per example (default 2). */
  samples?: number;
  stepSizeJitter?: number;
  perChainStepSize?: boolean;
}

export interface EstimatorMean {
  /** Mean estimate of grad_W H (row-major 3 x 2) and dH/dsigma, with standard errors from the batch means. */
  gradW: number[];
  gradSigma: number[];
  seW: number[];
  seSigma: number[];
  /** Mean HMC acceptance (NaN for exact / stuck samples). */
  acceptRate: number;
}

/**
 * The mean over `batches` x `batchSize` draws of the estimator's gradient (the gradient of
 * `presganEntropySurrogate` with respect to W and sigma), float64 on the current backend.
 */
export async function estimatorMean(
  spec: SamplerSpec,
  opts: { batches: number; batchSize: number; seed: number },
): Promise<EstimatorMean> {
  const rng = new Generator(opts.seed);
  const W = tensor(FIXTURE.W, f64);
  const b = tensor(FIXTURE.b, f64);
  const sigma = tensor(FIXTURE.sigma, f64);
  const cf = closedForm();
  const M = tensor(cf.M, f64);
  const L11 = Math.sqrt(cf.S[0]![0]!);
  const L21 = cf.S[1]![0]! / L11;
  const L22 = Math.sqrt(cf.S[1]![1]! - L21 * L21);
  const Lt = tensor(
    [
      [L11, L21],
      [0, L22],
    ],
    f64,
  );
  const B = opts.batchSize;
  const S = spec.samples ?? 2;
  const rowsW: number[][] = [];
  const rowsS: number[][] = [];
  let acc = 0;
  for (let k = 0; k < opts.batches; k++) {
    const out = tidy(() => {
      const z = rng.normal([B, 2], 0, 1, f64);
      const eta = rng.normal([B, 3], 0, 1, f64);
      const G = (v: Tensor, w: Tensor = W) => matmul(v, w, { transB: true }).add(b);
      const x = G(z).add(eta.mul(sigma));
      let samples: Tensor;
      let accept: Tensor | undefined;
      if (spec.kind === 'exact') {
        const m = matmul(x.sub(b), M);
        samples = m.unsqueeze(0).add(matmul(rng.normal([S, B, 2], 0, 1, f64), Lt));
      } else if (spec.kind === 'stuck') {
        samples = z.unsqueeze(0).expand([S, B, 2]);
      } else {
        const r = presganPosteriorSamples({
          G: (v: Tensor) => G(v),
          x,
          sigma,
          z,
          stepSize: spec.stepSize ?? 0.1,
          leapfrogGradient: spec.leapfrogGradient ?? 'full',
          numBurnin: spec.burnin ?? 2,
          numSamples: S,
          stepSizeJitter: spec.stepSizeJitter ?? 0,
          perChainStepSize: spec.perChainStepSize ?? false,
          rng,
        });
        samples = r.samples;
        accept = r.accepted.mean();
      }
      const [, g] = valueAndGrad((p: { W: Tensor; sigma: Tensor }) =>
        presganEntropySurrogate({ mean: (v) => G(v, p.W), z, eta, sigma: p.sigma, posteriorSamples: samples }),
      )({ W, sigma });
      return [g.W, g.sigma, accept] as const;
    });
    rowsW.push(Array.from(await out[0].data()));
    rowsS.push(Array.from(await out[1].data()));
    if (out[2]) acc += (await out[2].data())[0]! / opts.batches;
    for (const t of out) t?.dispose();
  }
  for (const t of [W, b, sigma, M, Lt]) t.dispose();
  const stats = (rows: number[][]) => {
    const n = rows.length;
    const mean = rows[0]!.map((_, j) => rows.reduce((s, r) => s + r[j]!, 0) / n);
    const se = mean.map((m, j) => Math.sqrt(rows.reduce((s, r) => s + (r[j]! - m) ** 2, 0) / (n - 1) / n));
    return { mean, se };
  };
  const w = stats(rowsW);
  const s = stats(rowsS);
  return {
    gradW: w.mean,
    gradSigma: s.mean,
    seW: w.se,
    seSigma: s.se,
    acceptRate: spec.kind === 'hmc' ? acc : Number.NaN,
  };
}

/** ||estimate - truth|| / ||truth|| over the 9 gradient entries (W and sigma). */
export function relativeBias(e: EstimatorMean): number {
  const cf = closedForm();
  const truth = [...cf.gradW.flat(), ...cf.gradSigma];
  const est = [...e.gradW, ...e.gradSigma];
  const d = Math.hypot(...est.map((v, i) => v - truth[i]!));
  return d / Math.hypot(...truth);
}

/** The rows of the table in docs/presgan.md. */
export const BIAS_ROWS: SamplerSpec[] = [
  { label: 'exact posterior samples (S = 2)', kind: 'exact' },
  { label: 'HMC full gradient, 2 burn-in + 2, h0 = 0.3', kind: 'hmc', leapfrogGradient: 'full', stepSize: 0.3 },
  { label: 'HMC full gradient, 2 burn-in + 2, h0 = 0.5 (1/d)', kind: 'hmc', leapfrogGradient: 'full', stepSize: 0.5 },
  { label: 'HMC full gradient, 2 burn-in + 2, h0 = 0.1', kind: 'hmc', leapfrogGradient: 'full', stepSize: 0.1 },
  {
    label: 'HMC full gradient, 2 burn-in + 2, h0 = 0.5, stepSizeJitter 0.5, perChainStepSize',
    kind: 'hmc',
    leapfrogGradient: 'full',
    stepSize: 0.5,
    stepSizeJitter: 0.5,
    perChainStepSize: true,
  },
  {
    label: 'HMC full gradient, 20 burn-in + 2, h0 = 0.3',
    kind: 'hmc',
    leapfrogGradient: 'full',
    burnin: 20,
    stepSize: 0.3,
  },
  {
    label: 'HMC full gradient, 100 burn-in + 2, h0 = 0.3',
    kind: 'hmc',
    leapfrogGradient: 'full',
    burnin: 100,
    stepSize: 0.3,
  },
  {
    label: 'HMC prior-only, 2 burn-in + 2, h0 = 0.01 (official)',
    kind: 'hmc',
    leapfrogGradient: 'prior-only',
    stepSize: 0.01,
  },
  { label: 'HMC prior-only, 2 burn-in + 2, h0 = 0.5', kind: 'hmc', leapfrogGradient: 'prior-only', stepSize: 0.5 },
  {
    label: 'HMC prior-only, 100 burn-in + 2, h0 = 0.5',
    kind: 'hmc',
    leapfrogGradient: 'prior-only',
    burnin: 100,
    stepSize: 0.5,
  },
  { label: "stuck chain (z' = z)", kind: 'stuck' },
];

async function biasTable(): Promise<void> {
  const cf = closedForm();
  const fmt = (v: number) => v.toFixed(3);
  const lines = [
    '| posterior samples | dH/dsigma_1 | dH/dsigma_2 | dH/dsigma_3 | dH/dW_11 | dH/dW_22 | rel. bias | accept |',
    '|---|---|---|---|---|---|---|---|',
    `| closed form (presgan.md 9.3) | ${cf.gradSigma.map(fmt).join(' | ')} | ${fmt(cf.gradW[0]![0]!)} | ${fmt(cf.gradW[1]![1]!)} | 0 | |`,
  ];
  for (const spec of BIAS_ROWS) {
    const e = await estimatorMean(spec, { batches: 40, batchSize: 4096, seed: 2019 });
    const cell = (m: number, se: number) => `${fmt(m)} ± ${fmt(se)}`;
    lines.push(
      `| ${spec.label} | ${e.gradSigma.map((m, i) => cell(m, e.seSigma[i]!)).join(' | ')} | ${cell(e.gradW[0]!, e.seW[0]!)} | ${cell(e.gradW[3]!, e.seW[3]!)} | ${fmt(relativeBias(e))} | ${Number.isNaN(e.acceptRate) ? '' : fmt(e.acceptRate)} |`,
    );
  }
  console.log('Entropy-gradient estimator on the presgan.md 9.3 fixture (40 x 4096 draws, float64, seed 2019):');
  console.log(lines.join('\n'));
}

/** Median iterations per second of `objective` on the ring, blocks alternating between the cases. */
async function speed(): Promise<void> {
  const data = await loadDataSource('ring');
  const threads = (process.env.PRESGAN_BENCH_THREADS ?? '1,2').split(',').map(Number);
  const cases: [string, Objective<BaseHyper>, Record<string, unknown>][] = [
    ['gan', gan as unknown as Objective<BaseHyper>, {}],
    ['presgan (full gradient)', presgan as unknown as Objective<BaseHyper>, {}],
    ['presgan (prior-only)', presgan as unknown as Objective<BaseHyper>, { 'hmc.leapfrogGradient': 'prior-only' }],
    ['presgan (lambda 0)', presgan as unknown as Objective<BaseHyper>, { lambda: 0 }],
  ];
  for (const n of threads) {
    setCpuThreads(n);
    const trainers = cases.map(([, objective, set]) => new GanTrainer({ objective, data, seed: 1, set }));
    for (const t of trainers) for (let i = 0; i < 10; i++) disposeLosses(t.step());
    const times: number[][] = cases.map(() => []);
    for (let round = 0; round < 8; round++) {
      trainers.forEach((t, i) => {
        const t0 = performance.now();
        for (let k = 0; k < 10; k++) disposeLosses(t.step());
        times[i]!.push((performance.now() - t0) / 10);
      });
    }
    for (const [i, [name]] of cases.entries()) {
      const ms = [...times[i]!].sort((a, b) => a - b)[times[i]!.length >> 1]!;
      console.log(`${n} thread(s)  ${name.padEnd(24)} ${(1000 / ms).toFixed(1)} it/s (${ms.toFixed(2)} ms/it)`);
    }
    for (const t of trainers) t.dispose();
  }
}

export async function run(): Promise<void> {
  const part = process.env.PRESGAN_BENCH ?? 'bias,speed';
  if (part.includes('bias')) await biasTable();
  if (part.includes('speed')) await speed();
}
