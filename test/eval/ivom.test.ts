// IvOM: near 0 for examples the generator produced, larger for examples it cannot produce;
// restarts keep the best; bad options fail with the op's name.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { ivom } from '../../src/eval/ivom.js';
import { Generator, mlp, tensor } from '../../src/index.js';

describe('ivom', () => {
  it('is near 0 for images the generator produced and larger for random images', async () => {
    const G = mlp([3, 16, 12], { activation: 'tanh', rng: new Generator(0) });
    const made = G.forward(new Generator(1).normal([8, 3]));
    const noise = new Generator(2).uniform([8, 12], -1, 1);
    const opts = { latentDim: 3, steps: 300, restarts: 3, lr: 0.05, rng: new Generator(3) };
    const own = await ivom((z) => G.forward(z), made, opts);
    const other = await ivom((z) => G.forward(z), noise, { ...opts, rng: new Generator(3) });
    expect(own.distances.length).toBe(8);
    expect(own.mean).toBeLessThan(1e-3);
    expect(other.mean).toBeGreaterThan(20 * own.mean);
    expect(other.mean).toBeGreaterThan(0.01);
    // The mean and standard error are those of the per-image distances.
    const d = Array.from(other.distances);
    const mean = d.reduce((a, b) => a + b, 0) / d.length;
    const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / (d.length - 1));
    expect(other.mean).toBeCloseTo(mean, 10);
    expect(other.standardError).toBeCloseTo(sd / Math.sqrt(d.length), 10);
    for (const t of [made, noise]) t.dispose();
    G.dispose();
  });

  it('solves a linear generator exactly with plain gradient descent and keeps the best restart', async () => {
    // G(z) = W z with W orthonormal columns in R^4: the optimum for x = W z0 is z0, distance 0;
    // for x orthogonal to W's range the distance is |x|^2 / D whatever z.
    const W = tensor([
      [1, 0],
      [0, 1],
      [0, 0],
      [0, 0],
    ]);
    const gen = (z: ReturnType<typeof tensor>) => z.matmul(W.transpose([1, 0]));
    const targets = tensor([
      [0.5, -0.25, 0, 0],
      [0, 0, 0.6, 0.8],
    ]);
    const r = await ivom(gen, targets, {
      latentDim: 2,
      optimizer: 'sgd',
      lr: 1,
      steps: 200,
      restarts: 2,
      rng: new Generator(5),
    });
    expect(r.distances[0]).toBeLessThan(1e-8);
    expect(r.distances[1]).toBeCloseTo((0.6 ** 2 + 0.8 ** 2) / 4, 5);
    expect(r.protocol).toMatchObject({ images: 2, restarts: 2, steps: 200, optimizer: 'sgd', latentDim: 2 });
    expect(r.bestRestart.every((i) => i === 0 || i === 1)).toBe(true);
    W.dispose();
    targets.dispose();
  });

  it('gives the same per-image answers whatever the device batch size (linear generator, closed form)', async () => {
    // G(z) = [z1, z2, 0]: the squared distance of x is x3^2 / 3, found from any start.
    const W = tensor([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    const targets = new Generator(8).uniform([5, 3], -1, 1);
    const x = Array.from(await targets.data());
    const opts = { latentDim: 2, optimizer: 'sgd' as const, lr: 1, steps: 100, restarts: 2 };
    const a = await ivom((z) => z.matmul(W), targets, { ...opts, batchSize: 5, rng: new Generator(9) });
    const b = await ivom((z) => z.matmul(W), targets, { ...opts, batchSize: 2, rng: new Generator(10) });
    for (let i = 0; i < 5; i++) {
      const exact = x[3 * i + 2]! ** 2 / 3;
      expect(a.distances[i]).toBeCloseTo(exact, 6);
      expect(b.distances[i]).toBeCloseTo(exact, 6);
    }
    targets.dispose();
    W.dispose();
  });

  it('rejects bad options with a clear message', async () => {
    const x = tensor([[1, 2]]);
    await expect(ivom((z) => z, x, { latentDim: 0 })).rejects.toThrow(/ivom: latentDim must be an integer >= 1, got 0/);
    await expect(ivom((z) => z, x, { latentDim: 2, lr: -1 })).rejects.toThrow(/ivom: lr must be a positive number/);
    await expect(ivom((z) => z, tensor([1, 2]), { latentDim: 2 })).rejects.toThrow(
      /ivom: targets must be \[n, \.\.\.\]/,
    );
    x.dispose();
  });
});
