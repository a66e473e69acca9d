import { describe, expect, it } from 'vitest';
import {
  BatchNorm2d,
  DCGANDiscriminator,
  DCGANGenerator,
  Dropout,
  dcganInit,
  dispose,
  functionalCall,
  Generator,
  grad,
  Linear,
  Module,
  memory,
  mlp,
  ParameterDict,
  type ParamTree,
  Sequential,
  type Tensor,
  TesseraError,
  tensor,
  tidy,
  valueAndGrad,
  withParameters,
} from '../../src/index.js';

const f64 = { dtype: 'float64' } as const;

function stats(a: ArrayLike<number>): { mean: number; std: number } {
  const n = a.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i]!;
  const mean = s / n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (a[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(v / n) };
}

describe('Module parameter trees', () => {
  it('names parameters like a PyTorch state dict and nests them as a tree', () => {
    const net = mlp([3, 4, 2], { batchNorm: true, rng: new Generator(0) });
    expect(net.namedParameters().map(([n, t]) => `${n}:${t.shape}`)).toEqual([
      '0.weight:4,3',
      '1.weight:4',
      '1.bias:4',
      '3.weight:2,4',
      '3.bias:2',
    ]);
    expect(net.namedBuffers().map(([n]) => n)).toEqual(['1.running_mean', '1.running_var', '1.num_batches_tracked']);
    const tree = net.parameters();
    expect(Object.keys(tree)).toEqual(['0', '1', '3']);
    expect((tree['0'] as ParamTree).weight).toBe(net.getParameter('0.weight'));
    expect(net.numParameters()).toBe(12 + 4 + 4 + 8 + 2);
    expect([...net.stateDict().keys()]).toHaveLength(8);
    net.dispose();
  });

  it('functionalCall swaps a tree in for one call; valueAndGrad differentiates with respect to it', () => {
    const lin = new Linear(2, 1, f64);
    lin.setParameters({ weight: tensor([[1, 2]], f64), bias: tensor([0.5], f64) });
    const x = tensor(
      [
        [1, 1],
        [2, -1],
      ],
      f64,
    );
    const p = { weight: tensor([[3, 0]], f64), bias: tensor([0], f64) };
    expect(Array.from(functionalCall(lin, p, x).dataSync())).toEqual([3, 6]);
    // The module's own parameters are back afterwards.
    expect(Array.from(lin.forward(x).dataSync())).toEqual([3.5, 0.5]);
    // loss = sum((x w^T + b)^2): d/dw = 2 sum_i y_i x_i, d/db = 2 sum_i y_i with y = [3.5, 0.5].
    const [loss, g] = valueAndGrad((q: ParamTree) => functionalCall(lin, q, x).square().sum())(lin.parameters());
    expect(loss.dataSync()[0]).toBeCloseTo(12.5, 12);
    expect(Array.from((g.weight as Tensor).dataSync())).toEqual([2 * (3.5 + 1), 2 * (3.5 - 0.5)]);
    expect(Array.from((g.bias as Tensor).dataSync())).toEqual([8]);
    // A partial tree: only the bias is swapped.
    expect(Array.from(lin.call({ bias: tensor([10], f64) }, x).dataSync())).toEqual([13, 10]);
    lin.dispose();
  });

  it('nested functional calls and second-order gradients through a module', () => {
    const lin = new Linear(1, 1, { bias: false, ...f64 });
    const x = tensor([[2]], f64);
    // f(w) = (w x)^3 -> f'' = 6 w x^3 = 48 w.
    const d2 = grad((w: Tensor) => grad((v: Tensor) => lin.call({ weight: v }, x).pow(3).sum())(w).sum());
    expect(d2(tensor([[0.5]], f64)).dataSync()[0]).toBeCloseTo(24, 10);
    const inner = withParameters(lin, { weight: tensor([[3]], f64) }, () =>
      withParameters(lin, { weight: tensor([[5]], f64) }, () => lin.forward(x).dataSync()[0]),
    );
    expect(inner).toBe(10);
    lin.dispose();
  });

  it('lists every unknown or mis-shaped entry at once', () => {
    const net = mlp([3, 4, 2], { rng: new Generator(0) });
    const bad = {
      '0': { weight: tensor(new Float32Array(8), { shape: [2, 4] }), bais: tensor([1]) },
      '9': { weight: tensor([1]) },
    };
    const tryCall = () => functionalCall(net, bad, tensor([[1, 2, 3]]));
    expect(tryCall).toThrow(TesseraError);
    expect(tryCall).toThrow(/'0\.weight' has shape \[2,4\], expected \[4,3\]/);
    expect(tryCall).toThrow(/unknown parameter '0\.bais'/);
    expect(tryCall).toThrow(/unknown parameter '9\.weight'/);
    expect(() => net.setParameters(bad)).toThrow(
      /'0\.weight' is float32 \[2,4\], expected float32 \[4,3\].*'0\.bais'.*'9\.weight'/,
    );
    net.dispose();
  });

  it('setParameters keeps the new tensors past tidy and disposes the old ones', () => {
    const lin = new Linear(2, 2);
    const old = lin.weight;
    tidy(() => {
      lin.setParameters({
        weight: tensor([
          [1, 0],
          [0, 1],
        ]),
      });
    });
    expect(old.isDisposed).toBe(true);
    expect(Array.from(lin.weight.dataSync())).toEqual([1, 0, 0, 1]);
    lin.dispose();
  });

  it('train() and eval() set the mode recursively', () => {
    const net = new Sequential(new Linear(2, 2), new Sequential(new Dropout(0.5), new BatchNorm2d(2)));
    expect(net.modules().every(([, m]) => m.training)).toBe(true);
    net.eval();
    expect(net.modules().map(([p, m]) => [p, m.training])).toEqual([
      ['', false],
      ['0', false],
      ['1', false],
      ['1.0', false],
      ['1.1', false],
    ]);
    net.train();
    expect(net.getModule('1.1').training).toBe(true);
    net.dispose();
  });

  it('custom modules register parameters and children and work with functionalCall', () => {
    class Affine extends Module {
      readonly inner = this.registerModule('inner', new Linear(2, 2, { bias: false, dtype: 'float64' }));
      constructor() {
        super();
        this.registerParameter('scale', tensor([2, 3], f64));
      }
      forward(x: Tensor): Tensor {
        return this.inner.forward(x).mul(this.param('scale'));
      }
    }
    const m = new Affine();
    m.inner.setParameters({
      weight: tensor(
        [
          [1, 0],
          [0, 1],
        ],
        f64,
      ),
    });
    expect(m.namedParameters().map(([n]) => n)).toEqual(['scale', 'inner.weight']);
    expect(Array.from(m.forward(tensor([[1, 1]], f64)).dataSync())).toEqual([2, 3]);
    const g = grad((p: ParamTree) => functionalCall(m, p, tensor([[1, 1]], f64)).sum())(m.parameters());
    expect(Array.from((g.scale as Tensor).dataSync())).toEqual([1, 1]);
    expect(Array.from(((g.inner as ParamTree).weight as Tensor).dataSync())).toEqual([2, 2, 3, 3]);
    m.dispose();
  });

  it('ParameterDict holds bare tensors for optimisers and functional calls', () => {
    const pd = new ParameterDict({ rho: tensor([-1, -1]), nested: { s: tensor(2) } });
    expect(pd.namedParameters().map(([n]) => n)).toEqual(['rho', 'nested.s']);
    const swapped = withParameters(pd, { rho: tensor([3, 4]) }, () => Array.from(pd.get('rho').dataSync()));
    expect(swapped).toEqual([3, 4]);
    expect(Array.from(pd.get('rho').dataSync())).toEqual([-1, -1]);
    expect(() => pd.forward(tensor(1))).toThrow(/ParameterDict: has no forward/);
    pd.dispose();
  });
});

describe('DCGAN builders', () => {
  for (const S of [28, 32, 64] as const) {
    it(`generator and discriminator for ${S}x${S} images`, () => {
      const g = new Generator(S);
      const G = new DCGANGenerator({ imageSize: S, nz: 6, ngf: 4, nc: 3, rng: g });
      const D = new DCGANDiscriminator({ imageSize: S, ndf: 4, nc: 3, rng: g });
      const before = memory().numTensors;
      const shapes = tidy(() => {
        const img = G.forward(g.normal([2, 6]));
        const img4 = G.forward(g.normal([2, 6, 1, 1]));
        const out = D.forward(img);
        const rng = Array.from(img.dataSync());
        return {
          img: img.shape,
          img4: img4.shape,
          d: out.shape,
          inTanh: rng.every((v) => v > -1 && v < 1),
        };
      });
      expect(memory().numTensors).toBe(before);
      expect(shapes.img).toEqual([2, 3, S, S]);
      expect(shapes.img4).toEqual([2, 3, S, S]);
      expect(shapes.d).toEqual([2]);
      expect(shapes.inTanh).toBe(true);
      // No biases in the convolutions (PresGAN's nets.py); PyTorch-style names under `main`.
      for (const m of [G, D]) {
        for (const [n] of m.namedParameters().filter(([q]) => q.endsWith('.bias')))
          expect(m.getModule(n.slice(0, -'.bias'.length))).toBeInstanceOf(BatchNorm2d);
      }
      expect(G.namedParameters()[0]![0]).toBe('main.0.weight');
      expect(G.namedParameters()[0]![1].shape).toEqual([
        6,
        S === 64 ? 32 : S === 32 ? 16 : 8,
        S === 28 ? 7 : 4,
        S === 28 ? 7 : 4,
      ]);
      expect(() => D.forward(G.forward(g.normal([1, 6])).slice([null, [0, 2]]))).toThrow(
        new RegExp(`DCGANDiscriminator: input must be \\[N, 3, ${S}, ${S}\\]`),
      );
      expect(() => G.forward(g.normal([2, 5]))).toThrow(/z must be \[N, 6\]/);
      G.dispose();
      D.dispose();
    });
  }

  it('the PresGAN 64x64 architecture: 5 transposed convolutions, 4 BatchNorms, no biases', () => {
    const G = new DCGANGenerator({ imageSize: 64, nz: 100, ngf: 8, nc: 3, rng: new Generator(1) });
    const shapes = G.namedParameters()
      .filter(([n]) => n.endsWith('weight') && G.getParameter(n).rank === 4)
      .map(([, t]) => t.shape);
    expect(shapes).toEqual([
      [100, 64, 4, 4],
      [64, 32, 4, 4],
      [32, 16, 4, 4],
      [16, 8, 4, 4],
      [8, 3, 4, 4],
    ]);
    expect(G.namedParameters().filter(([n]) => n.endsWith('bias'))).toHaveLength(4);
    const D = new DCGANDiscriminator({ imageSize: 64, ndf: 8, nc: 3, rng: new Generator(1) });
    expect(
      D.namedParameters()
        .filter(([, t]) => t.rank === 4)
        .map(([, t]) => t.shape),
    ).toEqual([
      [8, 3, 4, 4],
      [16, 8, 4, 4],
      [32, 16, 4, 4],
      [64, 32, 4, 4],
      [1, 64, 4, 4],
    ]);
    G.dispose();
    D.dispose();
  });

  it("the 'tf' 28x28 variant (PacGAN / VEEGAN Stacked MNIST) has the 2-4-7-14-28 stages", () => {
    const g = new Generator(3);
    const G = new DCGANGenerator({ imageSize: 28, variant: 'tf', nz: 5, ngf: 2, nc: 3, rng: g });
    const D = new DCGANDiscriminator({ imageSize: 28, variant: 'tf', ndf: 2, nc: 3, rng: g });
    const r = tidy(() => {
      const img = G.forward(g.normal([2, 5]));
      return [img.shape, D.forward(img).shape];
    });
    expect(r).toEqual([[2, 3, 28, 28], [2]]);
    expect(G.namedParameters()[0]).toEqual(['main.0.weight', expect.anything()]);
    expect(G.getParameter('main.0.weight').shape).toEqual([2 * 2 * 16, 5]);
    expect(D.getParameter('main.12.weight').shape).toEqual([1, 16 * 4]);
    expect(() => new DCGANGenerator({ imageSize: 32, variant: 'tf' })).toThrow(
      /variant 'tf' is defined for imageSize 28/,
    );
    G.dispose();
    D.dispose();
  });

  it('dcganInit draws conv weights from N(0, 0.02) and BatchNorm scales from N(1, 0.02)', () => {
    const G = new DCGANGenerator({ imageSize: 32, nz: 64, ngf: 16, nc: 3, rng: new Generator(5) });
    const w = stats(G.getParameter('main.0.weight').dataSync());
    expect(Math.abs(w.mean)).toBeLessThan(0.002);
    expect(Math.abs(w.std - 0.02)).toBeLessThan(0.002);
    const bnw = G.getParameter('main.1.weight').dataSync();
    const s = stats(bnw);
    expect(Math.abs(s.mean - 1)).toBeLessThan(0.01);
    expect(s.std).toBeGreaterThan(0.01);
    expect(s.std).toBeLessThan(0.03);
    expect(Array.from(G.getParameter('main.1.bias').dataSync()).every((v) => v === 0)).toBe(true);
    // Same seed, same weights.
    const G2 = new DCGANGenerator({ imageSize: 32, nz: 64, ngf: 16, nc: 3, rng: new Generator(5) });
    expect(Array.from(G2.getParameter('main.3.weight').dataSync())).toEqual(
      Array.from(G.getParameter('main.3.weight').dataSync()),
    );
    // dcganInit on an mlp with linear: true.
    const net = dcganInit(mlp([10, 200, 1], { rng: new Generator(0) }), {
      rng: new Generator(1),
      linear: true,
    });
    expect(Math.abs(stats(net.getParameter('0.weight').dataSync()).std - 0.02)).toBeLessThan(0.002);
    expect(Array.from(net.getParameter('0.bias').dataSync()).every((v) => v === 0)).toBe(true);
    dispose([G, G2, net].flatMap((m) => m.namedParameters().map(([, t]) => t)));
  });
});
