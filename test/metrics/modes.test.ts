// Mode metrics on hand-placed samples (thresholds, LDMGAN count, per-dimension std) and the
// Stacked-MNIST triple count.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { gridMixture, ringMixture } from '../../src/data/index.js';
import { countStackedModes, modeMetrics } from '../../src/metrics/index.js';

describe('mode metrics (../shared/spec/objectives.md 8.1)', () => {
  const ring = ringMixture({ radius: 2, std: 0.02 });

  it('all samples at the centres of 3 of 8 modes: 3 captured, 100% high quality', () => {
    const pts = [ring.means[0]!, ring.means[0]!, ring.means[3]!, ring.means[5]!];
    const m = modeMetrics(pts, ring);
    expect(m.modesCaptured).toBe(3);
    expect(m.highQuality).toBe(4);
    expect(m.hqFraction).toBe(1);
    expect(m.hqPerMode).toEqual([2, 0, 0, 1, 0, 1, 0, 0]);
    // KL(hist || U8) with hist (1/2, 1/4, 1/4) = 1/2 log 4 + 2 * 1/4 log 2.
    expect(m.reverseKL!).toBeCloseTo(0.5 * Math.log(4) + 0.5 * Math.log(2), 12);
  });

  it('uses the 3-std threshold: 2.9 std away is high quality, 3.1 std is not', () => {
    const [mx, my] = ring.means[1]!;
    const dir = [mx! / 2, my! / 2]; // unit vector
    const at = (k: number) => [mx! + dir[0]! * k * 0.02, my! + dir[1]! * k * 0.02];
    const m = modeMetrics([at(2.9), at(3.1), at(-2.9)], ring);
    expect(m.highQuality).toBe(2);
    expect(m.hqPerMode[1]).toBe(2);
    expect(m.nearestPerMode[1]).toBe(3);
    expect(m.hqFraction).toBeCloseTo(2 / 3, 12);
  });

  it('a sample between modes is low quality and captures nothing; NaNs count as low quality', () => {
    const m = modeMetrics(
      [
        [0, 0],
        [Number.NaN, 1],
        [1, 1],
      ],
      ring,
    );
    expect(m.highQuality).toBe(0);
    expect(m.modesCaptured).toBe(0);
    expect(m.reverseKL).toBeNull();
    expect(m.total).toBe(3);
  });

  it('LDMGAN variant: a mode needs more than 20 high-quality samples', () => {
    const g = gridMixture();
    const pts: number[] = [];
    for (let i = 0; i < 21; i++) pts.push(...g.means[0]!);
    for (let i = 0; i < 20; i++) pts.push(...g.means[7]!);
    const strict = modeMetrics(pts, g, { minHighQuality: 21 });
    expect(strict.modesCaptured).toBe(1);
    expect(modeMetrics(pts, g).modesCaptured).toBe(2);
    expect(() => modeMetrics(pts, g, { minHighQuality: 0 })).toThrow(/minHighQuality/);
  });

  it('scales per dimension and substitutes std 0 dimensions', () => {
    const spec = { means: [[0, 0]], std: [1, 0] };
    expect(modeMetrics([[2.5, 0]], spec).highQuality).toBe(1);
    expect(modeMetrics([[2.5, 2.5]], spec).highQuality).toBe(0);
    expect(modeMetrics([[0, 2.5]], spec, { zeroStdAs: 0.5 }).highQuality).toBe(0);
    expect(() => modeMetrics([1, 2, 3], spec)).toThrow(/whole number of 2-D samples/);
  });
});

describe('Stacked-MNIST mode count (../shared/spec/objectives.md 7)', () => {
  it('counts distinct triples and the KL to uniform over 1000', () => {
    const r = countStackedModes([1, 2, 3, 1, 2, 3, 0, 0, 0, 9, 9, 9]);
    expect(r.modes).toBe(3);
    // hist (1/2, 1/4, 1/4) over 1000 modes: KL = log 1000 - H.
    const h = -(0.5 * Math.log(0.5) + 0.5 * Math.log(0.25));
    expect(r.kl).toBeCloseTo(Math.log(1000) - h, 12);
    expect(() => countStackedModes([1, 2])).toThrow(/\[N, 3\]/);
  });
});
