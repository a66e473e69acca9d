import { fail, fmtShape } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * A named tree of tensors: nested plain objects whose leaves are tensors. This is what
 * `Module.parameters()` returns and what `valueAndGrad` differentiates with respect to.
 * Keys never contain '.', so a leaf is also named by its dotted path (`'0.weight'`).
 */
export type ParamTree = { [key: string]: Tensor | ParamTree };

/** Any nesting of arrays and plain objects whose leaves are tensors. */
export type AnyTree = Tensor | readonly AnyTree[] | { readonly [key: string]: AnyTree };

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x) && !(x instanceof Tensor);
}

/** The leaves of a tree with their dotted paths, in key order (depth first). */
export function flattenTree(tree: unknown, op = 'flattenTree'): [string, Tensor][] {
  const out: [string, Tensor][] = [];
  const walk = (t: unknown, path: string): void => {
    if (t instanceof Tensor) out.push([path, t]);
    else if (Array.isArray(t)) {
      for (let i = 0; i < t.length; i++) walk(t[i], path === '' ? String(i) : `${path}.${i}`);
    } else if (isPlainObject(t)) {
      for (const [k, v] of Object.entries(t)) walk(v, path === '' ? k : `${path}.${k}`);
    } else fail(op, `expected a tensor or a tree of tensors at '${path}', got ${t === null ? 'null' : typeof t}`);
  };
  walk(tree, '');
  return out;
}

/** Builds a nested object tree from dotted paths (the inverse of `flattenTree` for object trees). */
export function unflattenTree(entries: Iterable<readonly [string, Tensor]>): ParamTree {
  const root: ParamTree = {};
  for (const [path, t] of entries) {
    const parts = path.split('.');
    let node: ParamTree = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const k = parts[i]!;
      const next = node[k];
      if (next === undefined) {
        const child: ParamTree = {};
        node[k] = child;
        node = child;
      } else if (next instanceof Tensor) {
        return fail(
          'unflattenTree',
          `path '${path}' passes through the tensor at '${parts.slice(0, i + 1).join('.')}'`,
        );
      } else node = next;
    }
    node[parts[parts.length - 1]!] = t;
  }
  return root;
}

/**
 * Maps `f` over the leaves of `tree` and the matching leaves of `others` (same structure, checked).
 * Returns a tree with `tree`'s structure.
 */
export function mapTree<T>(
  op: string,
  f: (leaf: Tensor, others: Tensor[], path: string) => Tensor,
  tree: T,
  ...others: unknown[]
): T {
  const walk = (t: unknown, os: unknown[], path: string): unknown => {
    if (t instanceof Tensor) {
      os.forEach((o, i) => {
        if (!(o instanceof Tensor)) fail(op, `tree ${i + 2} has no tensor at '${path}' (the first tree does)`);
      });
      return f(t, os as Tensor[], path);
    }
    if (Array.isArray(t)) {
      os.forEach((o, i) => {
        if (!Array.isArray(o) || o.length !== t.length)
          fail(op, `tree ${i + 2} differs in structure at '${path}': expected an array of ${t.length}`);
      });
      return t.map((x, j) =>
        walk(
          x,
          os.map((o) => (o as unknown[])[j]),
          path === '' ? String(j) : `${path}.${j}`,
        ),
      );
    }
    if (isPlainObject(t)) {
      const keys = Object.keys(t);
      os.forEach((o, i) => {
        if (!isPlainObject(o)) fail(op, `tree ${i + 2} differs in structure at '${path}': expected an object`);
        const ok = Object.keys(o);
        const missing = keys.filter((k) => !(k in o));
        const extra = ok.filter((k) => !(k in t));
        if (missing.length > 0 || extra.length > 0) {
          fail(
            op,
            `tree ${i + 2} differs in structure at '${path || '<root>'}': missing [${missing.join(', ')}], unexpected [${extra.join(', ')}]`,
          );
        }
      });
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        out[k] = walk(
          t[k],
          os.map((o) => (o as Record<string, unknown>)[k]),
          path === '' ? k : `${path}.${k}`,
        );
      }
      return out;
    }
    return fail(op, `expected a tensor or a tree of tensors at '${path}', got ${t === null ? 'null' : typeof t}`);
  };
  return walk(tree, others, '') as T;
}

/** Every tensor of a tree, in the order of `flattenTree`. */
export function treeTensors(tree: unknown): Tensor[] {
  return flattenTree(tree).map(([, t]) => t);
}

/** Checks that two trees have the same paths and shapes; lists every difference. */
export function checkSameShapes(op: string, expected: unknown, got: unknown): void {
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
