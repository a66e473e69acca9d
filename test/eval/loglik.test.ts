// The importance-sampling log-likelihood against the exact marginal of a linear-Gaussian model
// x = W z + b + sigma eta (float64 on the CPU): agreement within the Monte Carlo error, the error
// shrinking with S, and the evaluator's argument checks.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { type DecoderModel, predictiveLogLikelihood } from '../../src/eval/loglik.js';
import { Generator, matmul, memory, type Tensor, tensor } from '../../src/index.js';

// The fixture of ../shared/spec/presgan.md 9.3: d = 3 observed, k = 2 latent, per-dimension sigma.
const W = [
  [1, 0.5],
  [-0.3, 0.8],
  [0.2, -0.4],
];
const B = [0.1, -0.2, 0.3];
const SIGMA = [0.5, 0.3, 0.7];

function linearModel(): DecoderModel {
  const wT = tensor([W.map((r) => r[0]!), W.map((r) => r[1]!)], { dtype: 'float64' }); // [2, 3]
  const b = tensor(B, { dtype: 'float64' });
  return {
    decode: (z: Tensor) => matmul(z, wT).add(b),
    sigma: tensor(SIGMA, { dtype: 'float64' }),
    latentDim: 2,
    kind: 'vector',
  };
}

/** x = W z + b + sigma eta, n draws (plain JS arithmetic on the library's seeded normals). */
async function drawData(n: number, seed: number): Promise<{ x: Tensor; rows: number[][] }> {
  const rng = new Generator(seed);
  const z = await rng.normal([n, 2], 0, 1, { dtype: 'float64' }).data();
  const eta = await rng.normal([n, 3], 0, 1, { dtype: 'float64' }).data();
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    rows.push(
      [0, 1, 2].map((j) => W[j]![0]! * z[2 * i]! + W[j]![1]! * z[2 * i + 1]! + B[j]! + SIGMA[j]! * eta[3 * i + j]!),
    );
  }
  return { x: tensor(rows, { dtype: 'float64' }), rows };
}

/** log N(x; b, W W^T + diag sigma^2), by a 3 x 3 Cholesky factorisation in plain JS. */
function exactLogMarginal(x: number[]): number {
  const S = [0, 1, 2].map((i) =>
    [0, 1, 2].map((j) => W[i]![0]! * W[j]![0]! + W[i]![1]! * W[j]![1]! + (i === j ? SIGMA[i]! ** 2 : 0)),
  );
  const L = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j <= i; j++) {
      let s = S[i]![j]!;
      for (let m = 0; m < j; m++) s -= L[i]![m]! * L[j]![m]!;
      L[i]![j] = i === j ? Math.sqrt(s) : s / L[j]![j]!;
    }
  }
  const r = x.map((v, i) => v - B[i]!);
  const y = [0, 0, 0];
  for (let i = 0; i < 3; i++) {
    let s = r[i]!;
    for (let m = 0; m < i; m++) s -= L[i]![m]! * y[m]!;
    y[i] = s / L[i]![i]!;
  }
  const logDet = 2 * (Math.log(L[0]![0]!) + Math.log(L[1]![1]!) + Math.log(L[2]![2]!));
  return -0.5 * (y[0]! ** 2 + y[1]! ** 2 + y[2]! ** 2) - 0.5 * logDet - 1.5 * Math.log(2 * Math.PI);
}

const FIT = { encoderSteps: 600, encoderHidden: [32], encoderLr: 3e-3, mapSteps: 300, mapLr: 0.02 } as const;

describe('predictive log-likelihood on the linear-Gaussian model (exact marginal)', () => {
  it('matches log N(x; b, W W^T + sigma^2 I) within its Monte Carlo error, and the error shrinks with S', async () => {
    const model = linearModel();
    const train = await drawData(512, 11);
    const test = await drawData(32, 12);
    const exact = test.rows.map(exactLogMarginal);
    const rmse: number[] = [];
    for (const S of [10, 100, 1000]) {
      const errors: number[] = [];
      const mcSe: number[] = [];
      for (const seed of [1, 2, 3]) {
        const r = await predictiveLogLikelihood(model, test.x, {
          ...FIT,
          samples: S,
          encoderData: train.x,
          rng: new Generator(seed),
        });
        for (let i = 0; i < 32; i++) {
          errors.push(r.perExample[i]! - exact[i]!);
          mcSe.push(r.perExampleStandardError[i]!);
        }
        if (S === 1000) {
          // Per point: within 4 of its own Monte Carlo standard errors (plus float64 round-off).
          for (let i = 0; i < 32; i++)
            expect(Math.abs(r.perExample[i]! - exact[i]!)).toBeLessThan(4 * r.perExampleStandardError[i]! + 1e-9);
          // The mean over examples: within 3 standard errors of the exact mean.
          const exactMean = exact.reduce((a, b) => a + b, 0) / 32;
          const mcOfMean = Math.sqrt(r.perExampleStandardError.reduce((a, b) => a + b * b, 0)) / 32;
          expect(Math.abs(r.natsPerExample - exactMean)).toBeLessThan(3 * mcOfMean + 1e-9);
        }
      }
      const e = Math.sqrt(errors.reduce((a, b) => a + b * b, 0) / errors.length);
      const predicted = Math.sqrt(mcSe.reduce((a, b) => a + b * b, 0) / mcSe.length);
      console.log(`S = ${S}: RMS error ${e.toExponential(3)}, RMS predicted MC error ${predicted.toExponential(3)}`);
      // The delta-method standard error predicts the actual error within a factor 2.
      expect(e).toBeLessThan(2 * predicted);
      expect(e).toBeGreaterThan(predicted / 2);
      rmse.push(e);
    }
    // The error falls like 1 / sqrt(S): about sqrt(10) per decade; require at least a factor 2.
    expect(rmse[1]!).toBeLessThan(rmse[0]! / 2);
    expect(rmse[2]!).toBeLessThan(rmse[1]! / 2);
  });

  it('frees everything it made (encoder, MAP state, samples), with one or several example chunks', async () => {
    const model = linearModel();
    const test = await drawData(10, 13);
    for (const batchSize of [256, 4]) {
      const before = memory().numTensors;
      const r = await predictiveLogLikelihood(model, test.x, {
        samples: 30,
        encoderSteps: 20,
        mapSteps: 5,
        batchSize,
        rng: new Generator(4),
      });
      expect(memory().numTensors).toBe(before);
      expect(r.perExample.length).toBe(10);
      expect(r.protocol.samples).toBe(30);
    }
    // Chunking changes which draws land where, not the estimator: both are close to the exact value.
    const exact = test.rows.map(exactLogMarginal);
    const small = await predictiveLogLikelihood(model, test.x, {
      ...FIT,
      samples: 1000,
      batchSize: 8,
      rng: new Generator(4),
    });
    for (let i = 0; i < 10; i++)
      expect(Math.abs(small.perExample[i]! - exact[i]!)).toBeLessThan(4 * small.perExampleStandardError[i]! + 1e-9);
  });
});
