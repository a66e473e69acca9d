import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BatchNorm2d,
  Conv2d,
  ConvTranspose2d,
  Dropout,
  dispose,
  ELU,
  Flatten,
  Generator,
  gradcheck,
  Identity,
  LeakyReLU,
  Linear,
  Maxout,
  memory,
  mlp,
  type ParamTree,
  ReLU,
  Reshape,
  Sequential,
  Sigmoid,
  Softplus,
  Tanh,
  type Tensor,
  TesseraError,
  tensor,
  tidy,
  unflattenTree,
} from '../../src/index.js';
import { close, rand } from '../helpers/nn.js';

const f64 = { dtype: 'float64' } as const;

/** Direct-loop convolution (PyTorch semantics), independent of the library. */
function naiveConv(
  x: Float64Array,
  [n, c, h, w]: number[],
  k: Float64Array,
  [o, cg, kh, kw]: number[],
  s: number,
  p: number,
  groups: number,
  bias?: Float64Array,
): { out: Float64Array; shape: number[] } {
  const oh = Math.floor((h! + 2 * p - kh!) / s) + 1;
  const ow = Math.floor((w! + 2 * p - kw!) / s) + 1;
  const out = new Float64Array(n! * o! * oh * ow);
  const og = o! / groups;
  for (let b = 0; b < n!; b++)
    for (let oc = 0; oc < o!; oc++) {
      const g = Math.floor(oc / og);
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let acc = bias ? bias[oc]! : 0;
          for (let ci = 0; ci < cg!; ci++)
            for (let a = 0; a < kh!; a++)
              for (let bb = 0; bb < kw!; bb++) {
                const y = i * s - p + a;
                const xx = j * s - p + bb;
                if (y < 0 || y >= h! || xx < 0 || xx >= w!) continue;
                const cin = g * cg! + ci;
                acc += x[((b * c! + cin) * h! + y) * w! + xx]! * k[((oc * cg! + ci) * kh! + a) * kw! + bb]!;
              }
          out[((b * o! + oc) * oh + i) * ow + j] = acc;
        }
    }
  return { out, shape: [n!, o!, oh, ow] };
}

/** Direct scatter formulation of the transposed convolution (groups 1). */
function naiveConvT(
  x: Float64Array,
  [n, ci, h, w]: number[],
  k: Float64Array,
  [, co, kh, kw]: number[],
  s: number,
  p: number,
  op: number,
): { out: Float64Array; shape: number[] } {
  const oh = (h! - 1) * s - 2 * p + kh! + op;
  const ow = (w! - 1) * s - 2 * p + kw! + op;
  const out = new Float64Array(n! * co! * oh * ow);
  for (let b = 0; b < n!; b++)
    for (let c = 0; c < ci!; c++)
      for (let i = 0; i < h!; i++)
        for (let j = 0; j < w!; j++)
          for (let d = 0; d < co!; d++)
            for (let a = 0; a < kh!; a++)
              for (let e = 0; e < kw!; e++) {
                const y = i * s - p + a;
                const xx = j * s - p + e;
                if (y < 0 || y >= oh || xx < 0 || xx >= ow) continue;
                out[((b * co! + d) * oh + y) * ow + xx]! +=
                  x[((b * ci! + c) * h! + i) * w! + j]! * k[((c * co! + d) * kh! + a) * kw! + e]!;
              }
  return { out, shape: [n!, co!, oh, ow] };
}

describe('Linear', () => {
  it('computes x W^T + b by hand', () => {
    const lin = new Linear(2, 3, f64);
    lin.setParameters({
      weight: tensor(
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        f64,
      ),
      bias: tensor([0.5, -1, 0], f64),
    });
    const y = lin.forward(tensor([[1, -1]], f64));
    expect(y.shape).toEqual([1, 3]);
    expect(Array.from(y.dataSync())).toEqual([-0.5, -2, -1]);
    // Batched leading axes pass through.
    expect(lin.forward(rand(new Generator(1), [4, 5, 2])).shape).toEqual([4, 5, 3]);
    lin.dispose();
  });

  it('uses PyTorch default init: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias, reproducible by seed', () => {
    const a = new Linear(50, 40, { rng: new Generator(7) });
    const b = new Linear(50, 40, { rng: new Generator(7) });
    const w = a.weight.dataSync();
    const bound = 1 / Math.sqrt(50);
    expect(Math.max(...Array.from(w, Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...Array.from(a.bias!.dataSync(), Math.abs))).toBeLessThanOrEqual(bound);
    // Variance of U(-b, b) is b^2 / 3 (2000 draws: within 10%).
    const v = Array.from(w).reduce((s, x) => s + x * x, 0) / w.length;
    expect(Math.abs(v / ((bound * bound) / 3) - 1)).toBeLessThan(0.1);
    expect(Array.from(b.weight.dataSync())).toEqual(Array.from(w));
    expect(new Linear(3, 2, { bias: false }).bias).toBeUndefined();
    a.dispose();
    b.dispose();
  });

  it('rejects bad input with the shapes in the message', () => {
    const lin = new Linear(3, 2);
    expect(() => lin.forward(tensor([[1, 2]]))).toThrow(/Linear: input \[1,2\] must end in 3 features/);
    expect(() => lin.forward(tensor([[1, 2, 3]], f64))).toThrow(/float64.*float32/);
    expect(() => new Linear(0, 2)).toThrow(TesseraError);
    lin.dispose();
  });
});

describe('Conv2d and ConvTranspose2d', () => {
  it('Conv2d matches a hand-computed 2x2 kernel on a 3x3 image', () => {
    const conv = new Conv2d(1, 1, 2, f64);
    conv.setParameters({
      weight: tensor(
        [
          [
            [
              [1, 0],
              [0, -1],
            ],
          ],
        ],
        f64,
      ),
      bias: tensor([10], f64),
    });
    const x = tensor(
      [
        [
          [
            [1, 2, 3],
            [4, 5, 6],
            [7, 8, 9],
          ],
        ],
      ],
      f64,
    );
    // out[i][j] = x[i][j] - x[i+1][j+1] + 10 = -4 + 10 everywhere.
    const y = conv.forward(x);
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expect(Array.from(y.dataSync())).toEqual([6, 6, 6, 6]);
    conv.dispose();
  });

  it('Conv2d matches a direct loop for strides, padding and groups', () => {
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: 1, max: 2 }),
          g: fc.integer({ min: 1, max: 2 }),
          cg: fc.integer({ min: 1, max: 2 }),
          og: fc.integer({ min: 1, max: 2 }),
          h: fc.integer({ min: 3, max: 6 }),
          k: fc.integer({ min: 1, max: 3 }),
          s: fc.integer({ min: 1, max: 2 }),
          p: fc.integer({ min: 0, max: 1 }),
          seed: fc.integer({ min: 0, max: 1000 }),
        }),
        ({ n, g, cg, og, h, k, s, p, seed }) => {
          const rng = new Generator(seed);
          const conv = new Conv2d(g * cg, g * og, k, { stride: s, padding: p, groups: g, rng, ...f64 });
          const x = rand(rng, [n, g * cg, h, h + 1]);
          const y = conv.forward(x);
          const ref = naiveConv(
            x.dataSync() as Float64Array,
            [...x.shape],
            conv.weight.dataSync() as Float64Array,
            [...conv.weight.shape],
            s,
            p,
            g,
            conv.bias!.dataSync() as Float64Array,
          );
          expect(y.shape).toEqual(ref.shape);
          close(y.dataSync(), ref.out);
          dispose([x, y]);
          conv.dispose();
        },
      ),
      { numRuns: 15 },
    );
  });

  it('ConvTranspose2d places scaled kernels (hand example) and matches a direct scatter loop', () => {
    const ct = new ConvTranspose2d(1, 1, 2, { stride: 2, bias: false, ...f64 });
    ct.setParameters({
      weight: tensor(
        [
          [
            [
              [1, 2],
              [3, 4],
            ],
          ],
        ],
        f64,
      ),
    });
    const y = ct.forward(tensor([[[[1, 10]]]], f64));
    expect(y.shape).toEqual([1, 1, 2, 4]);
    expect(Array.from(y.dataSync())).toEqual([1, 2, 10, 20, 3, 4, 30, 40]);
    ct.dispose();
    fc.assert(
      fc.property(
        fc.record({
          ci: fc.integer({ min: 1, max: 3 }),
          co: fc.integer({ min: 1, max: 3 }),
          h: fc.integer({ min: 1, max: 4 }),
          k: fc.integer({ min: 2, max: 4 }),
          s: fc.integer({ min: 1, max: 3 }),
          p: fc.integer({ min: 0, max: 1 }),
          seed: fc.integer({ min: 0, max: 1000 }),
        }),
        ({ ci, co, h, k, s, p, seed }) => {
          const op = s > 1 ? 1 : 0;
          const rng = new Generator(seed);
          const m = new ConvTranspose2d(ci, co, k, {
            stride: s,
            padding: p,
            outputPadding: op,
            bias: false,
            rng,
            ...f64,
          });
          const x = rand(rng, [2, ci, h, h + 1]);
          const ref = naiveConvT(
            x.dataSync() as Float64Array,
            [...x.shape],
            m.weight.dataSync() as Float64Array,
            [...m.weight.shape],
            s,
            p,
            op,
          );
          if (ref.shape[2]! <= 0) return;
          const y = m.forward(x);
          expect(y.shape).toEqual(ref.shape);
          close(y.dataSync(), ref.out);
          dispose([x, y]);
          m.dispose();
        },
      ),
      { numRuns: 15 },
    );
  });

  it('weights have PyTorch layouts and the output sizes of the DCGAN stages', () => {
    const c = new Conv2d(3, 8, 4, { stride: 2, padding: 1 });
    expect(c.weight.shape).toEqual([8, 3, 4, 4]);
    const t = new ConvTranspose2d(8, 3, 4, { stride: 2, padding: 1 });
    expect(t.weight.shape).toEqual([8, 3, 4, 4]);
    const y = tidy(() => [c.forward(tensor(new Float32Array(2 * 3 * 32 * 32), { shape: [2, 3, 32, 32] })).shape]);
    expect(y[0]).toEqual([2, 8, 16, 16]);
    const z = tidy(() => [t.forward(tensor(new Float32Array(2 * 8 * 16 * 16), { shape: [2, 8, 16, 16] })).shape]);
    expect(z[0]).toEqual([2, 3, 32, 32]);
    expect(() => c.forward(tensor(new Float32Array(2 * 4 * 8 * 8), { shape: [2, 4, 8, 8] }))).toThrow(
      /Conv2d: input must be \[N, 3, H, W\], got \[2,4,8,8\]/,
    );
    c.dispose();
    t.dispose();
  });
});

/** Hand computation of PyTorch BatchNorm over axes != 1 for a flat [N, C, S] view. */

describe('Dropout', () => {
  it('zeroes with probability p, scales the rest by 1/(1-p), and is reproducible by seed', () => {
    const x = tensor(new Float64Array(4000).fill(3), { shape: [40, 100] });
    const d1 = new Dropout(0.25, { rng: new Generator(11) });
    const d2 = new Dropout(0.25, { rng: new Generator(11) });
    const y1 = d1.forward(x).dataSync();
    const y2 = d2.forward(x).dataSync();
    expect(Array.from(y1)).toEqual(Array.from(y2));
    let zeros = 0;
    for (const v of y1) {
      if (v === 0) zeros++;
      else expect(v).toBeCloseTo(4, 12);
    }
    // Binomial(4000, 0.25): sd about 27; 5 sd.
    expect(Math.abs(zeros - 1000)).toBeLessThan(140);
    // The next draw differs (the generator advanced).
    expect(Array.from(d1.forward(x).dataSync())).not.toEqual(Array.from(y1));
    d1.eval();
    expect(d1.forward(x)).toBe(x);
    expect(() => new Dropout(1.5)).toThrow(/Dropout: p must be in \[0, 1\]/);
  });

  it('its gradient is the mask times 1/(1-p)', () => {
    const g = new Generator(2);
    const drop = new Dropout(0.5, { rng: new Generator(9) });
    const x = rand(g, [3, 4]);
    // Same generator state for the checked function: reset before each evaluation.
    const st = drop.rng!.getState();
    const f = (t: Tensor): Tensor => {
      drop.rng!.setState(st);
      return drop.forward(t).square();
    };
    expect(gradcheck(f, [x]).ok).toBe(true);
  });
});

describe('Maxout, activations, Flatten, Reshape', () => {
  it('Maxout takes the max over groups of consecutive pieces', () => {
    const m = new Maxout(1, 2, 3, f64);
    m.setParameters({
      linear: { weight: tensor([[1], [-1], [2], [0.5], [-3], [0]], f64), bias: tensor([0, 0, 0, 0, 0, 1], f64) },
    });
    // x = 2: values [2, -2, 4 | 1, -6, 1] -> [4, 1]; x = -1: [-1, 1, -2 | -0.5, 3, 1] -> [1, 3].
    const y = m.forward(tensor([[2], [-1]], f64));
    expect(y.shape).toEqual([2, 2]);
    expect(Array.from(y.dataSync())).toEqual([4, 1, 1, 3]);
    const g = new Generator(4);
    const m2 = new Maxout(3, 2, 4, { rng: g, ...f64 });
    const p = m2.namedParameters();
    const x = rand(g, [5, 3]);
    const r = gradcheck(
      (xx, w, b) =>
        m2.call(
          unflattenTree([
            [p[0]![0], w!],
            [p[1]![0], b!],
          ]),
          xx!,
        ),
      [x, p[0]![1], p[1]![1]],
    );
    expect(r.ok).toBe(true);
    m.dispose();
    m2.dispose();
  });

  it('activation modules compute their functions', () => {
    const x = tensor([-2, -0.5, 0, 1.5], f64);
    const v = (m: { forward(t: Tensor): Tensor }) => Array.from(m.forward(x).dataSync());
    close(v(new ReLU()), [0, 0, 0, 1.5]);
    close(v(new LeakyReLU(0.2)), [-0.4, -0.1, 0, 1.5]);
    close(v(new Tanh()), [-2, -0.5, 0, 1.5].map(Math.tanh));
    close(
      v(new Sigmoid()),
      [-2, -0.5, 0, 1.5].map((t) => 1 / (1 + Math.exp(-t))),
    );
    close(
      v(new ELU(0.5)),
      [-2, -0.5, 0, 1.5].map((t) => (t > 0 ? t : 0.5 * (Math.exp(t) - 1))),
    );
    close(
      v(new Softplus(2)),
      [-2, -0.5, 0, 1.5].map((t) => Math.log1p(Math.exp(2 * t)) / 2),
    );
    expect(new Identity().forward(x)).toBe(x);
    const t = tensor(new Float64Array(24), { shape: [2, 3, 4] });
    expect(new Flatten().forward(t).shape).toEqual([2, 12]);
    expect(new Reshape([4, 3]).forward(t).shape).toEqual([2, 4, 3]);
  });
});

describe('gradients of small modules (float64 finite differences)', () => {
  function checkModule(m: { namedParameters(): [string, Tensor][]; call(p: ParamTree, x: Tensor): Tensor }, x: Tensor) {
    const named = m.namedParameters();
    const f = (xx: Tensor, ...ps: Tensor[]): Tensor =>
      m.call(unflattenTree(named.map(([n], i) => [n, ps[i]!] as const)), xx).tanh();
    return gradcheck(f as (...xs: Tensor[]) => Tensor, [x, ...named.map(([, t]) => t)]);
  }

  it('Linear, Conv2d, ConvTranspose2d, BatchNorm2d and an mlp', () => {
    const g = new Generator(21);
    const cases: [
      { namedParameters(): [string, Tensor][]; call(p: ParamTree, x: Tensor): Tensor; dispose(): void },
      Tensor,
    ][] = [
      [new Linear(3, 2, { rng: g, ...f64 }), rand(g, [4, 3])],
      [new Conv2d(2, 3, 2, { stride: 2, padding: 1, rng: g, ...f64 }), rand(g, [2, 2, 3, 3])],
      [new ConvTranspose2d(2, 2, 3, { stride: 2, padding: 1, rng: g, ...f64 }), rand(g, [1, 2, 2, 2])],
      [new Sequential(new Conv2d(1, 2, 2, { rng: g, ...f64 }), new BatchNorm2d(2, f64)), rand(g, [2, 1, 3, 3])],
      [mlp([3, 4, 2], { activation: 'elu', rng: g, dtype: 'float64' }), rand(g, [3, 3])],
    ];
    for (const [m, x] of cases) {
      const r = checkModule(m, x);
      expect(r.ok, `${m.constructor.name}: worst ${r.worst}`).toBe(true);
      m.dispose();
      x.dispose();
    }
  });
});

describe('memory', () => {
  it('forward passes inside tidy leave only the module tensors; dispose frees them', () => {
    const before = memory().numTensors;
    const net = mlp([4, 8, 8, 2], { batchNorm: true, dropout: 0.1, rng: new Generator(1) });
    const owned = net.namedParameters().length + net.namedBuffers().length;
    expect(memory().numTensors).toBe(before + owned);
    for (let i = 0; i < 3; i++) {
      tidy(() => {
        net.forward(new Generator(i).normal([5, 4]));
      });
    }
    expect(memory().numTensors).toBe(before + owned);
    net.dispose();
    expect(memory().numTensors).toBe(before);
  });
});
