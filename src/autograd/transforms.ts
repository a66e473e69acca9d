// The autodiff transforms: grad and valueAndGrad (over trees of tensors, with argnums and hasAux)
// and vjp.

import { fail, fmtShape } from '../errors.js';
import { isFloat } from '../tensor/dtype.js';
import { noGrad, runPrimitive, tensorFromStorage, tidy, withGrad } from '../tensor/engine.js';
import { onesLike, zerosLike } from '../tensor/ops/index.js';
import { Tensor } from '../tensor/tensor.js';
import { mapTree, type Tree, treeLeaves } from '../tensor/tree.js';
import { backward } from './backward.js';

/** The same structure as T with every tensor replaced by its gradient. */
export type GradTree<T> = T extends Tensor
  ? Tensor
  : T extends readonly unknown[]
    ? { [K in keyof T]: GradTree<T[K]> }
    : T extends object
      ? { [K in keyof T]: GradTree<T[K]> }
      : never;

/** How many grad/valueAndGrad/vjp calls are active: backward passes record nodes only when nested. */
let depth = 0;

/**
 * A fresh tensor for `x` that autodiff differentiates with respect to. When `x` itself depends on
 * an outer variable, the alias is a recorded identity, so outer transforms see through it.
 */
export function differentiableAlias(x: Tensor, op: string): Tensor {
  if (!isFloat(x.dtype))
    fail(op, `can only differentiate with respect to float tensors, got ${x.dtype} ${fmtShape(x.shape)}`);
  if (x.requiresGrad) return withGrad(() => runPrimitive('reshape', [x], { shape: [...x.shape] }, x.shape, x.dtype));
  const s = x.storageRef();
  s.refs++;
  const alias = tensorFromStorage(s, x.shape, x.dtype);
  alias.markRequiresGrad();
  return alias;
}

export interface GradOptions {
  /** Which positional arguments to differentiate with respect to (default 0). */
  argnums?: number | readonly number[];
  /** `f` returns `[scalar, aux]`; aux is passed through undifferentiated. */
  hasAux?: boolean;
}

type Args = readonly unknown[];

function runGrad(f: (...args: never[]) => unknown, opts: GradOptions, args: Args, op: string) {
  const argnums = opts.argnums ?? 0;
  const nums = typeof argnums === 'number' ? [argnums] : [...argnums];
  for (const n of nums) {
    if (!Number.isInteger(n) || n < 0 || n >= args.length)
      fail(op, `argnums ${n} is out of range for ${args.length} arguments`);
  }
  depth++;
  const outer = depth > 1;
  const body = () => {
    const callArgs = [...args];
    const targets: Tensor[] = [];
    for (const n of nums) {
      callArgs[n] = mapTree(args[n] as Tree, (t) => {
        const a = differentiableAlias(t, op);
        targets.push(a);
        return a;
      });
    }
    const result = withGrad(() => (f as (...a: unknown[]) => unknown)(...callArgs));
    let value: unknown = result;
    let aux: unknown;
    if (opts.hasAux) {
      if (!Array.isArray(result) || result.length !== 2) fail(op, 'with hasAux, f must return [value, aux]');
      [value, aux] = result as [unknown, unknown];
    }
    if (!(value instanceof Tensor) || value.size !== 1 || !isFloat(value.dtype)) {
      fail(
        op,
        `f must return a float tensor with one element, got ${value instanceof Tensor ? `${value.dtype} ${fmtShape(value.shape)}` : typeof value}`,
      );
    }
    const run = outer ? withGrad : noGrad;
    const grads = run(() => {
      const seed = onesLike(value as Tensor);
      return backward(value as Tensor, seed, targets).map((g, i) => g ?? zerosLike(targets[i]!));
    });
    let k = 0;
    const gradTrees = nums.map((n) => mapTree(args[n] as Tree, () => grads[k++]!));
    return { value: value as Tensor, aux, grads: typeof argnums === 'number' ? gradTrees[0] : gradTrees };
  };
  try {
    if (outer) return body();
    // Outermost transform: free every intermediate; the value is returned as a constant. `grad`
    // returns neither the value nor aux, so they are freed too.
    const keepValue = op !== 'grad';
    const r = tidy(() => {
      const o = body();
      return [keepValue ? o.value : null, o.grads, keepValue ? o.aux : undefined] as const;
    });
    r[0]?.setNode(null);
    for (const t of treeLeaves(r[1])) t.setNode(null);
    // aux is returned as constants too (its graph points at freed intermediates).
    for (const t of treeLeaves(r[2])) t.setNode(null);
    return { value: r[0] as Tensor, grads: r[1], aux: r[2] };
  } finally {
    depth--;
  }
}

/**
 * `grad(f)` is a function returning the gradient of the scalar `f` with respect to its first
 * argument (or the arguments named by `argnums`), with the argument's tree structure.
 * Gradients of gradients work to any order: `grad(x => grad(f)(x).sum())`.
 *
 * @example
 * const df = grad((x: Tensor) => x.pow(3).sum());
 * await df(tensor([1, 2])).array(); // [3, 12]
 */
export function grad<A extends unknown[]>(
  f: (...args: A) => Tensor,
  opts: GradOptions = {},
): (...args: A) => GradTree<A[0]> {
  return (...args: A) => runGrad(f as (...a: never[]) => unknown, opts, args, 'grad').grads as GradTree<A[0]>;
}

/** Like `grad`, also returning f's value: `[value, grads]`, or `[[value, aux], grads]` with `hasAux`. */
export function valueAndGrad<A extends unknown[], R = Tensor>(
  f: (...args: A) => R,
  opts: GradOptions = {},
): (...args: A) => [R, GradTree<A[0]>] {
  return (...args: A) => {
    const r = runGrad(f as (...a: never[]) => unknown, opts, args, 'valueAndGrad');
    const value = (opts.hasAux ? [r.value, r.aux] : r.value) as R;
    return [value, r.grads as GradTree<A[0]>];
  };
}

/**
 * Vector-Jacobian product: evaluates `f(...primals)` and returns `[out, vjpFn]`, where
 * `vjpFn(cotangent)` gives the cotangents of every primal. Intermediates stay alive until the
 * caller disposes them (wrap both calls in one `tidy`).
 */
export function vjp<P extends Tensor[]>(
  f: (...primals: P) => Tensor,
  ...primals: P
): [Tensor, (cotangent: Tensor) => Tensor[]] {
  const aliases = primals.map((p) => differentiableAlias(p, 'vjp')) as P;
  depth++;
  let out: Tensor;
  try {
    out = withGrad(() => f(...aliases));
  } finally {
    depth--;
  }
  const vjpFn = (cotangent: Tensor): Tensor[] => {
    const run = depth > 0 ? withGrad : noGrad;
    return run(() => backward(out, cotangent, aliases).map((g, i) => g ?? zerosLike(aliases[i]!)));
  };
  return [out, vjpFn];
}

export { noGrad };
