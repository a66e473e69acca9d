// Kill tests: each training command (train gan on the ring, train-classifier on a tiny subset, demo)
// is killed with SIGKILL at seeded random moments, several times; after every kill the run folder
// holds a loadable checkpoint and readable outputs, and the resumed run ends bitwise equal to an
// uninterrupted one (checkpoint tensors and every logged loss).
import '../../src/index.js'; // registers the CPU backend
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../../src/checkpoint/safetensors.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'src/cli/main.ts');

/** mulberry32: the test's seeded source of kill moments. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** Runs the CLI; with `killAfterMs`, sends SIGKILL after that long (if it is still running). */
function runCli(args: readonly string[], killAfterMs?: number): Promise<Finished> {
  return new Promise((done, reject) => {
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CLI, ...args, '--threads', '1'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (b: Buffer) => {
      output += b.toString();
    });
    child.stderr!.on('data', (b: Buffer) => {
      output += b.toString();
    });
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      done({ code, signal, output });
    });
  });
}

/** Every tensor of a safetensors file, as raw bytes (throws when the file does not decode). */
function tensorsOf(path: string): Map<string, Uint8Array> {
  const contents = decodeSafetensors(new Uint8Array(readFileSync(path)));
  const out = new Map<string, Uint8Array>();
  for (const [name, t] of contents.tensors) {
    const d = t.data as ArrayBufferView;
    out.set(name, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return out;
}

/** metrics.jsonl rows: every line parses except possibly a torn last one. */
function metricRows(path: string): { step: number; losses: Record<string, number> }[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  const rows: { step: number; losses: Record<string, number> }[] = [];
  lines.forEach((line, i) => {
    if (line === '') return;
    try {
      rows.push(JSON.parse(line) as { step: number; losses: Record<string, number> });
    } catch (e) {
      if (i !== lines.length - 1) throw new Error(`${path}: line ${i + 1} of ${lines.length} does not parse: ${e}`);
    }
  });
  return rows;
}

/** After a kill: the checkpoints decode, JSON outputs parse, PNGs are whole (none is empty). */
function checkOutputs(dir: string, checkpoints: readonly string[]): void {
  for (const c of checkpoints) if (existsSync(join(dir, c))) expect(tensorsOf(join(dir, c)).size).toBeGreaterThan(0);
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)],
    );
  for (const f of walk(dir)) {
    if (f.endsWith('.json')) expect(() => JSON.parse(readFileSync(f, 'utf8')), f).not.toThrow();
    if (f.endsWith('.png')) {
      expect(statSync(f).size, f).toBeGreaterThan(8);
      expect(Array.from(readFileSync(f).subarray(0, 4)), f).toEqual([0x89, 0x50, 0x4e, 0x47]);
    }
    if (f.endsWith('.jsonl')) metricRows(f);
  }
}

interface KillCase {
  name: string;
  /** Arguments of a fresh run writing to `dir`. */
  fresh: (dir: string) => string[];
  /** Arguments that resume the run in `dir`. */
  resume: (dir: string) => string[];
  /** The checkpoint files (relative to the run folder) that --resume needs and that are compared. */
  checkpoints: readonly string[];
  /** metrics.jsonl files compared row by row. */
  metrics: readonly string[];
  /** The file whose presence means a fresh run got far enough to be resumed. */
  resumable: string;
  seed: number;
}

/**
 * Kills a run at `kills` seeded moments in [0.15, 0.8] x the uninterrupted run's time, resuming
 * each time from what the kill left, then resumes once more without a kill; returns both folders.
 */
async function killAndResume(c: KillCase, kills: number): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), `tessera-kill-${c.name}-`));
  const refDir = join(base, 'reference');
  const t0 = performance.now();
  const ref = await runCli(c.fresh(refDir));
  expect(ref.code, ref.output).toBe(0);
  const refMs = performance.now() - t0;
  const dir = join(base, 'killed');
  const rand = seeded(c.seed);
  let finished = false;
  let killed = 0;
  // Kill moments scale with the reference run's time. A run that finishes before its first kill
  // was faster than the reference (a cold first process, load from other test files): start the
  // killed folder again with moments half as late, at most three times.
  let scale = 1;
  for (let attempt = 0, restarts = 0; attempt < kills && !finished; attempt++) {
    const resumable = existsSync(join(dir, c.resumable));
    const run = await runCli(resumable ? c.resume(dir) : c.fresh(dir), refMs * scale * (0.15 + 0.65 * rand()));
    if (run.signal === 'SIGKILL') {
      killed++;
      if (existsSync(dir)) checkOutputs(dir, c.checkpoints);
    } else {
      expect(run.code, run.output).toBe(0);
      if (killed === 0 && restarts < 3) {
        restarts++;
        scale /= 2;
        attempt--;
        rmSync(dir, { recursive: true, force: true });
      } else finished = true;
    }
  }
  expect(killed).toBeGreaterThan(0);
  if (!finished) {
    const resumable = existsSync(join(dir, c.resumable));
    const last = await runCli(resumable ? c.resume(dir) : c.fresh(dir));
    expect(last.code, last.output).toBe(0);
  }
  checkOutputs(dir, c.checkpoints);
  for (const ck of c.checkpoints) {
    const want = tensorsOf(join(refDir, ck));
    const got = tensorsOf(join(dir, ck));
    expect([...got.keys()].sort(), ck).toEqual([...want.keys()].sort());
    for (const [name, bytes] of want)
      expect(Buffer.compare(Buffer.from(got.get(name)!), Buffer.from(bytes)), `${ck} ${name}`).toBe(0);
  }
  for (const m of c.metrics) {
    const strip = (rows: { step: number; losses: Record<string, number> }[]) =>
      rows.map((r) => ({ step: r.step, losses: r.losses }));
    expect(strip(metricRows(join(dir, m))), m).toEqual(strip(metricRows(join(refDir, m))));
  }
  for (const f of ['report.json']) expect(existsSync(join(dir, f)), f).toBe(true);
}

/** Splits a command line on spaces. */
const words = (line: string): string[] => line.split(' ');

describe('runs killed with SIGKILL resume to the uninterrupted result', () => {
  it('tessera train gan --data ring', async () => {
    const common = '--steps 150 --checkpoint-every 20 --eval-samples 200';
    await killAndResume(
      {
        name: 'train',
        fresh: (dir) => [
          ...words(`train gan --data ring ${common} --set batchSize=32 --set net.hidden=32 --seed 3`),
          '--out',
          dir,
        ],
        resume: (dir) => ['train', 'gan', '--resume', dir, ...words(common)],
        checkpoints: ['checkpoint.safetensors'],
        metrics: ['metrics.jsonl'],
        resumable: 'checkpoint.safetensors',
        seed: 1,
      },
      3,
    );
  }, 300_000);

  it('tessera train-classifier on a tiny subset', async () => {
    await killAndResume(
      {
        name: 'classifier',
        fresh: (dir) => [
          ...words(
            'train-classifier --epochs 2 --batch-size 8 --limit 24 --test-limit 20 --val 10 --shift 1 --seed 5 --checkpoint-every 1',
          ),
          '--out',
          dir,
        ],
        resume: (dir) => ['train-classifier', '--resume', dir, '--checkpoint-every', '1'],
        checkpoints: ['classifier.safetensors', 'state.safetensors'],
        metrics: ['metrics.jsonl'],
        resumable: 'state.safetensors',
        seed: 2,
      },
      3,
    );
  }, 300_000);

  it('tessera demo (GAN and PresGAN on the ring)', async () => {
    await killAndResume(
      {
        name: 'demo',
        fresh: (dir) => [
          ...words('demo --steps 40 --checkpoint-every 10 --set batchSize=32 --set net.hidden=32'),
          '--out',
          dir,
        ],
        resume: (dir) => ['demo', '--resume', dir],
        checkpoints: ['gan/checkpoint.safetensors', 'presgan/checkpoint.safetensors'],
        metrics: ['gan/metrics.jsonl', 'presgan/metrics.jsonl'],
        resumable: 'demo.json',
        seed: 3,
      },
      2,
    );
  }, 300_000);
});
