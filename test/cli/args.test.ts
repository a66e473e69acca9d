// The CLI's strict parsing: every bad command line exits with status 2 and a one-line reason naming
// the option, the value and what was expected; file-system problems are one line, never a stack
// trace; each command prints its own --help.
import '../../src/index.js'; // registers the CPU backend
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_USAGE, isDecimal, MAX_THREADS } from '../../src/cli/args.js';
import { describeFsError } from '../../src/cli/atomic.js';
import { type CliIO, main } from '../../src/cli/main.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** Runs main() in this process and returns its status and what it wrote. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void) =>
    ({
      write: (s: string) => {
        append(s);
        return true;
      },
      isTTY: false,
    }) as unknown as NodeJS.WriteStream;
  const io: CliIO = {
    out: sink((s) => {
      out += s;
    }),
    err: sink((s) => {
      err += s;
    }),
    quiet: true,
  };
  const code = await main(argv, io);
  return { code, out, err };
}

/** Expects a usage error: status 2, one `error:` line matching `pattern`, no stack trace. */
async function expectUsageError(argv: string[], pattern: RegExp): Promise<void> {
  const r = await cli(...argv);
  expect(r.code, `${argv.join(' ')}: ${r.err}`).toBe(2);
  const lines = r.err.trim().split('\n');
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
  expect(lines.length).toBeLessThanOrEqual(2);
  expect(r.err).not.toMatch(/\n\s+at /);
}

const scratch = mkdtempSync(join(tmpdir(), 'tessera-cli-args-'));
const aFile = join(scratch, 'a-file');
writeFileSync(aFile, 'x');

describe('negative numbers, ranges and decimal numbers', () => {
  it('--steps -5 says it must be a positive integer (not "argument is ambiguous")', async () => {
    await expectUsageError(
      ['train', 'gan', '--data', 'ring', '--steps', '-5'],
      /tessera train gan: --steps must be a positive integer, got '-5'/,
    );
    await expectUsageError(['train-classifier', '--epochs', '-1'], /--epochs must be a positive integer, got '-1'/);
    await expectUsageError(['demo', '--seed', '-3'], /--seed must be a non-negative integer, got '-3'/);
    await expectUsageError(
      ['train', 'gan', '--data', 'ring', '--steps', '2.5'],
      /--steps must be a positive integer, got '2.5'/,
    );
  });

  it(`--threads 1000 is out of range (1 to ${MAX_THREADS})`, async () => {
    await expectUsageError(
      ['train', 'gan', '--data', 'ring', '--threads', '1000'],
      new RegExp(`--threads must be an integer from 1 to ${MAX_THREADS}, got '1000'`),
    );
    await expectUsageError(['train-classifier', '--threads', '0'], /--threads must be an integer from 1 to/);
  });

  it('hexadecimal, octal, binary and Infinity are not numbers here', async () => {
    await expectUsageError(['train-classifier', '--lr', '0x10'], /--lr must be a positive decimal number, got '0x10'/);
    await expectUsageError(['train-classifier', '--lr', 'Infinity'], /--lr must be a positive decimal number/);
    await expectUsageError(['train-classifier', '--epochs', '0x10'], /--epochs must be a positive integer, got '0x10'/);
    await expectUsageError(
      ['train', 'gan', '--data', 'ring', '--set', 'optimizers.D.lr=0x10'],
      /--set optimizers\.D\.lr: numbers must be decimal .*got '0x10'/,
    );
    await expectUsageError(['train', 'gan', '--data', 'ring', '--set', 'lambda=0b11'], /numbers must be decimal/);
    await expectUsageError(['train-classifier', '--lr-schedule', '1:0x10'], /--lr-schedule has learning rate '0x10'/);
    expect(['1', '-2', '0.5', '.5', '1e-4', '+3'].every(isDecimal)).toBe(true);
    expect(['0x10', '0o7', '0b1', 'Infinity', 'NaN', '', '1_000'].some(isDecimal)).toBe(false);
  });
});

describe('strict options', () => {
  it('a repeated option is an error (a repeatable --set is not, unless it sets a key twice)', async () => {
    await expectUsageError(
      ['train', 'gan', '--data', 'ring', '--seed', '1', '--seed', '2'],
      /--seed is given more than once/,
    );
    await expectUsageError(['train-classifier', '--epochs', '1', '--epochs=2'], /--epochs is given more than once/);
    await expectUsageError(
      ['train', 'gan', '--data', 'ring', '--set', 'lambda=1', '--set', 'lambda=2'],
      /--set lambda is given more than once/,
    );
  });

  it('options a command does not take are errors naming the option and the command', async () => {
    await expectUsageError(['demo', '--data', 'ring'], /tessera demo: unknown option '--data'/);
    await expectUsageError(['objectives', '--steps', '3'], /tessera objectives: unknown option '--steps'/);
    await expectUsageError(['train-classifier', '--steps', '3'], /tessera train-classifier: unknown option '--steps'/);
    await expectUsageError(
      ['train', 'gan', '--data', 'ring', '--epochs', '3'],
      /tessera train gan: unknown option '--epochs'/,
    );
    await expectUsageError(['train', 'gan', '--data', 'ring', 'extra'], /unexpected argument 'extra'/);
    await expectUsageError(['train', 'gan', '--data'], /--data needs a value/);
  });

  it('settings a resumed run takes from its folder cannot be given again', async () => {
    await expectUsageError(
      ['train', 'gan', '--resume', scratch, '--data', 'ring'],
      /--data cannot be used with --resume/,
    );
    await expectUsageError(
      ['train-classifier', '--resume', scratch, '--epochs', '3'],
      /--epochs cannot be used with --resume/,
    );
    await expectUsageError(['demo', '--resume', scratch, '--steps', '3'], /--steps cannot be used with --resume/);
  });

  it('--val larger than the training set exits 2 before training', async () => {
    await expectUsageError(
      ['train-classifier', '--val', '100000'],
      /--val must be less than the 8000 training images of mnist, got 100000/,
    );
  });
});

describe('file-system problems are one line', () => {
  it('--out on an existing file, under a file, or in a place that cannot be created', async () => {
    await expectUsageError(['train', 'gan', '--data', 'ring', '--out', aFile], /--out .*a-file is an existing file/);
    await expectUsageError(['train-classifier', '--out', aFile], /--out .*a-file is an existing file/);
    await expectUsageError(
      ['demo', '--out', join(aFile, 'sub')],
      /cannot create or write this folder \(a part of the path is a file\)/,
    );
    await expectUsageError(
      ['train', 'gan', '--data', 'ring', '--out', '/proc/no/such/run'],
      /cannot create or write this folder/,
    );
  });

  it('--resume of a missing folder, of a file, or of a folder without a checkpoint', async () => {
    const missing = join(scratch, 'missing');
    await expectUsageError(['train', 'gan', '--resume', missing], /--resume .*missing: no such folder/);
    await expectUsageError(['train-classifier', '--resume', missing], /--resume .*missing: no such folder/);
    await expectUsageError(['demo', '--resume', missing], /--resume .*missing: no such folder/);
    await expectUsageError(['train-classifier', '--resume', aFile], /is a file; give the run folder/);
    const empty = join(scratch, 'empty');
    mkdirSync(empty);
    await expectUsageError(['train', 'gan', '--resume', empty], /no checkpoint\.safetensors in this folder/);
    await expectUsageError(['train-classifier', '--resume', empty], /no state\.safetensors in this folder/);
    await expectUsageError(
      ['train-classifier', '--init', join(scratch, 'none.safetensors')],
      /--init .*: no such checkpoint file/,
    );
  });

  it('a file-system error while running reads as one line naming the file, not the temporary name', () => {
    const e = Object.assign(new Error('raw'), {
      code: 'EACCES',
      syscall: 'open',
      path: '/runs/x/.report.json.tmp-123-456-0',
    }) as NodeJS.ErrnoException;
    expect(describeFsError(e)).toBe('cannot open /runs/x/report.json: permission denied');
  });

  it('the installed command exits with status 2 and prints one line, no stack trace', () => {
    let status = 0;
    let stderr = '';
    try {
      execFileSync(
        process.execPath,
        ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'train', 'gan', '--data', 'ring', '--steps', '-5'],
        {
          cwd: ROOT,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
    } catch (e) {
      status = (e as { status: number }).status;
      stderr = (e as { stderr: string }).stderr;
    }
    expect(status).toBe(2);
    expect(stderr).toMatch(/^error: tessera train gan: --steps must be a positive integer, got '-5'\n/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});

describe('per-command help', () => {
  for (const [argv, command] of [
    [['demo', '--help'], 'demo'],
    [['train', 'gan', '--help'], 'train'],
    [['train', '--help'], 'train'],
    [['train-classifier', '-h'], 'train-classifier'],
    [['train', 'classifier', '--help'], 'train-classifier'],
    [['objectives', '--help'], 'objectives'],
    [['help', 'train-classifier'], 'train-classifier'],
    [['eval', '--help'], 'eval'],
    [['help', 'eval'], 'eval'],
    [['plot', '--help'], 'plot'],
    [['help', 'plot'], 'plot'],
  ] as const) {
    it(`${argv.join(' ')} prints the usage of ${command} only, exit 0`, async () => {
      const r = await cli(...argv);
      expect(r.code).toBe(0);
      expect(r.out).toBe(`${COMMAND_USAGE[command]}\n`);
      for (const [other, text] of Object.entries(COMMAND_USAGE))
        if (other !== command) expect(r.out.includes(text.split('\n')[0]!), other).toBe(false);
    });
  }

  it('help of an unknown command is a usage error', async () => {
    await expectUsageError(['help', 'nope'], /help: unknown command 'nope'/);
  });
});
