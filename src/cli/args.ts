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
  tessera demo [--backend cpu|auto|webgpu] [--steps N] [--seed S] [--out DIR]
      The ring GAN (8 Gaussians, 1200 steps) with plots: about 25 s on the CPU.
  tessera train gan --data ring|grid [--steps N] [--seed S] [--batch-size B] [--lr-g X] [--lr-d X]
                    [--radius R] [--std S] [--eval-samples N] [--backend ...] [--out DIR]
      A standard GAN (non-saturating loss) on a 2-D mixture; reports modes captured and % high quality.
  tessera train-classifier [--data mnist|fashion] [--epochs N] [--batch-size B] [--lr X] [--seed S]
                    [--limit N] [--test-limit N] [--resume CKPT] [--shift PX]
                    [--fashion-dir DIR] [--backend ...] [--out DIR]
      The Stacked-MNIST protocol's CNN classifier; saves a checkpoint for the evaluation code.
  tessera help

Every run writes report.json and PNG plots into its folder (default runs/<command>-<timestamp>/).
The default backend is cpu; auto tries WebGPU first and falls back to the CPU.`;

type Spec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** Parses options strictly (unknown options and stray positionals are errors). */
export function parseOptions(
  command: string,
  argv: readonly string[],
  spec: Spec,
): Record<string, string | boolean | undefined> {
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: { ...spec, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    return values as Record<string, string | boolean | undefined>;
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument starting with a '-'.*$/s, '');
    throw new UsageError(`${command}: ${msg}`);
  }
}

/** A positive integer option (undefined when absent). */
export function intOption(command: string, name: string, v: string | boolean | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^[+]?\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min)
    throw new UsageError(`${command}: --${name} must be an integer >= ${min}, got '${String(v)}'`);
  return n;
}

/** A positive finite number option. */
export function numberOption(command: string, name: string, v: string | boolean | undefined): number | undefined {
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
  v: string | boolean | undefined,
  allowed: readonly T[],
): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new UsageError(`${command}: --${name} must be one of ${allowed.join(', ')}, got '${String(v)}'`);
  }
  return v as T;
}

export const BACKENDS: readonly BackendChoice[] = ['cpu', 'auto', 'webgpu'];
