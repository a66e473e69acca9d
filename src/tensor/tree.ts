// Trees of tensors (nested arrays and plain objects) and the one set of walkers over them, used by
// tidy/dispose, autodiff, modules, optimisers, checkpoints and HMC.
import { fail, fmtShape } from '../errors.js';
import { Tensor } from './tensor.js';

/**
 * Any nesting of arrays and plain objects whose leaves are `L` (tensors by default), e.g.
 * `{ G: net.parameters(), D: [w, b], sigma }`. A leaf is named by its dotted path
 * (`'G.0.weight'`, `'D.1'`).
 */
export type Tree<L = Tensor> = L | readonly Tree<L>[] | { readonly [key: string]: Tree<L> };

/**
 * A named tree: nested plain objects whose leaves are `L` (tensors by default). This is what
 * `Module.parameters()` returns, what optimisers keep their slots in and what checkpoints
 * store; trees of several players nest (`{ G: ParamTree, D: ParamTree, sigma: Tensor }`).
 * Keys never contain '.', so a leaf is also named by its dotted path (`'0.weight'`).
 */
export type ParamTree<L = Tensor> = { [key: string]: L | ParamTree<L> };

/** A tree's interior object: prototype Object.prototype or null (class instances are not walked). */
function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== 'object') return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

function child(path: string, key: string | number): string {
  return path === '' ? String(key) : `${path}.${key}`;
}

function quote(path: string): string {
  return path === '' ? '<root>' : `'${path}'`;
}

function describe(x: unknown): string {
  if (x instanceof Tensor) return `a tensor ${fmtShape(x.shape)}`;
  if (Array.isArray(x)) return `an array of ${x.length}`;
  if (isPlainObject(x)) return 'an object';
  if (x === undefined) return 'nothing';
  if (x === null) return 'null';
  if (typeof x === 'object') return `a ${x.constructor?.name ?? 'non-plain object'}`;
  return `a ${typeof x}`;
}

/**
 * Walks `trees` (the first one gives the structure; the others must match it exactly) depth first
 * in key order, calls `visit` with the leaves at each path and returns the first tree's structure
 * with the results at the leaves. Mismatches fail with `op` and the path.
 */
function walk(
  op: string,
  trees: readonly unknown[],
  path: string,
  visit: (leaves: Tensor[], path: string) => unknown,
): unknown {
  const t = trees[0];
  const mismatch = (o: unknown, i: number): never =>
    t instanceof Tensor
      ? fail(
          op,
          `tree ${i + 1} has no leaf at ${quote(path)} (tree 1 has a tensor there${o === undefined ? '' : `, tree ${i + 1} has ${describe(o)}`})`,
        )
      : fail(op, `tree ${i + 1} has ${describe(o)} at ${quote(path)} (tree 1 has ${describe(t)} there)`);
  if (t instanceof Tensor) {
    for (let i = 1; i < trees.length; i++) if (!(trees[i] instanceof Tensor)) mismatch(trees[i], i);
    return visit(trees as Tensor[], path);
  }
  if (Array.isArray(t)) {
    for (let i = 1; i < trees.length; i++) {
      const o = trees[i];
      if (!Array.isArray(o) || o.length !== t.length) mismatch(o, i);
    }
    return t.map((_, j) =>
      walk(
        op,
        trees.map((o) => (o as unknown[])[j]),
        child(path, j),
        visit,
      ),
    );
  }
  if (isPlainObject(t)) {
    for (let i = 1; i < trees.length; i++) {
      const o = trees[i];
      if (!isPlainObject(o)) return mismatch(o, i);
      for (const k of Object.keys(o)) {
        if (!Object.hasOwn(t, k))
          fail(op, `tree ${i + 1} has ${describe(o[k])} at ${quote(child(path, k))} (tree 1 has nothing there)`);
      }
    }
    return Object.fromEntries(
      Object.keys(t).map((k) => [
        k,
        walk(
          op,
          trees.map((o) => (o as Record<string, unknown>)[k]),
          child(path, k),
          visit,
        ),
      ]),
    );
  }
  return fail(op, `expected a tensor, an array or a plain object at ${quote(path)}, got ${describe(t)}`);
}

/**
 * Maps `f` over the leaves of `tree`, passing the leaves of `others` at the same path (every tree
 * must have `tree`'s structure; a mismatch fails naming the path) and the dotted path. Returns a
 * new tree with `tree`'s structure and `f`'s results as leaves.
 *
 * @example
 * const next = mapTree(params, (p, [g]) => p.sub(g.mul(lr)), grads);
 */
export function mapTree<T extends Tree>(
  tree: T,
  f: (leaf: Tensor, others: Tensor[], path: string) => Tensor,
  ...others: Tree[]
): T;
export function mapTree<R>(
  tree: Tree,
  f: (leaf: Tensor, others: Tensor[], path: string) => R,
  ...others: Tree[]
): Tree<R>;
export function mapTree(
  tree: Tree,
  f: (leaf: Tensor, others: Tensor[], path: string) => unknown,
  ...others: Tree[]
): unknown {
  return walk('mapTree', [tree, ...others], '', (leaves, path) => f(leaves[0]!, leaves.slice(1), path));
}

/**
 * The leaves of trees of one structure side by side, `[path, [leaf of tree 1, leaf of tree 2, ...]]`,
 * in `flattenTree` order; a mismatch fails naming the path.
 */
export function zipTrees(...trees: readonly [Tree, ...Tree[]]): [string, Tensor[]][] {
  const out: [string, Tensor[]][] = [];
  walk('zipTrees', trees, '', (leaves, path) => out.push([path, leaves]));
  return out;
}

/**
 * The leaves of a tree with their dotted paths, depth first in key order. Anything but a tensor,
 * an array or a plain object in the tree fails, naming `op` and the path.
 */
export function flattenTree(tree: Tree, op = 'flattenTree'): [string, Tensor][] {
  const out: [string, Tensor][] = [];
  walk(op, [tree], '', (leaves, path) => out.push([path, leaves[0]!]));
  return out;
}

/**
 * Builds a nested object tree from dotted paths: the inverse of `flattenTree` for object trees
 * (array indices come back as object keys '0', '1', ...). A path given twice, or one that runs
 * through another's leaf, fails.
 */
export function unflattenTree<L = Tensor>(entries: Iterable<readonly [string, L]>): ParamTree<L> {
  const root: ParamTree<L> = {};
  const nodes = new Set<ParamTree<L>>([root]);
  for (const [path, leaf] of entries) {
    const parts = path.split('.');
    let node = root;
    for (let i = 0; i < parts.length; i++) {
      const k = parts[i]!;
      const next = Object.hasOwn(node, k) ? node[k] : undefined;
      if (i === parts.length - 1) {
        if (next !== undefined) fail('unflattenTree', `path '${path}' is given twice (or also has entries below it)`);
        node[k] = leaf;
      } else if (next === undefined) {
        const made: ParamTree<L> = {};
        nodes.add(made);
        node[k] = made;
        node = made;
      } else if (nodes.has(next as ParamTree<L>)) node = next as ParamTree<L>;
      else fail('unflattenTree', `path '${path}' runs through the leaf at '${parts.slice(0, i + 1).join('.')}'`);
    }
  }
  return root;
}

/**
 * Every tensor in `value`, in `flattenTree` order: arrays and plain objects are searched, any other
 * value (numbers, strings, class instances) is skipped. This is how `tidy` finds the tensors a
 * function returns and `dispose` the tensors to free.
 */
export function treeLeaves(value: unknown): Tensor[] {
  const out: Tensor[] = [];
  const scan = (x: unknown): void => {
    if (x instanceof Tensor) out.push(x);
    else if (Array.isArray(x)) for (const y of x) scan(y);
    else if (isPlainObject(x)) for (const y of Object.values(x)) scan(y);
  };
  scan(value);
  return out;
}

/** Checks that two trees have the same paths and shapes; lists every difference. */
export function checkSameShapes(op: string, expected: Tree, got: Tree): void {
  const e = new Map(flattenTree(expected, op));
  const g = new Map(flattenTree(got, op));
  const problems: string[] = [];
  for (const [p, t] of e) {
    const u = g.get(p);
    if (u === undefined) problems.push(`missing '${p}' ${fmtShape(t.shape)}`);
    else if (u.shape.length !== t.shape.length || u.shape.some((d, i) => d !== t.shape[i]))
      problems.push(`'${p}' has shape ${fmtShape(u.shape)}, expected ${fmtShape(t.shape)}`);
  }
  for (const p of g.keys()) if (!e.has(p)) problems.push(`unexpected '${p}'`);
  if (problems.length > 0) fail(op, problems.join('; '));
}
