#!/usr/bin/env node
// The tessera command line: parses the command (demo, train gan, train classifier, help), selects
// the backend and runs it.
import { readFileSync, realpathSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type BackendChoice, getBackendInfo, setBackend } from '../backend/select.js';
import { TesseraError } from '../errors.js';
import { dataNames } from '../gan/data.js';
import { objectiveNames } from '../gan/registry.js';
import { cpuThreads, setCpuThreads } from '../kernels/cpu/threads.js';
import { classifierData, resolveClassifierConfig } from '../models/classifier.js';
import { getBackend } from '../tensor/engine.js';
import {
  BACKENDS,
  COMMAND_USAGE,
  choiceOption,
  intOption,
  MAX_THREADS,
  numberOption,
  type OptionValue,
  parseOptions,
  rejectOptions,
  scheduleOption,
  USAGE,
  UsageError,
} from './args.js';
import { describeFsError, isFsError } from './atomic.js';
import { CLASSIFIER_STATE, runClassifierCommand } from './classifier-command.js';
import { FIGURE1_SEED, runFigure1 } from './figure1-command.js';
import { runObjectivesCommand } from './objectives-command.js';
import { makeRunDir, resumeDir } from './report.js';
import { parseSets, trainRun } from './train-command.js';

/** Where the CLI writes: stdout for progress and results, stderr for errors (replaceable in tests). */
export interface CliIO {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
  /** No progress bars or log lines (tests). */
  quiet?: boolean;
}

const defaultIO = (): CliIO => ({ out: process.stdout, err: process.stderr });

/**
 * Selects the backend (and the CPU backend's GEMM threads, when given) and prints which
 * backend/adapter was chosen.
 */
async function selectBackend(
  choice: BackendChoice,
  io: CliIO,
  threads?: number,
): Promise<{ name: string; description: string }> {
  const info = await setBackend(choice);
  if (threads !== undefined) setCpuThreads(threads);
  const note = choice === 'auto' && info.name === 'cpu' ? ' (no WebGPU adapter; fell back to the CPU)' : '';
  const description = info.name === 'cpu' ? `${info.description}, ${cpuThreads()} GEMM thread(s)` : info.description;
  io.out.write(`backend: ${info.name} - ${description}${note}\n`);
  return { name: info.name, description };
}

/**
 * The CLI's default for --threads: TESSERA_CPU_THREADS when set, else every core up to 4 (the
 * library itself defaults to one thread; results are bitwise identical either way).
 */
export function defaultThreads(): number {
  const env = Number(process.env.TESSERA_CPU_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  return Math.max(1, Math.min(4, availableParallelism()));
}

/** --threads: 1 to MAX_THREADS, default `defaultThreads()`. */
function threadsOption(c: string, o: Record<string, OptionValue>): number {
  return intOption(c, 'threads', o.threads, 1, MAX_THREADS) ?? defaultThreads();
}

/** Prints a command's own usage when --help was given; true when it did. */
function printedHelp(command: string, o: Record<string, OptionValue>, io: CliIO): boolean {
  if (o.help !== true) return false;
  io.out.write(`${COMMAND_USAGE[command] ?? USAGE}\n`);
  return true;
}

const TRAIN_OPTIONS = {
  data: { type: 'string' },
  steps: { type: 'string' },
  seed: { type: 'string' },
  set: { type: 'string', multiple: true },
  'eval-samples': { type: 'string' },
  'checkpoint-every': { type: 'string' },
  'snapshot-every': { type: 'string' },
  resume: { type: 'string' },
  backend: { type: 'string' },
  threads: { type: 'string' },
  out: { type: 'string' },
} as const;

/** The options of `tessera demo`: Figure 1 trains on the ring with its own settings. */
const DEMO_OPTIONS = {
  steps: { type: 'string' },
  seed: { type: 'string' },
  set: { type: 'string', multiple: true },
  'checkpoint-every': { type: 'string' },
  resume: { type: 'string' },
  backend: { type: 'string' },
  threads: { type: 'string' },
  out: { type: 'string' },
} as const;

/** Options a resumed run takes from its checkpoint; giving them again is an error. */
const FIXED_ON_RESUME = ['data', 'seed', 'set', 'out'] as const;

/** `tessera train <objective> ...` and `tessera demo` (Figure 1). */
async function trainCommand(objective: string | 'demo', argv: readonly string[], io: CliIO): Promise<number> {
  const c = objective === 'demo' ? 'tessera demo' : `tessera train ${objective}`;
  const o = parseOptions(c, argv, objective === 'demo' ? DEMO_OPTIONS : TRAIN_OPTIONS);
  if (printedHelp(objective === 'demo' ? 'demo' : 'train', o, io)) return 0;
  if (o.resume !== undefined) {
    rejectOptions(
      c,
      o,
      objective === 'demo' ? [...FIXED_ON_RESUME, 'steps'] : FIXED_ON_RESUME,
      'with --resume (the run folder holds its settings)',
    );
  }
  const names = objectiveNames() as string[];
  if (objective !== 'demo' && !names.includes(objective)) {
    throw new UsageError(
      `tessera train: unknown objective '${objective}'; objectives: ${names.join(', ')}, classifier`,
    );
  }
  const data = o.data as string | undefined;
  if (data !== undefined && !dataNames().includes(data))
    throw new UsageError(`${c}: --data must be one of ${dataNames().join(', ')}, got '${data}'`);
  if (objective !== 'demo' && data === undefined && o.resume === undefined)
    throw new UsageError(`${c}: --data is required (${dataNames().join(', ')})`);
  const set = parseSets(c, (o.set as string[] | undefined) ?? []);
  const steps = intOption(c, 'steps', o.steps);
  const seed = intOption(c, 'seed', o.seed, 0) ?? (objective === 'demo' ? FIGURE1_SEED : 0);
  const evalSamples = intOption(c, 'eval-samples', o['eval-samples']);
  const checkpointEvery = intOption(c, 'checkpoint-every', o['checkpoint-every']);
  const snapshotEvery = intOption(c, 'snapshot-every', o['snapshot-every']);
  const backend = choiceOption(c, 'backend', o.backend, BACKENDS) ?? 'cpu';
  if (objective === 'demo') {
    const resume = o.resume === undefined ? undefined : await resumeDir(o.resume as string, 'demo.json');
    if (o.out !== undefined) await makeRunDir('demo', o.out as string);
    const info = await selectBackend(backend, io, threadsOption(c, o));
    return runFigure1(
      {
        ...(steps !== undefined ? { steps } : {}),
        seed,
        set,
        ...(o.out ? { out: o.out as string } : {}),
        ...(resume !== undefined ? { resume } : {}),
        ...(checkpointEvery !== undefined ? { checkpointEvery } : {}),
      },
      info,
      io,
    );
  }
  const resume = o.resume === undefined ? undefined : await resumeDir(o.resume as string, 'checkpoint.safetensors');
  // A bad --out fails here, with a one-line reason, before any backend or data is set up.
  if (o.out !== undefined) await makeRunDir('train', o.out as string);
  const info = await selectBackend(backend, io, threadsOption(c, o));
  await trainRun(
    {
      objective,
      data: data ?? '',
      seed,
      set,
      ...(steps !== undefined ? { steps } : {}),
      ...(o.out ? { out: o.out as string } : {}),
      ...(resume !== undefined ? { resume } : {}),
      ...(evalSamples !== undefined ? { evalSamples } : {}),
      ...(checkpointEvery !== undefined ? { checkpointEvery } : {}),
      ...(snapshotEvery !== undefined ? { snapshotEvery } : {}),
    },
    info,
    io,
  );
  return 0;
}

const CLASSIFIER_OPTIONS = {
  data: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  seed: { type: 'string' },
  limit: { type: 'string' },
  'test-limit': { type: 'string' },
  val: { type: 'string' },
  'lr-schedule': { type: 'string' },
  resume: { type: 'string' },
  init: { type: 'string' },
  'checkpoint-every': { type: 'string' },
  shift: { type: 'string' },
  'fashion-dir': { type: 'string' },
  backend: { type: 'string' },
  threads: { type: 'string' },
  out: { type: 'string' },
} as const;

async function classifierCommand(argv: readonly string[], io: CliIO): Promise<number> {
  const c = 'tessera train-classifier';
  const o = parseOptions(c, argv, CLASSIFIER_OPTIONS);
  if (printedHelp('train-classifier', o, io)) return 0;
  const checkpointEvery = intOption(c, 'checkpoint-every', o['checkpoint-every']);
  if (o.resume !== undefined) {
    const settings = Object.keys(CLASSIFIER_OPTIONS).filter(
      (k) => !['resume', 'backend', 'threads', 'checkpoint-every'].includes(k),
    );
    rejectOptions(c, o, settings, 'with --resume (the run folder holds its settings)');
    const dir = await resumeDir(o.resume as string, CLASSIFIER_STATE);
    const info = await selectBackend(choiceOption(c, 'backend', o.backend, BACKENDS) ?? 'cpu', io, threadsOption(c, o));
    return runClassifierCommand(
      {},
      { resume: dir, ...(checkpointEvery !== undefined ? { checkpointEvery } : {}) },
      info,
      io,
    );
  }
  const cfg = {
    data: choiceOption(c, 'data', o.data, ['mnist', 'fashion'] as const) ?? 'mnist',
    epochs: intOption(c, 'epochs', o.epochs),
    batchSize: intOption(c, 'batch-size', o['batch-size']),
    lr: numberOption(c, 'lr', o.lr),
    seed: intOption(c, 'seed', o.seed, 0),
    limit: intOption(c, 'limit', o.limit),
    testLimit: intOption(c, 'test-limit', o['test-limit']),
    fashionDir: o['fashion-dir'] as string | undefined,
    init: o.init as string | undefined,
    shift: intOption(c, 'shift', o.shift, 0),
    validation: intOption(c, 'val', o.val),
    lrSchedule: scheduleOption(c, 'lr-schedule', o['lr-schedule']),
  };
  // Settings that depend on each other (a schedule entry after the last epoch) fail here, before a
  // backend is chosen or a run folder made; --val against the training-set size is checked on loading.
  let resolved: ReturnType<typeof resolveClassifierConfig>;
  try {
    resolved = resolveClassifierConfig(
      Object.fromEntries(Object.entries(cfg).filter(([, v]) => v !== undefined)) as Partial<typeof cfg>,
    );
  } catch (e) {
    if (e instanceof TesseraError) throw new UsageError(`${c}: ${e.message.replace(/^trainClassifier: /, '')}`);
    throw e;
  }
  if (cfg.init !== undefined && !(await isFile(cfg.init)))
    throw new UsageError(`${c}: --init ${cfg.init}: no such checkpoint file`);
  if (resolved.validation !== undefined) {
    // --val must leave training images: checked against the data set's size before any training.
    const { train } = await classifierData(resolved);
    if (resolved.validation >= train.count)
      throw new UsageError(
        `${c}: --val must be less than the ${train.count} training images of ${resolved.data}, got ${resolved.validation}`,
      );
  }
  const backend = choiceOption(c, 'backend', o.backend, BACKENDS) ?? 'cpu';
  const threads = threadsOption(c, o);
  const out = o.out === undefined ? undefined : await makeRunDir('train-classifier', o.out as string);
  const info = await selectBackend(backend, io, threads);
  return runClassifierCommand(
    cfg,
    { ...(out !== undefined ? { out } : {}), ...(checkpointEvery !== undefined ? { checkpointEvery } : {}) },
    info,
    io,
  );
}

/**
 * Runs the CLI on `argv` (without the node and script paths) and returns the exit status:
 * 0 success, 1 a failure while running, 2 bad command-line input.
 */
export async function main(argv: readonly string[], io: CliIO = defaultIO()): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
      const topic = cmd === 'help' ? rest[0] : undefined;
      if (topic !== undefined && COMMAND_USAGE[topic] === undefined)
        throw new UsageError(`help: unknown command '${topic}'; commands: ${Object.keys(COMMAND_USAGE).join(', ')}`);
      io.out.write(`${topic === undefined ? USAGE : COMMAND_USAGE[topic]}\n`);
      return cmd === undefined ? 2 : 0;
    }
    if (cmd === '--version' || cmd === '-v' || cmd === 'version') {
      io.out.write(`tessera ${packageVersion()}\n`);
      return 0;
    }
    if (cmd === 'demo') return await trainCommand('demo', rest, io);
    if (cmd === 'objectives') {
      const o = parseOptions('tessera objectives', rest, { json: { type: 'boolean' } });
      if (printedHelp('objectives', o, io)) return 0;
      return runObjectivesCommand(io, o.json === true);
    }
    if (cmd === 'train-classifier') return await classifierCommand(rest, io);
    if (cmd === 'plot') return await (await import('./plot-command.js')).plotCommand(rest, io);
    if (cmd === 'eval') return await (await import('./eval-command.js')).evalCommand(rest, io);
    if (cmd === 'train') {
      const [what, ...opts] = rest;
      if (what === 'classifier') return await classifierCommand(opts, io);
      if (what === '--help' || what === '-h') {
        io.out.write(`${COMMAND_USAGE.train}\n`);
        return 0;
      }
      if (what === undefined || what.startsWith('-'))
        throw new UsageError(`tessera train: expected an objective (${objectiveNames().join(', ')}) or 'classifier'`);
      return await trainCommand(what, opts, io);
    }
    throw new UsageError(
      `unknown command '${cmd}'; commands: demo, objectives, train <objective>, train-classifier, eval, plot, help`,
    );
  } catch (e) {
    if (e instanceof UsageError) {
      io.err.write(`error: ${e.message}\nRun 'tessera help' for usage.\n`);
      return 2;
    }
    if (e instanceof TesseraError) {
      io.err.write(`error: ${e.message}\n`);
      return 1;
    }
    if (isFsError(e)) {
      io.err.write(`error: ${describeFsError(e)}\n`);
      return 1;
    }
    throw e;
  }
}

/** The package's version, from its package.json (two folders up from src/cli/ and dist/cli/ alike). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

/** Releases a WebGPU device if one was used (Dawn keeps the process alive otherwise). */
function releaseBackend(): void {
  const b = getBackend();
  if (b.name === 'webgpu') b.destroy();
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  let code = 1;
  try {
    code = await main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  }
  const usedWebGPU = getBackendInfo().name === 'webgpu';
  releaseBackend();
  if (usedWebGPU) process.exit(code);
  process.exitCode = code;
}
