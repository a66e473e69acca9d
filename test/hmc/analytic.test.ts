// HMC on targets with known moments, on every backend: the CPU always; WebGPU when an adapter
// exists (required when CI is set). Tolerances are 5 Monte Carlo standard errors, each from the
// effective sample size of the quantity being averaged (Stan's multi-chain ESS).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { essOfChains, hmc, presganPosterior } from '../../src/hmc/index.js';
import { type Backend, Generator, getBackend, matmul, setBackend, type Tensor, tensor } from '../../src/index.js';

// ------------------------------------------------------------------ backend selection

async function probeWebGPU(): Promise<string | null> {
  try {
    await setBackend('webgpu');
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    await setBackend('cpu');
  }
}

const webgpuProblem = await probeWebGPU();
const backends: ('cpu' | 'webgpu')[] = webgpuProblem === null ? ['cpu', 'webgpu'] : ['cpu'];

if (webgpuProblem !== null) {
  if (process.env.CI) {
    describe('HMC on WebGPU', () => {
      it('needs a WebGPU adapter on CI', () => {
        throw new Error(`no WebGPU backend/adapter on CI: ${webgpuProblem}`);
      });
    });
  } else {
    const bar = '!'.repeat(78);
    console.warn(
      `\n${bar}\n!! HMC WebGPU tests SKIPPED: no WebGPU adapter (${webgpuProblem}).\n!! Only the CPU backend was tested. Set CI=1 to make this a failure.\n${bar}\n`,
    );
  }
}

/** The WebGPU runtime's own read-back counter, when the backend exports one. */
async function webgpuReadbacks(): Promise<(() => number) | null> {
  const path = '../../src/backend/webgpu/stats.js';
  try {
    const mod = (await import(/* @vite-ignore */ path)) as { webgpuStats?: () => { readbacks: number } };
    const stats = mod.webgpuStats;
    return typeof stats === 'function' ? () => stats().readbacks : null;
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------ Monte Carlo helpers

/** `series[c]` is chain c's draws of a scalar quantity; returns the pooled mean and its standard error. */
function mcMean(series: Float64Array[]): { mean: number; se: number; ess: number } {
  let n = 0;
  let s = 0;
  for (const c of series) {
    for (const v of c) s += v;
    n += c.length;
  }
  const mean = s / n;
  let ss = 0;
  for (const c of series) for (const v of c) ss += (v - mean) ** 2;
  const sd = Math.sqrt(ss / (n - 1));
  const ess = essOfChains(series);
  return { mean, se: sd / Math.sqrt(ess), ess };
}

/** Per-chain series of f(z) for samples `[S, C, D]`. */
function seriesOf(
  data: ArrayLike<number>,
  S: number,
  C: number,
  D: number,
  f: (z: number[]) => number,
): Float64Array[] {
  return Array.from({ length: C }, (_, c) =>
    Float64Array.from({ length: S }, (_, s) => {
      const z = Array.from({ length: D }, (_, j) => data[(s * C + c) * D + j]!);
      return f(z);
    }),
  );
}

function expectWithin(name: string, est: { mean: number; se: number; ess: number }, truth: number): void {
  const z = (est.mean - truth) / est.se;
  // The ESS must be large enough for the normal approximation behind "5 standard errors".
  expect(est.ess, `${name}: ESS`).toBeGreaterThan(200);
  expect(
    Math.abs(z),
    `${name}: estimate ${est.mean} vs ${truth} (se ${est.se}, ess ${est.ess.toFixed(0)})`,
  ).toBeLessThan(5);
}

/** Closed-form posterior of the linear-Gaussian model x = W z + b + sigma eta, z ~ N(0, I) (spec section 9.1). */
function linearGaussianPosterior(
  W: number[][],
  b: number[],
  sigma: number[],
  x: number[],
): { m: number[]; S: number[][] } {
  const d = W[0]!.length;
  const A = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, k) => (i === k ? 1 : 0)));
  for (let i = 0; i < d; i++)
    for (let k = 0; k < d; k++)
      for (let r = 0; r < W.length; r++) A[i]![k]! += (W[r]![i]! * W[r]![k]!) / sigma[r]! ** 2;
  const det = A[0]![0]! * A[1]![1]! - A[0]![1]! * A[1]![0]!;
  const S = [
    [A[1]![1]! / det, -A[0]![1]! / det],
    [-A[1]![0]! / det, A[0]![0]! / det],
  ];
  const v = [0, 0];
  for (let r = 0; r < W.length; r++)
    for (let k = 0; k < d; k++) v[k]! += (W[r]![k]! * (x[r]! - b[r]!)) / sigma[r]! ** 2;
  return { m: [S[0]![0]! * v[0]! + S[0]![1]! * v[1]!, S[1]![0]! * v[0]! + S[1]![1]! * v[1]!], S };
}

// ------------------------------------------------------------------ the suite, per backend

for (const name of backends) {
  describe(`HMC on analytic targets (${name} backend)`, () => {
    let backend: Backend;
    beforeAll(async () => {
      await setBackend(name);
      backend = getBackend();
    });
    afterAll(async () => {
      await setBackend('cpu');
    });

    it('standard normal in 10 dimensions: every mean 0 and variance 1', async () => {
      const rng = new Generator(101);
      const C = 64;
      const S = 400;
      const r = hmc((z: Tensor) => z.square().sum(1).mul(-0.5), {
        initial: rng.normal([C, 10], 0, 2),
        numBurnin: 150,
        numSamples: S,
        numLeapfrogSteps: 10,
        stepSize: 0.3,
        stepSizeJitter: 0.1,
        adapt: 'dual-averaging',
        rng,
      });
      expect(r.samples.backend).toBe(backend);
      const data = await r.samples.data();
      for (let j = 0; j < 10; j++) {
        expectWithin(`mean z${j}`, mcMean(seriesOf(data, S, C, 10, (z) => z[j]!)), 0);
        expectWithin(`E z${j}^2`, mcMean(seriesOf(data, S, C, 10, (z) => z[j]! ** 2)), 1);
      }
    });

    it('correlated 2-D Gaussian: the covariance [[1, 1.5], [1.5, 4]]', async () => {
      const rng = new Generator(102);
      const cov = [
        [1, 1.5],
        [1.5, 4],
      ];
      const det = 1 * 4 - 1.5 * 1.5;
      const precision = tensor([
        [4 / det, -1.5 / det],
        [-1.5 / det, 1 / det],
      ]);
      const logProb = (z: Tensor) => z.mul(matmul(z, precision)).sum(1).mul(-0.5);
      const C = 64;
      const S = 400;
      const r = hmc(logProb, {
        initial: rng.normal([C, 2]),
        numBurnin: 150,
        numSamples: S,
        numLeapfrogSteps: 8,
        stepSize: 0.2,
        stepSizeJitter: 0.1,
        adapt: 'dual-averaging',
        rng,
      });
      const data = await r.samples.data();
      for (let i = 0; i < 2; i++) {
        expectWithin(`mean z${i}`, mcMean(seriesOf(data, S, C, 2, (z) => z[i]!)), 0);
        for (let k = i; k < 2; k++) {
          expectWithin(`cov ${i}${k}`, mcMean(seriesOf(data, S, C, 2, (z) => z[i]! * z[k]!)), cov[i]![k]!);
        }
      }
    });

    it('a diagonal mass matrix samples a badly scaled Gaussian (sd 0.1 and 10)', async () => {
      const rng = new Generator(103);
      const variances = [0.01, 100];
      const inv = tensor(variances.map((v) => 1 / v));
      const logProb = (z: Tensor) => z.square().mul(inv).sum(1).mul(-0.5);
      const C = 64;
      const S = 300;
      const r = hmc(logProb, {
        initial: rng.normal([C, 2]).mul(tensor([0.1, 10])),
        numBurnin: 100,
        numSamples: S,
        numLeapfrogSteps: 8,
        stepSize: 0.3,
        stepSizeJitter: 0.1,
        massDiag: inv,
        adapt: 'dual-averaging',
        rng,
      });
      const data = await r.samples.data();
      for (let i = 0; i < 2; i++) {
        expectWithin(`mean z${i}`, mcMean(seriesOf(data, S, C, 2, (z) => z[i]!)), 0);
        expectWithin(`var z${i}`, mcMean(seriesOf(data, S, C, 2, (z) => z[i]! ** 2)), variances[i]!);
      }
    });

    // Spec section 9: W, b, sigma of the numeric fixture and one observation x for every chain.
    const W = [
      [1, 0.5],
      [-0.3, 0.8],
      [0.2, -0.4],
    ];
    const b = [0.1, -0.2, 0.3];
    const sigma = [0.5, 0.3, 0.7];
    const x = [0.7, -0.4, 1.1];
    const post = linearGaussianPosterior(W, b, sigma, x);

    it.each([
      ['full', 'full', 300, 1],
      ['prior-only', 'prior-only', 300, 4],
    ] as const)(
      'the linear-Gaussian PresGAN posterior with the %s leapfrog gradient: closed-form mean and covariance',
      async (_n, mode, S, thin) => {
        const rng = new Generator(104);
        const C = 64;
        const Wt = tensor(W);
        const target = presganPosterior({
          G: (z: Tensor) => matmul(z, Wt, { transB: true }).add(tensor(b)),
          x: tensor([x]).broadcastTo([C, 3]),
          sigma: tensor(sigma),
        });
        const r = hmc(target, {
          initial: rng.normal([C, 2]),
          numBurnin: 150,
          numSamples: S,
          thin,
          numLeapfrogSteps: 5,
          stepSize: 0.05,
          stepSizeJitter: 0.1,
          adapt: 'dual-averaging',
          leapfrogGradient: mode,
          rng,
        });
        const data = await r.samples.data();
        for (let i = 0; i < 2; i++) {
          expectWithin(`mean z${i}`, mcMean(seriesOf(data, S, C, 2, (z) => z[i]!)), post.m[i]!);
          for (let k = i; k < 2; k++) {
            const cov = post.S[i]![k]! + post.m[i]! * post.m[k]!;
            expectWithin(`E z${i} z${k}`, mcMean(seriesOf(data, S, C, 2, (z) => z[i]! * z[k]!)), cov);
          }
        }
      },
    );

    it('reads nothing back inside a sampler call', async () => {
      const rng = new Generator(105);
      const read = vi.spyOn(backend, 'read');
      const readSync = backend.readSync === undefined ? null : vi.spyOn(backend, 'readSync');
      const counter = name === 'webgpu' ? await webgpuReadbacks() : null;
      const before = counter?.() ?? 0;
      const Wt = tensor(W);
      const target = presganPosterior({
        G: (z: Tensor) => matmul(z, Wt, { transB: true }).tanh(),
        x: rng.normal([32, 3]),
        sigma: 0.4,
      });
      const r = hmc(target, { initial: rng.normal([32, 2]), numBurnin: 3, numSamples: 3, rng });
      const r2 = hmc(target, {
        initial: r.finalState,
        numBurnin: 3,
        numSamples: 3,
        stepSize: r.stepSize,
        adapt: 'dual-averaging',
        leapfrogGradient: 'prior-only',
        rng,
      });
      expect(read).not.toHaveBeenCalled();
      if (readSync) expect(readSync).not.toHaveBeenCalled();
      if (counter) expect(counter() - before).toBe(0);
      await r2.samples.data();
      expect(read).toHaveBeenCalledTimes(1);
      read.mockRestore();
      readSync?.mockRestore();
    });
  });
}
