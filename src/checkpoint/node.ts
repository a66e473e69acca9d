// Node's file-system modules for the checkpoint files, reached when a file function is called (through
// process.getBuiltinModule), so that bundling 'tessera' for a browser meets no Node built-in.
import type * as FsPromises from 'node:fs/promises';
import type * as Path from 'node:path';
import { fail } from '../errors.js';

interface NodeFileSystem {
  fs: typeof FsPromises;
  path: typeof Path;
}

/**
 * `node:fs/promises` and `node:path`, or a TesseraError naming `op` where there is no Node (a
 * browser): there checkpoints go through bytes (`checkpointToBytes`, `loadCheckpointBytes`).
 */
export function nodeFileSystem(op: string): NodeFileSystem {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const get = proc?.getBuiltinModule;
  if (typeof get !== 'function') {
    return fail(
      op,
      'reading and writing files needs Node.js 20.16 or newer (process.getBuiltinModule); ' +
        'in a browser use checkpointToBytes / loadCheckpointBytes',
    );
  }
  return {
    fs: get.call(proc, 'node:fs/promises') as typeof FsPromises,
    path: get.call(proc, 'node:path') as typeof Path,
  };
}

/** The error code of a Node file-system error ('ENOENT', ...), or undefined. */
export function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
