#!/usr/bin/env node
// The tessera command line: parses the command (demo, train gan, train classifier, help), selects
// the backend and runs it.
import { realpathSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type BackendChoice, getBackendInfo, setBackend } from '../backend/select.js';
import { TesseraError } from '../errors.js';
import { dataNames } from '../gan/data.js';
import { objectiveNames } from '../gan/registry.js';
import { cpuThreads, setCpuThreads } from '../kernels/cpu/threads.js';
import { resolveClassifierConfig } from '../models/classifier.js';
import { getBackend } from '../tensor/engine.js';
import {
  BACKENDS,
  choiceOption,
  intOption,
  numberOption,
  parseOptions,
  scheduleOption,
  USAGE,
  UsageError,
} from './args.js';
import { runClassifierCommand } from './classifier-command.js';
import { FIGURE1_SEED, runFigure1 } from './figure1-command.js';
import { runObjectivesCommand } from './objectives-command.js';
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

/** `tessera train <objective> ...` and `tessera demo` (Figure 1). */
async function trainCommand(objective: string | 'demo', argv: readonly string[], io: CliIO): Promise<number> {
  const c = objective === 'demo' ? 'tessera demo' : `tessera train ${objective}`;
  const o = parseOptions(c, argv, TRAIN_OPTIONS);
  if (o.help) {
    io.out.write(`${USAGE}\n`);
    return 0;
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
  const info = await selectBackend(backend, io, intOption(c, 'threads', o.threads, 1) ?? defaultThreads());
  if (objective === 'demo') {
    return runFigure1(
      { ...(steps !== undefined ? { steps } : {}), seed, set, ...(o.out ? { out: o.out as string } : {}) },
      info,
      io,
    );
  }
  await trainRun(
    {
      objective,
      data: data ?? '',
      seed,
      set,
      ...(steps !== undefined ? { steps } : {}),
      ...(o.out ? { out: o.out as string } : {}),
      ...(o.resume ? { resume: o.resume as string } : {}),
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
  shift: { type: 'string' },
  'fashion-dir': { type: 'string' },
  backend: { type: 'string' },
  threads: { type: 'string' },
  out: { type: 'string' },
} as const;

async function classifierCommand(argv: readonly string[], io: CliIO): Promise<number> {
  const c = 'tessera train-classifier';
  const o = parseOptions(c, argv, CLASSIFIER_OPTIONS);
  if (o.help) {
    io.out.write(`${USAGE}\n`);
    return 0;
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
    resume: o.resume as string | undefined,
    shift: intOption(c, 'shift', o.shift, 0),
    validation: intOption(c, 'val', o.val),
    lrSchedule: scheduleOption(c, 'lr-schedule', o['lr-schedule']),
  };
  // Settings that depend on each other (a schedule entry after the last epoch) fail here, before a
  // backend is chosen or a run folder made; --val against the training-set size is checked on loading.
  try {
    resolveClassifierConfig(
      Object.fromEntries(Object.entries(cfg).filter(([, v]) => v !== undefined)) as Partial<typeof cfg>,
    );
  } catch (e) {
    if (e instanceof TesseraError) throw new UsageError(`${c}: ${e.message.replace(/^trainClassifier: /, '')}`);
    throw e;
  }
  const backend = choiceOption(c, 'backend', o.backend, BACKENDS) ?? 'cpu';
  const info = await selectBackend(backend, io, intOption(c, 'threads', o.threads, 1) ?? defaultThreads());
  return runClassifierCommand(cfg, o.out as string | undefined, info, io);
}

/**
 * Runs the CLI on `argv` (without the node and script paths) and returns the exit status:
 * 0 success, 1 a failure while running, 2 bad command-line input.
 */
export async function main(argv: readonly string[], io: CliIO = defaultIO()): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
      io.out.write(`${USAGE}\n`);
      return cmd === undefined ? 2 : 0;
    }
    if (cmd === 'demo') return await trainCommand('demo', rest, io);
    if (cmd === 'objectives') return runObjectivesCommand(io, rest.includes('--json'));
    if (cmd === 'train-classifier') return await classifierCommand(rest, io);
    if (cmd === 'train') {
      const [what, ...opts] = rest;
      if (what === 'classifier') return await classifierCommand(opts, io);
      if (what === undefined || what.startsWith('-'))
        throw new UsageError(`tessera train: expected an objective (${objectiveNames().join(', ')}) or 'classifier'`);
      return await trainCommand(what, opts, io);
    }
    throw new UsageError(
      `unknown command '${cmd}'; commands: demo, objectives, train <objective>, train-classifier, help`,
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
    throw e;
  }
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
