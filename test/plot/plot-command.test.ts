// `tessera plot <run dir>` on a tiny run folder written here: metrics.jsonl with a torn last line,
// report.json and samples.json; figures as SVG and PNG at the scale asked; usage errors.
import '../../src/index.js'; // registers the CPU backend
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseMetricsLog } from '../../src/cli/plot-command.js';
import { decodePNG } from '../../src/plot/index.js';
import { captureIO } from '../helpers/cli.js';

/** A run folder like `tessera train` writes, killed while writing its last log line. */
function tinyRun(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-plot-'));
  const lines = [1, 2, 3, 4, 5, 6].map((s) =>
    JSON.stringify({ step: 10 * s, wallSeconds: 0.1 * s, losses: { D: 1 / s, G: 2 + s / 10, 'G/entropy': 0.5 } }),
  );
  lines.push(JSON.stringify({ step: 60, wallSeconds: 0.7, metrics: { modes: 7, highQuality: 0.4 } }));
  const torn = '{"step":70,"wallSeconds":0.8,"losses":{"D":0.1';
  writeFileSync(join(dir, 'metrics.jsonl'), `${lines.join('\n')}\n${torn}`);
  writeFileSync(join(dir, 'report.json'), JSON.stringify({ objective: 'gan', data: 'ring', steps: 60 }));
  writeFileSync(
    join(dir, 'samples.json'),
    JSON.stringify({ step: 60, shape: [3, 2], data: [0, 0, 1, 1, -1, 0.5], modes: [[0, 0]] }),
  );
  mkdirSync(join(dir, 'snapshots'));
  writeFileSync(
    join(dir, 'snapshots', 'step-0000010.json'),
    JSON.stringify({ step: 10, shape: [2, 1, 2, 2], data: [-1, 1, 1, -1, 0, 0, 0.5, -0.5] }),
  );
  return dir;
}

describe('tessera plot', () => {
  it('parses metrics.jsonl, skipping a torn last line', () => {
    const { rows, skipped } = parseMetricsLog(
      '{"step":1,"losses":{"D":2}}\n{"step":2,"metrics":{"m":3}}\n{"step":3,"lo',
    );
    expect(skipped).toBe(1);
    expect(rows).toEqual([
      { step: 1, losses: { D: 2 }, metrics: {} },
      { step: 2, losses: {}, metrics: { m: 3 } },
    ]);
  });

  it('redraws losses, loss terms, metrics and samples as SVG and PNG', async () => {
    const dir = tinyRun();
    const out = join(dir, 'figs');
    const cap = captureIO();
    expect(await main(['plot', dir, '--out', out, '--format', 'svg,png', '--scale', '1.5'], cap.io)).toBe(0);
    expect(cap.out()).toMatch(/skipped 1 unreadable line/);
    for (const name of ['losses', 'loss-terms', 'metric-modes', 'metric-highQuality', 'samples']) {
      expect(existsSync(join(out, `${name}.svg`))).toBe(true);
      expect(existsSync(join(out, `${name}.png`))).toBe(true);
    }
    const losses = readFileSync(join(out, 'losses.svg'), 'utf8');
    expect(losses.startsWith('<svg')).toBe(true);
    for (const s of ['gan on ring: losses', 'D loss', 'G loss', 'step']) expect(losses).toContain(`>${s}<`);
    expect(losses).not.toContain('G/entropy');
    // Six logged points per loss (the torn line is gone): one path command per point.
    const curve = /<path d="([^"]+)"[^>]*stroke-width="1.8"/.exec(losses)![1]!;
    expect(curve.match(/[ML]/g)).toHaveLength(6);
    const png = decodePNG(readFileSync(join(out, 'losses.png')));
    expect([png.width, png.height]).toEqual([800 * 1.5, 480 * 1.5]); // default line figure 800 x 480
    expect(readFileSync(join(out, 'samples.svg'), 'utf8')).toContain('>gan on ring, step 60<');
    expect(decodePNG(readFileSync(join(out, 'samples.png'))).width).toBe(640 * 1.5);
    // An image snapshot saved as data: a grid of two 2x2 images (tanh range, as samples are).
    const grid = readFileSync(join(out, 'snapshot-step-0000010.svg'), 'utf8');
    expect(grid.match(/<image /g)).toHaveLength(2);
    expect(grid).toContain('>gan on ring, step 10<');
  });

  it('plots each run of a folder of runs, only the formats asked, into <dir>/plots by default', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'tessera-plot-demo-'));
    const run = tinyRun();
    mkdirSync(join(parent, 'gan'));
    writeFileSync(join(parent, 'gan', 'metrics.jsonl'), readFileSync(join(run, 'metrics.jsonl')));
    const cap = captureIO();
    expect(await main(['plot', parent, '--format', 'svg'], cap.io)).toBe(0);
    expect(existsSync(join(parent, 'plots', 'gan', 'losses.svg'))).toBe(true);
    expect(existsSync(join(parent, 'plots', 'gan', 'losses.png'))).toBe(false);
  });

  it('bad input: usage errors with status 2', async () => {
    const dir = tinyRun();
    const cases: [string[], RegExp][] = [
      [['plot'], /expected a run folder/],
      [['plot', join(dir, 'nope')], /no run folder/],
      [['plot', dir, '--format', 'jpg'], /--format takes svg, png or svg,png, got 'jpg'/],
      [['plot', dir, '--scale', '0'], /--scale must be a positive decimal number/],
      [['plot', dir, '--scale', '2', '--dpi', '300'], /give --scale or --dpi, not both/],
      [['plot', tmpdir(), '--bogus'], /unknown option '--bogus'/],
    ];
    for (const [argv, re] of cases) {
      const cap = captureIO();
      expect(await main(argv, cap.io)).toBe(2);
      expect(cap.err()).toMatch(re);
    }
    const empty = mkdtempSync(join(tmpdir(), 'tessera-plot-empty-'));
    const cap = captureIO();
    expect(await main(['plot', empty], cap.io)).toBe(2);
    expect(cap.err()).toMatch(/no metrics.jsonl in/);
  });
});
