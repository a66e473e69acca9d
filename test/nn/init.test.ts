import { describe, expect, it } from 'vitest';
import { Generator, init, initWeights, mlp, TesseraError } from '../../src/index.js';

function moments(a: ArrayLike<number>): { mean: number; std: number; maxAbs: number } {
  let s = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    s += a[i]!;
    m = Math.max(m, Math.abs(a[i]!));
  }
  const mean = s / a.length;
  let v = 0;
  for (let i = 0; i < a.length; i++) v += (a[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(v / a.length), maxAbs: m };
}

describe('initialisers', () => {
  it('fans and gains follow PyTorch', () => {
    expect(init.fans([20, 10])).toEqual({ fanIn: 10, fanOut: 20 });
    expect(init.fans([8, 3, 4, 4])).toEqual({ fanIn: 48, fanOut: 128 });
    expect(init.calculateGain('relu')).toBeCloseTo(Math.SQRT2, 15);
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3, 15);
    expect(init.calculateGain('leaky_relu', 0.2)).toBeCloseTo(Math.sqrt(2 / 1.04), 15);
    expect(init.calculateGain('sigmoid')).toBe(1);
    expect(() => init.fans([5])).toThrow(/at least 2 dimensions/);
  });

  it('Xavier uniform and normal have the Glorot scales', () => {
    const g = new Generator(1);
    const u = moments(init.xavierUniform([100, 60], 2, { rng: g }).dataSync());
    const a = 2 * Math.sqrt(6 / 160);
    expect(u.maxAbs).toBeLessThanOrEqual(a);
    expect(u.std / (a / Math.sqrt(3))).toBeCloseTo(1, 1);
    const n = moments(init.xavierNormal([100, 60], 1, { rng: g, dtype: 'float64' }).dataSync());
    expect(n.std / Math.sqrt(2 / 160)).toBeCloseTo(1, 1);
    expect(Math.abs(n.mean)).toBeLessThan(0.01);
  });

  it('Kaiming uniform and normal use the chosen fan and gain', () => {
    const g = new Generator(2);
    const ku = moments(init.kaimingUniform([50, 40, 3, 1], { rng: g, nonlinearity: 'relu' }).dataSync());
    const b = Math.SQRT2 * Math.sqrt(3 / 120);
    expect(ku.maxAbs).toBeLessThanOrEqual(b);
    expect(ku.std / (b / Math.sqrt(3))).toBeCloseTo(1, 1);
    const kn = moments(
      init.kaimingNormal([50, 40, 3, 1], { rng: g, mode: 'fan_out', nonlinearity: 'leaky_relu', a: 0.2 }).dataSync(),
    );
    expect(kn.std / (Math.sqrt(2 / 1.04) / Math.sqrt(150))).toBeCloseTo(1, 1);
    // PyTorch's Linear default: kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
    const d = moments(init.torchDefaultWeight([300, 25], { rng: g }).dataSync());
    expect(d.maxAbs).toBeLessThanOrEqual(0.2);
    expect(d.maxAbs).toBeGreaterThan(0.19);
  });

  it('orthogonal gives orthonormal rows (wide) or columns (tall) times the gain', () => {
    for (const shape of [
      [4, 7],
      [7, 4],
      [3, 2, 2, 2],
      [5, 5],
    ]) {
      const rows = shape[0]!;
      const cols = shape.slice(1).reduce((p, q) => p * q, 1);
      const w = init.orthogonal(shape, 1.4, { rng: new Generator(3), dtype: 'float64' });
      expect(w.shape).toEqual(shape);
      const a = w.dataSync();
      const k = Math.min(rows, cols);
      // Gram matrix of the shorter side: gain^2 I.
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) {
          let dot = 0;
          if (rows <= cols) for (let c = 0; c < cols; c++) dot += a[i * cols + c]! * a[j * cols + c]!;
          else for (let r = 0; r < rows; r++) dot += a[r * cols + i]! * a[r * cols + j]!;
          expect(dot).toBeCloseTo(i === j ? 1.96 : 0, 10);
        }
      }
    }
    const x = init.orthogonal([6, 6], 1, { rng: new Generator(9) }).dataSync();
    const y = init.orthogonal([6, 6], 1, { rng: new Generator(9) }).dataSync();
    expect(Array.from(x)).toEqual(Array.from(y));
  });

  it('constants, normal and uniform', () => {
    expect(Array.from(init.constant([3], 2.5).dataSync())).toEqual([2.5, 2.5, 2.5]);
    expect(Array.from(init.zeros([2], { dtype: 'float64' }).dataSync())).toEqual([0, 0]);
    expect(init.ones([2]).dtype).toBe('float32');
    const n = moments(init.normal([4000], 1, 0.02, { rng: new Generator(4) }).dataSync());
    expect(Math.abs(n.mean - 1)).toBeLessThan(0.002);
    expect(Math.abs(n.std - 0.02)).toBeLessThan(0.002);
    const u = init.uniform([1000], -3, -2, { rng: new Generator(4) }).dataSync();
    expect(Array.from(u).every((v) => v >= -3 && v < -2)).toBe(true);
    expect(() => init.normal([2], 0, -1)).toThrow(TesseraError);
  });

  it('initWeights re-initialises every Linear of a model', () => {
    const net = mlp([3, 5, 2], { rng: new Generator(0) });
    const old = net.getParameter('0.weight');
    initWeights(net, {
      weight: (s) => init.orthogonal(s, 1.4, { rng: new Generator(1) }),
      bias: (s) => init.zeros(s),
    });
    expect(old.isDisposed).toBe(true);
    expect(Array.from(net.getParameter('2.bias').dataSync())).toEqual([0, 0]);
    const w = net.getParameter('2.weight').dataSync();
    let n0 = 0;
    for (let c = 0; c < 5; c++) n0 += w[c]! ** 2;
    expect(n0).toBeCloseTo(1.96, 5);
    net.dispose();
  });
});
