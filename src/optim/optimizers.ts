// The stateful optimisers (SGD, Adam, AdamW, RMSprop, Adadelta): thin wrappers over the pure steps
// that update a module.
import { fail, fmtShape } from '../errors.js';
import type { Module } from '../nn/module.js';
import { keep, noGrad, tidy } from '../tensor/engine.js';
import { stopGradient, zerosLike } from '../tensor/ops/index.js';
import { Tensor } from '../tensor/tensor.js';
import { flattenTree, mapTree, type ParamTree, unflattenTree } from '../tensor/tree.js';
import {
  type AdadeltaOptions,
  type AdamOptions,
  adadelta,
  adam,
  type OptimizerState,
  type PureOptimizer,
  type RmspropOptions,
  rmsprop,
  type SgdOptions,
  sgd,
} from './functional.js';
import type { Schedule } from './schedules.js';

/** A learning rate for the stateful optimisers: a number or a schedule of the step count. */
export type LearningRate = number | Schedule;

/** Hyperparameters of a stateful optimiser: those of its pure step, with `lr` a number or a schedule. */
export type OptimizerOptions<H extends { lr: unknown }> = Omit<H, 'lr'> & { lr?: LearningRate };

type Flat = Record<string, Tensor>;

/**
 * A stateful optimiser for a module: a thin wrapper over a pure step function. `step(grads)` runs
 * the pure step under `noGrad` in a `tidy`, keeps the new parameters and state, writes the
 * parameters into the module (disposing the old ones) and disposes the old state.
 *
 * `grads` has the structure of `module.parameters()` (as `valueAndGrad` returns it), or is a part
 * of it: parameters without a gradient are left alone (their state too).
 */
export class Optimizer<H extends { lr: unknown }> {
  readonly module: Module;
  readonly impl: PureOptimizer<H>;
  /** Hyperparameters; may be changed between steps (e.g. `opt.options.lr = 1e-4`). */
  readonly options: OptimizerOptions<H>;
  #step = 0;
  /** slot name -> parameter path -> tensor. */
  #slots = new Map<string, Map<string, Tensor>>();

  constructor(module: Module, impl: PureOptimizer<H>, options: OptimizerOptions<H>, defaultLr: number) {
    this.module = module;
    this.impl = impl;
    this.options = { ...options, lr: options.lr ?? defaultLr };
    const lr = this.options.lr;
    if (typeof lr !== 'function' && !(typeof lr === 'number' && lr >= 0))
      fail(impl.name, `lr must be a non-negative number or a schedule function, got ${String(lr)}`);
    const params = Object.fromEntries(module.namedParameters());
    const st = noGrad(() => tidy(() => impl.init(params as Flat, this.#hyper(0))));
    for (const [name, tree] of Object.entries(st.slots)) {
      const m = new Map<string, Tensor>();
      for (const [p, t] of Object.entries(tree as Flat)) m.set(p, keep(t));
      this.#slots.set(name, m);
    }
  }

  /** Steps taken so far. */
  get stepCount(): number {
    return this.#step;
  }

  /** The learning rate the next step will use. */
  get lr(): number {
    const lr = this.options.lr ?? 0;
    return typeof lr === 'function' ? lr(this.#step) : lr;
  }

  /**
   * The hyperparameters the next step will use, with the learning rate resolved: pass them with
   * `getState()` to the pure step (`adam.step(params, grads, opt.getState(), opt.hyperparameters())`)
   * to replay this optimiser differentiably (unrolled GANs).
   */
  hyperparameters(): H {
    return this.#hyper(this.#step);
  }

  #hyper(step: number): H {
    const lr = this.options.lr ?? 0;
    return { ...this.options, lr: typeof lr === 'function' ? lr(step) : lr } as unknown as H;
  }

  /** Applies one update with these gradients. */
  step(grads: ParamTree): void {
    const op = `${this.impl.name}.step`;
    const g = flattenTree(grads, op);
    const problems: string[] = [];
    const params: Flat = {};
    const grad: Flat = {};
    const own = new Map(this.module.namedParameters());
    for (const [p, t] of g) {
      const q = own.get(p);
      if (q === undefined) problems.push(`gradient for unknown parameter '${p}'`);
      else if (q.shape.length !== t.shape.length || q.shape.some((d, i) => d !== t.shape[i]) || q.dtype !== t.dtype)
        problems.push(
          `gradient '${p}' is ${t.dtype} ${fmtShape(t.shape)}, parameter is ${q.dtype} ${fmtShape(q.shape)}`,
        );
      else {
        params[p] = q;
        grad[p] = t;
      }
    }
    if (problems.length > 0) fail(op, problems.join('; '));
    const slots: Record<string, Flat> = {};
    for (const [name, m] of this.#slots) {
      slots[name] = {};
      for (const p of Object.keys(params)) slots[name][p] = m.get(p)!;
    }
    const hyper = this.#hyper(this.#step);
    const out = noGrad(() => tidy(() => this.impl.step(params, grad, { step: this.#step, slots }, hyper)));
    // A pure step may return an input gradient itself (SGD's first momentum buffer is g): the
    // caller owns the gradients, so such outputs become separate tensors sharing the storage.
    const inputs = new Set(Object.values(grad));
    const adopt = (t: Tensor): Tensor => keep(inputs.has(t) ? stopGradient(t) : t);
    const newParams = mapTree(out.params, adopt);
    const newSlots = mapTree(out.state.slots, adopt);
    this.module.setParameters(unflattenTree(Object.entries(newParams)));
    for (const [name, tree] of Object.entries(newSlots)) {
      const m = this.#slots.get(name)!;
      for (const [p, t] of Object.entries(tree)) {
        const old = m.get(p);
        m.set(p, t);
        if (old !== undefined && old !== t) old.dispose();
      }
    }
    this.#step = out.state.step;
  }

  /**
   * The state as trees shaped like `module.parameters()`: the live tensors (not copies; they stay
   * owned by the optimiser). `adam.step(params, grads, opt.getState(), hyper)` continues from it.
   */
  getState(): OptimizerState<ParamTree> {
    const slots: Record<string, ParamTree> = {};
    for (const [name, m] of this.#slots) slots[name] = unflattenTree(m);
    return { step: this.#step, slots };
  }

  /**
   * Replaces the state (for checkpoints). Tensors are taken over (kept; the old ones disposed).
   * Every slot must cover every parameter with its shape; all problems are listed at once.
   */
  setState(state: OptimizerState<ParamTree>): void {
    const op = `${this.impl.name}.setState`;
    if (!Number.isInteger(state?.step) || state.step < 0)
      fail(op, `step must be a non-negative integer, got ${String(state?.step)}`);
    const own = this.module.namedParameters();
    const problems: string[] = [];
    const next = new Map<string, Map<string, Tensor>>();
    const names = [...this.#slots.keys()];
    for (const n of Object.keys(state.slots ?? {}))
      if (!this.#slots.has(n)) problems.push(`unexpected slot '${n}' (expected ${names.join(', ')})`);
    for (const n of names) {
      const tree = state.slots?.[n];
      if (tree === undefined) {
        problems.push(`missing slot '${n}'`);
        continue;
      }
      const flat = new Map(flattenTree(tree, op));
      const m = new Map<string, Tensor>();
      for (const [p, t] of own) {
        const s = flat.get(p);
        if (s === undefined) problems.push(`missing '${n}.${p}' ${fmtShape(t.shape)}`);
        else if (!(s instanceof Tensor) || s.shape.some((d, i) => d !== t.shape[i]) || s.rank !== t.rank)
          problems.push(`'${n}.${p}' has shape ${fmtShape(s.shape)}, expected ${fmtShape(t.shape)}`);
        else m.set(p, s);
        flat.delete(p);
      }
      for (const p of flat.keys()) problems.push(`unexpected '${n}.${p}'`);
      next.set(n, m);
    }
    if (problems.length > 0) fail(op, problems.join('; '));
    const incoming = new Set<Tensor>();
    for (const m of next.values()) for (const t of m.values()) incoming.add(keep(t));
    for (const m of this.#slots.values()) for (const t of m.values()) if (!incoming.has(t)) t.dispose();
    this.#slots = next;
    this.#step = state.step;
  }

  /** Zeroes the state and the step count. */
  reset(): void {
    const fresh: Record<string, ParamTree> = {};
    noGrad(() =>
      tidy(() => {
        for (const [n, m] of this.#slots) {
          fresh[n] = unflattenTree([...m].map(([p, t]) => [p, keep(zerosLike(t))] as const));
        }
      }),
    );
    this.setState({ step: 0, slots: fresh });
  }

  /** Frees the state tensors (not the module's parameters). */
  dispose(): void {
    for (const m of this.#slots.values()) for (const t of m.values()) t.dispose();
  }
}

/** Stochastic gradient descent (torch.optim.SGD); lr defaults to 1e-3. */
export class SGD extends Optimizer<SgdOptions> {
  constructor(module: Module, options: OptimizerOptions<SgdOptions> = {}) {
    super(module, sgd, options, 1e-3);
  }
}

/** Adam (torch.optim.Adam): lr 1e-3, betas (0.9, 0.999), eps 1e-8 by default. */
export class Adam extends Optimizer<AdamOptions> {
  constructor(module: Module, options: OptimizerOptions<AdamOptions> = {}) {
    super(module, adam, options, 1e-3);
  }
}

/** AdamW (torch.optim.AdamW): Adam with decoupled weight decay, 0.01 by default. */
export class AdamW extends Optimizer<AdamOptions> {
  constructor(module: Module, options: OptimizerOptions<AdamOptions> = {}) {
    super(module, adam, { weightDecay: 0.01, ...options, decoupled: true }, 1e-3);
  }
}

/** RMSprop (torch.optim.RMSprop): lr 1e-2, alpha 0.99, eps 1e-8 by default. */
export class RMSprop extends Optimizer<RmspropOptions> {
  constructor(module: Module, options: OptimizerOptions<RmspropOptions> = {}) {
    super(module, rmsprop, options, 1e-2);
  }
}

/** Adadelta (torch.optim.Adadelta): lr 1, rho 0.9, eps 1e-6 by default. */
export class Adadelta extends Optimizer<AdadeltaOptions> {
  constructor(module: Module, options: OptimizerOptions<AdadeltaOptions> = {}) {
    super(module, adadelta, options, 1);
  }
}
