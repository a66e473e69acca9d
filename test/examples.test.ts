import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { presganRingExample } from '../examples/presgan-ring.js';
import { tour } from '../examples/tour.js';
import { trainMlpExample } from '../examples/train-mlp.js';

const root = fileURLToPath(new URL('..', import.meta.url));

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

describe('README / docs/hmc.md example (examples/hmc-banana.ts)', () => {
  it('runs as documented: node --import tsx examples/hmc-banana.ts', async () => {
    // The statistics are checked in test/hmc/example.test.ts; this runs the file as a script.
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/hmc-banana.ts'], {
      cwd: root,
      timeout: 60_000,
    });
    expect(stdout).toMatch(/^step size after burn-in \d+\.\d{3}, acceptance 0\.\d\d$/m);
    expect(stdout).toMatch(/'z1'.*'z2'/s);
    expect(stdout).toMatch(/^E\[z2\^2\] = \d+\.\d{3} \(exact: 3 for b = 1\)$/m);
  });
});

describe('README nn and training example (examples/train-mlp.ts)', () => {
  it('learns sin(x), and a run resumed from the checkpoint matches the uninterrupted one exactly', async () => {
    const r = await trainMlpExample(60);
    expect(r.straight).toBeLessThan(r.first);
    expect(r.straight).toBeLessThan(0.05);
    expect(r.resumed).toBe(r.straight);
  });
});

describe('README GAN-layer example (examples/presgan-ring.ts)', () => {
  it('trains, scores, and resumes from a checkpoint to the same losses', async () => {
    const r = await presganRingExample(40);
    expect(Number.isFinite(r.losses.G!)).toBe(true);
    expect(r.metrics.numModes).toBe(8);
    expect(r.metrics.samples).toBe(2500);
    expect(r.same).toBe(true);
  });
});
