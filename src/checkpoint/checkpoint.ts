/**
 * Checkpoints: a module's parameters and buffers, optimiser state and random-number generator
 * state in one safetensors file. Names of a single module's tensors are its state-dict names
 * ('0.weight', 'main.1.running_mean'), so the file loads into PyTorch with
 * `safetensors.torch.load_file`.
 *
 * Layout:
 * - modules: `<path>` for one module, `<name>.<path>` for named modules;
 * - optimiser slots: `optimizer/<name>/<slot>/<path>`; step count in metadata `optimizer/<name>/step`;
 * - random-number generators (`rngs`): metadata `generator/<name>` = JSON of `Generator.getState()`;
 * - user metadata: any other string keys (not starting with 'optimizer/', 'generator/', 'tessera.').
 */

import { fail, fmtShape, TesseraError } from '../errors.js';
import type { Module } from '../nn/module.js';
import type { OptimizerState } from '../optim/functional.js';
import { Generator, type GeneratorState } from '../random/generator.js';
import { castArray, type DType, isFloat } from '../tensor/dtype.js';
import { dispose, tensorFromArray } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { flattenTree, mapTree, type Tree, unflattenTree } from '../tensor/tree.js';
import { errorCode, nodeFileSystem } from './node.js';
import { decodeSafetensors, encodeSafetensors, type HostTensor, type SafetensorsContents } from './safetensors.js';

/** What an optimiser must offer to be checkpointed (the optimiser classes do). */
export interface CheckpointableOptimizer {
  getState(): OptimizerState<Tree>;
  setState(state: OptimizerState<Tree>): void;
}

/** The objects a checkpoint saves from or loads into. */
export interface CheckpointTargets {
  /** One module (names = its state dict) or named modules (names prefixed with `<name>.`). */
  modules?: Module | Record<string, Module>;
  optimizers?: Record<string, CheckpointableOptimizer>;
  /** Random-number generators, by name (their state is stored as metadata). */
  rngs?: Record<string, Generator>;
  /** @deprecated Renamed `rngs`; still accepted for this release. */
  generators?: Record<string, Generator>;
}

export interface SaveCheckpointOptions extends CheckpointTargets {
  /** Extra string metadata (e.g. the epoch), returned by `loadCheckpoint`. */
  metadata?: Record<string, string>;
}

export interface LoadCheckpointOptions {
  /**
   * When true (default), tensors in the file that no target expects are errors, and so are
   * expected tensors the file lacks. When false both are ignored (mis-shaped tensors are still errors).
   */
  strict?: boolean;
}

const RESERVED = ['optimizer/', 'generator/', 'tessera.'];

function isModuleLike(x: unknown): x is Module {
  return (
    x !== null &&
    typeof x === 'object' &&
    typeof (x as Module).namedParameters === 'function' &&
    typeof (x as Module).setParameters === 'function'
  );
}

function moduleEntries(targets: CheckpointTargets): [string, Module][] {
  const m = targets.modules;
  if (m === undefined) return [];
  if (isModuleLike(m)) return [['', m]];
  return Object.entries(m);
}

/** The targets' random-number generators: `rngs`, or the deprecated `generators`. */
function rngEntries(targets: CheckpointTargets): [string, Generator][] {
  return Object.entries(targets.rngs ?? targets.generators ?? {});
}

function checkName(kind: string, name: string): void {
  if (name === '' || name.includes('/') || name.includes('.'))
    fail('checkpoint', `${kind} names must be non-empty without '/' or '.', got '${name}'`);
}

interface Slot {
  key: string;
  tensor: Tensor;
}

/** Every tensor a checkpoint of these targets holds, keyed by file name. */
function expectedTensors(targets: CheckpointTargets): Slot[] {
  const out: Slot[] = [];
  for (const [name, m] of moduleEntries(targets)) {
    if (name !== '') checkName('module', name);
    const pre = name === '' ? '' : `${name}.`;
    for (const [p, t] of m.stateDict()) out.push({ key: pre + p, tensor: t });
  }
  for (const [name, opt] of Object.entries(targets.optimizers ?? {})) {
    checkName('optimizer', name);
    const st = opt.getState();
    for (const [slot, tree] of Object.entries(st.slots)) {
      for (const [p, t] of flattenTree(tree, 'checkpoint'))
        out.push({ key: `optimizer/${name}/${slot}/${p}`, tensor: t });
    }
  }
  return out;
}

/** Serialises the targets to safetensors bytes (reads tensors back from the device). */
export async function checkpointToBytes(opts: SaveCheckpointOptions): Promise<Uint8Array> {
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.metadata ?? {})) {
    if (RESERVED.some((r) => k.startsWith(r))) fail('saveCheckpoint', `metadata key '${k}' is reserved`);
    if (typeof v !== 'string') fail('saveCheckpoint', `metadata values must be strings, '${k}' is ${typeof v}`);
    meta[k] = v;
  }
  meta['tessera.format'] = '1';
  for (const [name, opt] of Object.entries(opts.optimizers ?? {})) {
    checkName('optimizer', name);
    meta[`optimizer/${name}/step`] = String(opt.getState().step);
  }
  for (const [name, rng] of rngEntries(opts)) {
    checkName('rng', name);
    if (!(rng instanceof Generator)) fail('saveCheckpoint', `rng '${name}' is not a Generator`);
    meta[`generator/${name}`] = JSON.stringify(rng.getState());
  }
  const slots = expectedTensors(opts);
  const entries: [string, HostTensor][] = [];
  for (const s of slots) {
    entries.push([s.key, { dtype: s.tensor.dtype, shape: s.tensor.shape, data: await s.tensor.data() }]);
  }
  return encodeSafetensors(entries, meta);
}

function parseGeneratorState(text: string): GeneratorState | null {
  try {
    const s = JSON.parse(text) as GeneratorState;
    const ok =
      Array.isArray(s.key) &&
      s.key.length === 2 &&
      s.key.every((k) => Number.isInteger(k) && k >= 0 && k < 2 ** 32) &&
      Number.isSafeInteger(s.draws) &&
      s.draws >= 0;
    return ok ? { key: [s.key[0], s.key[1]], draws: s.draws } : null;
  } catch {
    return null;
  }
}

function compatible(file: DType, target: DType): boolean {
  return file === target || (isFloat(file) && isFloat(target));
}

/**
 * Loads decoded safetensors contents into the targets. Every problem (missing, unexpected,
 * mis-shaped or wrongly typed tensors, bad metadata) is collected and reported in one error,
 * before anything is changed. Float tensors are converted to the target's float dtype.
 * Returns the user metadata.
 */
export function loadCheckpointContents(
  contents: SafetensorsContents,
  targets: CheckpointTargets,
  opts: LoadCheckpointOptions = {},
): { metadata: Record<string, string> } {
  const op = 'loadCheckpoint';
  const strict = opts.strict ?? true;
  const problems: string[] = [];
  const expected = expectedTensors(targets);
  const found = new Map<string, HostTensor>();
  const seen = new Set<string>();
  for (const s of expected) {
    seen.add(s.key);
    const f = contents.tensors.get(s.key);
    if (f === undefined) {
      if (strict) problems.push(`missing '${s.key}' (${s.tensor.dtype} ${fmtShape(s.tensor.shape)})`);
      continue;
    }
    const shapeOk = f.shape.length === s.tensor.shape.length && f.shape.every((d, i) => d === s.tensor.shape[i]);
    if (!shapeOk) problems.push(`'${s.key}' has shape ${fmtShape(f.shape)}, expected ${fmtShape(s.tensor.shape)}`);
    else if (!compatible(f.dtype, s.tensor.dtype))
      problems.push(`'${s.key}' is ${f.dtype}, expected ${s.tensor.dtype}`);
    else found.set(s.key, f);
  }
  if (strict) {
    for (const k of contents.tensors.keys()) if (!seen.has(k)) problems.push(`unexpected '${k}'`);
  }
  const steps = new Map<string, number>();
  for (const name of Object.keys(targets.optimizers ?? {})) {
    const v = contents.metadata[`optimizer/${name}/step`];
    const n = v === undefined ? Number.NaN : Number(v);
    if (v === undefined) {
      if (strict) problems.push(`missing metadata 'optimizer/${name}/step'`);
    } else if (!Number.isSafeInteger(n) || n < 0)
      problems.push(`metadata 'optimizer/${name}/step' is not a step count: '${v}'`);
    else steps.set(name, n);
  }
  const rngStates = new Map<string, GeneratorState>();
  for (const [name] of rngEntries(targets)) {
    const v = contents.metadata[`generator/${name}`];
    if (v === undefined) {
      if (strict) problems.push(`missing metadata 'generator/${name}'`);
      continue;
    }
    const s = parseGeneratorState(v);
    if (s === null) problems.push(`metadata 'generator/${name}' is not a generator state: '${v}'`);
    else rngStates.set(name, s);
  }
  if (problems.length > 0) fail(op, `${problems.length} problem(s): ${problems.join('; ')}`);

  const make = (key: string, like: Tensor): Tensor | undefined => {
    const f = found.get(key);
    if (f === undefined) return undefined;
    const data = f.dtype === like.dtype ? f.data.slice() : castArray(f.data, like.dtype);
    return tensorFromArray(data, like.shape, like.dtype, like.backend);
  };
  for (const [name, m] of moduleEntries(targets)) {
    const pre = name === '' ? '' : `${name}.`;
    const params: [string, Tensor][] = [];
    for (const [p, t] of m.namedParameters()) {
      const n = make(pre + p, t);
      if (n) params.push([p, n]);
    }
    const bufs: [string, Tensor][] = [];
    for (const [p, t] of m.namedBuffers()) {
      const n = make(pre + p, t);
      if (n) bufs.push([p, n]);
    }
    m.setParameters(unflattenTree(params));
    m.setBuffers(unflattenTree(bufs));
  }
  for (const [name, opt] of Object.entries(targets.optimizers ?? {})) {
    const st = opt.getState();
    const step = steps.get(name);
    const slots: Record<string, Tree> = {};
    const made: Tensor[] = [];
    let complete = step !== undefined;
    for (const [slot, tree] of Object.entries(st.slots)) {
      // The loaded slot keeps the structure of the optimiser's own (arrays stay arrays).
      slots[slot] = mapTree(tree, (t, _, p) => {
        const n = make(`optimizer/${name}/${slot}/${p}`, t);
        if (n === undefined) complete = false;
        else made.push(n);
        return n ?? t;
      });
    }
    // Non-strict loads with a partial optimiser state leave that optimiser as it was.
    if (complete) opt.setState({ step: step!, slots });
    else dispose(made);
  }
  for (const [name, rng] of rngEntries(targets)) {
    const s = rngStates.get(name);
    if (s) rng.setState(s);
  }
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(contents.metadata)) if (!RESERVED.some((r) => k.startsWith(r))) metadata[k] = v;
  return { metadata };
}

/** Decodes safetensors bytes and loads them into the targets (see `loadCheckpointContents`). */
export function loadCheckpointBytes(
  bytes: Uint8Array,
  targets: CheckpointTargets,
  opts: LoadCheckpointOptions = {},
): { metadata: Record<string, string> } {
  return loadCheckpointContents(decodeSafetensors(bytes), targets, opts);
}

let tmpCounter = 0;

/** The prefix of the temporary files `writeFileAtomic` writes next to `base` (then `<pid>-...`). */
const tmpPrefix = (base: string): string => `.${base}.tmp-`;

/** Whether a process with this id is running (a process we may not signal is running too). */
function processAlive(pid: number): boolean {
  const proc = (globalThis as { process?: { pid?: number; kill?: (pid: number, signal: number) => void } }).process;
  if (pid === proc?.pid) return true;
  try {
    proc?.kill?.(pid, 0);
    return true;
  } catch (e) {
    return errorCode(e) !== 'ESRCH';
  }
}

/**
 * Removes temporary files of earlier writes to `path` whose writer is no longer running (a run
 * killed between writing its temporary file and renaming it). Best effort: failures are ignored.
 */
async function removeStaleTemporaries(dir: string, base: string, op: string): Promise<void> {
  const { fs, path: nodePath } = nodeFileSystem(op);
  const prefix = tmpPrefix(base);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
    if (!Number.isInteger(pid) || processAlive(pid)) continue;
    await fs.rm(nodePath.join(dir, name), { force: true }).catch(() => undefined);
  }
}

/** A file-system error in words, without the temporary file's name that Node's message carries. */
function describeFsError(e: unknown): string {
  const code = errorCode(e);
  const words: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOSPC: 'no space left on the device',
    EROFS: 'read-only file system',
    EDQUOT: 'disk quota exceeded',
    EISDIR: 'it is a folder',
  };
  if (code !== undefined) return `${words[code] ?? 'file-system error'} (${code})`;
  return e instanceof Error ? e.message : String(e);
}

/** Checks that `path` can be written as a file: its folder exists and it is not a folder itself. */
async function checkWritablePath(path: string, op: string): Promise<void> {
  const { fs, path: nodePath } = nodeFileSystem(op);
  const dir = nodePath.dirname(path);
  const dirStat = await fs.stat(dir).catch((e: unknown) => errorCode(e) ?? String(e));
  if (typeof dirStat === 'string' || !dirStat.isDirectory()) {
    const why =
      dirStat === 'ENOENT'
        ? 'does not exist'
        : typeof dirStat === 'string'
          ? `cannot be read (${dirStat})`
          : 'is not a folder';
    fail(op, `cannot write '${path}': its folder '${dir}' ${why}; expected an existing folder (create it first)`);
  }
  const target = await fs.stat(path).catch(() => undefined);
  if (target?.isDirectory()) fail(op, `cannot write '${path}': it is a folder; expected a file path`);
}

/**
 * Writes bytes atomically: to a temporary file in the same directory, fsync, rename over the
 * target, then fsync the directory. A crash leaves either the old file or the new one; temporary
 * files left by a killed writer are removed by the next write to the same path. Errors are
 * TesseraErrors naming `op` (default 'writeFileAtomic') and the path.
 *
 * @example
 * await writeFileAtomic('run/report.json', new TextEncoder().encode('{}'));
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array, op = 'writeFileAtomic'): Promise<void> {
  const { fs, path: nodePath } = nodeFileSystem(op);
  await checkWritablePath(path, op);
  const dir = nodePath.dirname(path);
  const base = nodePath.basename(path);
  await removeStaleTemporaries(dir, base, op);
  const tmp = nodePath.join(dir, `${tmpPrefix(base)}${process.pid}-${Date.now()}-${tmpCounter++}`);
  const cannot = (e: unknown): never => fail(op, `cannot write '${path}': ${describeFsError(e)}`);
  const fh = await fs.open(tmp, 'wx').catch(cannot);
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await fs.rm(tmp, { force: true });
    cannot(e);
  }
  await fh.close();
  try {
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    cannot(e);
  }
  try {
    const d = await fs.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename itself is still atomic.
  }
}

/** Writes tensors and metadata to a safetensors file, atomically. */
export async function writeSafetensors(
  path: string,
  tensors: Iterable<readonly [string, HostTensor]>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata), 'writeSafetensors');
}

/**
 * Reads a safetensors file. A missing file, a folder or an unreadable file is a TesseraError
 * naming `op` (default 'readSafetensors'), the path and what was expected.
 */
export async function readSafetensors(path: string, op = 'readSafetensors'): Promise<SafetensorsContents> {
  const { fs } = nodeFileSystem(op);
  let buf: Uint8Array;
  try {
    buf = await fs.readFile(path);
  } catch (e) {
    const code = errorCode(e);
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a folder'
          : `cannot be read (${code ?? (e instanceof Error ? e.message : String(e))})`;
    return fail(op, `'${path}': ${why}; expected a safetensors file (as written by saveCheckpoint)`);
  }
  try {
    return decodeSafetensors(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
  } catch (e) {
    if (!(e instanceof TesseraError)) throw e;
    return fail(op, `'${path}' is not a valid safetensors file (${e.message})`);
  }
}

/**
 * Saves modules, optimiser state, random-number generator state and metadata to `path`
 * (safetensors, written atomically; the folder must exist).
 *
 * @example
 * await saveCheckpoint('run/ckpt.safetensors', { modules: { G, D }, optimizers: { G: optG, D: optD },
 *   rngs: { data: rng }, metadata: { epoch: '3' } });
 */
export async function saveCheckpoint(path: string, opts: SaveCheckpointOptions): Promise<void> {
  nodeFileSystem('saveCheckpoint');
  await writeFileAtomic(path, await checkpointToBytes(opts), 'saveCheckpoint');
}

/**
 * Loads a checkpoint written by `saveCheckpoint` into the targets (same names). Missing,
 * unexpected or mis-shaped tensors are all listed in one error, and nothing is changed then.
 * Returns the user metadata.
 *
 * @example
 * const { metadata } = await loadCheckpoint('run/ckpt.safetensors', { modules: net, optimizers: { adam: opt } });
 */
export async function loadCheckpoint(
  path: string,
  targets: CheckpointTargets,
  opts: LoadCheckpointOptions = {},
): Promise<{ metadata: Record<string, string> }> {
  return loadCheckpointContents(await readSafetensors(path, 'loadCheckpoint'), targets, opts);
}
