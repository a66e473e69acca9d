import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadMnist, setCpuThreads, subset, tensor } from '../../src/index.js';
import { loadClassifier } from '../../src/models/classifier-checkpoint.js';
import { decodePNG } from '../../src/plot/index.js';
import { captureIO } from '../helpers/cli.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = captureIO();
  const code = await main(args, c.io);
  return { code, out: c.out(), err: c.err() };
}

describe('tessera CLI: argument errors', () => {
  it('explains unknown commands and sub-commands', async () => {
    const r = await run(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /unknown command 'frobnicate'; commands: demo, objectives, train <objective>, train-classifier/,
    );
    expect(r.err).toMatch(/tessera help/);
    const t = await run(['train', 'gun']);
    expect(t.code).toBe(2);
    expect(t.err).toMatch(/unknown objective 'gun'; objectives: gan.*, classifier/);
  });

  it('requires --data for train <objective> and checks its value', async () => {
    expect((await run(['train', 'gan'])).err).toMatch(/--data is required \(ring, ring-pacgan, .*grid/);
    const r = await run(['train', 'gan', '--data', 'moon']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--data must be one of ring, .*moons.*, got 'moon'/);
    const s = await run(['train', 'gan', '--data', 'ring', '--set', 'lambda']);
    expect(s.code).toBe(2);
    expect(s.err).toMatch(/--set expects key=value, got 'lambda'/);
  });

  it('rejects bad numbers, unknown options and stray arguments', async () => {
    expect((await run(['train', 'gan', '--data', 'ring', '--steps', 'abc'])).err).toMatch(
      /--steps must be a positive integer, got 'abc'/,
    );
    expect((await run(['train', 'gan', '--data', 'ring', '--steps', '0'])).err).toMatch(
      /--steps must be a positive integer/,
    );
    expect((await run(['train-classifier', '--lr=-1'])).err).toMatch(
      /--lr must be a positive decimal number, got '-1'/,
    );
    expect((await run(['train-classifier', '--data', 'cifar'])).err).toMatch(/--data must be one of mnist, fashion/);
    expect((await run(['demo', '--backend', 'tpu'])).err).toMatch(/--backend must be one of cpu, auto, webgpu/);
    const u = await run(['demo', '--bogus']);
    expect(u.code).toBe(2);
    expect(u.err).toMatch(/unknown option '--bogus'/);
    expect((await run(['demo', 'extra'])).err).toMatch(/unexpected argument 'extra'/);
    expect((await run(['demo', '--threads', '0'])).err).toMatch(/--threads must be an integer from 1 to 64, got '0'/);
  });

  it('checks --val and --lr-schedule', async () => {
    const c = ['train-classifier', '--epochs', '16'];
    expect((await run([...c, '--val', '0'])).err).toMatch(/--val must be a positive integer, got '0'/);
    expect((await run([...c, '--val', 'many'])).err).toMatch(/--val must be a positive integer, got 'many'/);
    for (const [sched, why] of [
      ['', /--lr-schedule is empty/],
      ['9', /malformed entry '9'/],
      ['9:3e-4,', /malformed entry ''/],
      ['9:abc', /learning rate 'abc'/],
      ['9:-1e-4', /learning rate '-1e-4'/],
      ['0:1e-4', /epoch 0 \(epochs start at 1\)/],
      ['13:1e-4,9:3e-4', /must list epochs in increasing order/],
      ['9:3e-4,9:1e-4', /must list epochs in increasing order/],
      ['17:1e-4', /epoch 17 is after the last epoch \(16\)/],
    ] as const) {
      const r = await run([...c, `--lr-schedule=${sched}`]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(why);
    }
    // As many validation images as training images: a usage error, checked before any training.
    const dir = join(mkdtempSync(join(tmpdir(), 'tessera-cli-')), 'val');
    const r = await run([...c, '--val', '8000', '--out', dir]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--val must be less than the 8000 training images of mnist, got 8000/);
  });

  it('prints usage for help', async () => {
    const r = await run(['help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/tessera train <objective> --data <name>/);
    expect(r.out).toMatch(/--val N/);
    expect(r.out).toMatch(/--lr-schedule 9:3e-4,13:1e-4/);
    expect((await run([])).code).toBe(2);
  });
});

describe('tessera train <objective>: end-to-end smoke test', () => {
  it('trains 20 steps on the ring and writes the report and the plots', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'tessera-cli-')), 'run');
    const r = await run([
      'train',
      'gan',
      '--data',
      'ring',
      '--steps',
      '20',
      '--eval-samples',
      '300',
      '--seed',
      '5',
      '--out',
      dir,
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/backend: cpu/);
    expect(r.out).toContain(join(dir, 'report.json'));
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(report.steps).toBe(20);
    expect(report.objective).toBe('gan');
    expect(report.config.hyper.batchSize).toBe(64);
    expect(report.seed).toBe(5);
    expect(report.backend.name).toBe('cpu');
    expect(report.metrics.numModes).toBe(8);
    expect(report.metrics.samples).toBe(300);
    expect(report.metrics.modes).toBeGreaterThanOrEqual(0);
    expect(report.metrics.highQuality).toBeGreaterThanOrEqual(0);
    expect(report.metrics.highQuality).toBeLessThanOrEqual(1);
    expect(Number.isFinite(report.finalLosses.D)).toBe(true);
    expect(Number.isFinite(report.finalLosses.G)).toBe(true);
    expect(report.stepsPerSecond).toBeGreaterThan(0);
    const rows = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((x) => x.step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(rows[19].losses).toEqual(report.finalLosses);
    for (const f of ['samples.png', 'density.png', 'data.png', 'losses.png']) {
      const p = join(dir, f);
      expect(existsSync(p)).toBe(true);
      const img = decodePNG(readFileSync(p));
      expect(img.width).toBeGreaterThan(300);
      expect(report.files[f.replace('.png', '')]).toBe(p);
    }
  });

  it('gives the same run with --threads 2 (GEMMs split across a worker, bitwise-identical results)', async () => {
    const reports = [];
    try {
      for (const threads of ['1', '2']) {
        const dir = join(mkdtempSync(join(tmpdir(), 'tessera-cli-')), 'run');
        const args = ['train', 'gan', '--data', 'ring', '--steps', '30', '--eval-samples', '300', '--seed', '7'];
        const r = await run([...args, '--set', 'batchSize=256', '--threads', threads, '--out', dir]);
        expect(r.code).toBe(0);
        expect(r.out).toMatch(new RegExp(`${threads} GEMM thread`));
        reports.push(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')));
      }
    } finally {
      setCpuThreads(1);
    }
    expect(reports[1].finalLosses).toEqual(reports[0].finalLosses);
    expect(reports[1].metrics).toEqual(reports[0].metrics);
  });
});

describe('tessera train-classifier: end-to-end smoke test', () => {
  it('trains one epoch on 4 digits and writes the checkpoint, plots and report', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'tessera-cli-')), 'cls');
    const args = ['train-classifier', '--epochs', '1', '--batch-size', '4', '--limit', '4', '--test-limit', '6'];
    const r = await run([...args, '--out', dir]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(report.trainImages).toBe(4);
    expect(report.testImages).toBe(6);
    expect(report.parameters).toBe(1199882);
    expect(report.metrics.total).toBe(6);
    expect(report.metrics.testAccuracy).toBeGreaterThanOrEqual(0);
    expect(report.epochs).toHaveLength(1);
    for (const f of ['classifier.safetensors', 'training.png', 'accuracy.png', 'predictions.png']) {
      expect(existsSync(join(dir, f))).toBe(true);
    }
    expect(decodePNG(readFileSync(join(dir, 'predictions.png'))).width).toBeGreaterThan(100);
  });

  it('with --val and --lr-schedule: reports validation and test accuracy per epoch and saves the best-validation weights', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'tessera-cli-')), 'val');
    const args = ['train-classifier', '--epochs', '3', '--batch-size', '8', '--limit', '16', '--val', '30'];
    // Epoch 3 at a destructive learning rate, so that the selected epoch is an earlier one.
    const r = await run([
      ...args,
      '--test-limit',
      '20',
      '--lr',
      '2e-3',
      '--lr-schedule',
      '3:5',
      '--seed',
      '5',
      '--out',
      dir,
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/16 training \/ 30 validation \/ 20 test images/);
    expect(r.out).toMatch(/epoch \d selected by validation accuracy/);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(report.trainImages).toBe(16);
    expect(report.validationImages).toBe(30);
    expect(report.config.validation).toBe(30);
    expect(report.config.lrSchedule).toEqual([[3, 5]]);
    expect(report.epochs.map((e: { lr: number }) => e.lr)).toEqual([2e-3, 2e-3, 5]);
    const val = report.epochs.map((e: { validationAccuracy: number }) => e.validationAccuracy);
    const selected = val.lastIndexOf(Math.max(...val)) + 1;
    expect(report.selectedEpoch).toBe(selected);
    expect(selected).toBeLessThan(3);
    expect(report.metrics.validationAccuracy).toBe(val[selected - 1]);
    expect(report.metrics.validationTotal).toBe(30);
    expect(report.metrics.testAccuracy).toBe(report.epochs[selected - 1].testAccuracy);
    // The checkpoint holds the selected epoch's weights: its test accuracy is that epoch's.
    const ckpt = await loadClassifier(join(dir, 'classifier.safetensors'));
    expect(ckpt.metadata.epochs).toBe(String(selected));
    expect(ckpt.metadata.validationAccuracy).toBe(String(val[selected - 1]));
    const full = loadMnist({ split: 'test' });
    const test = subset(
      full,
      Array.from({ length: 20 }, (_, i) => Math.floor((i * full.count) / 20)),
    );
    const x = tensor(test.images, { shape: [20, 1, 28, 28] });
    const p = ckpt.predict(x);
    const preds = await p.data();
    const correct = test.labels.reduce((n, l, i) => n + (preds[i] === l ? 1 : 0), 0);
    expect(correct / 20).toBe(report.metrics.testAccuracy);
    for (const t of [x, p]) t.dispose();
    ckpt.dispose();
  });
});
