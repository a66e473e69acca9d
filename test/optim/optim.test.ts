import { describe, expect, it } from 'vitest';
import {
  Adadelta,
  Adam,
  AdamW,
  adadelta,
  adam,
  clipGradNorm,
  clipGradValue,
  clipWeights,
  constantLR,
  cosineLR,
  dispose,
  exponentialLR,
  Generator,
  globalNorm,
  grad,
  gradcheck,
  Linear,
  linearWarmup,
  matmul,
  memory,
  mlp,
  type OptimizerState,
  ParameterDict,
  type ParamTree,
  RMSprop,
  rmsprop,
  SGD,
  sgd,
  stepLR,
  type Tensor,
  TesseraError,
  tensor,
  tidy,
  valueAndGrad,
} from '../../src/index.js';

const f64 = { dtype: 'float64' } as const;

// Loss L(p) = sum_i a_i (p_i - t_i)^2, so dL/dp_i = 2 a_i (p_i - t_i).
const P0 = [0.5, -1.2, 2.0];
const A = [1, 3, 0.5];
const T = [1, 0, -1];
const gradOf = (p: number[]): number[] => p.map((v, i) => 2 * A[i]! * (v - T[i]!));
const lossOf = (p: Tensor): Tensor => p.sub(tensor(T, f64)).square().mul(tensor(A, f64)).sum();

function expectClose(got: ArrayLike<number>, want: number[], rel = 1e-13): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    expect(Math.abs(got[i]! - want[i]!), `entry ${i}: ${got[i]} vs ${want[i]}`).toBeLessThanOrEqual(
      rel * (1 + Math.abs(want[i]!)),
    );
  }
}

/** Runs `steps` updates of a stateful optimiser on the quadratic, returning the parameter history. */
function runClass(
  make: (m: ParameterDict) => { step(g: ParamTree): void; dispose(): void },
  steps: number,
): number[][] {
  const pd = new ParameterDict({ p: tensor(P0, f64) });
  const opt = make(pd);
  const hist: number[][] = [];
  for (let k = 0; k < steps; k++) {
    const [loss, g] = valueAndGrad((q: ParamTree) => lossOf(q.p as Tensor))(pd.parameters());
    opt.step(g);
    dispose([loss, g]);
    hist.push(Array.from(pd.get('p').dataSync()));
  }
  opt.dispose();
  pd.dispose();
  return hist;
}

/** The same with a pure step function, gradients from autodiff. */
function runPure<H>(
  impl: { init(p: ParamTree, h: H): OptimizerState<ParamTree>; step(...a: never[]): unknown },
  h: H,
  steps: number,
): number[][] {
  let params: ParamTree = { p: tensor(P0, f64) };
  let state = impl.init(params, h);
  const hist: number[][] = [];
  const step = impl.step as unknown as (
    p: ParamTree,
    g: ParamTree,
    s: OptimizerState<ParamTree>,
    h: H,
  ) => { params: ParamTree; state: OptimizerState<ParamTree> };
  for (let k = 0; k < steps; k++) {
    const g = grad((q: ParamTree) => lossOf(q.p as Tensor))(params);
    ({ params, state } = step(params, g, state, h));
    hist.push(Array.from((params.p as Tensor).dataSync()));
  }
  expect(state.step).toBe(steps);
  return hist;
}

// ------------------------------------------------------------ reference algorithms (PyTorch docs)

function refAdam(
  o: { lr: number; b1: number; b2: number; eps: number; wd?: number; decoupled?: boolean; amsgrad?: boolean },
  steps: number,
): number[][] {
  let p = [...P0];
  const m = [0, 0, 0];
  const v = [0, 0, 0];
  const vmax = [0, 0, 0];
  const out: number[][] = [];
  for (let t = 1; t <= steps; t++) {
    let g = gradOf(p);
    if (o.wd) {
      if (o.decoupled) p = p.map((x) => x * (1 - o.lr * o.wd!));
      else g = g.map((x, i) => x + o.wd! * p[i]!);
    }
    p = p.map((x, i) => {
      m[i] = o.b1 * m[i]! + (1 - o.b1) * g[i]!;
      v[i] = o.b2 * v[i]! + (1 - o.b2) * g[i]! ** 2;
      vmax[i] = Math.max(vmax[i]!, v[i]!);
      const mh = m[i]! / (1 - o.b1 ** t);
      const vh = (o.amsgrad ? vmax[i]! : v[i]!) / (1 - o.b2 ** t);
      return x - (o.lr * mh) / (Math.sqrt(vh) + o.eps);
    });
    out.push([...p]);
  }
  return out;
}

function refSgd(o: { lr: number; mu: number; damp: number; nesterov: boolean; wd: number }, steps: number): number[][] {
  let p = [...P0];
  let b = [0, 0, 0];
  const out: number[][] = [];
  for (let t = 1; t <= steps; t++) {
    let g = gradOf(p).map((x, i) => x + o.wd * p[i]!);
    if (o.mu !== 0) {
      b = t > 1 ? b.map((x, i) => o.mu * x + (1 - o.damp) * g[i]!) : [...g];
      g = o.nesterov ? g.map((x, i) => x + o.mu * b[i]!) : [...b];
    }
    p = p.map((x, i) => x - o.lr * g[i]!);
    out.push([...p]);
  }
  return out;
}

function refRmsprop(
  o: { lr: number; alpha: number; eps: number; mu: number; centered: boolean; wd: number },
  steps: number,
): number[][] {
  let p = [...P0];
  const v = [0, 0, 0];
  const ga = [0, 0, 0];
  const b = [0, 0, 0];
  const out: number[][] = [];
  for (let t = 1; t <= steps; t++) {
    const g = gradOf(p).map((x, i) => x + o.wd * p[i]!);
    p = p.map((x, i) => {
      v[i] = o.alpha * v[i]! + (1 - o.alpha) * g[i]! ** 2;
      let vt = v[i]!;
      if (o.centered) {
        ga[i] = o.alpha * ga[i]! + (1 - o.alpha) * g[i]!;
        vt -= ga[i]! ** 2;
      }
      const d = Math.sqrt(vt) + o.eps;
      if (o.mu > 0) {
        b[i] = o.mu * b[i]! + g[i]! / d;
        return x - o.lr * b[i]!;
      }
      return x - (o.lr * g[i]!) / d;
    });
    out.push([...p]);
  }
  return out;
}

function refAdadelta(o: { lr: number; rho: number; eps: number; wd: number }, steps: number): number[][] {
  let p = [...P0];
  const v = [0, 0, 0];
  const u = [0, 0, 0];
  const out: number[][] = [];
  for (let t = 1; t <= steps; t++) {
    const g = gradOf(p).map((x, i) => x + o.wd * p[i]!);
    p = p.map((x, i) => {
      v[i] = o.rho * v[i]! + (1 - o.rho) * g[i]! ** 2;
      const dx = (Math.sqrt(u[i]! + o.eps) / Math.sqrt(v[i]! + o.eps)) * g[i]!;
      u[i] = o.rho * u[i]! + (1 - o.rho) * dx ** 2;
      return x - o.lr * dx;
    });
    out.push([...p]);
  }
  return out;
}

function compare(got: number[][], want: number[][]): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, k) => {
    expectClose(g, want[k]!);
  });
}

// ------------------------------------------------------------ tests

describe('optimisers against hand-computed float64 sequences', () => {
  it('Adam (L2 weight decay, AMSGrad), AdamW', () => {
    const cases = [
      { h: { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8 }, r: { lr: 0.1, b1: 0.9, b2: 0.999, eps: 1e-8 } },
      {
        h: { lr: 0.05, betas: [0.5, 0.9] as const, eps: 1e-3, weightDecay: 0.1 },
        r: { lr: 0.05, b1: 0.5, b2: 0.9, eps: 1e-3, wd: 0.1 },
      },
      {
        h: { lr: 0.05, beta1: 0.5, beta2: 0.9, eps: 1e-6, weightDecay: 0.2, decoupled: true },
        r: { lr: 0.05, b1: 0.5, b2: 0.9, eps: 1e-6, wd: 0.2, decoupled: true },
      },
      {
        h: { lr: 0.2, beta1: 0.8, beta2: 0.5, eps: 1e-8, amsgrad: true },
        r: { lr: 0.2, b1: 0.8, b2: 0.5, eps: 1e-8, amsgrad: true },
      },
    ];
    for (const { h, r } of cases) {
      const want = refAdam(r, 4);
      compare(runPure(adam, h, 4), want);
      compare(
        runClass((m) => new Adam(m, h), 4),
        want,
      );
    }
    compare(
      runClass((m) => new AdamW(m, { lr: 0.05, betas: [0.5, 0.9], eps: 1e-6, weightDecay: 0.2 }), 3),
      refAdam({ lr: 0.05, b1: 0.5, b2: 0.9, eps: 1e-6, wd: 0.2, decoupled: true }, 3),
    );
  });

  it("Adam's 'tf' eps placement: p -= lr sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + eps)", () => {
    const eps = 0.1;
    let p = [...P0];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    const want: number[][] = [];
    for (let t = 1; t <= 3; t++) {
      const g = gradOf(p);
      const lrt = (0.1 * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.5 ** t);
      p = p.map((x, i) => {
        m[i] = 0.5 * m[i]! + 0.5 * g[i]!;
        v[i] = 0.999 * v[i]! + 0.001 * g[i]! ** 2;
        return x - (lrt * m[i]!) / (Math.sqrt(v[i]!) + eps);
      });
      want.push([...p]);
    }
    compare(runPure(adam, { lr: 0.1, beta1: 0.5, eps, epsMode: 'tf' as const }, 3), want);
  });

  it('SGD: plain, momentum with dampening, Nesterov, weight decay', () => {
    const cases = [
      { lr: 0.1, mu: 0, damp: 0, nesterov: false, wd: 0 },
      { lr: 0.05, mu: 0.9, damp: 0.3, nesterov: false, wd: 0 },
      { lr: 0.05, mu: 0.8, damp: 0, nesterov: true, wd: 0.1 },
    ];
    for (const c of cases) {
      const h = { lr: c.lr, momentum: c.mu, dampening: c.damp, nesterov: c.nesterov, weightDecay: c.wd };
      const want = refSgd(c, 4);
      compare(runPure(sgd, h, 4), want);
      compare(
        runClass((m) => new SGD(m, h), 4),
        want,
      );
    }
    expect(() => runPure(sgd, { lr: 0.1, nesterov: true }, 1)).toThrow(/Nesterov momentum needs momentum > 0/);
  });

  it('RMSprop: plain, centered, momentum, weight decay', () => {
    const cases = [
      { lr: 0.01, alpha: 0.99, eps: 1e-8, mu: 0, centered: false, wd: 0 },
      { lr: 0.02, alpha: 0.9, eps: 1e-6, mu: 0.5, centered: true, wd: 0.05 },
      { lr: 0.02, alpha: 0.8, eps: 1e-8, mu: 0.9, centered: false, wd: 0 },
    ];
    for (const c of cases) {
      const h = { lr: c.lr, alpha: c.alpha, eps: c.eps, momentum: c.mu, centered: c.centered, weightDecay: c.wd };
      const want = refRmsprop(c, 4);
      compare(runPure(rmsprop, h, 4), want);
      compare(
        runClass((m) => new RMSprop(m, h), 4),
        want,
      );
    }
  });

  it('Adadelta', () => {
    for (const c of [
      { lr: 1, rho: 0.9, eps: 1e-6, wd: 0 },
      { lr: 0.5, rho: 0.5, eps: 1e-3, wd: 0.1 },
    ]) {
      const h = { lr: c.lr, rho: c.rho, eps: c.eps, weightDecay: c.wd };
      const want = refAdadelta(c, 4);
      compare(runPure(adadelta, h, 4), want);
      compare(
        runClass((m) => new Adadelta(m, h), 4),
        want,
      );
    }
  });
});

describe('stateful optimisers', () => {
  it('follow a learning-rate schedule', () => {
    const sched = stepLR(0.1, 2, 0.5);
    const hist = runClass((m) => new SGD(m, { lr: sched }), 4);
    let p = [...P0];
    const want: number[][] = [];
    for (let k = 0; k < 4; k++) {
      const g = gradOf(p);
      p = p.map((x, i) => x - sched(k) * g[i]!);
      want.push([...p]);
    }
    compare(hist, want);
    const pd = new ParameterDict({ p: tensor([1]) });
    const opt = new SGD(pd, { lr: sched });
    expect(opt.lr).toBe(0.1);
    opt.step({ p: tensor([1]) });
    opt.step({ p: tensor([1]) });
    expect(opt.lr).toBe(0.05);
    expect(opt.stepCount).toBe(2);
    pd.dispose();
  });

  it('update only the parameters that have gradients, and reject unknown or mis-shaped ones', () => {
    const net = mlp([2, 3, 1], { rng: new Generator(0) });
    const opt = new Adam(net, { lr: 0.1 });
    const w0 = Array.from(net.getParameter('0.weight').dataSync());
    const b0 = Array.from(net.getParameter('0.bias').dataSync());
    opt.step({ '0': { bias: tensor([1, -1, 0]) } });
    expect(Array.from(net.getParameter('0.weight').dataSync())).toEqual(w0);
    // First Adam step moves by lr * sign(g) (up to eps) and not at all where g = 0.
    const b1 = Array.from(net.getParameter('0.bias').dataSync());
    expect(b1[0]).toBeCloseTo(b0[0]! - 0.1, 6);
    expect(b1[1]).toBeCloseTo(b0[1]! + 0.1, 6);
    expect(b1[2]).toBe(b0[2]);
    expect(() => opt.step({ '0': { weight: tensor([1, 2]) }, '5': { bias: tensor([1]) } })).toThrow(
      /gradient '0\.weight' is float32 \[2\], parameter is float32 \[3,2\]; gradient for unknown parameter '5\.bias'/,
    );
    opt.dispose();
    net.dispose();
  });

  it('do not leak tensors over many steps, even inside tidy', () => {
    const net = mlp([3, 5, 1], { rng: new Generator(1) });
    const x = new Generator(2).normal([8, 3]);
    const y = new Generator(3).normal([8, 1]);
    const opts = [new Adam(net, { lr: 1e-2, amsgrad: true }), new RMSprop(net, { centered: true, momentum: 0.9 })];
    const stepAll = () => {
      for (const opt of opts) {
        tidy(() => {
          const [, g] = valueAndGrad((p: ParamTree) => net.call(p, x).sub(y).square().mean())(net.parameters());
          opt.step(g);
        });
      }
    };
    stepAll();
    const before = memory().numTensors;
    for (let i = 0; i < 5; i++) stepAll();
    expect(memory().numTensors).toBe(before);
    for (const [, t] of net.namedParameters()) expect(t.isDisposed).toBe(false);
    opts.forEach((o) => {
      o.dispose();
    });
    net.dispose();
  });

  it('the pure step replays the stateful one from its current state (unrolled-GAN style)', () => {
    const net = mlp([2, 3, 1], { rng: new Generator(4), dtype: 'float64' });
    const opt = new Adam(net, { lr: stepLR(0.1, 1, 0.5), betas: [0.5, 0.9] });
    const x = new Generator(5).normal([4, 2], 0, 1, f64);
    const lossG = (p: ParamTree) => net.call(p, x).square().mean();
    for (let i = 0; i < 2; i++) opt.step(grad(lossG)(net.parameters()));
    const g = grad(lossG)(net.parameters());
    expect(opt.hyperparameters().lr).toBe(0.025);
    const replay = adam.step(net.parameters(), g, opt.getState(), opt.hyperparameters());
    const want = Object.fromEntries(
      Object.entries({ w0: ['0', 'weight'], b2: ['2', 'bias'] }).map(([k, [m, n]]) => [
        k,
        Array.from(((replay.params[m!] as ParamTree)[n!] as Tensor).dataSync()),
      ]),
    );
    opt.step(g);
    expect(replay.state.step).toBe(3);
    expect(Array.from(net.getParameter('0.weight').dataSync())).toEqual(want.w0);
    expect(Array.from(net.getParameter('2.bias').dataSync())).toEqual(want.b2);
    opt.dispose();
    net.dispose();
  });

  it('getState / setState round-trip and list every problem', () => {
    const net = new Linear(2, 1);
    const opt = new Adam(net, { lr: 0.1 });
    opt.step({ weight: tensor([[1, 2]]), bias: tensor([3]) });
    const st = opt.getState();
    expect(st.step).toBe(1);
    expect(Object.keys(st.slots)).toEqual(['m', 'v']);
    expect(Array.from((st.slots.m!.weight as Tensor).dataSync()).map((v) => +v.toFixed(6))).toEqual([0.1, 0.2]);
    expect(() => opt.setState({ step: 1, slots: { m: { weight: tensor([1]) } } })).toThrow(
      /'m\.weight' has shape \[1\], expected \[1,2\]; missing 'm\.bias' \[1\]; missing slot 'v'/,
    );
    opt.reset();
    expect(opt.stepCount).toBe(0);
    expect(Array.from((opt.getState().slots.v!.bias as Tensor).dataSync())).toEqual([0]);
    opt.dispose();
    net.dispose();
  });
});

describe('gradient clipping, weight clipping and schedules', () => {
  it('clipGradNorm scales by maxNorm / (norm + 1e-6) when the global norm is larger', () => {
    const g = { a: tensor([3, 4], f64), b: { c: tensor([[12]], f64) } };
    expect(globalNorm(g).dataSync()[0]).toBe(13);
    expect(globalNorm(g, Number.POSITIVE_INFINITY).dataSync()[0]).toBe(12);
    expect(globalNorm(g, 1).dataSync()[0]).toBeCloseTo(19, 12);
    const r = clipGradNorm(g, 6.5);
    expect(r.totalNorm.dataSync()[0]).toBe(13);
    const f = 6.5 / (13 + 1e-6);
    expectClose((r.grads.a as Tensor).dataSync(), [3 * f, 4 * f]);
    expectClose((r.grads.b.c as Tensor).dataSync(), [12 * f]);
    const same = clipGradNorm(g, 100);
    expect(Array.from(same.grads.a.dataSync())).toEqual([3, 4]);
    // Differentiable: d/dg of sum(clip(g)) exists and is finite at a zero gradient too.
    const dz = grad((t: Tensor) => clipGradNorm({ t }, 1).grads.t.sum())(tensor([0, 0], f64));
    expect(Array.from(dz.dataSync()).every(Number.isFinite)).toBe(true);
  });

  it('clipGradValue and clipWeights clamp entries', () => {
    const g = clipGradValue({ a: tensor([3, -5, 0.5]) }, 1);
    expect(Array.from(g.a.dataSync())).toEqual([1, -1, 0.5]);
    const lin = new Linear(2, 2);
    lin.setParameters({
      weight: tensor([
        [0.5, -0.001],
        [0.004, -2],
      ]),
      bias: tensor([0.2, -0.2]),
    });
    clipWeights(lin, 0.01);
    expect(Array.from(lin.weight.dataSync()).map((v) => +v.toFixed(6))).toEqual([0.01, -0.001, 0.004, -0.01]);
    expect(Array.from(lin.bias!.dataSync()).map((v) => +v.toFixed(6))).toEqual([0.01, -0.01]);
    lin.dispose();
    expect(() => clipGradValue({ a: tensor([1]) }, -1)).toThrow(TesseraError);
  });

  it('schedules are functions of the step count', () => {
    const s = stepLR(0.1, 3, 0.5);
    expect([0, 1, 2, 3, 5, 6].map(s)).toEqual([0.1, 0.1, 0.1, 0.05, 0.05, 0.025]);
    const e = exponentialLR(2, 0.5);
    expect([0, 1, 3].map(e)).toEqual([2, 1, 0.25]);
    const c = cosineLR(1, 10, 0.1);
    expect(c(0)).toBe(1);
    expect(c(5)).toBeCloseTo(0.55, 15);
    expect(c(10)).toBeCloseTo(0.1, 15);
    expect(c(20)).toBeCloseTo(0.1, 15);
    const w = linearWarmup(0.4, 4);
    expect([0, 1, 2, 4, 9].map(w)).toEqual([0, 0.1, 0.2, 0.4, 0.4]);
    const wc = linearWarmup(cosineLR(1, 10), 2, 0.5);
    expect(wc(0)).toBe(0.5);
    expect(wc(1)).toBeCloseTo((0.75 * (1 + Math.cos(Math.PI / 10))) / 2, 15);
    expect(constantLR(0.3)(100)).toBe(0.3);
    expect(() => s(-1)).toThrow(/stepLR: step must be a non-negative integer/);
    expect(() => stepLR(0.1, 0)).toThrow(/stepSize must be a positive integer/);
  });
});

describe('differentiating through unrolled optimiser steps (float64 finite differences)', () => {
  const x = tensor(
    [
      [0.3, -1.2],
      [1.5, 0.4],
      [-0.7, 0.9],
    ],
    f64,
  );
  const y = tensor([[0.5], [-0.2], [0.8]], f64);
  const xOut = tensor([[1.0, -0.5]], f64);
  const inner = (p: ParamTree): Tensor =>
    matmul(x, p.w as Tensor)
      .add(p.b as Tensor)
      .tanh()
      .sub(y)
      .square()
      .sum();
  const outer = (p: ParamTree): Tensor =>
    matmul(xOut, p.w as Tensor)
      .add(p.b as Tensor)
      .sin()
      .sum();

  function unrolled<H extends { lr: number | Tensor }>(
    impl: {
      init(p: ParamTree, h: H): OptimizerState<ParamTree>;
      step(
        p: ParamTree,
        g: ParamTree,
        s: OptimizerState<ParamTree>,
        h: H,
      ): { params: ParamTree; state: OptimizerState<ParamTree> };
    },
    hyper: (lr: Tensor) => H,
    k: number,
  ) {
    return (w: Tensor, b: Tensor, lr: Tensor): Tensor => {
      let params: ParamTree = { w, b };
      let state = impl.init(params, hyper(lr));
      for (let i = 0; i < k; i++) {
        const g = grad(inner)(params);
        ({ params, state } = impl.step(params, g, state, hyper(lr)));
      }
      return outer(params);
    };
  }

  const w0 = tensor([[0.4], [-0.3]], f64);
  const b0 = tensor([0.1], f64);

  it('3 Adam steps: gradient with respect to the initial parameters and the learning rate', () => {
    const f = unrolled(adam, (lr) => ({ lr, beta1: 0.5, beta2: 0.9 }), 3);
    const r = gradcheck(f, [w0, b0, tensor(0.05, f64)], { rtol: 1e-5, atol: 1e-7 });
    expect(r.ok, `worst ${r.worst} at ${r.at}`).toBe(true);
    // Not vacuous: the learning-rate gradient is far from zero.
    expect(Math.abs(r.analytic[2]![0]!)).toBeGreaterThan(1e-2);
    // The tf eps placement and AdamW decay are differentiable too.
    const ftf = unrolled(
      adam,
      (lr) => ({ lr, beta1: 0.5, epsMode: 'tf' as const, weightDecay: 0.1, decoupled: true }),
      3,
    );
    expect(gradcheck(ftf, [w0, b0, tensor(0.05, f64)], { rtol: 1e-5, atol: 1e-7 }).ok).toBe(true);
  });

  it('SGD with Nesterov momentum, RMSprop (centered) and Adadelta unroll too', () => {
    const cases = [
      unrolled(sgd, (lr) => ({ lr, momentum: 0.9, nesterov: true }), 3),
      unrolled(rmsprop, (lr) => ({ lr, centered: true, momentum: 0.5, alpha: 0.9 }), 3),
      unrolled(adadelta, (lr) => ({ lr, rho: 0.9, eps: 1e-3 }), 3),
    ];
    for (const f of cases) {
      const r = gradcheck(f, [w0, b0, tensor(0.05, f64)], { rtol: 1e-5, atol: 1e-7 });
      expect(r.ok, `worst ${r.worst} at ${r.at}`).toBe(true);
    }
  });

  it('a zero gradient does not produce NaN in the differentiated Adam step', () => {
    // inner' = 0 at the start for b (the loss does not depend on it).
    const f = (w: Tensor, b: Tensor): Tensor => {
      let params: ParamTree = { w, b };
      let state = adam.init(params, { lr: 0.1 });
      for (let i = 0; i < 2; i++) {
        const g = grad((p: ParamTree) =>
          matmul(x, p.w as Tensor)
            .tanh()
            .sub(y)
            .square()
            .sum()
            .add((p.b as Tensor).mul(0).sum()),
        )(params);
        ({ params, state } = adam.step(params, g, state, { lr: 0.1 }));
      }
      return outer(params);
    };
    const r = gradcheck(f, [w0, b0]);
    expect(r.ok).toBe(true);
    expect(r.analytic.every((a) => Array.from(a).every(Number.isFinite))).toBe(true);
  });
});
