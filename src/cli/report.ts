// Run folders and report.json for the CLI commands.
import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from './args.js';
import { writeJsonAtomic } from './atomic.js';

/** A timestamp usable in a folder name: 2024-05-01T12-30-05. */
export function timestamp(d = new Date()): string {
  return d
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/:/g, '-');
}

/**
 * `mkdir -p` one level at a time (Node's recursive mkdir can loop forever on some errors, e.g. a
 * path under /proc); the first failing level's error is thrown.
 */
async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  let d = dir;
  while ((await stat(d).catch(() => undefined)) === undefined && dirname(d) !== d) {
    missing.push(d);
    d = dirname(d);
  }
  for (const m of missing.reverse()) await mkdir(m);
}

/**
 * Creates the run's output folder (default runs/<command>-<timestamp>) and returns its absolute
 * path. An --out that is a file, or a place that cannot be created or written, is a usage error
 * with a one-line reason.
 */
export async function makeRunDir(command: string, out?: string): Promise<string> {
  const dir = resolve(out ?? join('runs', `${command}-${timestamp()}`));
  const existing = await stat(dir).catch(() => undefined);
  if (existing !== undefined && !existing.isDirectory())
    throw new UsageError(`--out ${dir} is an existing file; give a folder (it is created if missing)`);
  try {
    await makeDirs(dir);
    await access(dir, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'ENOTDIR' || code === 'EEXIST'
          ? 'a part of the path is a file'
          : code === 'EROFS'
            ? 'read-only file system'
            : code === 'ENOENT'
              ? 'no such place'
              : (code ?? String(e));
    throw new UsageError(`--out ${dir}: cannot create or write this folder (${why})`);
  }
  return dir;
}

/**
 * The run folder given to --resume: it must exist and be a folder holding `file` (the run's
 * checkpoint); otherwise a usage error says which.
 */
export async function resumeDir(dir: string, file: string): Promise<string> {
  const abs = resolve(dir);
  const s = await stat(abs).catch(() => undefined);
  if (s === undefined) throw new UsageError(`--resume ${abs}: no such folder`);
  if (!s.isDirectory())
    throw new UsageError(`--resume ${abs} is a file; give the run folder (the one holding ${file})`);
  const ck = await stat(join(abs, file)).catch(() => undefined);
  if (ck === undefined || !ck.isFile())
    throw new UsageError(
      `--resume ${abs}: no ${file} in this folder (not a run folder, or killed before its first checkpoint)`,
    );
  return abs;
}

/** Writes `report` as pretty JSON to <dir>/report.json, atomically, and returns the path. */
export async function writeReport(dir: string, report: unknown): Promise<string> {
  const path = join(dir, 'report.json');
  await writeJsonAtomic(path, report);
  return path;
}
