import { describe, expect, it } from 'vitest';
import {
  gridMixture,
  HIGH_DIM_OFFSETS,
  highDimMixture,
  ringMixture,
  sampleMixture,
  twoMoons,
} from '../../src/data/index.js';
import { Generator } from '../../src/index.js';

async function rows(x: { data(): Promise<ArrayLike<number>> }, dim: number): Promise<number[][]> {
  const flat = Array.from(await x.data());
  return Array.from({ length: flat.length / dim }, (_, i) => flat.slice(i * dim, (i + 1) * dim));
}

describe('synthetic 2D sets', () => {
  it('ring of 8: modes equally likely, each a Gaussian with the given std around its centre', async () => {
    const m = ringMixture({ radius: 2, std: 0.02 });
    expect(m.means).toHaveLength(8);
    // Eight distinct angles 2 pi i / 8 (no duplicate at 0 and 2 pi).
    expect(m.means[2]![0]).toBeCloseTo(0, 12);
    expect(m.means[2]![1]).toBeCloseTo(2, 12);
    const n = 16000;
    const s = sampleMixture(m, n, new Generator(7));
    expect(s.x.shape).toEqual([n, 2]);
    const pts = await rows(s.x, 2);
    const modes = Array.from(await s.modes.data());
    const count = new Array(8).fill(0);
    const sum = m.means.map(() => [0, 0]);
    const sq = m.means.map(() => [0, 0]);
    pts.forEach((p, i) => {
      const k = modes[i]!;
      count[k]++;
      for (let d = 0; d < 2; d++) {
        const z = p[d]! - m.means[k]![d]!;
        sum[k]![d] += z;
        sq[k]![d] += z * z;
      }
    });
    for (let k = 0; k < 8; k++) {
      // Binomial(16000, 1/8): mean 2000, sd 41.8; 5 sd = 209.
      expect(Math.abs(count[k] - n / 8)).toBeLessThan(210);
      for (let d = 0; d < 2; d++) {
        const mean = sum[k]![d]! / count[k];
        const sd = Math.sqrt(sq[k]![d]! / count[k] - mean * mean);
        expect(Math.abs(mean)).toBeLessThan(0.002);
        expect(Math.abs(sd / 0.02 - 1)).toBeLessThan(0.08);
      }
    }
  });

  it('defaults to the PacGAN / VEEGAN ring (radius 1, std 0.01) and is reproducible from the seed', async () => {
    const m = ringMixture();
    expect(m.std).toEqual([0.01, 0.01]);
    expect(Math.hypot(m.means[3]![0]!, m.means[3]![1]!)).toBeCloseTo(1, 12);
    const a = await sampleMixture(m, 50, new Generator(3)).x.data();
    const b = await sampleMixture(m, 50, new Generator(3)).x.data();
    const c = await sampleMixture(m, 50, new Generator(4)).x.data();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    expect(() => ringMixture({ std: -1 })).toThrow(/std must be a positive number/);
  });

  it('grid of 25 on {-4,-2,0,2,4}^2 with std 0.05', async () => {
    const m = gridMixture();
    expect(m.means).toHaveLength(25);
    const xs = [...new Set(m.means.map((p) => p[0]))].sort((a, b) => a! - b!);
    expect(xs).toEqual([-4, -2, 0, 2, 4]);
    const s = sampleMixture(m, 5000, new Generator(1));
    const pts = await rows(s.x, 2);
    const modes = Array.from(await s.modes.data());
    let maxDist = 0;
    pts.forEach((p, i) => {
      maxDist = Math.max(maxDist, Math.hypot(p[0]! - m.means[modes[i]!]![0]!, p[1]! - m.means[modes[i]!]![1]!));
    });
    // Rayleigh tail: P(r > 6 std) = exp(-18) per point.
    expect(maxDist).toBeLessThan(0.3);
    expect(new Set(modes).size).toBe(25);
  });

  it('two moons (noise 0) lie exactly on the two half circles', async () => {
    const s = twoMoons(400, new Generator(5));
    const pts = await rows(s.x, 2);
    const modes = Array.from(await s.modes.data());
    expect(new Set(modes)).toEqual(new Set([0, 1]));
    pts.forEach((p, i) => {
      if (modes[i] === 0) {
        expect(Math.hypot(p[0]!, p[1]!)).toBeCloseTo(1, 5);
        expect(p[1]!).toBeGreaterThanOrEqual(-1e-6);
      } else {
        expect(Math.hypot(p[0]! - 1, p[1]! - 0.5)).toBeCloseTo(1, 5);
        expect(p[1]!).toBeLessThanOrEqual(0.5 + 1e-6);
      }
    });
  });

  it('1200-D set: 700 unit-variance coordinates, 500 constant at the offset', async () => {
    const m = highDimMixture();
    expect(m.dim).toBe(1200);
    expect(m.means.map((r) => r[0])).toEqual([...HIGH_DIM_OFFSETS]);
    const s = sampleMixture(m, 40, new Generator(2));
    const pts = await rows(s.x, 1200);
    const modes = Array.from(await s.modes.data());
    let sq = 0;
    pts.forEach((p, i) => {
      const c = HIGH_DIM_OFFSETS[modes[i]!]!;
      for (let d = 700; d < 1200; d++) expect(p[d]).toBe(c);
      for (let d = 0; d < 700; d++) sq += (p[d]! - c) ** 2;
    });
    expect(Math.abs(sq / (40 * 700) - 1)).toBeLessThan(0.05);
  });
});
