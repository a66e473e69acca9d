// The CLI's file writing: every output (report.json, PNGs, JSON, rewritten logs) goes through one
// atomic writer, and file-system errors become one-line messages.
import { writeFileAtomic } from '../checkpoint/checkpoint.js';

/**
 * Writes `data` to `path` atomically: a temporary file in the same folder, flushed, then renamed
 * over `path` (src/checkpoint's writer). A run killed at any moment leaves the old file or the new
 * one, never a partial or empty file.
 */
export async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await writeFileAtomic(path, typeof data === 'string' ? new TextEncoder().encode(data) : data);
}

/** Writes `value` as pretty JSON (typed arrays as plain arrays) atomically. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const text = JSON.stringify(
    value,
    (_k, v) => (v instanceof Float32Array || v instanceof Float64Array || v instanceof Int32Array ? Array.from(v) : v),
    2,
  );
  await writeAtomic(path, `${text}\n`);
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'already exists',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'is a folder, not a file',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENAMETOOLONG: 'name too long',
  EMFILE: 'too many open files',
};

/** A Node file-system error (it has an errno code such as 'ENOENT'). */
export function isFsError(e: unknown): e is NodeJS.ErrnoException {
  return (
    e instanceof Error &&
    typeof (e as NodeJS.ErrnoException).code === 'string' &&
    /^E[A-Z]+$/.test((e as NodeJS.ErrnoException).code!)
  );
}

/**
 * One line for a file-system error: what was attempted, on which path, and why ("cannot open
 * /x/report.json: permission denied"). Temporary-file names are replaced by the file they stand for.
 */
export function describeFsError(e: NodeJS.ErrnoException): string {
  const reason = REASONS[e.code ?? ''] ?? e.code ?? 'error';
  const path = (e.path ?? '').replace(/\/\.([^/]+)\.tmp-[\d-]+$/, '/$1');
  const action = e.syscall ?? 'access';
  return path === '' ? `file-system error: ${reason}` : `cannot ${action} ${path}: ${reason}`;
}
