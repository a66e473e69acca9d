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

/** The most CPU threads --threads accepts. */
export const MAX_THREADS = 64;

/** Each command's own usage text (`tessera <command> --help`). */
export const COMMAND_USAGE: Record<string, string> = {
  demo: `Usage: tessera demo [--backend cpu|auto|webgpu] [--threads N] [--steps N] [--seed S] [--set K=V ...]
                    [--checkpoint-every N] [--out DIR]
       tessera demo --resume DIR [--backend ...] [--threads N]
  The PresGAN paper's Figure 1: a GAN and a PresGAN with the same hyperparameters on the
  8-Gaussian ring, side by side in figure1.png, with modes and % high quality for both. Each model
  trains in DIR/gan and DIR/presgan (metrics.jsonl, checkpoint.safetensors); --resume DIR
  continues a killed demo (finished models are not trained again) to the same result.`,
  objectives: `Usage: tessera objectives [--json]
  Every GAN objective with its paper, players and default settings, and the data sets.`,
  train: `Usage: tessera train <objective> --data <name> [--steps N] [--seed S] [--set KEY=VALUE ...]
                    [--eval-samples N] [--checkpoint-every N] [--snapshot-every N]
                    [--backend cpu|auto|webgpu] [--threads N] [--out DIR]
       tessera train <objective> --resume DIR [--steps N] [--eval-samples N] [--checkpoint-every N]
                    [--snapshot-every N] [--backend ...] [--threads N]
       tessera train classifier ...   (the same as tessera train-classifier)
  Trains a GAN objective (gan, presgan, ...; see tessera objectives) on a named data set (ring,
  grid, highdim, moons, mnist, stacked-mnist, ...). --set overrides a default by its dotted
  name (--set lambda=0.01 --set optimizers.G.lr=1e-4 --set batchSize=128). The run folder gets
  metrics.jsonl (one JSON line per logged step: step, wallSeconds, losses), checkpoint.safetensors
  (every --checkpoint-every steps), snapshots/step-N.png (every --snapshot-every steps),
  report.json (config, seed, backend, wall time, final losses, modes / high quality / reverse KL
  on mixtures, files.metrics) and PNGs, all written atomically. --resume DIR continues a killed
  run from its checkpoint to the same result, bit for bit, as an uninterrupted run.`,
  'train-classifier': `Usage: tessera train-classifier [--data mnist|fashion] [--epochs N] [--batch-size B] [--lr X]
                    [--seed S] [--limit N] [--test-limit N] [--val N] [--lr-schedule E:LR,...]
                    [--shift PX] [--fashion-dir DIR] [--init CKPT] [--checkpoint-every N]
                    [--backend cpu|auto|webgpu] [--threads N] [--out DIR]
       tessera train-classifier --resume DIR [--backend ...] [--threads N]
  The Stacked-MNIST protocol's CNN classifier; saves classifier.safetensors for the evaluation code.
  --val N holds out N training images (evenly spaced over the classes) as a validation set and
  keeps the epoch with the best validation accuracy (ties: the later one): its weights are the
  checkpoint and its test accuracy the result. --lr-schedule 9:3e-4,13:1e-4 switches Adam's
  learning rate to 3e-4 from epoch 9 and to 1e-4 from epoch 13 (Adam's state is kept). --init CKPT
  starts from the weights of a classifier checkpoint. The run folder gets metrics.jsonl (one line
  per batch: step, epoch, wallSeconds, losses; one per epoch with the accuracies) and state.safetensors
  (weights, Adam state, random streams and counters, every --checkpoint-every batches and after
  every epoch); --resume DIR continues a killed run to the same weights, bit for bit, as an
  uninterrupted run.`,
  eval: `Usage: tessera eval <run dir or checkpoint> [--metrics a,b,c] [--samples N] [--seed S] [--out DIR]
                    [--classifier CKPT] [--ivom-images N] [--ivom-steps N] [--ivom-restarts N]
                    [--birthday-threshold X] [--noise-std X] [--backend cpu|auto|webgpu] [--threads N]
  Evaluates a model trained by 'tessera train' (its run folder, or a checkpoint.safetensors) with
  the metrics that apply to its data set: modes, classifier-score, mode-score, frechet, kernel, precision-recall,
  birthday, ivom, c2st, noisy-d, loglik.
  Default: all that apply but noisy-d and loglik (mixtures: modes, ...; mnist / stacked-mnist: the
  classifier metrics too). --samples: generated samples (default 2500 on vectors, 2000 on images),
  from fixed latents of seed --seed (default 2333). --classifier: the MNIST classifier checkpoint
  (default assets/mnist-classifier.safetensors). Writes eval.json (every number and the protocol:
  sample counts, seeds, thresholds, classifier sha256, versions) and samples.png, modes.png,
  birthday-pairs.png into --out (default <run dir>/eval). docs/evaluation.md defines each metric.`,
  plot: `Usage: tessera plot <run dir> [--out DIR] [--format svg,png] [--scale X | --dpi N]
  Redraws a run's figures from its files: loss curves (and loss terms) from metrics.jsonl, one
  curve per metric logged there, and samples saved as data (samples.json, snapshots/*.json:
  {"step", "shape", "data", "modes"}); titles from report.json. A torn last line of metrics.jsonl
  (a killed run) is skipped. A folder of runs (tessera demo) is plotted run by run. Figures go to
  DIR (default <run dir>/plots) as SVG and PNG (--format picks), PNGs at --scale X pixels per
  figure pixel (default 2) or --dpi N (96 = scale 1).`,
};

export const USAGE = `tessera: train and evaluate models with the tessera tensor library.

Commands:
${Object.values(COMMAND_USAGE)
  .map((u) => u.replace(/^Usage: /, '  ').replace(/\n {7}tessera/g, '\n  tessera'))
  .join('\n')}
  tessera help [command]
  tessera --version

Every run writes report.json and PNG plots into its folder (default runs/<command>-<timestamp>/),
each written atomically (a temporary file renamed into place). The default backend is cpu; auto
tries WebGPU first and falls back to the CPU. --threads N (1 to ${MAX_THREADS}) lets the CPU backend's
matrix products use N threads (default: TESSERA_CPU_THREADS, else every core up to 4); results are
bitwise identical for every N. Numbers are decimal (1e-4, 0.5; not 0x10). Bad command-line input
exits with status 2 and a one-line reason; 'tessera <command> --help' prints that command's usage.`;

/** A parsed option: a string, a flag, or the strings of a repeatable option. */
export type OptionValue = string | boolean | string[] | undefined;

export type Spec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

/** A number written in decimal (1, -2, 0.5, .5, 1e-4), not hexadecimal, octal, binary, Infinity or NaN. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** True for text that reads as a decimal number. */
export function isDecimal(text: string): boolean {
  return DECIMAL.test(text.trim());
}

/**
 * Parses options strictly: unknown options, stray positionals and a repeated option (other than a
 * repeatable one such as --set) are usage errors naming the option. A value that starts with '-'
 * and reads as a number (`--steps -5`) is taken as the value, so the range check names the problem.
 */
export function parseOptions(command: string, argv: readonly string[], spec: Spec): Record<string, OptionValue> {
  const options: Spec = { ...spec, help: { type: 'boolean', short: 'h' } };
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const name = a.startsWith('--') ? a.slice(2) : undefined;
    if (name !== undefined && !name.includes('=') && options[name]?.type === 'string' && next !== undefined) {
      if (next.startsWith('-') && /^-[\d.]/.test(next)) {
        args.push(`${a}=${next}`);
        i++;
        continue;
      }
    }
    args.push(a);
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: false, tokens: true });
  } catch (e) {
    const raw = (e as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(raw);
    if (unknown !== null) {
      const known = Object.keys(spec)
        .map((k) => `--${k}`)
        .join(', ');
      throw new UsageError(`${command}: unknown option '${unknown[1]}' (this command takes ${known}, --help)`);
    }
    const positional = /Unexpected argument '([^']+)'/.exec(raw);
    if (positional !== null) throw new UsageError(`${command}: unexpected argument '${positional[1]}'`);
    const missing = /Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(raw);
    if (missing !== null) throw new UsageError(`${command}: ${missing[1]} needs a value`);
    const ambiguous = /Option '(?:-\w, )?(--[\w-]+)[^']*' argument is ambiguous/.exec(raw);
    if (ambiguous !== null) throw new UsageError(`${command}: ${ambiguous[1]} needs a value (got another option)`);
    const msg = raw.replace(/\. To specify a positional argument starting with a '-'.*$/s, '').replace(/\n.*$/s, '');
    throw new UsageError(`${command}: ${msg}`);
  }
  const seen = new Set<string>();
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== 'option' || options[t.name]?.multiple) continue;
    if (seen.has(t.name)) throw new UsageError(`${command}: --${t.name} is given more than once`);
    seen.add(t.name);
  }
  return parsed.values as Record<string, OptionValue>;
}

/** Throws a usage error when any of `names` was given (options that do not combine with `reason`). */
export function rejectOptions(
  command: string,
  o: Record<string, OptionValue>,
  names: readonly string[],
  reason: string,
): void {
  const given = names.filter((n) => o[n] !== undefined);
  if (given.length > 0)
    throw new UsageError(`${command}: ${given.map((n) => `--${n}`).join(', ')} cannot be used ${reason}`);
}

/** An integer option in [min, max] (undefined when absent); decimal digits only. */
export function intOption(
  command: string,
  name: string,
  v: OptionValue,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (v === undefined) return undefined;
  const text = typeof v === 'string' ? v.trim() : '';
  const n = /^[+-]?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const what =
      max !== Number.MAX_SAFE_INTEGER
        ? `an integer from ${min} to ${max}`
        : min === 1
          ? 'a positive integer'
          : min === 0
            ? 'a non-negative integer'
            : `an integer >= ${min}`;
    throw new UsageError(`${command}: --${name} must be ${what}, got '${String(v)}'`);
  }
  return n;
}

/** A positive finite number option, written in decimal. */
export function numberOption(command: string, name: string, v: OptionValue): number | undefined {
  if (v === undefined) return undefined;
  const text = typeof v === 'string' ? v.trim() : '';
  const n = isDecimal(text) ? Number(text) : Number.NaN;
  if (!(Number.isFinite(n) && n > 0))
    throw new UsageError(`${command}: --${name} must be a positive decimal number, got '${String(v)}'`);
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
    const lr = isDecimal(m![2]!) ? Number(m![2]) : Number.NaN;
    if (!Number.isSafeInteger(epoch) || epoch < 1) bad(`has epoch ${m![1]} (epochs start at 1)`);
    if (!(Number.isFinite(lr) && lr > 0)) bad(`has learning rate '${m![2]}' (must be a positive number)`);
    if (out.length > 0 && epoch <= out[out.length - 1]![0]) bad('must list epochs in increasing order');
    out.push([epoch, lr]);
  }
  return out;
}

export const BACKENDS: readonly BackendChoice[] = ['cpu', 'auto', 'webgpu'];
