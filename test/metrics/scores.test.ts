// Classifier scores: Inception-style classifier score, MODE score (Che et al. Eq. 4), PresGAN's
// label-distribution KL, stacked triple outputs and classes captured, against plain arithmetic.
import '../../src/index.js'; // registers the CPU backend
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TesseraError } from '../../src/errors.js';
import {
  countDistinctModes,
  inceptionScore,
  labelDistributionKL,
  matrix,
  modeScore,
  stackedTripleProbs,
} from '../../src/metrics/index.js';

const oneHot = (labels: number[], k: number) =>
  matrix(
    labels.flatMap((l) => Array.from({ length: k }, (_, j) => (j === l ? 1 : 0))),
    labels.length,
    k,
  );
const rowsOf = (rows: number[][]) => matrix(rows.flat(), rows.length, rows[0]!.length);
const mean = (rows: number[][]) => rows[0]!.map((_, j) => rows.reduce((s, r) => s + r[j]!, 0) / rows.length);
const kl = (p: number[], q: number[]) => p.reduce((s, pj, j) => (pj > 0 ? s + pj * Math.log(pj / q[j]!) : s), 0);

/** Softmax rows from arbitrary scores, so tests draw valid probability vectors. */
const probRows = (k: number, n: number) =>
  fc
    .array(fc.array(fc.double({ min: -4, max: 4, noNaN: true }), { minLength: k, maxLength: k }), {
      minLength: n,
      maxLength: n,
    })
    .map((rows) =>
      rows.map((r) => {
        const e = r.map(Math.exp);
        const s = e.reduce((a, b) => a + b, 0);
        return e.map((v) => v / s);
      }),
    );

describe('inceptionScore (classifier score)', () => {
  it('is 1 for a constant classifier and K for confident predictions spread evenly over K classes', () => {
    const constant = rowsOf(Array.from({ length: 20 }, () => [0.1, 0.6, 0.3]));
    expect(inceptionScore(constant, { splits: 1 }).mean).toBeCloseTo(1, 14);
    const perfect = oneHot(
      Array.from({ length: 50 }, (_, i) => i % 10),
      10,
    );
    const r = inceptionScore(perfect, { splits: 5 });
    expect(r.mean).toBeCloseTo(10, 12);
    expect(r.std).toBeCloseTo(0, 12);
  });

  it('equals exp(mean KL(p(y|x) || p(y))) per split, written out', () => {
    fc.assert(
      fc.property(probRows(4, 12), (rows) => {
        const s1 = Math.exp(rows.reduce((s, r) => s + kl(r, mean(rows)), 0) / rows.length);
        expect(inceptionScore(rowsOf(rows), { splits: 1 }).mean).toBeCloseTo(s1, 10);
        const halves = [rows.slice(0, 6), rows.slice(6)].map((h) =>
          Math.exp(h.reduce((s, r) => s + kl(r, mean(h)), 0) / h.length),
        );
        const m = (halves[0]! + halves[1]!) / 2;
        const r2 = inceptionScore(rowsOf(rows), { splits: 2 });
        expect(r2.mean).toBeCloseTo(m, 10);
        expect(r2.std).toBeCloseTo(Math.abs(halves[0]! - halves[1]!) / 2, 10);
        // One split: invariant to the order of the samples.
        expect(inceptionScore(rowsOf([...rows].reverse()), { splits: 1 }).mean).toBeCloseTo(s1, 10);
      }),
      { numRuns: 50 },
    );
  });

  it('rejects logits, NaN and too many splits, naming inceptionScore', () => {
    expect(() => inceptionScore(rowsOf([[2, -1]]), { splits: 1 })).toThrow(
      /inceptionScore.*negative|inceptionScore.*sums/,
    );
    expect(() => inceptionScore(rowsOf([[0.5, Number.NaN]]), { splits: 1 })).toThrow(/inceptionScore.*non-finite/);
    expect(() => inceptionScore(rowsOf([[0.5, 0.5]]))).toThrow(/inceptionScore.*10 splits/);
    expect(() => inceptionScore(matrix([], 0, 3), { splits: 1 })).toThrow(TesseraError);
  });
});

describe('modeScore (Che et al. 2017, Eq. 4 as printed)', () => {
  const uniformTrain = oneHot(
    Array.from({ length: 30 }, (_, i) => i % 10),
    10,
  );

  it('is K for a perfect generator and 1 for one collapsed onto a single confident class', () => {
    const perfect = oneHot(
      Array.from({ length: 40 }, (_, i) => (i * 3) % 10),
      10,
    );
    expect(modeScore(perfect, uniformTrain)).toBeCloseTo(10, 10);
    const collapsed = oneHot(new Array(25).fill(4), 10);
    // E KL(onehot || U) = log 10 and KL(p_gen || U) = log 10: exp(0) = 1.
    expect(modeScore(collapsed, uniformTrain)).toBeCloseTo(1, 12);
  });

  it('equals exp(E KL(p(y|x) || p_train) - KL(p_gen || p_train)), written out', () => {
    fc.assert(
      fc.property(probRows(3, 8), probRows(3, 5), (gen, train) => {
        const pTrain = mean(train);
        const expected = Math.exp(gen.reduce((s, r) => s + kl(r, pTrain), 0) / gen.length - kl(mean(gen), pTrain));
        expect(modeScore(rowsOf(gen), rowsOf(train))).toBeCloseTo(expected, 10);
        expect(modeScore(rowsOf([...gen].reverse()), rowsOf(train))).toBeCloseTo(expected, 10);
      }),
      { numRuns: 50 },
    );
  });

  it('rejects a class the training distribution never has and mismatched widths', () => {
    expect(() => modeScore(oneHot([0, 1], 3), oneHot([0, 0], 3))).toThrow(/modeScore.*class 1.*infinite/);
    expect(() => modeScore(oneHot([0, 1], 3), oneHot([0, 1], 4))).toThrow(/modeScore.*4 columns, expected 3/);
  });
});

describe('labelDistributionKL (PresGAN Section 5.1)', () => {
  it('is KL(mean generated output || mean test output) and 0 for equal averages', () => {
    const gen = [
      [0.7, 0.2, 0.1],
      [0.1, 0.8, 0.1],
    ];
    const test = [
      [0.2, 0.3, 0.5],
      [0.4, 0.4, 0.2],
      [0.3, 0.3, 0.4],
    ];
    expect(labelDistributionKL(rowsOf(gen), rowsOf(test))).toBeCloseTo(kl(mean(gen), mean(test)), 14);
    expect(labelDistributionKL(rowsOf(gen), rowsOf(test), { direction: 'testToGenerated' })).toBeCloseTo(
      kl(mean(test), mean(gen)),
      14,
    );
    const a = rowsOf([
      [1, 0],
      [0, 1],
    ]);
    expect(labelDistributionKL(a, rowsOf([[0.5, 0.5]]))).toBeCloseTo(0, 15);
  });

  it('rejects mismatched class counts, naming labelDistributionKL', () => {
    expect(() => labelDistributionKL(oneHot([0], 2), oneHot([0], 3))).toThrow(/labelDistributionKL/);
  });
});

describe('stacked triples and classes captured', () => {
  it('stackedTripleProbs multiplies the channel outputs (triple = 100 d1 + 10 d2 + d3)', () => {
    const ch = oneHot([3, 1, 4, 1, 5, 9], 10);
    const t = stackedTripleProbs(ch);
    expect(t.rows).toBe(2);
    expect(t.cols).toBe(1000);
    expect(t.data[314]).toBe(1);
    expect(t.data[1000 + 159]).toBe(1);
    const soft = stackedTripleProbs(
      rowsOf([
        [0.5, 0.5],
        [0.25, 0.75],
      ]),
      2,
    );
    expect(Array.from(soft.data)).toEqual([0.125, 0.375, 0.125, 0.375]);
  });

  it('countDistinctModes counts argmax classes with their histogram and reverse KL', () => {
    const r = countDistinctModes(oneHot([0, 0, 2, 2, 2, 2], 4));
    expect(r.modes).toBe(2);
    expect(r.histogram).toEqual([2, 0, 4, 0]);
    const p = [1 / 3, 2 / 3];
    expect(r.reverseKL).toBeCloseTo(Math.log(4) + p[0]! * Math.log(p[0]!) + p[1]! * Math.log(p[1]!), 14);
    expect(() => countDistinctModes(matrix([], 0, 4))).toThrow(/countDistinctModes/);
  });
});
