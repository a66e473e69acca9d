// Mode metrics on samples drawn from the true mixtures (ring, grid, 1200-D), the 1200-D
// per-coordinate rule, reverseKLToUniform, and property tests (order invariance, monotonicity).
import '../../src/index.js'; // registers the CPU backend
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gridMixture, highDimMixture, ringMixture, sampleMixture } from '../../src/data/index.js';
import { TesseraError } from '../../src/errors.js';
import { matrix, modeMetrics, reverseKLToUniform } from '../../src/metrics/index.js';
import { Generator } from '../../src/random/generator.js';

async function draw(m: ReturnType<typeof ringMixture>, n: number, seed: number): Promise<Float32Array> {
  const s = sampleMixture(m, n, new Generator(seed));
  const x = Float32Array.from(await s.x.data());
  s.x.dispose();
  s.modes.dispose();
  return x;
}

describe('mode metrics on samples of the true mixture', () => {
  // In 2-D the standardised distance of a true sample is chi with 2 degrees of freedom:
  // P(r < 3) = 1 - exp(-9 / 2) = 0.98889 (99.7% is the 1-D three-sigma figure).
  const pHQ = 1 - Math.exp(-4.5);
  const n = 2500;
  const tol = 4 * Math.sqrt((pHQ * (1 - pHQ)) / n);

  it('ring (8 modes): all modes, high-quality fraction 1 - exp(-4.5) within 4 binomial sd', async () => {
    const ring = ringMixture({ radius: 2, std: 0.02 });
    const m = modeMetrics(await draw(ring, n, 1), ring);
    expect(m.rule).toBe('norm');
    expect(m.threshold).toBe(3);
    expect(m.modesCaptured).toBe(8);
    expect(m.modesCapturedLdmgan).toBe(8);
    expect(Math.abs(m.hqFraction - pHQ)).toBeLessThan(tol);
    // Each mode gets n/8 samples in expectation: the reverse KL is small (multinomial noise only).
    expect(m.reverseKL!).toBeLessThan(0.01);
    expect(m.hqPerMode.reduce((a, b) => a + b, 0)).toBe(m.highQuality);
  });

  it('grid (25 modes): all modes under the VEEGAN and the LDMGAN rule', async () => {
    const grid = gridMixture();
    const m = modeMetrics(await draw(grid, n, 2), grid);
    expect(m.modesCaptured).toBe(25);
    expect(m.modesCapturedLdmgan).toBe(25);
    expect(Math.abs(m.hqFraction - pHQ)).toBeLessThan(tol);
  });

  it('1200-D: the per-coordinate 10-std rule accepts real samples; the norm rule would reject them', async () => {
    const hd = highDimMixture();
    const x = await draw(hd, 300, 3);
    const m = modeMetrics(x, hd);
    expect(m.rule).toBe('perCoordinate');
    expect(m.threshold).toBe(10);
    expect(m.hqFraction).toBe(1);
    expect(m.modesCaptured).toBe(10);
    // The full standardised norm of a real sample is about sqrt(700) = 26.5 > 10: all rejected.
    const norm = modeMetrics(x, hd, { rule: 'norm', threshold: 10 });
    expect(norm.highQuality).toBe(0);
    // Every sample still goes to its own mode.
    expect(m.nearestPerMode.reduce((a, b) => a + b, 0)).toBe(300);
  });

  it('1200-D: a sample 11 std off in one coordinate is low quality; 9 std is high quality', () => {
    const hd = highDimMixture();
    const base = hd.means[2]!.slice();
    const off = (k: number) => base.map((v, d) => (d === 5 ? v + k : v));
    const m = modeMetrics([off(9), off(11), off(-9)], hd);
    expect(m.highQuality).toBe(2);
    expect(m.hqPerMode[2]).toBe(2);
  });

  it('accepts a Matrix and counts a mode under LDMGAN only with more than 20 samples', () => {
    const g = gridMixture();
    const pts: number[] = [];
    for (let i = 0; i < 21; i++) pts.push(...g.means[3]!);
    for (let i = 0; i < 20; i++) pts.push(...g.means[4]!);
    const m = modeMetrics(matrix(pts, 41, 2), g);
    expect(m.modesCaptured).toBe(2);
    expect(m.modesCapturedLdmgan).toBe(1);
    expect(() => modeMetrics(matrix(pts, 41, 2), g, { rule: 'max' as 'norm' })).toThrow(TesseraError);
  });
});

describe('mode metrics: properties', () => {
  const ring = ringMixture({ radius: 2, std: 0.02 });
  const point = fc.tuple(
    fc.double({ min: -2.5, max: 2.5, noNaN: true }),
    fc.double({ min: -2.5, max: 2.5, noNaN: true }),
  );
  const near = fc
    .tuple(
      fc.integer({ min: 0, max: 7 }),
      fc.double({ min: -0.1, max: 0.1, noNaN: true }),
      fc.double({ min: -0.1, max: 0.1, noNaN: true }),
    )
    .map(([k, dx, dy]) => [ring.means[k]![0]! + dx, ring.means[k]![1]! + dy] as [number, number]);
  const samples = fc.array(fc.oneof(point, near), { minLength: 1, maxLength: 60 });

  it('invariant to the order of the samples', () => {
    fc.assert(
      fc.property(samples, fc.integer({ min: 0, max: 1000 }), (pts, seed) => {
        const shuffled = pts
          .map((p, i) => ({ p, key: (i * 7919 + seed * 104729) % 1009 }))
          .sort((a, b) => a.key - b.key);
        const a = modeMetrics(pts, ring);
        const b = modeMetrics(
          shuffled.map((s) => s.p),
          ring,
        );
        expect(b.hqPerMode).toEqual(a.hqPerMode);
        expect(b.nearestPerMode).toEqual(a.nearestPerMode);
        expect(b.modesCaptured).toBe(a.modesCaptured);
      }),
      { numRuns: 100 },
    );
  });

  it('modes captured and high-quality counts never decrease as the threshold grows (both rules)', () => {
    fc.assert(
      fc.property(
        samples,
        fc.double({ min: 0.5, max: 6, noNaN: true }),
        fc.double({ min: 0, max: 6, noNaN: true }),
        fc.constantFrom('norm' as const, 'perCoordinate' as const),
        (pts, t, dt, rule) => {
          const lo = modeMetrics(pts, ring, { threshold: t, rule });
          const hi = modeMetrics(pts, ring, { threshold: t + dt, rule });
          expect(hi.modesCaptured).toBeGreaterThanOrEqual(lo.modesCaptured);
          expect(hi.highQuality).toBeGreaterThanOrEqual(lo.highQuality);
          for (let k = 0; k < 8; k++) expect(hi.hqPerMode[k]!).toBeGreaterThanOrEqual(lo.hqPerMode[k]!);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('reverseKLToUniform', () => {
  it('is 0 for a uniform histogram and log K for a one-mode histogram', () => {
    expect(reverseKLToUniform([7, 7, 7, 7, 7])).toBeCloseTo(0, 14);
    expect(reverseKLToUniform([0, 0, 12, 0, 0, 0, 0, 0, 0, 0])).toBeCloseTo(Math.log(10), 14);
    expect(reverseKLToUniform([3])).toBe(0);
  });

  it('equals log K - H(p) (plain arithmetic) and is invariant to bin order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 12 }), (h) => {
        fc.pre(h.some((c) => c > 0));
        const total = h.reduce((a, b) => a + b, 0);
        let entropy = 0;
        for (const c of h) if (c > 0) entropy -= (c / total) * Math.log(c / total);
        const kl = reverseKLToUniform(h);
        expect(kl).toBeCloseTo(Math.max(Math.log(h.length) - entropy, 0), 10);
        expect(reverseKLToUniform([...h].reverse())).toBeCloseTo(kl, 12);
        expect(kl).toBeGreaterThanOrEqual(0);
        expect(kl).toBeLessThanOrEqual(Math.log(h.length) + 1e-12);
      }),
    );
  });

  it('rejects empty, all-zero and negative histograms, naming the function', () => {
    expect(() => reverseKLToUniform([])).toThrow(/reverseKLToUniform/);
    expect(() => reverseKLToUniform([0, 0])).toThrow(/reverseKLToUniform.*empty/);
    expect(() => reverseKLToUniform([1, -1])).toThrow(TesseraError);
    expect(() => reverseKLToUniform([1, Number.NaN])).toThrow(/reverseKLToUniform/);
  });
});
