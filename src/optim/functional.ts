/**
 * Optimiser steps as pure, differentiable functions:
 *   step(params, grads, state, hyper) -> { params, state }
 * written only with the library's differentiable ops (no detach), so a caller can differentiate
 * through K steps (unrolled GANs replay Adam this way) with respect to the initial parameters,
 * the gradients' inputs, or a learning rate given as a tensor. Formulas follow the algorithm
 * boxes of the PyTorch docs (torch.optim.*), which the stateful classes wrap.
 */
import { fail } from '../errors.js';
import { add, div, gt, maximum, mul, sqrt, square, sub, where, zerosLike } from '../tensor/ops/index.js';
import { Tensor } from '../tensor/tensor.js';
import { mapTree, type Tree } from '../tensor/tree.js';
import { fusedAdamLeaf } from './fused.js';

/** A hyperparameter that may be a number or (for differentiating with respect to it) a tensor. */
export type Scalar = number | Tensor;

/** Optimiser state: the number of steps taken so far and named slot trees shaped like the parameters. */
export interface OptimizerState<T = Tree> {
  step: number;
  slots: { [slot: string]: T };
}

export interface StepResult<T> {
  params: T;
  state: OptimizerState<T>;
}

/** A pure optimiser: `init` makes the zero state, `step` applies one update. */
export interface PureOptimizer<H> {
  readonly name: string;
  /** The slot names `init` creates for these hyperparameters. */
  slotNames(hyper: H): string[];
  init<T extends Tree>(params: T, hyper: H): OptimizerState<T>;
  step<T extends Tree>(params: T, grads: T, state: OptimizerState<T>, hyper: H): StepResult<T>;
}

/**
 * sqrt whose gradient is 0 (not NaN) where x = 0; the same values as sqrt for x >= 0 (0 for
 * negative x). Only used when x is being differentiated, so plain updates stay one kernel.
 */
export function safeSqrt(x: Tensor): Tensor {
  if (!x.requiresGrad) return sqrt(x);
  const pos = gt(x, 0);
  return where(pos, sqrt(where(pos, x, 1)), 0);
}

function checkLr(op: string, lr: Scalar): void {
  if (typeof lr === 'number') {
    if (!(lr >= 0) || !Number.isFinite(lr)) fail(op, `lr must be a non-negative finite number, got ${lr}`);
  } else if (!(lr instanceof Tensor) || lr.size !== 1) {
    fail(op, 'lr must be a number or a one-element float tensor');
  }
}

function inUnit(op: string, name: string, v: number, closedTop = false): void {
  if (!(v >= 0 && (closedTop ? v <= 1 : v < 1))) fail(op, `${name} must be in [0, 1${closedTop ? ']' : ')'}, got ${v}`);
}

function nonNeg(op: string, name: string, v: number): void {
  if (!(v >= 0) || !Number.isFinite(v)) fail(op, `${name} must be a non-negative finite number, got ${v}`);
}

/** lr * x, where lr may be a tensor of any shape with one element (reshaped to broadcast). */
function scale(lr: Scalar, x: Tensor): Tensor {
  if (typeof lr === 'number') return mul(x, lr);
  return mul(x, lr.rank === 0 ? lr : lr.reshape([]));
}

/**
 * Applies `f` to every leaf of params with the matching grads and slot leaves; returns the new
 * parameter tree and slot trees.
 */
function perLeaf<T extends Tree>(
  op: string,
  params: T,
  grads: T,
  slots: { [k: string]: T },
  names: readonly string[],
  f: (p: Tensor, g: Tensor, s: Record<string, Tensor>) => { p: Tensor; s: Record<string, Tensor> },
): { params: T; slots: { [k: string]: T } } {
  for (const n of names) if (slots[n] === undefined) fail(op, `state has no slot '${n}'`);
  const results: Record<string, Tensor>[] = [];
  const newParams = mapTree(
    params,
    (p, others, path) => {
      const [g, ...ss] = others as [Tensor, ...Tensor[]];
      if (g.dtype !== p.dtype || g.shape.length !== p.shape.length || g.shape.some((d, i) => d !== p.shape[i]))
        fail(op, `gradient for '${path || '<root>'}' is ${g.dtype} [${g.shape}], parameter is ${p.dtype} [${p.shape}]`);
      const s: Record<string, Tensor> = {};
      names.forEach((n, i) => {
        s[n] = ss[i]!;
      });
      const r = f(p, g, s);
      results.push(r.s);
      return r.p;
    },
    grads,
    ...names.map((n) => slots[n]),
  );
  const newSlots: { [k: string]: T } = {};
  for (const n of names) {
    let i = 0;
    newSlots[n] = mapTree(params, () => results[i++]![n]!);
  }
  return { params: newParams, slots: newSlots };
}

function zerosState<T extends Tree>(params: T, names: readonly string[]): OptimizerState<T> {
  const slots: { [k: string]: T } = {};
  for (const n of names) slots[n] = mapTree(params, (p) => zerosLike(p));
  return { step: 0, slots };
}

function checkStep(op: string, state: OptimizerState<unknown>): void {
  if (!Number.isInteger(state?.step) || state.step < 0)
    fail(op, `state.step must be a non-negative integer, got ${String(state?.step)}`);
}

// ------------------------------------------------------------------ SGD

export interface SgdOptions {
  lr: Scalar;
  /** Momentum factor (default 0). */
  momentum?: number;
  /** Dampening for momentum (default 0). */
  dampening?: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
}

/**
 * SGD as torch.optim.SGD: g += wd p; with momentum, b = g on the first step, else
 * b = mu b + (1 - dampening) g; g = nesterov ? g + mu b : b; p -= lr g.
 */
const sgdSlots = (h: SgdOptions): string[] => ((h.momentum ?? 0) > 0 ? ['momentumBuffer'] : []);

export const sgd: PureOptimizer<SgdOptions> = {
  name: 'sgd',
  slotNames: sgdSlots,
  init(params, h) {
    return zerosState(params, sgdSlots(h));
  },
  step(params, grads, state, h) {
    const op = 'sgd';
    checkLr(op, h.lr);
    checkStep(op, state);
    const mu = h.momentum ?? 0;
    const damp = h.dampening ?? 0;
    const wd = h.weightDecay ?? 0;
    nonNeg(op, 'momentum', mu);
    nonNeg(op, 'weightDecay', wd);
    if (h.nesterov && (mu <= 0 || damp !== 0)) fail(op, 'Nesterov momentum needs momentum > 0 and dampening 0');
    const first = state.step === 0;
    const names = sgdSlots(h);
    const r = perLeaf(op, params, grads, state.slots, names, (p, g0, s) => {
      let g = wd !== 0 ? add(g0, mul(p, wd)) : g0;
      const out: Record<string, Tensor> = {};
      if (mu > 0) {
        const b = first ? g : add(mul(s.momentumBuffer!, mu), damp !== 0 ? mul(g, 1 - damp) : g);
        out.momentumBuffer = b;
        g = h.nesterov ? add(g, mul(b, mu)) : b;
      }
      return { p: sub(p, scale(h.lr, g)), s: out };
    });
    return { params: r.params, state: { step: state.step + 1, slots: r.slots } };
  },
};

// ------------------------------------------------------------------ Adam

export interface AdamOptions {
  lr: Scalar;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** PyTorch-style [beta1, beta2] (an alternative to beta1/beta2). */
  betas?: readonly [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** L2 penalty added to the gradient (torch.optim.Adam), or decoupled decay with `decoupled` (AdamW). Default 0. */
  weightDecay?: number;
  /** AdamW: p *= 1 - lr wd before the Adam update, instead of adding wd p to the gradient. */
  decoupled?: boolean;
  /** Keep the maximum of the second moment (AMSGrad; default false). */
  amsgrad?: boolean;
  /**
   * Where eps goes: 'torch' (default) p -= lr/(1-b1^t) m / (sqrt(v)/sqrt(1-b2^t) + eps);
   * 'tf' (TensorFlow/Keras, as in the unrolled-GAN code) p -= lr sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + eps).
   */
  epsMode?: 'torch' | 'tf';
}

/**
 * Adam (torch.optim.Adam / AdamW): t = step + 1; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * bias-corrected update (see `epsMode`).
 */
const adamSlots = (h: AdamOptions): string[] => (h.amsgrad ? ['m', 'v', 'vmax'] : ['m', 'v']);

export const adam: PureOptimizer<AdamOptions> = {
  name: 'adam',
  slotNames: adamSlots,
  init(params, h) {
    return zerosState(params, adamSlots(h));
  },
  step(params, grads, state, h) {
    const op = 'adam';
    checkLr(op, h.lr);
    checkStep(op, state);
    if (h.betas !== undefined) {
      if (!Array.isArray(h.betas) || h.betas.length !== 2) fail(op, 'betas must be [beta1, beta2]');
      if ((h.beta1 !== undefined && h.beta1 !== h.betas[0]) || (h.beta2 !== undefined && h.beta2 !== h.betas[1]))
        fail(op, `betas [${h.betas}] conflict with beta1 ${h.beta1} / beta2 ${h.beta2}`);
    }
    const b1 = h.beta1 ?? h.betas?.[0] ?? 0.9;
    const b2 = h.beta2 ?? h.betas?.[1] ?? 0.999;
    const eps = h.eps ?? 1e-8;
    const wd = h.weightDecay ?? 0;
    inUnit(op, 'beta1', b1);
    inUnit(op, 'beta2', b2);
    nonNeg(op, 'eps', eps);
    nonNeg(op, 'weightDecay', wd);
    const mode = h.epsMode ?? 'torch';
    if (mode !== 'torch' && mode !== 'tf') fail(op, `epsMode must be 'torch' or 'tf', got '${String(mode)}'`);
    const t = state.step + 1;
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    const lr = h.lr;
    const fusedParams =
      typeof lr === 'number'
        ? {
            beta1: b1,
            beta2: b2,
            bc1,
            bc2,
            eps,
            lr,
            weightDecay: wd,
            decoupled: h.decoupled === true,
            amsgrad: h.amsgrad === true,
            epsMode: mode,
          }
        : undefined;
    const r = perLeaf(op, params, grads, state.slots, adamSlots(h), (p0, g0, s) => {
      // One kernel per parameter where the backend has it and nothing is being differentiated.
      const fused =
        fusedParams && fusedAdamLeaf(h.amsgrad ? [p0, g0, s.m!, s.v!, s.vmax!] : [p0, g0, s.m!, s.v!], fusedParams);
      if (fused) return fused;
      let p = p0;
      let g = g0;
      if (wd !== 0) {
        if (h.decoupled) p = sub(p, mul(scale(h.lr, p), wd));
        else g = add(g, mul(p, wd));
      }
      const m = add(mul(s.m!, b1), mul(g, 1 - b1));
      const v = add(mul(s.v!, b2), mul(square(g), 1 - b2));
      const out: Record<string, Tensor> = { m, v };
      let vv = v;
      if (h.amsgrad) {
        vv = maximum(s.vmax!, v);
        out.vmax = vv;
      }
      // torch: p - (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps); tf: p - lr sqrt(bc2) / bc1 * m / (sqrt(v) + eps).
      const denom = mode === 'torch' ? add(div(safeSqrt(vv), Math.sqrt(bc2)), eps) : add(safeSqrt(vv), eps);
      const ratio = div(m, denom);
      const upd =
        typeof h.lr === 'number'
          ? mul(ratio, mode === 'torch' ? h.lr / bc1 : (h.lr * Math.sqrt(bc2)) / bc1)
          : mul(scale(h.lr, ratio), mode === 'torch' ? 1 / bc1 : Math.sqrt(bc2) / bc1);
      return { p: sub(p, upd), s: out };
    });
    return { params: r.params, state: { step: t, slots: r.slots } };
  },
};

// ------------------------------------------------------------------ RMSprop

export interface RmspropOptions {
  lr: Scalar;
  /** Smoothing constant (default 0.99). */
  alpha?: number;
  /** Default 1e-8. */
  eps?: number;
  /** Default 0. */
  momentum?: number;
  /** Normalise by the estimated variance instead of the raw second moment (default false). */
  centered?: boolean;
  /** Default 0. */
  weightDecay?: number;
}

/**
 * RMSprop as torch.optim.RMSprop: v = a v + (1 - a) g^2; centered: gm = a gm + (1 - a) g and
 * denom = sqrt(v - gm^2) + eps (the difference clamped at 0 against rounding), else sqrt(v) + eps;
 * with momentum b = mu b + g / denom, p -= lr b; otherwise p -= lr g / denom.
 */
const rmspropSlots = (h: RmspropOptions): string[] => [
  'squareAvg',
  ...((h.momentum ?? 0) > 0 ? ['momentumBuffer'] : []),
  ...(h.centered ? ['gradAvg'] : []),
];

export const rmsprop: PureOptimizer<RmspropOptions> = {
  name: 'rmsprop',
  slotNames: rmspropSlots,
  init(params, h) {
    return zerosState(params, rmspropSlots(h));
  },
  step(params, grads, state, h) {
    const op = 'rmsprop';
    checkLr(op, h.lr);
    checkStep(op, state);
    const a = h.alpha ?? 0.99;
    const eps = h.eps ?? 1e-8;
    const mu = h.momentum ?? 0;
    const wd = h.weightDecay ?? 0;
    inUnit(op, 'alpha', a, true);
    nonNeg(op, 'eps', eps);
    nonNeg(op, 'momentum', mu);
    nonNeg(op, 'weightDecay', wd);
    const r = perLeaf(op, params, grads, state.slots, rmspropSlots(h), (p, g0, s) => {
      const g = wd !== 0 ? add(g0, mul(p, wd)) : g0;
      const v = add(mul(s.squareAvg!, a), mul(square(g), 1 - a));
      const out: Record<string, Tensor> = { squareAvg: v };
      let denom: Tensor;
      if (h.centered) {
        const gm = add(mul(s.gradAvg!, a), mul(g, 1 - a));
        out.gradAvg = gm;
        denom = add(safeSqrt(maximum(sub(v, square(gm)), 0)), eps);
      } else {
        denom = add(safeSqrt(v), eps);
      }
      if (mu > 0) {
        const b = add(mul(s.momentumBuffer!, mu), g.div(denom));
        out.momentumBuffer = b;
        return { p: sub(p, scale(h.lr, b)), s: out };
      }
      return { p: sub(p, scale(h.lr, g.div(denom))), s: out };
    });
    return { params: r.params, state: { step: state.step + 1, slots: r.slots } };
  },
};

// ------------------------------------------------------------------ Adadelta

export interface AdadeltaOptions {
  /** Default 1. */
  lr: Scalar;
  /** Default 0.9. */
  rho?: number;
  /** Default 1e-6. */
  eps?: number;
  /** Default 0. */
  weightDecay?: number;
}

/**
 * Adadelta as torch.optim.Adadelta: v = rho v + (1 - rho) g^2;
 * d = sqrt(u + eps) / sqrt(v + eps) g; u = rho u + (1 - rho) d^2; p -= lr d.
 */
const adadeltaSlots = (_h: AdadeltaOptions): string[] => ['squareAvg', 'accDelta'];

export const adadelta: PureOptimizer<AdadeltaOptions> = {
  name: 'adadelta',
  slotNames: adadeltaSlots,
  init(params, h) {
    return zerosState(params, adadeltaSlots(h));
  },
  step(params, grads, state, h) {
    const op = 'adadelta';
    checkLr(op, h.lr);
    checkStep(op, state);
    const rho = h.rho ?? 0.9;
    const eps = h.eps ?? 1e-6;
    const wd = h.weightDecay ?? 0;
    inUnit(op, 'rho', rho, true);
    nonNeg(op, 'eps', eps);
    nonNeg(op, 'weightDecay', wd);
    const r = perLeaf(op, params, grads, state.slots, adadeltaSlots(h), (p, g0, s) => {
      const g = wd !== 0 ? add(g0, mul(p, wd)) : g0;
      const v = add(mul(s.squareAvg!, rho), mul(square(g), 1 - rho));
      const d = mul(safeSqrt(add(s.accDelta!, eps)).div(safeSqrt(add(v, eps))), g);
      const u = add(mul(s.accDelta!, rho), mul(square(d), 1 - rho));
      return { p: sub(p, scale(h.lr, d)), s: { squareAvg: v, accDelta: u } };
    });
    return { params: r.params, state: { step: state.step + 1, slots: r.slots } };
  },
};

/** `adam.step(params, grads, state, hyper)`. */
export const adamStep = <T extends Tree>(params: T, grads: T, state: OptimizerState<T>, h: AdamOptions) =>
  adam.step(params, grads, state, h);
/** `sgd.step(params, grads, state, hyper)`. */
export const sgdStep = <T extends Tree>(params: T, grads: T, state: OptimizerState<T>, h: SgdOptions) =>
  sgd.step(params, grads, state, h);
/** `rmsprop.step(params, grads, state, hyper)`. */
export const rmspropStep = <T extends Tree>(params: T, grads: T, state: OptimizerState<T>, h: RmspropOptions) =>
  rmsprop.step(params, grads, state, h);
/** `adadelta.step(params, grads, state, hyper)`. */
export const adadeltaStep = <T extends Tree>(params: T, grads: T, state: OptimizerState<T>, h: AdadeltaOptions) =>
  adadelta.step(params, grads, state, h);
