/**
 * Memory: a 1000-step training loop inside tidy keeps live tensors and bytes flat; tidy / keep /
 * dispose semantics; reshape shares storage (bytes counted once); transforms free their
 * intermediates; errors inside tidy leak nothing; checkNumerics names the first op producing NaN/Inf.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import * as T from '../../src/index.js';
import { seededValues } from '../helpers/gradcheck.js';

const live = () => {
  const m = T.memory();
  return { tensors: m.numTensors, bytes: m.numBytes, buffers: m.numBuffers };
};

afterEach(() => T.setCheckNumerics(false));

describe('training loop memory stays flat', () => {
  it('1000 SGD steps of a 2-layer MLP with valueAndGrad inside tidy', () => {
    const gen = new T.Generator(0);
    const x = gen.normal([32, 4], 0, 1, { dtype: 'float64' });
    // Target: a smooth function of the inputs.
    const y = T.tidy(() => T.sin(T.sum(x, 1, { keepdims: true })).mul(0.5));
    type Params = { w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor };
    let params: Params = {
      w1: gen.normal([4, 8], 0, 0.5, { dtype: 'float64' }),
      b1: T.zeros([8], 'float64'),
      w2: gen.normal([8, 1], 0, 0.5, { dtype: 'float64' }),
      b2: T.zeros([1], 'float64'),
    };
    const lossFn = (p: Params): Tensor => {
      const h = T.tanh(T.matmul(x, p.w1).add(p.b1));
      return T.mseLoss(T.matmul(h, p.w2).add(p.b2), y);
    };
    const step = (): number => {
      const { next, loss } = T.tidy(() => {
        const [l, g] = T.valueAndGrad(lossFn)(params);
        const upd = (k: keyof Params) => params[k].sub(g[k].mul(0.1));
        return { next: { w1: upd('w1'), b1: upd('b1'), w2: upd('w2'), b2: upd('b2') }, loss: l };
      });
      T.dispose(params);
      params = next;
      const v = loss.dataSync()[0]!;
      loss.dispose();
      return v;
    };
    const before = live();
    let first = 0;
    let last = 0;
    let at10 = before;
    for (let i = 1; i <= 1000; i++) {
      last = step();
      if (i === 1) first = last;
      if (i === 10) at10 = live();
    }
    const at1000 = live();
    expect(at1000).toEqual(at10);
    // Nothing accumulates per step: the same as before the loop (params were replaced one for one).
    expect(at1000).toEqual(before);
    expect(last).toBeLessThan(first * 0.5);
    T.dispose([x, y, params]);
  });
});

describe('tidy, keep, dispose', () => {
  it('tidy disposes intermediates and keeps returned tensors (in trees) and kept ones', () => {
    const start = live();
    let kept: Tensor | undefined;
    let inner: Tensor | undefined;
    const out = T.tidy(() => {
      const a = T.ones([4]);
      const b = a.mul(2);
      kept = T.keep(b.add(1));
      inner = T.tidy(() => b.mul(b).sum()); // returned from the inner scope: moves to this one
      return { sum: b.sum(), list: [a.neg()] };
    });
    expect(inner!.isDisposed).toBe(true); // not returned from the outer scope
    expect(kept!.isDisposed).toBe(false);
    expect(out.sum.isDisposed).toBe(false);
    expect(out.sum.dataSync()[0]).toBe(8);
    expect(Array.from(out.list[0]!.dataSync())).toEqual([-1, -1, -1, -1]);
    expect(live().tensors - start.tensors).toBe(3);
    T.dispose([out, kept]);
    expect(live()).toEqual(start);
  });

  it('the finaliser frees the storage of tensors dropped without dispose, outside scopes or after leaving them', async () => {
    // The safety net: a tensor made outside any tidy scope, or returned from the outermost one, and
    // then dropped, gives its storage back once the garbage collector has run.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // Collects until the live buffer count reaches `target`, or stops falling for five rounds
    // (earlier tests' garbage goes first); finalisers run some time after a collection.
    const settle = async (target = -1) => {
      for (let i = 0, last = -1, still = 0; i < 100 && live().buffers !== target && still < 5; i++) {
        still = live().buffers === last ? still + 1 : 0;
        last = live().buffers;
        gc();
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await settle();
    const before = live().buffers;
    (() => {
      T.tensor(new Float64Array(1000));
      T.tidy(() => T.tensor(new Float64Array(1000)).add(1));
    })();
    // Two buffers live: the outer tensor and the tidy result (the scope freed the result's input).
    expect(live().buffers).toBe(before + 2);
    await settle(before);
    expect(live().buffers).toBe(before);
  });

  it('dispose is idempotent and frees the bytes; Symbol.dispose works', () => {
    const start = live();
    const t = T.zeros([10], 'float64');
    expect(live().bytes - start.bytes).toBe(80);
    t.dispose();
    t.dispose();
    expect(live()).toEqual(start);
    {
      using u = T.ones([3]);
      expect(u.isDisposed).toBe(false);
      expect(live().tensors).toBe(start.tensors + 1);
    }
    expect(live()).toEqual(start);
  });

  it('temporaries made from JS numbers are freed with the result', () => {
    const start = live();
    const x = T.ones([3]);
    const y = T.tidy(() => x.add(1).mul(2).sub(0.5));
    expect(live().tensors).toBe(start.tensors + 2);
    T.dispose([x, y]);
    expect(live()).toEqual(start);
  });

  it('reshape shares storage: bytes counted once, freed when the last view goes', () => {
    const start = live();
    const x = T.zeros([4, 4]); // 64 bytes
    const v = T.reshape(x, [16]);
    const w = v.reshape([2, 8]);
    expect(live().tensors - start.tensors).toBe(3);
    expect(live().bytes - start.bytes).toBe(64);
    expect(live().buffers - start.buffers).toBe(1);
    x.dispose();
    expect(live().bytes - start.bytes).toBe(64);
    expect(Array.from(w.dataSync())).toEqual(new Array(16).fill(0));
    v.dispose();
    w.dispose();
    expect(live()).toEqual(start);
  });

  it('grad, valueAndGrad and second-order grads free every intermediate', () => {
    const x = T.tensor(seededValues(6, 1), { shape: [2, 3], dtype: 'float64' });
    const f = (t: Tensor) => T.logsumexp(T.matmul(t, t, { transB: true }).tanh()).add(T.softplus(t).sum());
    const start = live();
    const g = T.grad(f)(x);
    expect(live().tensors).toBe(start.tensors + 1);
    const [v, g2] = T.valueAndGrad(f)(x);
    expect(live().tensors).toBe(start.tensors + 3);
    const h = T.grad((t: Tensor) => T.grad(f)(t).square().sum())(x);
    expect(live().tensors).toBe(start.tensors + 4);
    T.dispose([g, v, g2, h]);
    expect(live()).toEqual(start);
    x.dispose();
  });

  it('an op that throws inside tidy leaks nothing', () => {
    const start = live();
    expect(() =>
      T.tidy(() => {
        const a = T.ones([2]).mul(3);
        return T.add(a, T.ones([3]));
      }),
    ).toThrow(T.TesseraError);
    expect(live()).toEqual(start);
    expect(() => T.tidy(() => T.gather(T.ones([3]), T.tensor([7], { dtype: 'int32' }), 0))).toThrow(/gather: index 7/);
    expect(live()).toEqual(start);
  });
});

describe('checkNumerics', () => {
  it('names the first op producing NaN and its input shapes', () => {
    T.setCheckNumerics(true);
    expect(T.isCheckNumerics()).toBe(true);
    const x = T.tensor([1, -1, 2], { dtype: 'float64' });
    const ok = T.exp(x); // finite: no error
    let err: unknown;
    try {
      T.log(x).mul(2);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(T.TesseraError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/log/);
    expect(msg).toContain('[3]');
    expect(msg).toContain('NaN');
    expect(msg).toContain('element 1');
    T.dispose([x, ok]);
  });

  it('reports Inf with the shapes of both inputs, and is off by default', () => {
    const a = T.tensor([[1, 2]], { dtype: 'float64' });
    const b = T.tensor([0], { dtype: 'float64' });
    // Off: NaN/Inf flow silently.
    const q = T.div(a, b);
    expect(Array.from(q.dataSync())).toEqual([Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY]);
    T.setCheckNumerics(true);
    expect(() => T.div(a, b)).toThrow(/div.*\[1,2\], \[1\].*Inf/);
    // Comparisons and int ops are not checked (no float output).
    expect(() => T.lt(a, Number.NaN)).not.toThrow();
    T.setCheckNumerics(false);
    T.dispose([a, b, q]);
  });

  it('a failing check inside tidy leaks nothing', () => {
    const x = T.tensor([-1], { dtype: 'float64' });
    const start = live();
    T.setCheckNumerics(true);
    expect(() => T.tidy(() => T.sqrt(x.mul(2)))).toThrow(/sqrt/);
    T.setCheckNumerics(false);
    expect(live()).toEqual(start);
    x.dispose();
  });
});
