/**
 * Randomness: Philox-4x32-10 known-answer vectors (Random123 kat_vectors), the documented layout of
 * uniform draws, reproducibility by seed, distribution moments within Monte Carlo error (5 standard
 * errors), bernoulli / randint / permutation, split generators and exact resumption from a state.
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import * as T from '../../src/index.js';

const vals = (t: Tensor) => Array.from(t.dataSync());
const hex = (w: ArrayLike<number>) => Array.from(w, (x) => (x >>> 0).toString(16).padStart(8, '0'));

function moments(x: ArrayLike<number>): { mean: number; variance: number } {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  const mean = s / x.length;
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += (x[i]! - mean) ** 2;
  return { mean, variance: ss / x.length };
}

describe('Philox-4x32-10 known answers (Random123 kat_vectors)', () => {
  it('counter 0, key 0', () => {
    expect(hex(T.philox4x32(0, 0, 0, 0, 0, 0))).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
  });
  it('counter and key all ones', () => {
    const f = 0xffffffff;
    expect(hex(T.philox4x32(f, f, f, f, f, f))).toEqual(['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
  });
  it('pi digits', () => {
    expect(hex(T.philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0))).toEqual([
      'd16cfe09',
      '94fdcceb',
      '5001e420',
      '24126ea1',
    ]);
  });
});

describe('uniform draws follow the documented layout', () => {
  it('element i is word i % 4 of philox((i / 4 + offset, 0, stream), key), top 24 bits * 2^-24', () => {
    const g = new T.Generator(7);
    const u = g.uniform([10], 0, 1, { dtype: 'float64' });
    const second = g.uniform([3], 0, 1, { dtype: 'float64' });
    const expected: number[] = [];
    for (let b = 0; b < 3; b++) {
      const w = T.philox4x32(b, 0, 0, 0, 7, 0);
      for (let j = 0; j < 4; j++) expected.push((w[j]! >>> 8) / 2 ** 24);
    }
    expect(vals(u)).toEqual(expected.slice(0, 10));
    // The next draw uses the next stream.
    const w2 = T.philox4x32(0, 0, 1, 0, 7, 0);
    expect(vals(second)).toEqual([0, 1, 2].map((j) => (w2[j]! >>> 8) / 2 ** 24));
    // Seeds above 2^32 use the high word as the second key word.
    const big = new T.Generator(2 ** 32 * 3 + 5).uniform([1], 0, 1, { dtype: 'float64' });
    expect(vals(big)).toEqual([(T.philox4x32(0, 0, 0, 0, 5, 3)[0]! >>> 8) / 2 ** 24]);
    // float32 holds the same values exactly (24-bit mantissa).
    expect(vals(new T.Generator(7).uniform([10]))).toEqual(expected.slice(0, 10));
    T.dispose([u, second, big]);
  });
});

describe('Generator', () => {
  it('scaled, shifted, float64, Bernoulli and integer draws leave only their result alive', () => {
    const rng = new T.Generator(5);
    const before = T.memory().numTensors;
    const draws = [
      rng.normal([3, 4], 1, 0.02),
      rng.normal([5], 0, 1, { dtype: 'float64' }),
      rng.normal([5], 2, 3, { dtype: 'float64' }),
      rng.uniform([6], -1, 1),
      rng.bernoulli(0.3, [7]),
      rng.randint(2, 9, [8]),
    ];
    // Outside any tidy scope: one live tensor per draw, no intermediates.
    expect(T.memory().numTensors - before).toBe(draws.length);
    for (const d of draws) d.dispose();
    expect(T.memory().numTensors).toBe(before);
  });

  it('same seed, same numbers; different seeds differ', () => {
    const a = new T.Generator(123).normal([64]);
    const b = new T.Generator(123).normal([64]);
    const c = new T.Generator(124).normal([64]);
    expect(vals(a)).toEqual(vals(b));
    expect(vals(a)).not.toEqual(vals(c));
    // Successive draws of one generator differ.
    const g = new T.Generator(1);
    expect(vals(g.uniform([16]))).not.toEqual(vals(g.uniform([16])));
    // The free functions use a reseedable default generator.
    T.seed(99);
    const d = T.uniform([8]);
    T.seed(99);
    const e = T.uniform([8]);
    expect(vals(d)).toEqual(vals(e));
    expect(() => new T.Generator(-1)).toThrow(T.TesseraError);
    expect(() => new T.Generator(1.5)).toThrow(/seed must be a non-negative safe integer/);
    T.dispose([a, b, c, d, e]);
  });

  const N = 100_000;

  it('uniform in [0, 1): mean 1/2 and variance 1/12 within Monte Carlo error; low/high scale', () => {
    const u = new T.Generator(2024).uniform([N], 0, 1, { dtype: 'float64' });
    const x = u.dataSync();
    for (const v of x) expect(v >= 0 && v < 1).toBe(true);
    const m = moments(x);
    // SE(mean) = sqrt(1/12 / N); SE(variance) = sqrt((1/80 - 1/144) / N).
    expect(Math.abs(m.mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / N));
    expect(Math.abs(m.variance - 1 / 12)).toBeLessThan(5 * Math.sqrt((1 / 80 - 1 / 144) / N));
    // Fraction below 0.1 is 0.1.
    const below = x.filter((v) => v < 0.1).length / N;
    expect(Math.abs(below - 0.1)).toBeLessThan(5 * Math.sqrt(0.09 / N));
    const s = new T.Generator(3).uniform([1000], -2, 5);
    for (const v of s.dataSync()) expect(v >= -2 && v < 5).toBe(true);
    expect(s.dtype).toBe('float32');
    T.dispose([u, s]);
  });

  it('normal: mean 0, variance 1, Phi(1) within Monte Carlo error; mean/std parameters', () => {
    const z = new T.Generator(77).normal([N], 0, 1, { dtype: 'float64' });
    const x = z.dataSync();
    const m = moments(x);
    expect(Math.abs(m.mean)).toBeLessThan(5 / Math.sqrt(N));
    expect(Math.abs(m.variance - 1)).toBeLessThan(5 * Math.sqrt(2 / N));
    const phi1 = 0.8413447460685429;
    const frac = x.filter((v) => v < 1).length / N;
    expect(Math.abs(frac - phi1)).toBeLessThan(5 * Math.sqrt((phi1 * (1 - phi1)) / N));
    for (const v of x) expect(Number.isFinite(v)).toBe(true);
    const s = new T.Generator(78).normal([N], 3, 0.5, { dtype: 'float64' });
    const ms = moments(s.dataSync());
    expect(Math.abs(ms.mean - 3)).toBeLessThan(5 * (0.5 / Math.sqrt(N)));
    expect(Math.abs(ms.variance - 0.25)).toBeLessThan(5 * 0.25 * Math.sqrt(2 / N));
    T.dispose([z, s]);
  });

  it('bernoulli: rate p within Monte Carlo error, bool dtype, per-element p', () => {
    const g = new T.Generator(5);
    const b = g.bernoulli(0.3, [N]);
    expect(b.dtype).toBe('bool');
    const rate = vals(T.sum(b))[0]! / N;
    expect(Math.abs(rate - 0.3)).toBeLessThan(5 * Math.sqrt((0.3 * 0.7) / N));
    const pt = T.tensor([0, 1]);
    const both = g.bernoulli(pt, [1000, 2]).arraySync() as boolean[][];
    expect(both.every((row) => row[0] === false && row[1] === true)).toBe(true);
    T.dispose([b, pt]);
  });

  it('randint: int32 in [low, high), every value about equally often', () => {
    const r = new T.Generator(9).randint(-3, 4, [70_000]);
    expect(r.dtype).toBe('int32');
    const counts = new Map<number, number>();
    for (const v of r.dataSync()) counts.set(v, (counts.get(v) ?? 0) + 1);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    const p = 1 / 7;
    for (const c of counts.values())
      expect(Math.abs(c / 70_000 - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / 70_000));
    expect(() => new T.Generator(0).randint(3, 3, [1])).toThrow(/randint: need integers low < high/);
    r.dispose();
  });

  it('permutation is a permutation; different generators give different orders', () => {
    for (const n of [0, 1, 2, 17, 100]) {
      const p = new T.Generator(n + 1).permutation(n);
      expect(p.dtype).toBe('int32');
      expect(vals(p).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
      p.dispose();
    }
    const a = vals(new T.Generator(1).permutation(50));
    const b = vals(new T.Generator(2).permutation(50));
    expect(a).not.toEqual(b);
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    // Every position of a small permutation takes every value over many draws.
    const g = new T.Generator(4);
    const seen = Array.from({ length: 3 }, () => new Set<number>());
    for (let k = 0; k < 60; k++) {
      vals(g.permutation(3)).forEach((v, i) => {
        seen[i]!.add(v);
      });
    }
    for (const s of seen) expect(s.size).toBe(3);
  });

  it('split generators differ from each other and from the parent, reproducibly', () => {
    const parent = new T.Generator(11);
    const [c1, c2, c3] = parent.split(3);
    const x1 = vals(c1!.uniform([32]));
    const x2 = vals(c2!.uniform([32]));
    const x3 = vals(c3!.uniform([32]));
    const xp = vals(parent.uniform([32]));
    expect(x1).not.toEqual(x2);
    expect(x2).not.toEqual(x3);
    expect(x1).not.toEqual(xp);
    const [d1] = new T.Generator(11).split(3);
    expect(vals(d1!.uniform([32]))).toEqual(x1);
  });

  it('getState / setState / fromState resume the exact stream', () => {
    const g = new T.Generator(31);
    g.uniform([10]);
    g.normal([3]);
    const state = g.getState();
    const snapshot = JSON.parse(JSON.stringify(state)) as T.GeneratorState;
    const a = [vals(g.uniform([20])), vals(g.normal([5])), vals(g.permutation(10))];
    g.setState(state);
    const b = [vals(g.uniform([20])), vals(g.normal([5])), vals(g.permutation(10))];
    expect(b).toEqual(a);
    const h = T.Generator.fromState(snapshot);
    expect([vals(h.uniform([20])), vals(h.normal([5])), vals(h.permutation(10))]).toEqual(a);
    // getState returns a copy: later draws do not change a saved state.
    expect(state.draws).toBe(snapshot.draws);
  });
});
