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
import {
  cpuThreads,
  isSharedBuffer,
  type Job,
  type JobSource,
  parallelChunks,
  type SharedArr,
  sharedArrayLike,
} from './threads.js';
import type { Arr } from './util.js';
import { stridedOffsets } from './util.js';

/**
 * Outputs of at least this many elements are split by rows across CPU threads (when allowed).
 * Below it the hand-off costs what the split saves: at 8,192 elements (a 64 x 128 activation)
 * the ring-GAN step measured no faster.
 */
const PARALLEL_ELEMENTS = 32768;

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

/** A row range of a two-level map, as workers run it: fields of the job header. */
interface MapJob extends Job {
  rows: number;
  cols: number;
  chunks: number;
  arity: number;
  s0: number;
  s1: number;
  s2: number;
  out: SharedArr;
  d0: SharedArr;
  d1: SharedArr;
  d2: SharedArr;
}

/** Rows [lo, hi) of chunk `chunk` of a map job. */
function mapRows(job: MapJob, chunk: number): [number, number] {
  const per = Math.ceil(job.rows / job.chunks);
  return [chunk * per, Math.min(job.rows, (chunk + 1) * per)];
}

const mapSources = new Map<string, JobSource>();

/** Small operands (a bias row, a scalar) that are not in shared memory are copied; larger ones are not. */
const MAX_COPIED = 4096;
const copies = new Map<string, SharedArr>();

/** `a` as workers can read it: itself when shared, a shared copy when small, else undefined. */
function shareable(a: Arr, slot: number): SharedArr | undefined {
  if (a instanceof Uint8Array) return undefined;
  if (isSharedBuffer(a.buffer)) return a as SharedArr;
  if (a.length > MAX_COPIED) return undefined;
  const key = `${slot}:${a.constructor.name}`;
  let c = copies.get(key);
  if (c === undefined) {
    c = sharedArrayLike(a, MAX_COPIED);
    copies.set(key, c);
  }
  c.set(a as never);
  return c;
}

/** The worker's copy of one generated loop, with `f` from its source text (`fSource`). */
function mapSource(cacheKey: string, colStrides: readonly (0 | 1)[], fSource: string): JobSource {
  let src = mapSources.get(cacheKey);
  if (src === undefined) {
    src = {
      name: `map ${cacheKey}`,
      numbers: ['rows', 'cols', 'chunks', 'arity', 's0', 's1', 's2'],
      arrays: ['out', 'd0', 'd1', 'd2'],
      source: [
        `const f = ${fSource};`,
        `const loop = function (f, out, outBase, rows, cols, data, bases, rowStrides) {\n${loopSource(colStrides)}};`,
        mapRows.toString(),
        `function runChunk(job, chunk) {
  const [lo, hi] = mapRows(job, chunk);
  if (hi <= lo) return;
  const n = job.arity;
  const data = [job.d0, job.d1, job.d2].slice(0, n);
  const strides = [job.s0, job.s1, job.s2].slice(0, n);
  loop(f, job.out, lo * job.cols, hi - lo, job.cols, data, strides.map((s) => lo * s), strides);
}`,
      ].join('\n'),
    };
    mapSources.set(cacheKey, src);
  }
  return src;
}

/**
 * out[i] = f(x_0[...], ..., x_{n-1}[...]) over `outShape` with NumPy broadcasting of each input
 * shape. `key` names `f` (one generated loop per key and pattern, so keep it unique per function).
 * `workerSource`, when given, is `f` as self-contained source text (or an expression such as
 * `Math.exp`): with CPU threads on, large two-level maps over shared arrays are then split by rows
 * between this thread and the workers (elementwise, so the results do not depend on the split).
 */
export function broadcastMap(
  key: string,
  f: ScalarFn,
  inputs: readonly { readonly data: unknown; readonly shape: readonly number[] }[],
  outShape: readonly number[],
  out: Arr,
  workerSource?: string,
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
  const threads = cpuThreads();
  const shared =
    workerSource !== undefined &&
    threads > 1 &&
    p.outer.length === 0 &&
    out.length >= PARALLEL_ELEMENTS &&
    p.rows >= 2 * threads &&
    data.length <= 3 &&
    isSharedBuffer(out.buffer) &&
    !(out instanceof Uint8Array)
      ? data.map(shareable)
      : undefined;
  if (shared?.every((a) => a !== undefined)) {
    const s = p.rowStrides;
    const job: MapJob = {
      rows: p.rows,
      cols: p.cols,
      chunks: threads,
      arity: data.length,
      s0: s[0] ?? 0,
      s1: s[1] ?? 0,
      s2: s[2] ?? 0,
      out: out as SharedArr,
      d0: shared[0] ?? (out as SharedArr),
      d1: shared[1] ?? (out as SharedArr),
      d2: shared[2] ?? (out as SharedArr),
    };
    const run = loop;
    parallelChunks(mapSource(cacheKey, p.colStrides, workerSource!), job, threads, (chunk) => {
      const [lo, hi] = mapRows(job, chunk);
      if (hi > lo) {
        run(
          f,
          out,
          lo * p.cols,
          hi - lo,
          p.cols,
          data,
          s.map((st) => lo * st),
          s,
        );
      }
    });
    return;
  }
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
