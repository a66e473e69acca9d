// The layering of src/: the table below says, for every folder, which folders it must not import
// and why; the test reads every import of src/ and fails on a forbidden one or an unlisted folder.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * folder -> the folders it must not import (space-separated), and why. Listed from the bottom
 * layer up: a folder may import only folders listed before it, and not all of those. Two folders
 * that must not import each other are peers. Every pair of folders is ordered (one of the two
 * forbids the other), so a new folder has to be placed against every other one. `src/errors.ts`
 * (TesseraError) may be imported by every folder; `src/index.ts` is the package entry (ROOT_FILES).
 */
const RULES: Readonly<Record<string, { mustNotImport: string; why: string }>> = {
  tensor: {
    mustNotImport:
      'random autograd kernels backend profile nn optim hmc checkpoint data metrics plot gan models eval cli',
    why: 'the core (Tensor, engine, ops, the Backend contract) builds on nothing; backends register with it',
  },
  random: {
    mustNotImport: 'autograd kernels backend profile nn optim hmc checkpoint data metrics plot gan models eval cli',
    why: 'Philox bits and generators are made of tensor ops only',
  },
  autograd: {
    mustNotImport: 'kernels backend nn optim hmc checkpoint data metrics plot gan models eval cli',
    why: 'differentiates tensor ops, on any backend, and knows nothing of layers or training',
  },
  kernels: {
    mustNotImport: 'autograd backend profile nn optim hmc checkpoint data metrics plot gan models eval cli',
    why: 'pure kernel code (typed-array loops, WGSL builders); the backends call it, never the reverse',
  },
  backend: {
    mustNotImport: 'autograd profile nn optim hmc checkpoint data metrics plot gan models eval cli',
    why: 'implements the Backend contract with kernels; nothing above the engine is its business',
  },
  profile: {
    mustNotImport: 'autograd nn optim hmc checkpoint data metrics plot gan models eval cli',
    why: 'the profiler reads the engine hook, the backends and kernel counters; it knows nothing of models',
  },
  nn: {
    mustNotImport: 'kernels backend optim hmc checkpoint data metrics plot gan models eval cli',
    why: 'layers and parameter trees go through the public ops, never a backend or kernel directly',
  },
  optim: {
    mustNotImport: 'kernels backend hmc checkpoint data metrics plot gan models eval cli',
    why: 'optimisers update nn parameter trees through the public ops (fused updates via tensor/fused.ts)',
  },
  hmc: {
    mustNotImport: 'kernels backend optim checkpoint data metrics plot gan models eval cli',
    why: 'samplers and diagnostics are tensor ops and autodiff; no backend, no training loop',
  },
  checkpoint: {
    mustNotImport: 'kernels backend hmc data metrics plot gan models eval cli',
    why: 'saves tensors, modules, optimiser states and generators; reads no data and draws nothing',
  },
  data: {
    mustNotImport: 'autograd kernels backend nn optim hmc checkpoint metrics plot gan models eval cli',
    why: 'datasets and batches are tensors and host arrays; no models, no differentiation',
  },
  metrics: {
    mustNotImport: 'autograd kernels backend nn optim hmc checkpoint plot gan models eval cli',
    why: 'scores predictions and samples against data; it trains and draws nothing',
  },
  plot: {
    mustNotImport: 'tensor random autograd kernels backend nn optim hmc checkpoint data metrics gan models eval cli',
    why: 'takes plain arrays: drawing never depends on tensors or on what made the numbers',
  },
  gan: {
    mustNotImport: 'kernels backend plot models eval cli',
    why: 'GAN training is built from nn, optim, hmc, checkpoint, data and metrics; plots belong to the CLI',
  },
  models: {
    mustNotImport: 'kernels backend plot eval cli',
    why: 'recipes go through the public ops; plots are drawn by the CLI, never by a model',
  },
  eval: {
    mustNotImport: 'kernels backend plot cli',
    why: 'evaluations run and train models through the public ops; plots and files belong to the CLI',
  },
  cli: {
    mustNotImport: '',
    why: 'the top: commands choose backends, run models and draw plots',
  },
};

/** Files directly in src/: what each must not import ('*' for every folder), and why. */
const ROOT_FILES: Readonly<Record<string, { mustNotImport: string; why: string }>> = {
  'errors.ts': { mustNotImport: '*', why: 'TesseraError is the leaf every layer may import' },
  'index.ts': { mustNotImport: 'cli', why: 'the package entry exports the library; the CLI is a separate binary' },
  'browser.ts': { mustNotImport: 'cli', why: 'the browser entry: index.ts without Node-only modules (plot PNG)' },
};

const SRC = fileURLToPath(new URL('../src', import.meta.url));
const FOLDERS = Object.keys(RULES);
const names = (list: string): string[] => (list === '*' ? FOLDERS : list.split(' ').filter((s) => s !== ''));
const forbidden = new Map(
  Object.entries({ ...RULES, ...ROOT_FILES }).map(([k, r]) => [k, new Set(names(r.mustNotImport))]),
);
const why = (k: string): string => (RULES[k] ?? ROOT_FILES[k])!.why;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Module specifiers of static imports, `export ... from` and `import('...')` with a string literal. */
function importsOf(file: string): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined) {
      if (ts.isStringLiteral(node.moduleSpecifier)) out.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      out.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The folder (or root file) of src/ a path is in. */
const unitOf = (path: string): string => relative(SRC, path).split(/[\\/]/)[0]!;

/** Every import between units of src/: [importing file, imported path, importing unit, imported unit]. */
function crossImports(): [string, string, string, string][] {
  const out: [string, string, string, string][] = [];
  for (const file of sourceFiles(SRC)) {
    for (const spec of importsOf(file)) {
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      const [from, to] = [unitOf(file), unitOf(target)];
      if (from !== to) out.push([relative(SRC, file), relative(SRC, target), from, to]);
    }
  }
  return out;
}

describe('architecture: the layering of src/', () => {
  it('every folder and file directly in src/ is in the table', () => {
    const missing = readdirSync(SRC, { withFileTypes: true }).flatMap((e) => {
      if (e.isDirectory() && RULES[e.name] === undefined) {
        return [
          `src/${e.name}/ is not in RULES of test/architecture.test.ts: add it with the folders it must not import`,
        ];
      }
      if (e.isFile() && ROOT_FILES[e.name] === undefined) {
        return [`src/${e.name} is not in ROOT_FILES of test/architecture.test.ts: add it with what it must not import`];
      }
      return [];
    });
    expect(missing).toEqual([]);
  });

  it('the table names only known folders, orders every pair and has no cycle', () => {
    const problems: string[] = [];
    for (const [k, set] of forbidden) {
      for (const f of set) if (!FOLDERS.includes(f)) problems.push(`${k}: unknown folder '${f}'`);
      if (set.has(k)) problems.push(`${k} forbids itself`);
    }
    for (const a of FOLDERS) {
      for (const b of FOLDERS) {
        if (a < b && !forbidden.get(a)!.has(b) && !forbidden.get(b)!.has(a)) {
          problems.push(`${a} and ${b} may import each other: add one to the other's mustNotImport (both for peers)`);
        }
      }
    }
    // Depth-first search over the allowed imports: a cycle would make the layering meaningless.
    const state = new Map<string, 'open' | 'done'>();
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        problems.push(`cycle of allowed imports: ${[...path.slice(path.indexOf(f)), f].join(' -> ')}`);
        return;
      }
      state.set(f, 'open');
      for (const g of FOLDERS) if (g !== f && !forbidden.get(f)!.has(g)) visit(g, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of FOLDERS) visit(f, []);
    expect(problems).toEqual([]);
  });

  it('no folder imports one it must not', () => {
    const violations = crossImports().flatMap(([file, target, from, to]) => {
      if (to === 'index.ts') return [`src/${file} imports src/index.ts: nothing in src/ imports the package entry`];
      if (!forbidden.get(from)?.has(to)) return [];
      return [`src/${file} imports src/${target}: ${from} must not import ${to} (${from}: ${why(from)})`];
    });
    expect(violations).toEqual([]);
  });
});

describe('file size', () => {
  it('no source, test, bench, example or script file is over 600 lines', () => {
    const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
    const over: string[] = [];
    let files = 0;
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.(ts|mts|js|mjs)$/.test(entry.name)) {
          files++;
          const lines = readFileSync(path, 'utf8').split('\n').length - 1;
          if (lines > 600) over.push(`${relative(root, path)}: ${lines} lines`);
        }
      }
    };
    const folders = ['src', 'test', 'bench', 'examples', 'scripts'];
    for (const folder of folders) walk(join(root, folder));
    expect(over).toEqual([]);
    // The walk saw the tree (not a wrong root).
    expect(files).toBeGreaterThan(300);
  });
});
