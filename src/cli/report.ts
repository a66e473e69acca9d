// Run folders and report.json for the CLI commands.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** A timestamp usable in a folder name: 2024-05-01T12-30-05. */
export function timestamp(d = new Date()): string {
  return d
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/:/g, '-');
}

/** Creates the run's output folder (default runs/<command>-<timestamp>) and returns its absolute path. */
export async function makeRunDir(command: string, out?: string): Promise<string> {
  const dir = resolve(out ?? join('runs', `${command}-${timestamp()}`));
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Writes `report` as pretty JSON to <dir>/report.json and returns the path. */
export async function writeReport(dir: string, report: unknown): Promise<string> {
  const path = join(dir, 'report.json');
  await writeFile(
    path,
    `${JSON.stringify(report, (_k, v) => (v instanceof Float32Array || v instanceof Int32Array ? Array.from(v) : v), 2)}\n`,
  );
  return path;
}
