// The log-likelihood evaluator on WebGPU against the CPU backend (float32 both): a tiny tanh image
// decoder with per-pixel sigma and the truncated Gaussian, the same seed on both backends.
import '../../src/index.js'; // registers the CPU backend
import { afterAll, describe, expect, it } from 'vitest';
import { cpuBackend } from '../../src/backend/cpu.js';
import { type DecoderModel, predictiveLogLikelihood } from '../../src/eval/loglik.js';
import { Generator, matmul, type Tensor } from '../../src/index.js';
import { useBackend } from '../../src/tensor/engine.js';
import { initWebGPU, onCpu, onGpu, releaseWebGPU } from '../helpers/webgpu.js';

const gpu = await initWebGPU();
afterAll(releaseWebGPU);

const LATENT = 3;
const PIXELS = 16; // images [1, 4, 4]

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed * 7919 + 17;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = (s / 2147483648) * 2 - 1;
  }
  return out;
}

const W = values(LATENT * PIXELS, 1).map((v) => v * 1.5);
const B = values(PIXELS, 2).map((v) => v * 0.3);
const SIGMA = values(PIXELS, 3).map((v) => 0.15 + 0.05 * v);
const DATA = values(12 * PIXELS, 4).map((v) => 0.9 * v);
const TRAIN = values(64 * PIXELS, 5).map((v) => 0.95 * v);

function model(make: (a: Float32Array, shape: readonly number[]) => Tensor): DecoderModel {
  const w = make(W, [LATENT, PIXELS]);
  const b = make(B, [PIXELS]);
  return {
    decode: (z: Tensor) => matmul(z, w).add(b).tanh().reshape([z.shape[0]!, 1, 4, 4]),
    sigma: make(SIGMA, [1, 4, 4]),
    latentDim: LATENT,
    kind: 'image',
  };
}

const OPTS = {
  samples: 200,
  encoderSteps: 40,
  encoderHidden: [16],
  encoderBatchSize: 16,
  mapSteps: 30,
  batchSize: 400,
};

describe.skipIf(gpu === undefined)('predictive log-likelihood on WebGPU', () => {
  it('matches the CPU backend within float32 tolerance (same seed)', async () => {
    useBackend(cpuBackend);
    const onC = (a: Float32Array, shape: readonly number[]) => onCpu(a, shape, 'float32');
    const cpu = await predictiveLogLikelihood(model(onC), onC(DATA, [12, 1, 4, 4]), {
      ...OPTS,
      encoderData: onC(TRAIN, [64, 1, 4, 4]),
      rng: new Generator(7),
    });
    useBackend(gpu!);
    const onG = (a: Float32Array, shape: readonly number[]) => onGpu(gpu!, a, shape, 'float32');
    const web = await predictiveLogLikelihood(model(onG), onG(DATA, [12, 1, 4, 4]), {
      ...OPTS,
      encoderData: onG(TRAIN, [64, 1, 4, 4]),
      rng: new Generator(7),
    });
    expect(web.protocol.backend).toBe('webgpu');
    expect(cpu.protocol.backend).toBe('cpu');
    console.log(
      `CPU ${cpu.natsPerExample.toFixed(6)} +- ${cpu.standardError.toFixed(4)}, WebGPU ${web.natsPerExample.toFixed(6)}`,
    );
    for (let i = 0; i < 12; i++) {
      expect(Number.isFinite(web.perExample[i]!)).toBe(true);
      // float32 through 40 encoder and 30 MAP steps: well inside each estimate's Monte Carlo error.
      expect(Math.abs(web.perExample[i]! - cpu.perExample[i]!)).toBeLessThan(5e-4 * (1 + Math.abs(cpu.perExample[i]!)));
    }
    expect(Math.abs(web.natsPerExample - cpu.natsPerExample)).toBeLessThan(2e-4 * (1 + Math.abs(cpu.natsPerExample)));
  });
});
