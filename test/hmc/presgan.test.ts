import { describe, expect, it } from 'vitest';
import { hmc, PRESGAN_HMC_DEFAULTS, presganPosterior } from '../../src/hmc/index.js';
import { Generator, grad, matmul, type Tensor, TesseraError, tensor, tidy, valueAndGrad } from '../../src/index.js';

const f64 = { dtype: 'float64' } as const;

// Spec section 9.3 fixture.
const Wj = [
  [1, 0.5],
  [-0.3, 0.8],
  [0.2, -0.4],
];
const bj = [0.1, -0.2, 0.3];
const sj = [0.5, 0.3, 0.7];
const W = tensor(Wj, f64);
const b = tensor(bj, f64);
const sig = tensor(sj, f64);
const linearG = (z: Tensor): Tensor => matmul(z, W, { transB: true }).add(b);

/** Exact posterior mean m(x) = S W^T D^-1 (x - b) for rows of x (spec section 9.1). */
function posteriorMeans(x: ArrayLike<number>, n: number): Float64Array {
  const A = [
    [1, 0],
    [0, 1],
  ];
  for (let i = 0; i < 2; i++)
    for (let k = 0; k < 2; k++) for (let r = 0; r < 3; r++) A[i]![k]! += (Wj[r]![i]! * Wj[r]![k]!) / sj[r]! ** 2;
  const det = A[0]![0]! * A[1]![1]! - A[0]![1]! * A[1]![0]!;
  const S = [
    [A[1]![1]! / det, -A[0]![1]! / det],
    [-A[1]![0]! / det, A[0]![0]! / det],
  ];
  const out = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    const v = [0, 0];
    for (let r = 0; r < 3; r++)
      for (let k = 0; k < 2; k++) v[k]! += (Wj[r]![k]! * (x[i * 3 + r]! - bj[r]!)) / sj[r]! ** 2;
    out[i * 2] = S[0]![0]! * v[0]! + S[0]![1]! * v[1]!;
    out[i * 2 + 1] = S[1]![0]! * v[0]! + S[1]![1]! * v[1]!;
  }
  return out;
}

/** Pearson correlation of columns j of a and c (rows of width d). */
function corr(a: ArrayLike<number>, c: ArrayLike<number>, n: number, d: number, j: number): number {
  let sa = 0;
  let sc = 0;
  let saa = 0;
  let scc = 0;
  let sac = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i * d + j]!;
    const y = c[i * d + j]!;
    sa += x;
    sc += y;
    saa += x * x;
    scc += y * y;
    sac += x * y;
  }
  const ma = sa / n;
  const mc = sc / n;
  return (sac / n - ma * mc) / Math.sqrt((saa / n - ma * ma) * (scc / n - mc * mc));
}

describe('presganPosterior target', () => {
  it('linear G: log p(z|x) = -|z|^2/2 - sum((x - Wz - b)^2 / sigma^2)/2, gradient W^T D^-1 (x - Wz - b) - z', async () => {
    const rng = new Generator(1);
    const z = rng.normal([5, 2], 0, 1, f64);
    const x = rng.normal([5, 3], 0, 1, f64);
    const target = presganPosterior({ G: linearG, x, sigma: sig });
    const lp = await target.logProb(z).data();
    const g = await grad((v: Tensor) => target.logProb(v).sum())(z).data();
    const zs = await z.data();
    const xs = await x.data();
    for (let c = 0; c < 5; c++) {
      const zc = [zs[c * 2]!, zs[c * 2 + 1]!];
      const res = [0, 1, 2].map(
        (r) => (xs[c * 3 + r]! - (Wj[r]![0]! * zc[0]! + Wj[r]![1]! * zc[1]! + bj[r]!)) / sj[r]! ** 2,
      );
      const want =
        -0.5 * (zc[0]! ** 2 + zc[1]! ** 2) - 0.5 * [0, 1, 2].reduce((s, r) => s + res[r]! ** 2 * sj[r]! ** 2, 0);
      expect(lp[c]!).toBeCloseTo(want, 12);
      for (let k = 0; k < 2; k++) {
        expect(g[c * 2 + k]!).toBeCloseTo([0, 1, 2].reduce((s, r) => s + Wj[r]![k]! * res[r]!, 0) - zc[k]!, 12);
      }
    }
    expect(Array.from(await target.gradPriorLogProb!(z).data())).toEqual(Array.from(zs).map((v) => -v));
  });

  it('tanh MLP G (matmul/tanh by hand, params tree): value by hand, gradient by central differences', async () => {
    const rng = new Generator(2);
    const params = {
      W1: rng.normal([3, 8], 0, 0.6, f64),
      b1: rng.normal([8], 0, 0.1, f64),
      W2: rng.normal([8, 4], 0, 0.5, f64),
      b2: rng.normal([4], 0, 0.1, f64),
    };
    type P = typeof params;
    const G = (z: Tensor, p: P) => matmul(matmul(z, p.W1).add(p.b1).tanh(), p.W2).add(p.b2);
    const z = rng.normal([4, 3], 0, 1, f64);
    const x = rng.normal([4, 4], 0, 1, f64);
    const target = presganPosterior({ G, params, x, sigma: 0.3 });
    const lp = await target.logProb(z).data();
    // Plain JS forward pass.
    const [W1, b1, W2, b2, zs, xs] = await Promise.all(
      [params.W1, params.b1, params.W2, params.b2, z, x].map((t) => t.data()),
    );
    const jsLogProb = (zc: number[], c: number): number => {
      const h = Array.from({ length: 8 }, (_, j) =>
        Math.tanh(zc.reduce((s, v, i) => s + v * W1![i * 8 + j]!, b1![j]!)),
      );
      const mu = Array.from({ length: 4 }, (_, k) => h.reduce((s, v, j) => s + v * W2![j * 4 + k]!, b2![k]!));
      const ll = mu.reduce((s, m, k) => s + ((xs![c * 4 + k]! - m) / 0.3) ** 2, 0);
      return -0.5 * zc.reduce((s, v) => s + v * v, 0) - 0.5 * ll;
    };
    const g = await grad((v: Tensor) => target.logProb(v).sum())(z).data();
    for (let c = 0; c < 4; c++) {
      const zc = Array.from(zs!.slice(c * 3, c * 3 + 3));
      expect(lp[c]!).toBeCloseTo(jsLogProb(zc, c), 11);
      for (let i = 0; i < 3; i++) {
        const eps = 1e-6;
        const up = [...zc];
        const dn = [...zc];
        up[i]! += eps;
        dn[i]! -= eps;
        const fd = (jsLogProb(up, c) - jsLogProb(dn, c)) / (2 * eps);
        expect(Math.abs(g[c * 3 + i]! - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
      }
    }
  });

  it('image outputs: latentShape reshapes z for G and sigma broadcasts per pixel', async () => {
    const rng = new Generator(3);
    const A = rng.normal([3, 4], 0, 1, f64);
    const seen: number[][] = [];
    const G = (z: Tensor) => {
      seen.push([...z.shape]);
      return matmul(z.reshape([z.shape[0]!, 3]), A).reshape([z.shape[0]!, 1, 2, 2]);
    };
    const z = rng.normal([2, 3], 0, 1, f64);
    const x = rng.normal([2, 1, 2, 2], 0, 1, f64);
    const sigma = tensor(
      [
        [
          [
            [0.2, 0.4],
            [0.6, 0.8],
          ],
        ],
      ],
      f64,
    );
    const target = presganPosterior({ G, x, sigma, latentShape: [3, 1, 1] });
    const lp = await target.logProb(z).data();
    expect(seen[0]).toEqual([2, 3, 1, 1]);
    const [as, zs, xs] = await Promise.all([A.data(), z.data(), x.data()]);
    const s = [0.2, 0.4, 0.6, 0.8];
    for (let c = 0; c < 2; c++) {
      let want = 0;
      for (let k = 0; k < 4; k++) {
        const mu = [0, 1, 2].reduce((acc, i) => acc + zs[c * 3 + i]! * as[i * 4 + k]!, 0);
        want -= 0.5 * ((xs[c * 4 + k]! - mu) / s[k]!) ** 2;
      }
      want -= 0.5 * [0, 1, 2].reduce((acc, i) => acc + zs[c * 3 + i]! ** 2, 0);
      expect(lp[c]!).toBeCloseTo(want, 12);
    }
    // And the sampler runs on it (image-shaped likelihood, vector latent).
    const r = hmc(target, { initial: z, numSamples: 2, numBurnin: 1, rng });
    expect(r.samples.shape).toEqual([2, 2, 3]);
  });

  it('no gradient reaches the generator parameters, x or sigma through the samples', async () => {
    const rng = new Generator(4);
    const z0 = rng.normal([6, 2], 0, 1, f64);
    const x0 = rng.normal([6, 3], 0, 1, f64);
    const W0 = tensor(Wj, f64);
    const [value, grads] = valueAndGrad((p: { W: Tensor; s: Tensor; x: Tensor }) => {
      const target = presganPosterior({
        G: (z: Tensor, q: { W: Tensor }) => matmul(z, q.W, { transB: true }),
        params: { W: p.W },
        x: p.x,
        sigma: p.s,
      });
      const r = hmc(target, { initial: z0, numSamples: 2, numBurnin: 1, rng });
      return r.samples.sum().add(p.W.sum().mul(0));
    }, {})({ W: W0, s: sig, x: x0 });
    expect(Number.isFinite(await value.item())).toBe(true);
    for (const t of [grads.W, grads.s, grads.x]) expect(Array.from(await t.data()).every((v) => v === 0)).toBe(true);
  });

  it('rejects bad input with TesseraErrors', () => {
    const x = tensor([[0, 0, 0]], f64);
    expect(() => presganPosterior({ G: linearG, x: tensor([0, 0, 0], f64), sigma: 1 })).toThrow(/x must be \[chains/);
    expect(() => presganPosterior({ G: linearG, x, sigma: -1 })).toThrow(/sigma must be positive/);
    const t = presganPosterior({ G: (z) => z, x, sigma: 1 });
    expect(() => t.logProb(tensor([[0, 0, 0]], f64).slice([null, [0, 2]]))).toThrow(
      /G returned \[1,2\], expected the shape of x \[1,3\]/,
    );
    expect(() =>
      t.logProb(
        tensor(
          [
            [0, 0, 0],
            [0, 0, 0],
          ],
          f64,
        ),
      ),
    ).toThrow(TesseraError);
    const bad = presganPosterior({ G: linearG, x, sigma: tensor([1, 2], f64) });
    expect(() => bad.logProb(tensor([[0, 0]], f64))).toThrow(TesseraError);
  });

  it('exports the official code defaults (spec section 6)', () => {
    expect(PRESGAN_HMC_DEFAULTS).toEqual({
      numBurnin: 2,
      numSamples: 2,
      numLeapfrogSteps: 5,
      adapt: 'presgan',
      adaptRate: 0.02,
      targetAccept: 0.67,
    });
  });
});

describe("the official code's bias: 'prior-only' leapfrog vs full gradient (spec section 9.4)", () => {
  // rho: correlation between a chain's final state and its initial z (the z that generated x), measured on
  // the deviations from the exact posterior mean m(x), averaged over the two latent coordinates.
  // (Raw z's share m(x), which alone gives a correlation of 1 - S_ii ~ 0.85, even for a perfect sampler.)
  function rhoOf(z0: ArrayLike<number>, zT: ArrayLike<number>, x: ArrayLike<number>, n: number): number {
    const m = posteriorMeans(x, n);
    const d0 = Float64Array.from(m, (v, i) => z0[i]! - v);
    const dT = Float64Array.from(m, (v, i) => zT[i]! - v);
    return (corr(d0, dT, n, 2, 0) + corr(d0, dT, n, 2, 1)) / 2;
  }

  function batch(rng: Generator, B: number): { z: Tensor; x: Tensor } {
    const z = rng.normal([B, 2], 0, 1, f64);
    const x = tidy(() => linearG(z).add(rng.normal([B, 3], 0, 1, f64).mul(sig)));
    return { z, x };
  }

  it('reproduces the spec: prior-only at h = 0.01 stays stuck (rho ~ 0.97, acceptance ~ 0.94); full at h = 0.3 mixes (rho ~ 0.13)', async () => {
    const rng = new Generator(2019);
    const B = 4096;
    const rows: string[] = [];
    const res: Record<string, { rho: number; acc: number }> = {};
    for (const [mode, h] of [
      ['prior-only', 0.01],
      ['full', 0.3],
    ] as const) {
      const { z, x } = batch(rng, B);
      const r = hmc(presganPosterior({ G: linearG, x, sigma: sig }), {
        ...PRESGAN_HMC_DEFAULTS,
        initial: z,
        stepSize: h,
        leapfrogGradient: mode,
        rng,
      });
      const rho = rhoOf(await z.data(), await r.finalState.data(), await x.data(), B);
      const acc = await r.accepted.mean().item();
      res[mode] = { rho, acc };
      rows.push(`${mode.padEnd(10)} h0=${h}  rho=${rho.toFixed(3)}  acceptance=${acc.toFixed(3)}`);
    }
    console.log(`PresGAN defaults (2 burn-in, 2 samples, L = 5), ${B} chains:\n  ${rows.join('\n  ')}`);
    // Tolerances: the spec's rounding (+-0.005) plus 5 standard errors of our estimate, (1 - rho^2)/sqrt(B)
    // per coordinate for rho, at most sqrt(a(1 - a)/B) for the acceptance (a per-chain mean of 4 indicators).
    const seRho = (rho: number) => (1 - rho * rho) / Math.sqrt(B);
    expect(Math.abs(res['prior-only']!.rho - 0.97)).toBeLessThan(0.005 + 5 * seRho(0.97));
    expect(Math.abs(res['prior-only']!.acc - 0.94)).toBeLessThan(0.005 + 5 * Math.sqrt((0.94 * 0.06) / B));
    expect(Math.abs(res.full!.rho - 0.13)).toBeLessThan(0.005 + 5 * seRho(0.13));
  });

  it('with the step size carried across training iterations, prior-only stays far more correlated with its start', async () => {
    const rng = new Generator(7);
    // The rule moves h by at most 0.66% per burn-in transition, so h needs hundreds of iterations
    // to settle: 500 cheap iterations of 16 chains, then 40 measured iterations of 256 chains.
    const warm = 500;
    const measured = 40;
    const B = 256;
    const out: Record<string, { rho: number; h: number }> = {};
    for (const mode of ['prior-only', 'full'] as const) {
      let h: number | Tensor = 0.01; // the official code's h0 = 1 / nz with nz = 100
      const z0s: number[] = [];
      const zTs: number[] = [];
      const xs: number[] = [];
      for (let it = 0; it < warm + measured; it++) {
        const { z, x } = batch(rng, it < warm ? 16 : B);
        const r = hmc(presganPosterior({ G: linearG, x, sigma: sig }), {
          ...PRESGAN_HMC_DEFAULTS,
          initial: z,
          stepSize: h,
          leapfrogGradient: mode,
          rng,
        });
        if (typeof h !== 'number') h.dispose();
        h = r.stepSize;
        if (it >= warm) {
          z0s.push(...(await z.data()));
          zTs.push(...(await r.finalState.data()));
          xs.push(...(await x.data()));
        }
      }
      const n = measured * B;
      out[mode] = { rho: rhoOf(z0s, zTs, xs, n), h: await (h as Tensor).item() };
    }
    const n = measured * B;
    console.log(
      `PresGAN defaults, step size carried over ${warm + measured} iterations (last ${measured} x ${B} chains measured):\n` +
        `  prior-only: h -> ${out['prior-only']!.h.toFixed(4)}, rho = ${out['prior-only']!.rho.toFixed(3)}; ` +
        `under the AR(1) model of spec 9.4 the entropy-gradient estimate keeps about ${(1 - out['prior-only']!.rho).toFixed(2)} of E[c z^T] = Sigma^-1 W\n` +
        `  full:       h -> ${out.full!.h.toFixed(4)}, rho = ${out.full!.rho.toFixed(3)}; keeps about ${(1 - out.full!.rho).toFixed(2)}`,
    );
    const se = (rho: number) => (1 - rho * rho) / Math.sqrt(n);
    expect(out['prior-only']!.rho - out.full!.rho).toBeGreaterThan(
      5 * Math.hypot(se(out['prior-only']!.rho), se(out.full!.rho)),
    );
    // The full gradient lets the adaptation grow h well past the prior-only one.
    expect(out.full!.h).toBeGreaterThan(3 * out['prior-only']!.h);
  });
});
