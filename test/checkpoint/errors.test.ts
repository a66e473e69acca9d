// Checkpoint file errors (issue 14): a missing file, a folder, a missing folder, a file that is not
// safetensors, each a TesseraError naming the function called, the path and what was expected; and
// temporary files of killed writers removed by the next save to the same path.
import '../../src/index.js'; // registers the CPU backend
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkpointToBytes,
  loadCheckpoint,
  readSafetensors,
  saveCheckpoint,
  writeFileAtomic,
} from '../../src/checkpoint/index.js';
import { TesseraError } from '../../src/errors.js';
import { Linear } from '../../src/nn/index.js';
import { Generator } from '../../src/random/generator.js';
import type { Tensor } from '../../src/tensor/tensor.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-ckpt-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `f` and returns the TesseraError it rejects with (fails the test on anything else). */
async function rejection(f: () => Promise<unknown>): Promise<TesseraError> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(TesseraError);
    return e as TesseraError;
  }
  throw new Error('expected a TesseraError, nothing was thrown');
}

const net = () => new Linear(2, 3, { rng: new Generator(1) });

/** A process id that is not running: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe('checkpoint files: clear errors', () => {
  it('loadCheckpoint of a missing file names loadCheckpoint, the path and the expected file', async () => {
    const path = join(dir, 'missing.safetensors');
    const e = await rejection(() => loadCheckpoint(path, { modules: net() }));
    expect(e.op).toBe('loadCheckpoint');
    expect(e.message).toBe(
      `loadCheckpoint: '${path}': no such file; expected a safetensors file (as written by saveCheckpoint)`,
    );
  });

  it('loadCheckpoint of a folder says it is a folder', async () => {
    const e = await rejection(() => loadCheckpoint(dir, { modules: net() }));
    expect(e.message).toBe(
      `loadCheckpoint: '${dir}': it is a folder; expected a safetensors file (as written by saveCheckpoint)`,
    );
  });

  it('loadCheckpoint of a file that is not safetensors names the path', async () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'hello');
    const e = await rejection(() => loadCheckpoint(path, { modules: net() }));
    expect(e.op).toBe('loadCheckpoint');
    expect(e.message).toMatch(new RegExp(`^loadCheckpoint: '${path}' is not a valid safetensors file \\(`));
  });

  it('readSafetensors names itself', async () => {
    const path = join(dir, 'nothing-here.safetensors');
    const e = await rejection(() => readSafetensors(path));
    expect(e.message).toBe(
      `readSafetensors: '${path}': no such file; expected a safetensors file (as written by saveCheckpoint)`,
    );
  });

  it('saveCheckpoint into a missing folder names saveCheckpoint, the path and the folder', async () => {
    const folder = join(dir, 'no-such-folder');
    const path = join(folder, 'ckpt.safetensors');
    const e = await rejection(() => saveCheckpoint(path, { modules: net() }));
    expect(e.op).toBe('saveCheckpoint');
    expect(e.message).toBe(
      `saveCheckpoint: cannot write '${path}': its folder '${folder}' does not exist; expected an existing folder (create it first)`,
    );
    expect(e.message).not.toMatch(/\.tmp-/);
  });

  it('saveCheckpoint under a path whose folder is a file says so', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const path = join(file, 'ckpt.safetensors');
    const e = await rejection(() => saveCheckpoint(path, { modules: net() }));
    expect(e.message).toBe(
      `saveCheckpoint: cannot write '${path}': its folder '${file}' is not a folder; expected an existing folder (create it first)`,
    );
  });

  it('saveCheckpoint onto a folder says it is a folder', async () => {
    const folder = join(dir, 'a-folder');
    mkdirSync(folder);
    const e = await rejection(() => saveCheckpoint(folder, { modules: net() }));
    expect(e.message).toBe(`saveCheckpoint: cannot write '${folder}': it is a folder; expected a file path`);
  });

  it('writeFileAtomic names the op its caller passes', async () => {
    const path = join(dir, 'missing', 'report.json');
    const e = await rejection(() => writeFileAtomic(path, new Uint8Array([1]), 'train'));
    expect(e.op).toBe('train');
  });
});

describe('checkpoint files: temporary files of killed runs', () => {
  it('the next save to the same path removes them, and keeps other files and live writers', async () => {
    const sub = join(dir, 'stale');
    mkdirSync(sub);
    const path = join(sub, 'ckpt.safetensors');
    const dead = deadPid();
    // What a run killed between writing its temporary file and renaming it leaves behind.
    const stale = [`.ckpt.safetensors.tmp-${dead}-1700000000000-0`, `.ckpt.safetensors.tmp-${dead}-1700000000001-3`];
    for (const name of stale) writeFileSync(join(sub, name), 'partial');
    // A temporary file of a writer still running (this process's parent), and unrelated files.
    const live = `.ckpt.safetensors.tmp-${process.ppid}-1700000000002-0`;
    const others = [live, '.other.safetensors.tmp-1-2-3', 'ckpt.safetensors.bak'];
    for (const name of others) writeFileSync(join(sub, name), 'keep');

    const m = net();
    await saveCheckpoint(path, { modules: m });
    const left = readdirSync(sub).sort();
    expect(left).toEqual([...others, 'ckpt.safetensors'].sort());
    // The checkpoint itself is the full file.
    expect(new Uint8Array(readFileSync(path))).toEqual(await checkpointToBytes({ modules: m }));
    m.dispose();
  });
});

describe('checkpoint files: a writer killed with SIGKILL while saving', () => {
  it('leaves a loadable checkpoint, and the next save removes its temporary file', async () => {
    const sub = join(dir, 'killed');
    mkdirSync(sub);
    const path = join(sub, 'ckpt.safetensors');
    const root = resolve(import.meta.dirname, '../..');
    const child = join(sub, 'writer.mts');
    // Saves a 21 MB checkpoint (a 2048 x 2560 layer) to the same path over and over.
    writeFileSync(
      child,
      `import ${JSON.stringify(join(root, 'src/index.ts'))};
import { saveCheckpoint } from ${JSON.stringify(join(root, 'src/checkpoint/index.ts'))};
import { Linear } from ${JSON.stringify(join(root, 'src/nn/index.ts'))};
import { Generator } from ${JSON.stringify(join(root, 'src/random/generator.ts'))};
const net = new Linear(2048, 2560, { rng: new Generator(3) });
for (;;) {
  await saveCheckpoint(${JSON.stringify(path)}, { modules: net });
  process.stdout.write('saved\\n');
}
`,
    );
    const temporaries = () => readdirSync(sub).filter((n) => n.startsWith('.ckpt.safetensors.tmp-'));
    let leftBehind = 0;
    let tries = 0;
    for (let attempt = 0; attempt < 5 && leftBehind === 0; attempt++) {
      const proc = spawn(process.execPath, ['--import', 'tsx', child], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      proc.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      // Wait for the first complete save.
      await new Promise<void>((done, failed) => {
        proc.stdout.once('data', () => done());
        proc.once('exit', (code) => failed(new Error(`writer exited with ${code} before saving: ${stderr}`)));
      });
      // Kill as soon as a later save's temporary file appears (it may be renamed just before).
      const t0 = Date.now();
      while (temporaries().length === 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 1));
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
      leftBehind = temporaries().length;
      // Whatever the moment, the checkpoint itself is a whole one.
      const loaded = new Linear(2048, 2560, { rng: new Generator(0) });
      await loadCheckpoint(path, { modules: loaded });
      const expected = new Linear(2048, 2560, { rng: new Generator(3) });
      expect(Array.from((loaded.parameters().bias as Tensor).dataSync())).toEqual(
        Array.from((expected.parameters().bias as Tensor).dataSync()),
      );
      loaded.dispose();
      expected.dispose();
      tries = attempt + 1;
    }
    // Not vacuous: some kill landed while a temporary file was being written.
    expect(leftBehind, `temporary files left after ${tries} kills`).toBeGreaterThan(0);
    const m = net();
    await saveCheckpoint(path, { modules: m });
    m.dispose();
    expect(temporaries()).toEqual([]);
  }, 120_000);
});
