// Module, the base of every layer (parameters, buffers, submodules, train/eval), withParameters,
// functionalCall and ParameterDict.
import { fail, fmtShape } from '../errors.js';
import { keep } from '../tensor/engine.js';
import { shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { flattenTree, type ParamTree, unflattenTree } from '../tensor/tree.js';

/** Per-call options every module's `forward` accepts; containers pass them on to their children. */
export interface ForwardOptions {
  /**
   * Which BatchNorm statistics stream to use (default 'default'). Modules with several streams
   * keep separate running statistics per stream and share their affine parameters (MDGAN).
   */
  stream?: string;
  /** In train mode, update BatchNorm running statistics (default true). */
  updateStats?: boolean;
}

function checkName(owner: string, name: string): void {
  if (name === '' || name.includes('.')) fail(owner, `names must be non-empty and contain no '.', got '${name}'`);
}

/**
 * Base class of layers and models. A module owns named parameters (trained), buffers (state
 * such as BatchNorm running statistics; not trained) and child modules, and exposes them as
 * nested trees (`parameters()`, `buffers()`), named like PyTorch's `state_dict` (`'0.weight'`).
 *
 * Two ways to apply a module:
 * - `m.forward(x)` uses the module's own parameters (PyTorch habit);
 * - `functionalCall(m, params, x)` (or `m.call(params, x)`) swaps a parameter tree in for one call,
 *   so `valueAndGrad((p) => loss(functionalCall(m, p, x)))(m.parameters())` differentiates with
 *   respect to the tree (JAX habit). Optimisers then replace the module's parameters.
 *
 * Parameters and buffers are `keep()`-ed: tidy scopes do not free them; `dispose()` does.
 * `setParameters` disposes the tensors it replaces.
 *
 * @example
 * // A custom module: register parameters and children in the constructor, read them in forward
 * // with this.param(...) (so functionalCall can swap them).
 * class Affine extends Module {
 *   readonly inner = this.registerModule('inner', new Linear(4, 4));
 *   constructor() {
 *     super();
 *     this.registerParameter('scale', ones([4]));
 *   }
 *   forward(x: Tensor): Tensor {
 *     return this.inner.forward(x).mul(this.param('scale'));
 *   }
 * }
 */
export abstract class Module {
  readonly #params = new Map<string, Tensor>();
  readonly #buffers = new Map<string, Tensor>();
  readonly #modules = new Map<string, Module>();
  /** Parameters swapped in by `functionalCall` (a stack, so calls may nest). */
  #override: Map<string, Tensor> | null = null;
  #training = true;

  /** Applies the module to one input with its current parameters. */
  abstract forward(x: Tensor, opts?: ForwardOptions): Tensor;

  /** `functionalCall(this, params, x, opts)`. */
  call(params: ParamTree, x: Tensor, opts?: ForwardOptions): Tensor {
    return functionalCall(this, params, x, opts);
  }

  /** A short name for error messages. */
  get name(): string {
    return this.constructor.name;
  }

  // ------------------------------------------------------------------ registration

  /** Adds a trained parameter (kept, owned by the module from now on). */
  protected registerParameter(name: string, t: Tensor): Tensor {
    checkName(this.name, name);
    if (this.#params.has(name) || this.#buffers.has(name) || this.#modules.has(name))
      fail(this.name, `'${name}' is already registered`);
    this.#params.set(name, keep(t));
    return t;
  }

  /** Adds a buffer: state saved in checkpoints but not trained (kept, owned by the module). */
  protected registerBuffer(name: string, t: Tensor): Tensor {
    checkName(this.name, name);
    if (this.#params.has(name) || this.#buffers.has(name) || this.#modules.has(name))
      fail(this.name, `'${name}' is already registered`);
    this.#buffers.set(name, keep(t));
    return t;
  }

  /** Adds a child module under `name`. */
  protected registerModule<M extends Module>(name: string, m: M): M {
    checkName(this.name, name);
    if (!(m instanceof Module)) fail(this.name, `child '${name}' is not a Module`);
    if (this.#params.has(name) || this.#buffers.has(name) || this.#modules.has(name))
      fail(this.name, `'${name}' is already registered`);
    this.#modules.set(name, m);
    return m;
  }

  /** The current value of a parameter of this module (the swapped-in one inside `functionalCall`). */
  protected param(name: string): Tensor {
    const o = this.#override?.get(name);
    if (o !== undefined) return o;
    const t = this.#params.get(name);
    if (t === undefined) return fail(this.name, `no parameter '${name}'`);
    return t;
  }

  protected hasParam(name: string): boolean {
    return this.#params.has(name);
  }

  protected buffer(name: string): Tensor {
    const t = this.#buffers.get(name);
    if (t === undefined) return fail(this.name, `no buffer '${name}'`);
    return t;
  }

  /** Replaces a buffer (kept), disposing the old tensor. */
  protected setBuffer(name: string, t: Tensor): void {
    const old = this.#buffers.get(name);
    if (old === undefined) fail(this.name, `no buffer '${name}'`);
    this.#buffers.set(name, keep(t));
    if (old !== t) old.dispose();
  }

  // ------------------------------------------------------------------ trees

  /** Direct children, in registration order. */
  children(): [string, Module][] {
    return [...this.#modules];
  }

  /** This module and every descendant, with dotted paths ('' for this one), depth first. */
  modules(): [string, Module][] {
    const out: [string, Module][] = [['', this]];
    for (const [n, m] of this.#modules) {
      for (const [p, d] of m.modules()) out.push([p === '' ? n : `${n}.${p}`, d]);
    }
    return out;
  }

  /** Calls `fn` on this module and every descendant. */
  apply(fn: (m: Module, path: string) => void): this {
    for (const [p, m] of this.modules()) fn(m, p);
    return this;
  }

  /** Parameters with dotted names, like PyTorch's `named_parameters()`. */
  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [p, m] of this.modules()) {
      for (const [n, t] of m.#params) out.push([p === '' ? n : `${p}.${n}`, t]);
    }
    return out;
  }

  /** Buffers with dotted names. */
  namedBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [p, m] of this.modules()) {
      for (const [n, t] of m.#buffers) out.push([p === '' ? n : `${p}.${n}`, t]);
    }
    return out;
  }

  /** The parameters as a nested tree (modules without parameters are left out). */
  parameters(): ParamTree {
    return unflattenTree(this.namedParameters());
  }

  /** The buffers as a nested tree. */
  buffers(): ParamTree {
    return unflattenTree(this.namedBuffers());
  }

  /** Parameters and buffers with dotted names, module by module (PyTorch's `state_dict` order). */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [p, m] of this.modules()) {
      for (const [n, t] of [...m.#params, ...m.#buffers]) out.set(p === '' ? n : `${p}.${n}`, t);
    }
    return out;
  }

  /** Total number of parameter elements. */
  numParameters(): number {
    return this.namedParameters().reduce((n, [, t]) => n + t.size, 0);
  }

  /** Finds a descendant by dotted path. */
  getModule(path: string): Module {
    if (path === '') return this;
    let m: Module = this;
    for (const part of path.split('.')) {
      const c = m.#modules.get(part);
      if (c === undefined) return fail(this.name, `no submodule '${path}'`);
      m = c;
    }
    return m;
  }

  /** The parameter at a dotted path (the swapped-in one inside `functionalCall`). */
  getParameter(path: string): Tensor {
    const i = path.lastIndexOf('.');
    const m = this.getModule(i < 0 ? '' : path.slice(0, i));
    const n = path.slice(i + 1);
    if (!m.#params.has(n)) return fail(this.name, `no parameter '${path}'`);
    return m.param(n);
  }

  /**
   * Replaces parameters by those in `tree` (a full or partial tree with this module's paths,
   * same shapes and dtypes). New tensors are kept; the replaced ones are disposed unless
   * `{dispose: false}`. Unknown paths and mis-shaped tensors are errors (all listed at once).
   */
  setParameters(tree: ParamTree, opts: { dispose?: boolean } = {}): void {
    this.#replace('setParameters', tree, 'params', opts.dispose ?? true);
  }

  /** Replaces buffers, like `setParameters`. */
  setBuffers(tree: ParamTree, opts: { dispose?: boolean } = {}): void {
    this.#replace('setBuffers', tree, 'buffers', opts.dispose ?? true);
  }

  #slot(path: string, kind: 'params' | 'buffers'): [Map<string, Tensor>, string] | undefined {
    const i = path.lastIndexOf('.');
    let m: Module = this;
    if (i >= 0) {
      for (const part of path.slice(0, i).split('.')) {
        const c = m.#modules.get(part);
        if (c === undefined) return undefined;
        m = c;
      }
    }
    const map = kind === 'params' ? m.#params : m.#buffers;
    const n = path.slice(i + 1);
    return map.has(n) ? [map, n] : undefined;
  }

  #replace(op: string, tree: ParamTree, kind: 'params' | 'buffers', disposeOld: boolean): void {
    const entries = flattenTree(tree, op);
    const problems: string[] = [];
    const slots: [Map<string, Tensor>, string, Tensor][] = [];
    for (const [p, t] of entries) {
      const s = this.#slot(p, kind);
      if (s === undefined) {
        problems.push(`unknown ${kind === 'params' ? 'parameter' : 'buffer'} '${p}'`);
        continue;
      }
      const old = s[0].get(s[1])!;
      if (!shapesEqual(old.shape, t.shape) || old.dtype !== t.dtype) {
        problems.push(`'${p}' is ${t.dtype} ${fmtShape(t.shape)}, expected ${old.dtype} ${fmtShape(old.shape)}`);
        continue;
      }
      t.assertAlive(op);
      slots.push([s[0], s[1], t]);
    }
    if (problems.length > 0) fail(`${this.name}.${op}`, problems.join('; '));
    const incoming = new Set(slots.map((s) => s[2]));
    for (const [map, n, t] of slots) {
      const old = map.get(n)!;
      map.set(n, keep(t));
      if (disposeOld && !incoming.has(old)) old.dispose();
    }
  }

  // ------------------------------------------------------------------ modes

  get training(): boolean {
    return this.#training;
  }

  /** Sets train mode (or eval mode with `false`) on this module and every descendant. */
  train(on = true): this {
    for (const [, m] of this.modules()) m.#training = on;
    return this;
  }

  /** Eval mode: BatchNorm uses running statistics, Dropout is the identity. */
  eval(): this {
    return this.train(false);
  }

  /** Frees every parameter and buffer of this module and its descendants. */
  dispose(): void {
    for (const [, m] of this.modules()) {
      for (const t of m.#params.values()) t.dispose();
      for (const t of m.#buffers.values()) t.dispose();
    }
  }

  /** @internal Used by `withParameters`. */
  static swapIn(root: Module, tree: ParamTree, op: string): () => void {
    const entries = flattenTree(tree, op);
    const problems: string[] = [];
    const byModule = new Map<Module, Map<string, Tensor>>();
    for (const [p, t] of entries) {
      const i = p.lastIndexOf('.');
      let m: Module | undefined = root;
      if (i >= 0) {
        for (const part of p.slice(0, i).split('.')) {
          m = m.#modules.get(part);
          if (m === undefined) break;
        }
      }
      const n = p.slice(i + 1);
      const own = m === undefined ? undefined : m.#params.get(n);
      if (m === undefined || own === undefined) {
        problems.push(`unknown parameter '${p}'`);
        continue;
      }
      if (!shapesEqual(own.shape, t.shape)) {
        problems.push(`'${p}' has shape ${fmtShape(t.shape)}, expected ${fmtShape(own.shape)}`);
        continue;
      }
      let o = byModule.get(m);
      if (o === undefined) {
        o = new Map(m.#override ?? []);
        byModule.set(m, o);
      }
      o.set(n, t);
    }
    if (problems.length > 0) fail(op, `${root.name}: ${problems.join('; ')}`);
    const saved: [Module, Map<string, Tensor> | null][] = [];
    for (const [m, o] of byModule) {
      saved.push([m, m.#override]);
      m.#override = o;
    }
    return () => {
      for (const [m, o] of saved) m.#override = o;
    };
  }
}

/**
 * Runs `fn` with `params` (a full or partial parameter tree of `module`) in place of the
 * module's own parameters; parameters the tree leaves out keep their own values. Calls nest.
 */
export function withParameters<T>(module: Module, params: ParamTree, fn: () => T): T {
  const restore = Module.swapIn(module, params, 'functionalCall');
  try {
    return fn();
  } finally {
    restore();
  }
}

/**
 * Applies `module` to `x` with the parameter tree `params` swapped in for this call only: the
 * functional form that `grad`/`valueAndGrad` differentiate through.
 *
 * @example
 * const [loss, g] = valueAndGrad((p: ParamTree) => mseLoss(functionalCall(net, p, x), y))(net.parameters());
 */
export function functionalCall(module: Module, params: ParamTree, x: Tensor, opts?: ForwardOptions): Tensor {
  if (!(x instanceof Tensor)) fail('functionalCall', `input must be a tensor, got ${typeof x}`);
  return withParameters(module, params, () => module.forward(x, opts));
}

/**
 * A module holding a bare tree of parameters (e.g. PresGAN's noise scale rho), so optimisers,
 * `functionalCall`/`withParameters` and checkpoints treat it like any other module.
 * Nested objects become child modules.
 */
export class ParameterDict extends Module {
  constructor(tree: ParamTree) {
    super();
    for (const [k, v] of Object.entries(tree)) {
      if (v instanceof Tensor) this.registerParameter(k, v);
      else this.registerModule(k, new ParameterDict(v));
    }
  }

  /** The current value of a parameter by dotted path. */
  get(path: string): Tensor {
    return this.getParameter(path);
  }

  forward(_x: Tensor): Tensor {
    return fail('ParameterDict', 'has no forward; read its tensors with get(name)');
  }
}
