/**
 * The package entry in a browser (issue 15, item 1): esbuild bundles a tiny program that imports
 * 'tessera' with `--platform=browser` and no externals, resolving 'tessera' through package.json's
 * `exports` "browser" condition (to that file's source, so no build is needed), and headless
 * Chromium runs it on the CPU backend: a matmul, a gradient, a float64 product and normal draws,
 * each bitwise equal to the same computation in this Node process; file functions (saveCheckpoint,
 * readIdx) bundle too and throw a TesseraError saying what to use in a browser.
 *
 * test/package/pack.test.ts bundles the packed, installed package for the browser the same way.
 */
import '../../src/index.js'; // registers the CPU backend
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { Generator, grad, matmul, sum, type Tensor, tanh, tensor } from '../../src/index.js';
import { haveChromium, runInChromium } from './harness.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** package.json's `exports['.'].browser`, mapped from dist/*.js to its source src/*.ts. */
function browserEntrySource(): string {
  const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as {
    exports: Record<string, Record<string, string>>;
  };
  const target = pkg.exports['.']!.browser;
  if (target === undefined || !/^\.\/dist\/.*\.js$/.test(target)) throw new Error(`no browser condition: ${target}`);
  return resolve(ROOT, target.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
}

/** Resolves the bare specifier 'tessera' as a browser bundler would pick it from package.json. */
const tesseraAsPackage: Plugin = {
  name: 'tessera-package',
  setup(b) {
    b.onResolve({ filter: /^tessera$/ }, () => ({ path: browserEntrySource() }));
  },
};

/** Inputs shared by the page and this process: the same numbers reach both as JSON. */
const M = 13;
const K = 29;
const N = 11;
const wave = (n: number, seed: number): number[] =>
  Array.from({ length: n }, (_, i) => Math.fround(Math.sin((i + 1) * 12.9898 + seed * 78.233) * 0.5));
const A = wave(M * K, 1);
const B = wave(K * N, 2);

/** The program: plain JavaScript importing the package by name, as a user's would. */
const PROGRAM = `
import { checkpoint, data, Generator, grad, matmul, nn, sum, tanh, tensor } from 'tessera';
const A = ${JSON.stringify(A)};
const B = ${JSON.stringify(B)};
async function main() {
  const a = tensor(A, { shape: [${M}, ${K}] });
  const b = tensor(B, { shape: [${K}, ${N}] });
  const f = (w, x) => sum(tanh(matmul(x, w)));
  const a64 = tensor(A, { shape: [${M}, ${K}], dtype: 'float64' });
  const b64 = tensor(B, { shape: [${K}, ${N}], dtype: 'float64' });
  // File functions bundle, and in a browser say what to use instead.
  const fileErrors = [];
  const layer = new nn.Linear(2, 1, { rng: new Generator(0) });
  for (const call of [() => checkpoint.saveCheckpoint('x.safetensors', { modules: layer }), () => data.readIdx('x.idx')]) {
    try { await call(); fileErrors.push('no error'); } catch (e) { fileErrors.push(e.name + ': ' + e.message); }
  }
  const bytes = await checkpoint.checkpointToBytes({ modules: layer });
  return {
    fileErrors,
    checkpointBytes: bytes.length,
    matmul: Array.from(await matmul(a, b).data()),
    grad: Array.from(await grad(f)(b, a).data()),
    matmul64: Array.from(await matmul(a64, b64).data()),
    normal: Array.from(await new Generator(42).normal([16]).data()),
    node: typeof globalThis.process,
  };
}
globalThis.__tessera = main().catch((e) => ({ error: e instanceof Error ? e.message + '\\n' + e.stack : String(e) }));
`;

interface PageResult {
  fileErrors: string[];
  checkpointBytes: number;
  matmul: number[];
  grad: number[];
  matmul64: number[];
  normal: number[];
  node: string;
}

describe('the whole browser entry bundles (no Chromium needed)', () => {
  it('import * as tessera: every module reachable from the browser entry is free of Node built-ins', async () => {
    const bundle = await build({
      stdin: { contents: "import * as t from 'tessera';\nglobalThis.t = t;", resolveDir: ROOT, loader: 'js' },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [tesseraAsPackage],
    });
    const inputs = Object.keys(bundle.metafile.inputs);
    // Every namespace of the entry is in (so the check covers them), and nothing Node-only is.
    for (const folder of ['nn', 'optim', 'checkpoint', 'hmc', 'data', 'metrics', 'plot', 'models', 'gan', 'profile']) {
      expect(
        inputs.some((p) => p.startsWith(`src/${folder}/`)),
        folder,
      ).toBe(true);
    }
    expect(
      inputs.filter((p) => p.includes('node_modules') || p.endsWith('plot/png.ts') || p.startsWith('src/eval/')),
    ).toEqual([]);
  });
});

describe.skipIf(!haveChromium('browser bundle test'))("import 'tessera' in a browser bundle", () => {
  it('bundles for the browser with no externals and computes bit for bit as in Node', async () => {
    const bundle = await build({
      stdin: { contents: PROGRAM, resolveDir: ROOT, sourcefile: 'program.js', loader: 'js' },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [tesseraAsPackage],
    });
    const inputs = Object.keys(bundle.metafile.inputs);
    // Neither Node built-ins (esbuild fails on them for the browser) nor plot's Node-only PNG part.
    expect(inputs.filter((p) => p.startsWith('node:') || p.includes('node_modules'))).toEqual([]);
    expect(inputs.filter((p) => p.endsWith('src/plot/png.ts'))).toEqual([]);

    const r = await runInChromium<PageResult>(bundle.outputFiles[0]!.text);
    expect(r.node).toBe('undefined'); // really a browser: no Node process object
    expect(r.fileErrors).toEqual([
      expect.stringMatching(/^TesseraError: saveCheckpoint: .*in a browser use checkpointToBytes/),
      expect.stringMatching(/^TesseraError: readIdx: .*in a browser fetch the bytes and use parseIdx/),
    ]);
    expect(r.checkpointBytes).toBeGreaterThan(8 + 3 * 4); // header length, header, 3 float32 values

    const a = tensor(A, { shape: [M, K] });
    const b = tensor(B, { shape: [K, N] });
    const f = (w: Tensor, x: Tensor): Tensor => sum(tanh(matmul(x, w)));
    const a64 = tensor(A, { shape: [M, K], dtype: 'float64' });
    const b64 = tensor(B, { shape: [K, N], dtype: 'float64' });
    expect(r.matmul).toEqual(Array.from(await matmul(a, b).data()));
    expect(r.grad).toEqual(Array.from(await grad(f)(b, a).data()));
    expect(r.matmul64).toEqual(Array.from(await matmul(a64, b64).data()));
    expect(r.normal).toEqual(Array.from(await new Generator(42).normal([16]).data()));

    // Not vacuous: the product's first entry is the plain-JS dot product (to float32 rounding).
    let dot = 0;
    for (let k = 0; k < K; k++) dot += A[k]! * B[k * N]!;
    expect(r.matmul[0]!).toBeCloseTo(dot, 5);
    expect(r.matmul).toHaveLength(M * N);
    expect(r.grad).toHaveLength(K * N);
  });
});
