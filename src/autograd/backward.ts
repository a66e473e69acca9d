// Reverse mode: walks the recorded graph from an output back to the targets and accumulates
// their cotangents.
import { fail, fmtShape } from '../errors.js';
import { add } from '../tensor/ops/index.js';
import { profiling } from '../tensor/profiling.js';
import type { Tensor } from '../tensor/tensor.js';
import { applyRule } from './rules.js';

/** Tensors reachable backwards from `output` through recorded nodes, inputs before outputs. */
function topoOrder(output: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS (graphs of long training-step chains would overflow the JS stack recursively).
  const stack: [Tensor, number][] = [[output, 0]];
  seen.add(output);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const child = inputs[i]!;
      if (!seen.has(child) && child.requiresGrad) {
        seen.add(child);
        stack.push([child, 0]);
      }
    } else {
      order.push(t);
      stack.pop();
    }
  }
  return order;
}

/**
 * Reverse mode: cotangents of `targets` given the cotangent `seed` of `output`. Only nodes on a
 * path from a target to the output are visited; gradients of shared inputs accumulate.
 * Returns null for a target the output does not depend on.
 */
export function backward(output: Tensor, seed: Tensor, targets: readonly Tensor[]): (Tensor | null)[] {
  // While a profile runs (src/profile/), the walk is a 'backward' phase: its time outside kernels is autodiff's.
  const sink = profiling.sink;
  if (sink !== undefined) return sink.phase('backward', () => walkBackward(output, seed, targets));
  return walkBackward(output, seed, targets);
}

function walkBackward(output: Tensor, seed: Tensor, targets: readonly Tensor[]): (Tensor | null)[] {
  if (!(seed.shape.length === output.shape.length && seed.shape.every((d, i) => d === output.shape[i]))) {
    fail(
      'backward',
      `cotangent of shape ${fmtShape(seed.shape)} does not match output of shape ${fmtShape(output.shape)}`,
    );
  }
  const order = topoOrder(output);
  const targetSet = new Set(targets);
  // A tensor "depends" on a target if a path of recorded nodes leads from the target to it.
  const depends = new Set<Tensor>();
  for (const t of order) {
    if (targetSet.has(t) || (t.node?.inputs.some((x) => depends.has(x)) ?? false)) depends.add(t);
  }
  const cot = new Map<Tensor, Tensor>();
  if (depends.has(output)) cot.set(output, seed);
  for (let k = order.length - 1; k >= 0; k--) {
    const t = order[k]!;
    const node = t.node;
    const g = cot.get(t);
    if (node === null || g === undefined || targetSet.has(t)) continue;
    const needs = node.inputs.map((x) => depends.has(x));
    if (!needs.some(Boolean)) continue;
    for (const x of node.inputs) x.assertAlive(`backward through ${node.prim}`);
    const grads = applyRule(node.prim, { inputs: node.inputs, output: t, params: node.params, needs }, g);
    node.inputs.forEach((x, i) => {
      const gi = grads[i];
      if (gi === null || gi === undefined || !needs[i]) return;
      const prev = cot.get(x);
      cot.set(x, prev === undefined ? gi : add(prev, gi));
    });
  }
  return targets.map((t) => cot.get(t) ?? null);
}
