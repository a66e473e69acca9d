// Resolving an objective's hyperparameters: the paper's defaults, the data kind's preset, then
// user overrides given as dotted `key=value` pairs (`--set optimizers.G.lr=1e-4`), type-checked.

import { fail } from '../errors.js';
import type { Module } from '../nn/module.js';
import { Adadelta, Adam, type Optimizer, RMSprop, SGD } from '../optim/optimizers.js';
import type { BaseHyper, DataInfo, Objective, OptimizerSpec } from './objective.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isRecord(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

/** A deep copy with `patch`'s leaves written over `base`'s (arrays are replaced whole). */
export function deepMerge<T>(base: T, patch: unknown): T {
  if (!isRecord(base) || !isRecord(patch)) return structuredClone(patch === undefined ? base : patch) as T;
  const out: Record<string, unknown> = structuredClone(base) as Record<string, unknown>;
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    out[k] = isRecord(out[k]) && isRecord(v) ? deepMerge(out[k], v) : structuredClone(v);
  }
  return out as T;
}

/** Adam as an optimiser spec: betas (beta1, beta2), by default DCGAN's (0.5, 0.999). */
export function adamSpec(lr: number, beta1 = 0.5, beta2 = 0.999): OptimizerSpec {
  return { kind: 'adam', lr, betas: [beta1, beta2] };
}

/** Parses a `--set` value: a number, `true`/`false`, a JSON array/object, else the string itself. */
export function parseSetValue(raw: string): Json {
  const s = raw.trim();
  if (s === 'true' || s === 'false') return s === 'true';
  if (s !== '' && Number.isFinite(Number(s))) return Number(s);
  if (s.startsWith('[') || s.startsWith('{')) {
    try {
      return JSON.parse(s) as Json;
    } catch {
      return fail('--set', `could not parse '${raw}' as JSON`);
    }
  }
  return s;
}

/**
 * Writes `key=value` overrides into a copy of `hyper`. Keys are dotted paths that must exist in
 * `hyper` (`lambda`, `optimizers.G.lr`, `net.hidden`), except under `optimizers.<player>` where
 * optional fields (`betas`, `eps`, ...) may be added; the value must have the existing type.
 */
export function applyOverrides<H>(op: string, hyper: H, set: Readonly<Record<string, unknown>>): H {
  const out = structuredClone(hyper) as Record<string, unknown>;
  for (const [key, value] of Object.entries(set)) {
    const parts = key.split('.');
    let node: Record<string, unknown> = out;
    for (let i = 0; i < parts.length - 1; i++) {
      const next = node[parts[i]!];
      if (!isRecord(next)) fail(op, `unknown setting '${key}' (no group '${parts.slice(0, i + 1).join('.')}')`);
      node = next;
    }
    const leaf = parts[parts.length - 1]!;
    const optional = parts[0] === 'optimizers' && parts.length === 3;
    if (!(leaf in node) && !optional) {
      const known = Object.keys(node).join(', ');
      fail(op, `unknown setting '${key}'; settings here: ${known}`);
    }
    const old = node[leaf];
    if (old !== undefined && old !== null && typeof old !== typeof value) {
      fail(op, `setting '${key}' must be a ${typeof old}, got ${JSON.stringify(value)}`);
    }
    node[leaf] = structuredClone(value);
  }
  return out as H;
}

/** Defaults, then the data kind's preset, then overrides; validated. */
export function resolveHyper<H extends BaseHyper>(
  objective: Objective<H>,
  data: DataInfo,
  overrides: Readonly<Record<string, unknown>> = {},
): H {
  const op = `train ${objective.name}`;
  const preset = objective.presets?.[data.kind];
  const hyper = applyOverrides(op, deepMerge(objective.defaults, preset), overrides);
  for (const k of ['batchSize', 'latentDim', 'steps'] as const) {
    if (!Number.isInteger(hyper[k]) || hyper[k] < 1) fail(op, `${k} must be a positive integer, got ${hyper[k]}`);
  }
  for (const p of objective.players) {
    const spec = hyper.optimizers[p];
    if (spec === undefined) fail(op, `no optimiser for player '${p}' (optimizers.${p})`);
    checkOptimizerSpec(`${op}: optimizers.${p}`, spec);
  }
  objective.validate?.(hyper, data);
  return hyper;
}

function checkOptimizerSpec(op: string, s: OptimizerSpec): void {
  const kinds = ['adam', 'rmsprop', 'sgd', 'adadelta'];
  if (!kinds.includes(s.kind)) fail(op, `kind must be one of ${kinds.join(', ')}, got '${String(s.kind)}'`);
  if (!(Number.isFinite(s.lr) && s.lr >= 0)) fail(op, `lr must be a non-negative number, got ${s.lr}`);
  if (
    s.betas !== undefined &&
    !(Array.isArray(s.betas) && s.betas.length === 2 && s.betas.every((b) => b >= 0 && b < 1))
  )
    fail(op, `betas must be two numbers in [0, 1), got ${JSON.stringify(s.betas)}`);
}

/** The stateful optimiser a spec describes, for one player's module. */
export function makeOptimizer(module: Module, s: OptimizerSpec): Optimizer<{ lr: unknown }> {
  const common = { lr: s.lr, ...(s.eps !== undefined ? { eps: s.eps } : {}), weightDecay: s.weightDecay ?? 0 };
  switch (s.kind) {
    case 'adam':
      return new Adam(module, { ...common, ...(s.betas ? { betas: s.betas } : {}) }) as Optimizer<{ lr: unknown }>;
    case 'rmsprop':
      return new RMSprop(module, {
        ...common,
        ...(s.alpha !== undefined ? { alpha: s.alpha } : {}),
        momentum: s.momentum ?? 0,
      }) as Optimizer<{ lr: unknown }>;
    case 'sgd':
      return new SGD(module, { ...common, momentum: s.momentum ?? 0 }) as Optimizer<{ lr: unknown }>;
    case 'adadelta':
      return new Adadelta(module, common) as Optimizer<{ lr: unknown }>;
    default:
      return fail('makeOptimizer', `unknown optimiser kind '${String(s.kind)}'`);
  }
}
