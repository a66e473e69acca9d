import { describe, expect, it } from 'vitest';
import { tour } from '../examples/tour.js';

describe('README tour (examples/tour.ts)', () => {
  it('computes what the README says', async () => {
    const r = await tour();
    // y = 2x + [10, 20, 30] -> rows [12, 24, 36] and [18, 30, 42].
    expect(r.rowSums).toEqual([72, 90]);
    // d2/dx2 sum(x^3) = 6x.
    expect(r.second).toEqual([6, 12]);
    // loss = mean(tanh(x w + b)^2) with x rows [1,2,3], [4,5,6], w = [.1,.2,.3], b = 0.
    const rows = [
      [1, 2, 3],
      [4, 5, 6],
    ];
    const w = [0.1, 0.2, 0.3];
    const pre = rows.map((row) => row.reduce((s, v, i) => s + v * w[i]!, 0));
    const t = pre.map(Math.tanh);
    expect(r.loss as number).toBeCloseTo((t[0]! ** 2 + t[1]! ** 2) / 2, 6);
    // d loss / d w_i = mean_j 2 tanh(p_j) (1 - tanh(p_j)^2) x_ji
    const gw = w.map((_, i) => rows.reduce((s, row, j) => s + (2 * t[j]! * (1 - t[j]! ** 2) * row[i]!) / 2, 0));
    for (const [i, g] of (r.gradW as number[][]).entries()) expect(g[0]!).toBeCloseTo(gw[i]!, 5);
    expect(r.gradcheckOk).toBe(true);
    expect(r.expSum as number).toBeCloseTo(
      [1, 2, 3, 4, 5, 6].reduce((s, v) => s + Math.exp(v), 0),
      2,
    );
    expect(r.noiseShape).toEqual([64, 10]);
  });
});
