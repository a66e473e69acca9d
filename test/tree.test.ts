/**
 * Trees of tensors (src/tensor/tree.ts): mapTree over several trees, mismatch errors that name
 * the path, flatten/unflatten round trips, zipTrees, treeLeaves, mixed arrays and objects, and a
 * GAN-style tree of players `{ G, D, sigma }` through valueAndGrad, a pure optimiser step,
 * gradient clipping and a checkpoint. Expected values are derived by hand.
 */
import { describe, expect, it } from 'vitest';
import {
  adam,
  checkpointToBytes,
  clipGradNorm,
  dispose,
  flattenTree,
  functionalCall,
  Generator,
  loadCheckpointBytes,
  mapTree,
  memory,
  mlp,
  type OptimizerState,
  type ParamTree,
  type Tensor,
  TesseraError,
  type Tree,
  tensor,
  tidy,
  treeLeaves,
  unflattenTree,
  valueAndGrad,
  zipTrees,
} from '../src/index.js';

const f64 = (v: number | number[]) => tensor(v, { dtype: 'float64' });
const vals = (t: Tensor) => Array.from(t.dataSync());
const paths = (tree: Tree) => flattenTree(tree).map(([p]) => p);

describe('mapTree', () => {
  it('maps over one tree, keeping its structure (arrays and objects mixed)', () => {
    const tree = { a: f64([1, 2]), list: [f64(3), { deep: f64([4]) }] };
    const out = mapTree(tree, (t) => t.mul(10));
    expect(Object.keys(out)).toEqual(['a', 'list']);
    expect(Array.isArray(out.list)).toBe(true);
    expect(vals(out.a)).toEqual([10, 20]);
    expect(vals(out.list[0] as Tensor)).toEqual([30]);
    expect(vals((out.list[1] as { deep: Tensor }).deep)).toEqual([40]);
    dispose([tree, out]);
  });

  it('passes the leaves of the other trees and the dotted path', () => {
    const p = { w: f64([1, 2]), b: [f64(3)] };
    const g = { w: f64([10, 20]), b: [f64(30)] };
    const m = { w: f64([100, 200]), b: [f64(300)] };
    const seen: string[] = [];
    const out = mapTree(
      p,
      (x, [y, z], path) => {
        seen.push(path);
        return x.add(y!).add(z!);
      },
      g,
      m,
    );
    expect(seen).toEqual(['w', 'b.0']);
    expect(vals(out.w)).toEqual([111, 222]);
    expect(vals(out.b[0]!)).toEqual([333]);
    dispose([p, g, m, out]);
  });

  it('maps a single tensor (the root is a leaf)', () => {
    const x = f64([1, -1]);
    const y = mapTree(x, (t, _o, path) => {
      expect(path).toBe('');
      return t.neg();
    });
    expect(vals(y)).toEqual([-1, 1]);
    dispose([x, y]);
  });

  it('may map leaves to other values (a tree of shapes)', () => {
    const tree = { a: f64([1, 2]), b: [f64(3)] };
    expect(mapTree(tree, (t) => t.size)).toEqual({ a: 2, b: [1] });
    dispose(tree);
  });

  it('fails naming the path where the trees differ', () => {
    const w = f64([1]);
    const D = { layers: [{ weight: w, bias: w }] };
    const expectFail = (other: unknown, pattern: RegExp) => {
      const run = () => mapTree({ D }, (t) => t, other as Tree);
      expect(run).toThrow(TesseraError);
      expect(run).toThrow(pattern);
    };
    expectFail(
      { D: { layers: [{ bias: w }] } },
      /^mapTree: tree 2 has no leaf at 'D\.layers\.0\.weight' \(tree 1 has a tensor there\)$/,
    );
    expectFail(
      { D: { layers: [{ weight: [w], bias: w }] } },
      /tree 2 has no leaf at 'D\.layers\.0\.weight' \(tree 1 has a tensor there, tree 2 has an array of 1\)/,
    );
    expectFail(
      { D: { layers: [{ weight: w, bias: w, extra: w }] } },
      /tree 2 has a tensor \[1\] at 'D\.layers\.0\.extra' \(tree 1 has nothing there\)/,
    );
    expectFail({ D: { layers: [] } }, /tree 2 has an array of 0 at 'D\.layers' \(tree 1 has an array of 1 there\)/);
    expectFail({ D: w }, /tree 2 has a tensor \[1\] at 'D' \(tree 1 has an object there\)/);
    expectFail([], /tree 2 has an array of 0 at <root> \(tree 1 has an object there\)/);
    // The third tree is named as such.
    expect(() => mapTree({ a: w }, (t) => t, { a: w }, { b: w })).toThrow(/tree 3 has a tensor \[1\] at 'b'/);
    w.dispose();
  });

  it('fails on leaves that are neither tensors, arrays nor plain objects', () => {
    const w = f64([1]);
    expect(() => mapTree({ a: { lr: 0.1, w } } as unknown as Tree, (t) => t)).toThrow(
      /mapTree: expected a tensor, an array or a plain object at 'a\.lr', got a number/,
    );
    expect(() => mapTree({ m: new Map() } as unknown as Tree, (t) => t)).toThrow(/at 'm', got a Map/);
    w.dispose();
  });
});

describe('flattenTree / unflattenTree', () => {
  it('flattens depth first in key order with dotted paths', () => {
    const a = f64(1);
    const b = f64(2);
    const c = f64(3);
    const flat = flattenTree({ x: [a, { y: b }], z: c });
    expect(flat.map(([p]) => p)).toEqual(['x.0', 'x.1.y', 'z']);
    expect(flat.map(([, t]) => t)).toEqual([a, b, c]);
    expect(flattenTree(a)).toEqual([['', a]]);
    dispose([a, b, c]);
  });

  it('round-trips object trees, nested trees of trees included', () => {
    const tree: ParamTree = {
      G: { '0': { weight: f64([1, 2]), bias: f64(0) }, '2': { weight: f64([3]) } },
      D: { main: { '1': { weight: f64([4]) } } },
      sigma: f64(0.5),
    };
    const back = unflattenTree(flattenTree(tree));
    expect(back).toEqual(tree);
    expect(paths(back)).toEqual(['G.0.weight', 'G.0.bias', 'G.2.weight', 'D.main.1.weight', 'sigma']);
    // Leaves are the same tensors, not copies.
    expect(treeLeaves(back)).toEqual(treeLeaves(tree));
    dispose(tree);
  });

  it('turns array indices into object keys', () => {
    const a = f64(1);
    expect(unflattenTree(flattenTree([a, [a]]))).toEqual({ '0': a, '1': { '0': a } });
    a.dispose();
  });

  it('builds trees of any leaf type', () => {
    expect(
      unflattenTree([
        ['a.b', 1],
        ['a.c', 2],
        ['d', 3],
      ]),
    ).toEqual({ a: { b: 1, c: 2 }, d: 3 });
  });

  it('rejects paths given twice or running through a leaf', () => {
    expect(() =>
      unflattenTree([
        ['a', 1],
        ['a.b', 2],
      ]),
    ).toThrow(/unflattenTree: path 'a\.b' runs through the leaf at 'a'/);
    expect(() =>
      unflattenTree([
        ['a.b', 1],
        ['a.b', 2],
      ]),
    ).toThrow(/path 'a\.b' is given twice/);
    expect(() =>
      unflattenTree([
        ['a.b', 1],
        ['a', 2],
      ]),
    ).toThrow(/path 'a' is given twice \(or also has entries below it\)/);
  });

  it('names the caller in errors', () => {
    expect(() => flattenTree({ a: null } as unknown as Tree, 'myOp')).toThrow(/^myOp: .* at 'a', got null$/);
  });
});

describe('zipTrees and treeLeaves', () => {
  it('zipTrees lines up the leaves of trees of one structure', () => {
    const a = [f64(1), { b: f64(2) }];
    const g = [f64(10), { b: f64(20) }];
    const zipped = zipTrees(a, g);
    expect(zipped.map(([p]) => p)).toEqual(['0', '1.b']);
    expect(zipped.map(([, ls]) => ls.map((t) => vals(t)[0]))).toEqual([
      [1, 10],
      [2, 20],
    ]);
    expect(() => zipTrees(a, [g[0]!])).toThrow(/zipTrees: tree 2 has an array of 1 at <root>/);
    dispose([a, g]);
  });

  it('treeLeaves finds every tensor in flattenTree order and skips other values', () => {
    const a = f64(1);
    const b = f64(2);
    const c = f64(3);
    expect(treeLeaves({ x: [a, { y: b }], z: c })).toEqual([a, b, c]);
    expect(treeLeaves([a, 3, 'text', null, undefined, new Map([[1, b]]), { c }])).toEqual([a, c]);
    expect(treeLeaves(7)).toEqual([]);
    dispose([a, b, c]);
  });

  it('tidy keeps the tensors of a returned tree of trees', () => {
    const before = memory().numTensors;
    const out = tidy(() => {
      const x = f64([1, 2]);
      return { G: { w: x.mul(2) }, D: [x.add(1)], meta: 'not a tensor' };
    });
    expect(memory().numTensors).toBe(before + 2);
    expect(vals(out.G.w)).toEqual([2, 4]);
    dispose(out);
    expect(memory().numTensors).toBe(before);
  });
});

describe('trees of players: { G, D, sigma }', () => {
  // loss = sigma * sum(wD * wG), so dL/dwG = sigma wD, dL/dwD = sigma wG, dL/dsigma = sum(wD wG).
  const players = () => ({
    G: { w: f64([1, 2]) },
    D: { layers: [{ weight: f64([3, -1]) }] },
    sigma: f64(0.5),
  });
  type Players = ReturnType<typeof players>;
  const loss = (p: Players) => p.D.layers[0]!.weight.mul(p.G.w).sum().mul(p.sigma);

  it('valueAndGrad returns gradients with the same nested structure', () => {
    const p = players();
    const [value, g] = valueAndGrad(loss)(p);
    expect(vals(value)).toEqual([0.5 * (3 - 2)]);
    expect(paths(g)).toEqual(['G.w', 'D.layers.0.weight', 'sigma']);
    expect(vals(g.G.w)).toEqual([1.5, -0.5]);
    expect(vals(g.D.layers[0]!.weight)).toEqual([0.5, 1]);
    expect(vals(g.sigma)).toEqual([1]);
    dispose([p, value, g]);
  });

  it('matches per-player gradients for module parameter trees', () => {
    const rng = new Generator(3);
    const G = mlp([2, 4, 3], { activation: 'tanh', rng, dtype: 'float64' });
    const D = mlp([3, 4, 1], { activation: 'tanh', rng, dtype: 'float64' });
    const z = rng.normal([5, 2], 0, 1, { dtype: 'float64' });
    const sigma = f64(0.7);
    const lossOf = (p: { G: ParamTree; D: ParamTree; sigma: Tensor }) =>
      functionalCall(D, p.D, functionalCall(G, p.G, z).mul(p.sigma))
        .square()
        .mean();
    const params = { G: G.parameters(), D: D.parameters(), sigma };
    const [, g] = valueAndGrad(lossOf)(params);
    expect(paths(g)).toEqual([...paths({ G: params.G }), ...paths({ D: params.D }), 'sigma']);
    const [, gG] = valueAndGrad((q: ParamTree) => lossOf({ ...params, G: q }))(params.G);
    const [, gD] = valueAndGrad((q: ParamTree) => lossOf({ ...params, D: q }))(params.D);
    for (const [path, [a, b]] of zipTrees({ G: g.G, D: g.D }, { G: gG, D: gD }) as [string, [Tensor, Tensor]][]) {
      expect(vals(a), path).toEqual(vals(b));
    }
    dispose([g, gG, gD, z, sigma]);
    G.dispose();
    D.dispose();
  });

  it('a pure Adam step, clipping and a checkpoint take the whole tree', async () => {
    const p = players();
    const [value, g] = valueAndGrad(loss)(p);
    const hyper = { lr: 0.1 };
    const state = adam.init(p, hyper);
    const clipped = clipGradNorm(g, 1);
    const next = adam.step(p, clipped.grads, state, hyper);
    expect(paths(next.params)).toEqual(paths(p));
    expect(paths(next.state.slots.m!)).toEqual(paths(p));
    // Adam's first step moves every entry by lr (up to eps) against the sign of its gradient.
    const close = (t: Tensor, want: number[]) => {
      for (const [i, v] of vals(t).entries()) expect(v).toBeCloseTo(want[i]!, 6);
    };
    close(next.params.G.w, [0.9, 2.1]);
    close(next.params.D.layers[0]!.weight, [2.9, -1.1]);
    close(next.params.sigma, [0.4]);

    // A checkpoint of the pure optimiser state, loaded into a second holder: same paths, same
    // values, and the loaded slots keep the arrays of the tree.
    let saved: OptimizerState<Tree> = next.state;
    let loaded: OptimizerState<Tree> = adam.init(p, hyper);
    const from = { getState: () => saved, setState: (s: OptimizerState<Tree>) => void (saved = s) };
    const into = { getState: () => loaded, setState: (s: OptimizerState<Tree>) => void (loaded = s) };
    const fresh = loaded;
    loadCheckpointBytes(await checkpointToBytes({ optimizers: { adam: from } }), { optimizers: { adam: into } });
    expect(loaded.step).toBe(1);
    expect(Array.isArray((loaded.slots.v as Players).D.layers)).toBe(true);
    for (const [path, [x, y]] of zipTrees(saved.slots, loaded.slots) as [string, [Tensor, Tensor]][]) {
      expect(vals(y), path).toEqual(vals(x));
    }
    dispose([p, value, g, state, clipped, next, fresh, loaded]);
  });
});
