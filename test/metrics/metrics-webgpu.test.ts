// The metrics with WebGPU as the current backend: gaussianFitTensor's matmul on WebGPU against the
// float64 host fit, and the seeded host draws of kernelDistance / birthdayEstimate unchanged by it.
import '../../src/index.js'; // registers the CPU backend
import { afterAll, describe, expect, it } from 'vitest';
import { cpuBackend } from '../../src/backend/cpu.js';
import {
  birthdayEstimate,
  frechetDistance,
  gaussianFit,
  gaussianFitTensor,
  kernelDistance,
  matrix,
} from '../../src/metrics/index.js';
import { Generator } from '../../src/random/generator.js';
import { getBackend, useBackend } from '../../src/tensor/engine.js';
import { initWebGPU, onGpu, releaseWebGPU, xorshiftValues } from '../helpers/webgpu.js';

const gpu = await initWebGPU();
afterAll(releaseWebGPU);

describe.skipIf(gpu === undefined)('metrics on the WebGPU backend', () => {
  it('gaussianFitTensor on WebGPU matches the float64 host fit to float32 accuracy', async () => {
    const n = 500;
    const d = 12;
    const raw = xorshiftValues(n * d, 3); // float32 values
    const host = gaussianFit(matrix(Float64Array.from(raw), n, d));
    const fit = await gaussianFitTensor(onGpu(gpu!, raw, [n, d], 'float32'));
    let scale = 0;
    for (const v of host.cov) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < d * d; i++) expect(Math.abs(fit.cov[i]! - host.cov[i]!)).toBeLessThan(1e-5 * scale);
    for (let i = 0; i < d; i++) expect(fit.mean[i]!).toBeCloseTo(host.mean[i]!, 5);
    expect(frechetDistance(fit, host)).toBeLessThan(1e-5 * scale);
  });

  it('seeded subsets are drawn on the host: the same numbers with WebGPU current as on the CPU', () => {
    const x = matrix(
      Float64Array.from({ length: 60 }, (_, i) => Math.sin(i)),
      20,
      3,
    );
    const y = matrix(
      Float64Array.from({ length: 60 }, (_, i) => Math.cos(i)),
      20,
      3,
    );
    const run = () => ({
      kid: kernelDistance(x, y, { subsets: 4, subsetSize: 10, rng: new Generator(5) }),
      birthday: birthdayEstimate(x, { threshold: 0.5, trials: 5, rng: new Generator(1) }),
    });
    expect(getBackend().name).toBe('webgpu');
    const onWebGPU = run();
    useBackend(cpuBackend);
    try {
      expect(run()).toEqual(onWebGPU);
    } finally {
      useBackend(gpu!);
    }
    expect(Number.isFinite(onWebGPU.kid.mean)).toBe(true);
  });
});
