/** BatchNorm1d / BatchNorm2d against a reference written here: training and eval modes, running statistics, gradients. */
import { describe, expect, it } from 'vitest';
import {
  BatchNorm1d,
  BatchNorm2d,
  DCGANGenerator,
  dispose,
  Generator,
  gradcheck,
  Linear,
  mlp,
  Sequential,
  type Tensor,
  tensor,
  unflattenTree,
} from '../../src/index.js';
import { close, rand } from '../helpers/nn.js';

const f64 = { dtype: 'float64' } as const;

function bnRef(x: number[], n: number, c: number, s: number, eps: number) {
  const mean = new Array(c).fill(0);
  const varB = new Array(c).fill(0);
  for (let j = 0; j < c; j++) {
    let acc = 0;
    for (let i = 0; i < n; i++) for (let k = 0; k < s; k++) acc += x[(i * c + j) * s + k]!;
    mean[j] = acc / (n * s);
    let ss = 0;
    for (let i = 0; i < n; i++) for (let k = 0; k < s; k++) ss += (x[(i * c + j) * s + k]! - mean[j]) ** 2;
    varB[j] = ss / (n * s);
  }
  const y = x.map((v, idx) => {
    const j = Math.floor(idx / s) % c;
    return (v - mean[j]) / Math.sqrt(varB[j] + eps);
  });
  const unbiased = varB.map((v) => (v * n * s) / (n * s - 1));
  return { mean, varB, unbiased, y };
}

describe('BatchNorm', () => {
  it('BatchNorm1d: train mode uses batch statistics and updates running stats like PyTorch', () => {
    const bn = new BatchNorm1d(2, { momentum: 0.1, ...f64 });
    const xs = [1, 10, 3, 20, 5, 60];
    const x = tensor(xs, { shape: [3, 2], ...f64 });
    const y = bn.forward(x);
    // Channel 0: mean 3, biased var 8/3, unbiased 4. Channel 1: mean 30, biased var 1400/3, unbiased 700.
    close(
      y.dataSync(),
      [1, 10, 3, 20, 5, 60].map((v, i) =>
        i % 2 === 0 ? (v - 3) / Math.sqrt(8 / 3 + 1e-5) : (v - 30) / Math.sqrt(1400 / 3 + 1e-5),
      ),
    );
    const rs = bn.runningStats();
    close(rs.mean.dataSync(), [0.3, 3]);
    close(rs.var.dataSync(), [0.9 + 0.4, 0.9 + 70]);
    expect(bn.buffers().num_batches_tracked instanceof Object).toBe(true);
    expect(Array.from((bn.buffers().num_batches_tracked as Tensor).dataSync())).toEqual([1]);
    // A second batch: running = 0.9 running + 0.1 batch.
    bn.forward(tensor([0, 0, 2, 4], { shape: [2, 2], ...f64 }));
    close(bn.runningStats().mean.dataSync(), [0.9 * 0.3 + 0.1 * 1, 0.9 * 3 + 0.1 * 2]);
    close(bn.runningStats().var.dataSync(), [0.9 * 1.3 + 0.1 * 2, 0.9 * 70.9 + 0.1 * 8]);
    // Eval mode uses the running statistics and the affine parameters.
    bn.setParameters({ weight: tensor([2, 3], f64), bias: tensor([0.5, -1], f64) });
    bn.eval();
    const rm = Array.from(bn.runningStats().mean.dataSync());
    const rv = Array.from(bn.runningStats().var.dataSync());
    const ye = bn.forward(x);
    close(
      ye.dataSync(),
      xs.map((v, i) => {
        const j = i % 2;
        return ((v - rm[j]!) / Math.sqrt(rv[j]! + 1e-5)) * [2, 3][j]! + [0.5, -1][j]!;
      }),
    );
    // Eval mode leaves the running statistics alone.
    expect(Array.from(bn.runningStats().mean.dataSync())).toEqual(rm);
    bn.dispose();
    dispose([x, y, ye]);
  });

  it('BatchNorm2d matches the hand computation over N, H, W', () => {
    const g = new Generator(3);
    const x = rand(g, [3, 2, 2, 3]);
    const bn = new BatchNorm2d(2, { momentum: 0.3, eps: 1e-3, ...f64 });
    const y = bn.forward(x);
    const ref = bnRef(Array.from(x.dataSync()), 3, 2, 6, 1e-3);
    close(y.dataSync(), ref.y, 1e-12);
    close(
      bn.runningStats().mean.dataSync(),
      ref.mean.map((m) => 0.3 * m),
    );
    close(
      bn.runningStats().var.dataSync(),
      ref.unbiased.map((v) => 0.7 + 0.3 * v),
    );
    expect(() => bn.forward(rand(g, [2, 2, 3]))).toThrow(/BatchNorm2d: input must be \[N, C, H, W\] with C = 2/);
    expect(() => bn.forward(rand(g, [1, 2, 1, 1]))).toThrow(/more than 1 value per channel/);
    bn.dispose();
    dispose([x, y]);
  });

  it('keeps separate running statistics per stream with shared affine parameters', () => {
    const bn = new BatchNorm1d(1, { streams: ['prior', 'encoder'], ...f64 });
    expect(Object.keys(bn.buffers()).sort()).toEqual(
      [
        'num_batches_tracked',
        'num_batches_tracked_encoder',
        'num_batches_tracked_prior',
        'running_mean',
        'running_mean_encoder',
        'running_mean_prior',
        'running_var',
        'running_var_encoder',
        'running_var_prior',
      ].sort(),
    );
    const net = new Sequential(new Linear(1, 1, f64), bn);
    net.setParameters(
      unflattenTree([
        ['0.weight', tensor([[1]], f64)],
        ['0.bias', tensor([0], f64)],
      ]),
    );
    // The stream option passes through Sequential.
    net.forward(tensor([[2], [4]], f64), { stream: 'prior' });
    net.forward(tensor([[10], [20], [30]], f64), { stream: 'encoder' });
    close(bn.runningStats('prior').mean.dataSync(), [0.3]);
    close(bn.runningStats('prior').var.dataSync(), [0.9 + 0.1 * 2]);
    close(bn.runningStats('encoder').mean.dataSync(), [2]);
    close(bn.runningStats('encoder').var.dataSync(), [0.9 + 0.1 * 100]);
    close(bn.runningStats().mean.dataSync(), [0]);
    close(bn.runningStats().var.dataSync(), [1]);
    // updateStats: false leaves them alone.
    net.forward(tensor([[100], [200]], f64), { stream: 'prior', updateStats: false });
    close(bn.runningStats('prior').mean.dataSync(), [0.3]);
    // Eval mode: each stream normalises with its own statistics; the affine parameters are shared.
    net.eval();
    const a = net.forward(tensor([[2]], f64), { stream: 'prior' }).dataSync()[0]!;
    const b = net.forward(tensor([[2]], f64), { stream: 'encoder' }).dataSync()[0]!;
    expect(a).toBeCloseTo((2 - 0.3) / Math.sqrt(1.1 + 1e-5), 12);
    expect(b).toBeCloseTo((2 - 2) / Math.sqrt(10.9 + 1e-5), 12);
    expect(() => net.forward(tensor([[2]], f64), { stream: 'fake' })).toThrow(
      /unknown stream 'fake'; declared streams are \[default, prior, encoder\]/,
    );
    expect(Object.keys(bn.parameters()).sort()).toEqual(['bias', 'weight']);
    net.dispose();
  });

  it('mlp and DCGAN builders pass BatchNorm options through', () => {
    const net = mlp([2, 3, 1], { batchNorm: true, batchNormOptions: { momentum: 0.05, eps: 1e-3 } });
    const bn = net.at(1) as BatchNorm1d;
    expect([bn.momentum, bn.eps]).toEqual([0.05, 1e-3]);
    net.setParameters({
      '0': {
        weight: tensor([
          [1, 0],
          [0, 1],
          [1, 1],
        ]),
      },
    });
    // Hidden pre-activations [[1, 2, 3], [3, 4, 7]]: batch mean [2, 3, 5]; running = 0.05 * mean.
    net.forward(
      tensor([
        [1, 2],
        [3, 4],
      ]),
    );
    expect(Array.from(bn.runningStats().mean.dataSync()).map((v) => +v.toFixed(6))).toEqual([0.1, 0.15, 0.25]);
    const G = new DCGANGenerator({
      imageSize: 28,
      nz: 2,
      ngf: 2,
      nc: 1,
      bnOptions: { momentum: 0.3 },
      bnStreams: ['a'],
    });
    const bn2 = G.getModule('main.1') as BatchNorm2d;
    expect([bn2.momentum, bn2.streams]).toEqual([0.3, ['default', 'a']]);
    net.dispose();
    G.dispose();
  });

  it('running-stat updates are not recorded by autodiff and the train-mode gradient is correct', () => {
    const bn = new BatchNorm1d(3, f64);
    const g = new Generator(5);
    const x = rand(g, [4, 3]);
    const w = rand(g, [3]);
    const b = rand(g, [3]);
    const r = gradcheck((xx, ww, bb) => bn.call({ weight: ww!, bias: bb! }, xx!).tanh(), [x, w, b]);
    expect(r.ok).toBe(true);
    const rs = bn.runningStats();
    expect(rs.mean.requiresGrad).toBe(false);
    expect(rs.mean.node).toBeNull();
    expect(rs.mean.isDisposed).toBe(false);
    bn.dispose();
  });
});
