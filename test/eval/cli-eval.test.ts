// `tessera eval` on a tiny run folder made by `tessera train`: eval.json with every number and
// the protocol, the PNGs; bad input exits with status 2 and a one-line reason.
import '../../src/index.js'; // registers the CPU backend
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { decodePNG } from '../../src/plot/index.js';
import { captureIO } from '../helpers/cli.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = captureIO();
  const code = await main(args, c.io);
  return { code, out: c.out(), err: c.err() };
}

describe('tessera eval', () => {
  const root = mkdtempSync(join(tmpdir(), 'tessera-cli-eval-'));
  const runDir = join(root, 'run');

  beforeAll(async () => {
    const r = await run([
      'train',
      'gan',
      '--data',
      'ring',
      '--steps',
      '20',
      '--seed',
      '2',
      '--eval-samples',
      '200',
      '--threads',
      '1',
      '--out',
      runDir,
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  }, 120_000);

  it('writes eval.json with every number and the protocol, and the PNGs', async () => {
    const out = join(root, 'eval');
    const r = await run([
      'eval',
      runDir,
      '--metrics',
      'modes,birthday,c2st,ivom',
      '--samples',
      '300',
      '--seed',
      '5',
      '--ivom-images',
      '5',
      '--ivom-steps',
      '10',
      '--threads',
      '1',
      '--out',
      out,
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const record = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8'));
    expect(record.kind).toBe('tessera.eval.v1');
    expect(record.model).toMatchObject({ objective: 'gan', data: 'ring', seed: 2, step: 20 });
    expect(record.protocol).toMatchObject({
      samples: 300,
      latentSeed: 5,
      metrics: ['modes', 'birthday', 'c2st', 'ivom'],
    });
    expect(Object.keys(record.metrics).sort()).toEqual(['birthday', 'c2st', 'ivom', 'modes']);
    expect(record.metrics.modes.numModes).toBe(8);
    expect(record.metrics.ivom.images).toBe(5);
    expect(record.metrics.ivom.steps).toBe(10);
    expect(typeof record.metrics.c2st.pValue).toBe('number');
    expect(record.source.checkpoint).toBe(join(runDir, 'checkpoint.safetensors'));
    for (const f of ['samples', 'modes']) {
      expect(record.files[f]).toBe(join(out, `${f}.png`));
      const png = decodePNG(new Uint8Array(readFileSync(record.files[f])));
      expect(png.width).toBeGreaterThan(100);
    }
    expect(r.out).toMatch(/modes: .*modesCaptured/);
  }, 120_000);

  it('defaults the output to <run dir>/eval', async () => {
    const r = await run(['eval', runDir, '--metrics', 'modes', '--samples', '100', '--threads', '1']);
    expect(r.code).toBe(0);
    expect(existsSync(join(runDir, 'eval', 'eval.json'))).toBe(true);
  }, 60_000);

  it('exits 2 with a one-line reason on bad input', async () => {
    const missing = await run(['eval', join(root, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^error: tessera eval: no run folder or checkpoint at '.*nope'\n/);
    const notRun = await run(['eval', root]);
    expect(notRun.code).toBe(2);
    expect(notRun.err).toMatch(/has no checkpoint\.safetensors \(not a run folder of 'tessera train'\)/);
    const unknown = await run(['eval', runDir, '--metrics', 'modes,fid']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/tessera eval: unknown metric 'fid'; metrics: modes, classifier-score/);
    const inapplicable = await run(['eval', runDir, '--metrics', 'mode-score']);
    expect(inapplicable.code).toBe(2);
    expect(inapplicable.err).toMatch(/tessera eval: metric 'mode-score' does not apply to gan on 'ring'/);
    const none = await run(['eval']);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/expected a run folder or checkpoint first/);
    const badSamples = await run(['eval', runDir, '--samples', '1']);
    expect(badSamples.code).toBe(2);
    expect(badSamples.err).toMatch(/--samples must be an integer >= 2, got '1'/);
  }, 60_000);
});
