import { describe, expect, it } from 'vitest';
import { bananaExample } from '../../examples/hmc-banana.js';

describe('docs/hmc.md example (examples/hmc-banana.ts)', () => {
  it('samples the banana: E[z] = 0 and E[z2^2] = 1 + 2 b^2, within 5 Monte Carlo standard errors', async () => {
    const out = await bananaExample(1, 32, 500);
    const [z1, z2] = out.rows as [(typeof out.rows)[0], (typeof out.rows)[0]];
    expect(Math.abs(z1.mean)).toBeLessThan(5 * z1.mcse);
    expect(Math.abs(z2.mean)).toBeLessThan(5 * z2.mcse);
    // Var(z2^2) = E[z2^4] - 9 = 75 - 9 = 66 for b = 1 (z2 = (z1^2 - 1) + eps with z1, eps ~ N(0, 1)).
    expect(out.essZ2Squared).toBeGreaterThan(200);
    expect(Math.abs(out.meanZ2Squared - 3)).toBeLessThan((5 * Math.sqrt(66)) / Math.sqrt(out.essZ2Squared));
    for (const row of out.rows) expect(row.rhat).toBeLessThan(1.05);
    expect(out.stepSize).toBeGreaterThan(0);
  });
});
