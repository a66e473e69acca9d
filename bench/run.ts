// The bench runner: `npm run bench` runs every bench/*.bench.ts, `npm run bench -- bench/cpu.bench.ts
// [more files]` only those. Convention: each bench file exports `async function run(): Promise<void>`
// that measures, prints its own table and resolves when done (no process.exit); the runner imports
// the files one after another, so benches never overlap on the shared cores.
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface BenchModule {
  run?: unknown;
}

const benchDir = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2).filter((a) => a !== '--');
const files =
  args.length > 0
    ? args.map((f) => resolve(f))
    : readdirSync(benchDir)
        .filter((f) => f.endsWith('.bench.ts'))
        .sort()
        .map((f) => join(benchDir, f));

let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file} ===`);
  const started = performance.now();
  try {
    const mod = (await import(pathToFileURL(file).href)) as BenchModule;
    if (typeof mod.run !== 'function')
      throw new Error('a bench file must export `async function run(): Promise<void>`');
    await (mod.run as () => Promise<void>)();
    console.log(`=== done in ${((performance.now() - started) / 1000).toFixed(1)} s ===`);
  } catch (e) {
    failed++;
    console.error(`=== ${file} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
}
if (failed > 0) process.exitCode = 1;
