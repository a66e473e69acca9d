// Command-line parsing for the tessera CLI: the usage text, strict option parsing and typed option
// readers.
import { parseArgs } from 'node:util';
import type { BackendChoice } from '../backend/select.js';

/** Bad command-line input; main prints the message and a usage hint and exits with status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const USAGE = `tessera: train and evaluate models with the tessera tensor library.

Usage:
  tessera demo [--backend cpu|auto|webgpu] [--threads N] [--steps N] [--seed S] [--set K=V ...] [--out DIR]
      The PresGAN paper's Figure 1: a GAN and a PresGAN with the same hyperparameters on the
      8-Gaussian ring, side by side in figure1.png, with modes and % high quality for both.
  tessera objectives [--json]
      Every GAN objective with its paper, players and default settings, and the data sets.
  tessera train <objective> --data <name> [--steps N] [--seed S] [--set KEY=VALUE ...]
                    [--eval-samples N] [--checkpoint-every N] [--snapshot-every N]
                    [--backend ...] [--threads N] [--out DIR]
  tessera train <objective> --resume DIR [--steps N]
      Trains a GAN objective (gan, presgan, ...; see tessera objectives) on a named data set (ring,
      grid, highdim, moons, mnist, stacked-mnist, ...). --set overrides a default by its dotted
      name (--set lambda=0.01 --set optimizers.G.lr=1e-4 --set batchSize=128). The run folder gets
      metrics.jsonl (losses as training goes), checkpoint.safetensors (every --checkpoint-every
      steps, written atomically), snapshots/step-N.png (every --snapshot-every steps),
      report.json (config, seed, backend, wall time, final losses, modes / high quality / reverse
      KL on mixtures) and PNGs. --resume DIR continues a killed run
      from its checkpoint to the same result as an uninterrupted run.
  tessera train-classifier [--data mnist|fashion] [--epochs N] [--batch-size B] [--lr X] [--seed S]
                    [--limit N] [--test-limit N] [--val N] [--lr-schedule E:LR,...] [--resume CKPT]
                    [--shift PX] [--fashion-dir DIR] [--backend ...] [--threads N] [--out DIR]
      The Stacked-MNIST protocol's CNN classifier; saves a checkpoint for the evaluation code.
      --val N holds out N training images (evenly spaced over the classes) as a validation set and
      keeps the epoch with the best validation accuracy (ties: the later one): its weights are the
      checkpoint and its test accuracy the result. --lr-schedule 9:3e-4,13:1e-4 switches Adam's
      learning rate to 3e-4 from epoch 9 and to 1e-4 from epoch 13 (Adam's state is kept).
  tessera help

Every run writes report.json and PNG plots into its folder (default runs/<command>-<timestamp>/).
The default backend is cpu; auto tries WebGPU first and falls back to the CPU. --threads N lets the
CPU backend's matrix products use N threads (default: TESSERA_CPU_THREADS, else every core up to 4);
results are bitwise identical for every N.`;

/** A parsed option: a string, a flag, or the strings of a repeatable option. */
export type OptionValue = string | boolean | string[] | undefined;

type Spec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

/** Parses options strictly (unknown options and stray positionals are errors). */
export function parseOptions(command: string, argv: readonly string[], spec: Spec): Record<string, OptionValue> {
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: { ...spec, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    return values as Record<string, OptionValue>;
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument starting with a '-'.*$/s, '');
    throw new UsageError(`${command}: ${msg}`);
  }
}

/** A positive integer option (undefined when absent). */
export function intOption(command: string, name: string, v: OptionValue, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^[+]?\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min)
    throw new UsageError(`${command}: --${name} must be an integer >= ${min}, got '${String(v)}'`);
  return n;
}

/** A positive finite number option. */
export function numberOption(command: string, name: string, v: OptionValue): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  if (!(Number.isFinite(n) && n > 0))
    throw new UsageError(`${command}: --${name} must be a positive number, got '${String(v)}'`);
  return n;
}

/** One of the allowed string values. */
export function choiceOption<T extends string>(
  command: string,
  name: string,
  v: OptionValue,
  allowed: readonly T[],
): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new UsageError(`${command}: --${name} must be one of ${allowed.join(', ')}, got '${String(v)}'`);
  }
  return v as T;
}

/** `E:LR,E:LR,...` (epochs increasing) as `[epoch, lr]` pairs. */
export function scheduleOption(command: string, name: string, v: OptionValue): [number, number][] | undefined {
  if (v === undefined) return undefined;
  const text = typeof v === 'string' ? v.trim() : '';
  const bad = (why: string): never => {
    throw new UsageError(
      `${command}: --${name} ${why}; expected EPOCH:LR pairs like 9:3e-4,13:1e-4, got '${String(v)}'`,
    );
  };
  if (text === '') bad('is empty');
  const out: [number, number][] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*:\s*(\S+)\s*$/.exec(part);
    if (m === null) bad(`has a malformed entry '${part}'`);
    const epoch = Number(m![1]);
    const lr = Number(m![2]);
    if (!Number.isSafeInteger(epoch) || epoch < 1) bad(`has epoch ${m![1]} (epochs start at 1)`);
    if (!(Number.isFinite(lr) && lr > 0)) bad(`has learning rate '${m![2]}' (must be a positive number)`);
    if (out.length > 0 && epoch <= out[out.length - 1]![0]) bad('must list epochs in increasing order');
    out.push([epoch, lr]);
  }
  return out;
}

export const BACKENDS: readonly BackendChoice[] = ['cpu', 'auto', 'webgpu'];
