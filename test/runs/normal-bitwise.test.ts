// Normal draws: the float32 Box-Muller transform against a float64 reference, the distribution's
// moments and a Kolmogorov-Smirnov check, and 10^5 draws bitwise equal on the CPU and WebGPU backends.
import '../../src/index.js'; // registers the CPU backend
import { afterAll, describe, expect, it } from 'vitest';
import { boxMullerF32, cos2PiF32, logF32, sqrtF32 } from '../../src/random/box-muller.js';
import { Generator } from '../../src/random/generator.js';
import { initWebGPU, releaseWebGPU } from '../helpers/webgpu.js';

const gpu = await initWebGPU();
afterAll(releaseWebGPU);

/** Uniforms on the 2^-24 grid, from a plain-JS LCG (the test's own source of inputs). */
function gridUniforms(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s >>> 8) / 2 ** 24;
  }
  return out;
}

/** The standard normal CDF via erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

describe('the float32 Box-Muller transform', () => {
  it('log, sqrt and cos(2 pi u) agree with float64 Math to a few float32 ulps', () => {
    const us = gridUniforms(20000, 11);
    for (const u of us) {
      const v = 1 - u; // exact on the 2^-24 grid
      expect(Math.abs(logF32(v) - Math.log(v))).toBeLessThanOrEqual(4 * 2 ** -24 * Math.max(1, Math.abs(Math.log(v))));
      const x = -2 * Math.log(v);
      const xf = Math.fround(x);
      expect(Math.abs(sqrtF32(xf) - Math.sqrt(xf))).toBeLessThanOrEqual(2 * 2 ** -23 * Math.max(1, Math.sqrt(xf)));
      expect(Math.abs(cos2PiF32(u) - Math.cos(2 * Math.PI * u))).toBeLessThanOrEqual(4 * 2 ** -24);
    }
  });

  it('z = sqrt(-2 log(1 - u1)) cos(2 pi u2) within 1e-6 of the float64 formula', () => {
    const u1 = gridUniforms(50000, 3);
    const u2 = gridUniforms(50000, 4);
    let worst = 0;
    for (let i = 0; i < u1.length; i++) {
      const ref = Math.sqrt(-2 * Math.log(1 - u1[i]!)) * Math.cos(2 * Math.PI * u2[i]!);
      worst = Math.max(worst, Math.abs(boxMullerF32(u1[i]!, u2[i]!) - ref) / Math.max(1, Math.abs(ref)));
    }
    expect(worst).toBeLessThan(1e-6);
    expect(Math.abs(boxMullerF32(0, 0.3))).toBe(0); // r = 0 at u1 = 0
    expect(boxMullerF32(0.5, 0)).toBeCloseTo(Math.sqrt(2 * Math.LN2), 6);
  });

  it('10^5 CPU draws have mean 0, variance 1, skewness 0, kurtosis 3 and pass a KS test', async () => {
    const n = 100_000;
    const z = Float64Array.from(await new Generator(5).normal([n], 0, 1, { backend: 'cpu' }).data());
    let m = 0;
    for (const x of z) m += x;
    m /= n;
    let m2 = 0;
    let m3 = 0;
    let m4 = 0;
    for (const x of z) {
      const d = x - m;
      m2 += d * d;
      m3 += d * d * d;
      m4 += d * d * d * d;
    }
    m2 /= n;
    m3 /= n;
    m4 /= n;
    // Standard errors at n = 1e5: mean 0.0032, variance 0.0045, skewness 0.0077, kurtosis 0.0155; 5 of each.
    expect(Math.abs(m)).toBeLessThan(0.016);
    expect(Math.abs(m2 - 1)).toBeLessThan(0.023);
    expect(Math.abs(m3 / m2 ** 1.5)).toBeLessThan(0.04);
    expect(Math.abs(m4 / m2 ** 2 - 3)).toBeLessThan(0.08);
    const sorted = Float64Array.from(z).sort();
    let d = 0;
    for (let i = 0; i < n; i++) {
      const c = normalCdf(sorted[i]!);
      d = Math.max(d, Math.abs(c - i / n), Math.abs((i + 1) / n - c));
    }
    expect(d).toBeLessThan(1.95 / Math.sqrt(n)); // KS critical value at alpha = 0.001
  });

  it('mean and std scale the standard draw', async () => {
    const a = await new Generator(9).normal([1000], 0, 1).data();
    const b = await new Generator(9).normal([1000], 2, 3).data();
    for (let i = 0; i < a.length; i++) expect(b[i]).toBe(Math.fround(Math.fround(a[i]! * 3) + 2));
  });
});

describe.skipIf(gpu === undefined)('normal draws on WebGPU', () => {
  it('10^5 normals are bitwise equal on the CPU and WebGPU backends', async () => {
    for (const [seed, n] of [
      [7, 100_000],
      [123456789, 4097],
      [2 ** 40 + 3, 3],
    ] as const) {
      const cpu = new Float32Array(await new Generator(seed).normal([n], 0, 1, { backend: 'cpu' }).data());
      const web = new Float32Array(await new Generator(seed).normal([n], 0, 1, { backend: 'webgpu' }).data());
      const cpuBits = new Uint32Array(cpu.buffer);
      const webBits = new Uint32Array(web.buffer);
      let differing = 0;
      for (let i = 0; i < n; i++) if (cpuBits[i] !== webBits[i]) differing++;
      expect(differing, `seed ${seed}, n ${n}`).toBe(0);
    }
  });
});
