#!/usr/bin/env node
// The tessera command line: parses the command (demo, train gan, train classifier, help), selects
// the backend and runs it.
import { realpathSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type BackendChoice, getBackendInfo, setBackend } from '../backend/select.js';
import { cpuThreads, setCpuThreads } from '../kernels/cpu/threads.js';
import { resolveClassifierConfig } from '../models/classifier.js';
import { getBackend } from '../tensor/engine.js';
import { TesseraError } from '../tensor/errors.js';
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
import { runGanCommand } from './gan-command.js';

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
export async function selectBackend(
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

/** Steps of `tessera demo`: about 10 s on the CPU backend at ~125 iterations/s (2 threads, 2026-12-02). */
export const DEMO_STEPS = 1200;

const GAN_OPTIONS = {
  data: { type: 'string' },
  steps: { type: 'string' },
  seed: { type: 'string' },
  'batch-size': { type: 'string' },
  'lr-g': { type: 'string' },
  'lr-d': { type: 'string' },
  radius: { type: 'string' },
  std: { type: 'string' },
  'eval-samples': { type: 'string' },
  backend: { type: 'string' },
  threads: { type: 'string' },
  out: { type: 'string' },
} as const;

async function ganCommand(command: 'train gan' | 'demo', argv: readonly string[], io: CliIO): Promise<number> {
  const o = parseOptions(`tessera ${command}`, argv, GAN_OPTIONS);
  if (o.help) {
    io.out.write(`${USAGE}\n`);
    return 0;
  }
  const c = `tessera ${command}`;
  const data = choiceOption(c, 'data', o.data, ['ring', 'grid'] as const) ?? 'ring';
  if (command === 'train gan' && o.data === undefined) throw new UsageError(`${c}: --data is required (ring or grid)`);
  const backend = choiceOption(c, 'backend', o.backend, BACKENDS) ?? 'cpu';
  const cfg = {
    data,
    steps: intOption(c, 'steps', o.steps) ?? (command === 'demo' ? DEMO_STEPS : undefined),
    seed: intOption(c, 'seed', o.seed, 0),
    batchSize: intOption(c, 'batch-size', o['batch-size']),
    lrG: numberOption(c, 'lr-g', o['lr-g']),
    lrD: numberOption(c, 'lr-d', o['lr-d']),
    radius: numberOption(c, 'radius', o.radius),
    std: numberOption(c, 'std', o.std),
    evalSamples: intOption(c, 'eval-samples', o['eval-samples']),
  };
  const info = await selectBackend(backend, io, intOption(c, 'threads', o.threads, 1) ?? defaultThreads());
  return runGanCommand(command === 'demo' ? 'demo' : `train-gan-${data}`, cfg, o.out as string | undefined, info, io);
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
    if (cmd === 'demo') return await ganCommand('demo', rest, io);
    if (cmd === 'train-classifier') return await classifierCommand(rest, io);
    if (cmd === 'train') {
      const [what, ...opts] = rest;
      if (what === 'gan') return await ganCommand('train gan', opts, io);
      if (what === 'classifier') return await classifierCommand(opts, io);
      throw new UsageError(
        `tessera train: expected 'gan' or 'classifier', got ${what === undefined ? 'nothing' : `'${what}'`}`,
      );
    }
    throw new UsageError(`unknown command '${cmd}'; commands: demo, train gan, train-classifier, help`);
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
export function releaseBackend(): void {
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
