// Node's modules and packages for PNG output, reached only when a PNG function is called (through
// process.getBuiltinModule and createRequire), so that bundling plot for a browser meets no Node
// built-in and no native addon.
import type * as Fs from 'node:fs';
import type * as FsPromises from 'node:fs/promises';
import type * as Module from 'node:module';
import type * as Path from 'node:path';
import type * as Url from 'node:url';
import type * as Zlib from 'node:zlib';
import { fail } from '../errors.js';

interface NodeModules {
  fs: typeof FsPromises;
  fsSync: typeof Fs;
  path: typeof Path;
  url: typeof Url;
  zlib: typeof Zlib;
  module: typeof Module;
}

/** Node's built-in modules, or a TesseraError naming `op` where there is no Node (a browser). */
export function nodeModules(op: string): NodeModules {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const get = proc?.getBuiltinModule;
  if (typeof get !== 'function') {
    return fail(
      op,
      'PNG output and files need Node.js 20.16 or newer (process.getBuiltinModule); in a browser use the SVG ' +
        'figures (scatterSVG, lineSVG, ...: figure.svg)',
    );
  }
  const load = (id: string) => get.call(proc, id);
  return {
    fs: load('node:fs/promises') as typeof FsPromises,
    fsSync: load('node:fs') as typeof Fs,
    path: load('node:path') as typeof Path,
    url: load('node:url') as typeof Url,
    zlib: load('node:zlib') as typeof Zlib,
    module: load('node:module') as typeof Module,
  };
}

/** A CommonJS package loaded through Node's require, or a TesseraError saying what to install. */
export function requirePackage<T>(op: string, name: string, why: string): T {
  const { module } = nodeModules(op);
  try {
    return module.createRequire(import.meta.url)(name) as T;
  } catch (e) {
    return fail(op, `${why} needs the package ${name} (npm install ${name}): ${(e as Error).message}`);
  }
}
