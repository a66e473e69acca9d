// Node's built-in modules for the file loaders, reached when a loader is called (through
// process.getBuiltinModule), so that bundling 'tessera' for a browser meets no Node built-in.
import type * as Fs from 'node:fs';
import type * as FsPromises from 'node:fs/promises';
import type * as Module from 'node:module';
import type * as Path from 'node:path';
import type * as Zlib from 'node:zlib';
import { fail } from '../errors.js';

interface NodeBuiltins {
  'node:fs': typeof Fs;
  'node:fs/promises': typeof FsPromises;
  'node:module': typeof Module;
  'node:path': typeof Path;
  'node:zlib': typeof Zlib;
}

/**
 * One of Node's built-in modules, or a TesseraError naming `op` where there is no Node (a
 * browser); `instead` says what to do there (e.g. "parse bytes you fetched with parseIdx").
 */
export function nodeBuiltin<K extends keyof NodeBuiltins>(id: K, op: string, instead: string): NodeBuiltins[K] {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const get = proc?.getBuiltinModule;
  if (typeof get !== 'function') {
    return fail(op, `needs Node.js 20.16 or newer ('${id}' through process.getBuiltinModule); ${instead}`);
  }
  return get.call(proc, id) as NodeBuiltins[K];
}
