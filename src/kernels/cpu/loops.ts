/**
 * Broadcasting elementwise loops for the CPU backend, generated per access pattern.
 *
 * Why generated: a single loop `out[i] = f(a[i], b[i])` shared by every op and dtype makes V8's
 * call site megamorphic, so `f` is never inlined and each element costs a full call (measured
 * about 20 ns per element against under 1 ns for a monomorphic loop). Each (op, pattern) key gets
 * its own function from `new Function`, so its call site sees one `f` and V8 inlines it. Where
 * `new Function` is forbidden (a strict Content-Security-Policy page), the same loops run as
 * ordinary closures: same results, slower.
 *
 * Why coalesced: broadcasting is reduced to at most two loop levels per call (after merging
 * adjacent axes that every operand walks contiguously), so the common cases (equal shapes, a
 * scalar, a bias row `[m, n] + [n]`, a column `[m, n] * [m, 1]`) never build per-element offset
 * tables; only broadcasts that stay above rank 2 after merging walk an offset table of rows.
 */
import { sizeOf, stridesOf } from '../../tensor/shape.js';
import type { Arr } from './util.js';
import { stridedOffsets } from './util.js';

/** An n-ary scalar function (1 to 3 arguments). */
export type ScalarFn = (...args: number[]) => number;

/** A plan: out = rows x cols, operand k reads data[base_k + r * rowStride_k + c * colStride_k]. */
interface Plan {
  /** Leading (outer) shape above the two loop levels, and each operand's strides on it. */
  readonly outer: readonly number[];
  readonly outerStrides: readonly (readonly number[])[];
  readonly rows: number;
  readonly cols: number;
  readonly rowStrides: readonly number[];
  /** Each operand's column stride: 1 (walks) or 0 (repeats). */
  readonly colStrides: readonly (0 | 1)[];
}

/** Broadcast strides of `inShape` against `outShape` (0 on broadcast axes). */
function alignedStrides(inShape: readonly number[], outShape: readonly number[]): number[] {
  const s = stridesOf(inShape);
  const lead = outShape.length - inShape.length;
  return outShape.map((_, i) => (i < lead || inShape[i - lead] === 1 ? 0 : s[i - lead]!));
}

function plan(shapes: readonly (readonly number[])[], outShape: readonly number[]): Plan {
  // Drop size-1 axes, then merge axis d into d+1 when every operand has stride[d] == stride[d+1] * size[d+1].
  const dims: number[] = [];
  const strides: number[][] = shapes.map(() => []);
  const all = shapes.map((s) => alignedStrides(s, outShape));
  outShape.forEach((n, d) => {
    if (n === 1) return;
    const last = dims.length - 1;
    if (last >= 0 && all.every((st, k) => strides[k]![last] === st[d]! * n)) {
      dims[last]! *= n;
      all.forEach((st, k) => {
        strides[k]![last] = st[d]!;
      });
    } else {
      dims.push(n);
      for (const [k, st] of all.entries()) strides[k]!.push(st[d]!);
    }
  });
  // The column level must have unit or zero strides; otherwise it becomes a row level of width 1.
  let cols = 1;
  let colStrides: (0 | 1)[] = shapes.map(() => 0);
  if (dims.length > 0 && strides.every((st) => st[dims.length - 1] === 0 || st[dims.length - 1] === 1)) {
    cols = dims.pop()!;
    colStrides = strides.map((st) => st.pop() as 0 | 1);
  }
  let rows = 1;
  let rowStrides = shapes.map(() => 0);
  if (dims.length > 0) {
    rows = dims.pop()!;
    rowStrides = strides.map((st) => st.pop()!);
  }
  return { outer: dims, outerStrides: strides, rows, cols, rowStrides, colStrides };
}

type Loop = (
  f: ScalarFn,
  out: Arr,
  outBase: number,
  rows: number,
  cols: number,
  data: readonly Arr[],
  bases: readonly number[],
  rowStrides: readonly number[],
) => void;

/** Source of the two-level loop for one column-stride pattern (e.g. [1, 0] = a walks, b repeats). */
function loopSource(colStrides: readonly (0 | 1)[]): string {
  const n = colStrides.length;
  const args = colStrides.map((s, k) => (s === 1 ? `d${k}[o${k} + c]` : `v${k}`));
  let src = '';
  for (let k = 0; k < n; k++) src += `const d${k} = data[${k}], s${k} = rowStrides[${k}];\n`;
  src += 'let o = outBase;\n';
  src += 'for (let r = 0; r < rows; r++) {\n';
  for (let k = 0; k < n; k++) {
    src += `  const o${k} = bases[${k}] + r * s${k};\n`;
    if (colStrides[k] === 0) src += `  const v${k} = d${k}[o${k}];\n`;
  }
  src += `  for (let c = 0; c < cols; c++) out[o++] = f(${args.join(', ')});\n}\n`;
  return src;
}

let codegen = true;
const cache = new Map<string, Loop>();

function compile(cacheKey: string, colStrides: readonly (0 | 1)[]): Loop {
  // The key goes into the source: V8 caches `new Function` by source text, and two keys sharing
  // one compiled function would share its (then megamorphic) call-site feedback.
  const body = `// ${cacheKey.replace(/[^\w:|-]/g, '_')}\n${loopSource(colStrides)}`;
  if (codegen) {
    try {
      // Generated loops (see the module comment); the source is built from 0/1 flags only.
      return new Function('f', 'out', 'outBase', 'rows', 'cols', 'data', 'bases', 'rowStrides', body) as Loop;
    } catch {
      codegen = false; // CSP forbids eval: fall through to the closure below
    }
  }
  return (f, out, outBase, rows, cols, data, bases, rowStrides) => {
    const args = new Array<number>(data.length);
    let o = outBase;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        for (let k = 0; k < data.length; k++) args[k] = data[k]![bases[k]! + r * rowStrides[k]! + c * colStrides[k]!]!;
        out[o++] = f(...args);
      }
    }
  };
}

/**
 * out[i] = f(x_0[...], ..., x_{n-1}[...]) over `outShape` with NumPy broadcasting of each input
 * shape. `key` names `f` (one generated loop per key and pattern, so keep it unique per function).
 */
export function broadcastMap(
  key: string,
  f: ScalarFn,
  inputs: readonly { readonly data: unknown; readonly shape: readonly number[] }[],
  outShape: readonly number[],
  out: Arr,
): void {
  if (out.length === 0) return;
  const p = plan(
    inputs.map((x) => x.shape),
    outShape,
  );
  const cacheKey = `${key}|${p.colStrides.join('')}`;
  let loop = cache.get(cacheKey);
  if (loop === undefined) {
    loop = compile(cacheKey, p.colStrides);
    cache.set(cacheKey, loop);
  }
  const data = inputs.map((x) => x.data as Arr);
  if (p.outer.length === 0) {
    loop(
      f,
      out,
      0,
      p.rows,
      p.cols,
      data,
      inputs.map(() => 0),
      p.rowStrides,
    );
    return;
  }
  // Rank > 2 after merging: one table entry per outer index, not per element.
  const tables = p.outerStrides.map((st) => stridedOffsets(p.outer, st));
  const block = p.rows * p.cols;
  const count = sizeOf(p.outer);
  const bases = inputs.map(() => 0);
  for (let t = 0; t < count; t++) {
    for (let k = 0; k < bases.length; k++) bases[k] = tables[k]![t]!;
    loop(f, out, t * block, p.rows, p.cols, data, bases, p.rowStrides);
  }
}

/** For tests: run without generated code (the CSP fallback). */
export function setLoopCodegen(enabled: boolean): void {
  codegen = enabled;
  cache.clear();
}
