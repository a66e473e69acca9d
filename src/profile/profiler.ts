// The profiler: profile(fn) and TESSERA_PROFILE=1 collect per-kernel calls, times, FLOPs and bytes
// from the engine's hook (src/tensor/profiling.ts) into a ProfileResult; format.ts prints it.
import { fail } from '../errors.js';
import { threadStats } from '../kernels/cpu/threads.js';
import { getBackend, memory, registeredBackend } from '../tensor/engine.js';
import { type ProfileSink, profiling } from '../tensor/profiling.js';
import { sizeOf } from '../tensor/shape.js';
import { formatProfile } from './format.js';

/** One kernel (primitive, family member, or fused update) on one backend. */
export interface ProfileRow {
  /** `matmul`, `conv2d`, `binary(add)`, `reduce(sum)`, `fusedAdam`, ... */
  readonly name: string;
  /** The backend that ran it: 'cpu' or 'webgpu'. */
  readonly backend: string;
  calls: number;
  /** Wall time of the kernel calls on the calling thread, ms (on WebGPU: recording the dispatches). */
  totalMs: number;
  /** totalMs / calls. */
  meanMs: number;
  /** Part of totalMs spent inside a backward pass (gradient rules' kernels). */
  backwardMs: number;
  /** Floating-point operations (2 per multiply-add) of GEMM-family kernels; 0 for the others. */
  flops: number;
  /**
   * flops / time in GFLOP/s: GPU time on WebGPU (null without timestamps), totalMs on the CPU; null
   * for kernels without FLOPs.
   */
  gflops: number | null;
  /** Bytes of output buffers allocated. */
  bytes: number;
  /** GPU execution time from timestamp queries, ms; null where there are none. */
  gpuMs: number | null;
  /** Dispatches the GPU time covers (a kernel may dispatch several programs). */
  gpuDispatches: number;
}

/** What a profiled region measured; `value` is what the profiled function returned. */
export interface ProfileResult<T = unknown> {
  readonly value: T;
  readonly label: string;
  /** Wall time of the region, ms (an async region includes waiting for the device at its end). */
  readonly wallMs: number;
  /** Sum of the rows' totalMs. */
  readonly kernelMs: number;
  /** wallMs - kernelMs: engine bookkeeping, autodiff, JS between ops, waiting on awaits. */
  readonly outsideKernelsMs: number;
  /** The backward passes (reverse-mode walks): wall time, kernel time, and the rest (autodiff bookkeeping). */
  readonly backward: { readonly wallMs: number; readonly kernelMs: number; readonly outsideKernelsMs: number };
  /** Outside kernels and outside backward: forward-pass engine work, allocation, user code. */
  readonly engineMs: number;
  /** CPU: time this thread waited for worker threads inside kernels (part of kernelMs), and threaded jobs. */
  readonly threadWaitMs: number;
  readonly threadJobs: number;
  readonly bytesAllocated: number;
  readonly flops: number;
  /** Sum of GPU timestamp times, ms (0 without timestamps). */
  readonly gpuMs: number;
  /**
   * Live storage bytes per backend that ran kernels in the region: at the start, at the end, and the peak (the most in use right
   * after any kernel of the region, or at its start). `peakBytes - startBytes` is what the region
   * needed on top of what was resident; `endBytes - startBytes` is what it left behind.
   */
  readonly memory: Readonly<Record<string, { startBytes: number; peakBytes: number; endBytes: number }>>;
  /** Rows, slowest first. */
  readonly rows: readonly ProfileRow[];
  /** Remarks, e.g. that an adapter has no timestamp queries. */
  readonly notes: readonly string[];
}

export interface ProfileOptions {
  /** Name printed above the table (default 'profile'). */
  label?: string;
  /** Print the table to stderr when the region ends (default: TESSERA_PROFILE is set). */
  print?: boolean;
}

const ENV = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
/** TESSERA_PROFILE=1: the whole process is profiled and printed at exit, and every top-level region prints. */
const envProfile = ENV?.TESSERA_PROFILE !== undefined && ENV.TESSERA_PROFILE !== '' && ENV.TESSERA_PROFILE !== '0';

/** What kernelFlops needs of a kernel run: the primitive, its input and output shapes and params (matmul's transA). */
export interface KernelShapes {
  readonly prim: string;
  readonly inputs: readonly { readonly shape: readonly number[] }[];
  readonly outShape: readonly number[];
  readonly params?: unknown;
}

/**
 * FLOPs of one GEMM-family kernel run (2 per multiply-add, padding taps included), from shapes; 0 for
 * other kernels.
 *
 * @example
 * kernelFlops({ prim: 'matmul', inputs: [{ shape: [64, 128] }, { shape: [128, 32] }], outShape: [64, 32] }); // 2 * 64 * 32 * 128
 */
export function kernelFlops(e: KernelShapes): number {
  const s0 = e.inputs[0]?.shape ?? [];
  const s1 = e.inputs[1]?.shape ?? [];
  switch (e.prim) {
    case 'matmul': {
      // out [..., m, n]; k is the contraction length (A's last axis, or its second last when transposed).
      const k = e.outShape.length === 0 ? 0 : 2 * sizeOf(e.outShape) * contraction(e, s0);
      return k;
    }
    case 'conv2d': // x [N, C, H, W], w [O, C/g, kH, kW] -> y [N, O, oH, oW]
      return 2 * sizeOf(e.outShape) * sizeOf(s1.slice(1));
    case 'conv2dBackwardInput': // dy [N, O, oH, oW], w [O, C/g, kH, kW] -> dx
      return 2 * sizeOf(s0) * sizeOf(s1.slice(1));
    case 'conv2dBackwardFilter': // x, dy [N, O, oH, oW] -> dw [O, C/g, kH, kW]
      return 2 * sizeOf(s1) * sizeOf(e.outShape.slice(1));
    default:
      return 0;
  }
}

function contraction(e: KernelShapes, a: readonly number[]): number {
  const transA = (e.params as { transA?: boolean } | undefined)?.transA === true;
  return a[a.length - (transA ? 2 : 1)] ?? 0;
}

/** One open region's counters. */
class Collector {
  readonly rows = new Map<string, ProfileRow>();
  readonly notes = new Set<string>();
  readonly pending: Promise<unknown>[] = [];
  backwardWallMs = 0;
  backwardKernelMs = 0;
  readonly started = performance.now();
  readonly waitAtStart = threadStats.waitMs;
  readonly jobsAtStart = threadStats.jobs;
  /** Per backend: [bytes in use at the start, peak]. */
  readonly bytes = new Map<string, [number, number]>(
    Object.entries(memory().backends).map(([k, m]) => [k, [m.bytesInUse, m.bytesInUse]]),
  );

  row(name: string, backend: string): ProfileRow {
    const key = `${backend}\u0000${name}`;
    let r = this.rows.get(key);
    if (r === undefined) {
      r = {
        name,
        backend,
        calls: 0,
        totalMs: 0,
        meanMs: 0,
        backwardMs: 0,
        flops: 0,
        gflops: null,
        bytes: 0,
        gpuMs: null,
        gpuDispatches: 0,
      };
      this.rows.set(key, r);
    }
    return r;
  }
}

const open: Collector[] = [];
let backwardDepth = 0;

/** The engine's sink: fans every event out to the open regions. */
const sink: ProfileSink = {
  kernel(e) {
    const flops = kernelFlops(e);
    const inBackward = backwardDepth > 0;
    for (const c of open) {
      const m = c.bytes.get(e.backend);
      if (m === undefined) c.bytes.set(e.backend, [0, e.liveBytes]);
      else if (e.liveBytes > m[1]) m[1] = e.liveBytes;
      const r = c.row(e.name, e.backend);
      r.calls++;
      r.totalMs += e.ms;
      r.bytes += e.bytes;
      r.flops += flops;
      if (inBackward) {
        r.backwardMs += e.ms;
        c.backwardKernelMs += e.ms;
      }
    }
  },
  gpuTime(name, ms) {
    for (const c of open) {
      const r = c.row(name, 'webgpu');
      r.gpuMs = (r.gpuMs ?? 0) + ms;
      r.gpuDispatches++;
    }
  },
  phase(_name, fn) {
    if (backwardDepth++ > 0) {
      try {
        return fn();
      } finally {
        backwardDepth--;
      }
    }
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      backwardDepth--;
      const ms = performance.now() - t0;
      for (const c of open) c.backwardWallMs += ms;
    }
  },
  pending(p) {
    for (const c of open) c.pending.push(p);
  },
  note(text) {
    for (const c of open) c.notes.add(text);
  },
};

function start(): Collector {
  const c = new Collector();
  open.push(c);
  profiling.sink = sink;
  return c;
}

function finish<T>(c: Collector, value: T, label: string, extraNotes: readonly string[]): ProfileResult<T> {
  const wallMs = performance.now() - c.started;
  const i = open.indexOf(c);
  if (i >= 0) open.splice(i, 1);
  if (open.length === 0) profiling.sink = undefined;
  const rows = [...c.rows.values()];
  let kernelMs = 0;
  let bytesAllocated = 0;
  let flops = 0;
  let gpuMs = 0;
  for (const r of rows) {
    r.meanMs = r.calls > 0 ? r.totalMs / r.calls : 0;
    // WebGPU without timestamps: the CPU time is dispatch recording, so no rate is given.
    const t = r.gpuMs ?? (r.backend === 'webgpu' ? 0 : r.totalMs);
    r.gflops = r.flops > 0 && t > 0 ? r.flops / t / 1e6 : null;
    kernelMs += r.totalMs;
    bytesAllocated += r.bytes;
    flops += r.flops;
    gpuMs += r.gpuMs ?? 0;
  }
  rows.sort((a, b) => (b.gpuMs ?? b.totalMs) - (a.gpuMs ?? a.totalMs) || a.name.localeCompare(b.name));
  const bwdOutside = Math.max(0, c.backwardWallMs - c.backwardKernelMs);
  const now = memory().backends;
  const mem: Record<string, { startBytes: number; peakBytes: number; endBytes: number }> = {};
  const ran = new Set(rows.map((r) => r.backend));
  for (const [k, [startBytes, peakBytes]] of c.bytes) {
    if (!ran.has(k)) continue;
    const endBytes = now[k]?.bytesInUse ?? 0;
    mem[k] = { startBytes, peakBytes: Math.max(peakBytes, endBytes), endBytes };
  }
  return {
    value,
    label,
    wallMs,
    kernelMs,
    outsideKernelsMs: Math.max(0, wallMs - kernelMs),
    backward: { wallMs: c.backwardWallMs, kernelMs: c.backwardKernelMs, outsideKernelsMs: bwdOutside },
    engineMs: Math.max(0, wallMs - kernelMs - bwdOutside),
    threadWaitMs: threadStats.waitMs - c.waitAtStart,
    threadJobs: threadStats.jobs - c.jobsAtStart,
    bytesAllocated,
    flops,
    gpuMs,
    memory: mem,
    rows,
    notes: [...c.notes, ...extraNotes],
  };
}

function report<T>(r: ProfileResult<T>, print: boolean): ProfileResult<T> {
  if (print) console.error(formatProfile(r));
  return r;
}

/**
 * Profiles `fn`: every kernel the engine runs while it runs (on any backend) becomes a row with
 * call count, total and mean time, GFLOP/s for the GEMM family (matmul, conv2d and its input- and
 * weight-gradient kernels; FLOPs from shapes), bytes allocated, and GPU time per kernel from
 * timestamp queries on WebGPU adapters that have them; plus the time outside kernels (forward
 * engine work, backward bookkeeping) and, on the CPU, time spent waiting for worker threads.
 * An async `fn` is awaited, then the device is synced and timestamp read-backs are awaited, so
 * the result covers the GPU's work. Regions nest (each gets its own table); concurrent async
 * regions see each other's kernels. With `TESSERA_PROFILE=1`, tables print to stderr. See
 * docs/profiling.md.
 *
 * @example
 * const r = profile(() => tidy(() => matmul(a, b).sum()));
 * console.log(formatProfile(r)); // one `matmul` row with its GFLOP/s, one `reduce(sum)` row
 * const g = await profile(async () => { const y = step(); await y.data(); return y; });
 */
export function profile<T>(fn: () => Promise<T>, options?: ProfileOptions): Promise<ProfileResult<T>>;
export function profile<T>(fn: () => T, options?: ProfileOptions): ProfileResult<T>;
export function profile<T>(
  fn: () => T | Promise<T>,
  options: ProfileOptions = {},
): ProfileResult<T> | Promise<ProfileResult<T>> {
  if (typeof fn !== 'function') fail('profile', `expected a function to profile, got ${typeof fn}`);
  const label = options.label ?? 'profile';
  // Top-level regions print under TESSERA_PROFILE (the process-wide collector is not a region).
  const print = options.print ?? (envProfile && open.length <= (processCollector === undefined ? 0 : 1));
  const c = start();
  let value: T | Promise<T>;
  try {
    value = fn();
  } catch (e) {
    finish(c, undefined, label, []);
    throw e;
  }
  if (!(value instanceof Promise)) {
    const webgpuRows = [...c.rows.values()].some((r) => r.backend === 'webgpu');
    const notes = webgpuRows
      ? [
          'synchronous region: WebGPU times are CPU-side dispatch recording; profile an async function to wait for the GPU and get timestamp times',
        ]
      : [];
    return report(finish(c, value, label, notes), print);
  }
  return (async () => {
    let v: T;
    try {
      v = await value;
      await settle(c);
    } catch (e) {
      finish(c, undefined, label, []);
      throw e;
    }
    return report(finish(c, v, label, []), print);
  })();
}

/** Waits for the WebGPU device (if one ran kernels) and for timestamp read-backs. */
async function settle(c: Collector): Promise<void> {
  if ([...c.rows.values()].some((r) => r.backend === 'webgpu')) {
    const b = registeredBackend('webgpu');
    if (b !== undefined && !b.destroyed) await b.sync();
  }
  // Read-backs may register more read-backs (a flush inside sync): drain until none are left.
  for (let n = 0; n < c.pending.length; n++) await c.pending[n];
}

// ------------------------------------------------------------------ TESSERA_PROFILE=1

let processCollector: Collector | undefined;

if (envProfile) {
  processCollector = start();
  const proc = (globalThis as { process?: { on?: (ev: string, f: () => void) => void } }).process;
  proc?.on?.('exit', () => {
    if (processCollector === undefined) return;
    const c = processCollector;
    processCollector = undefined;
    let backend = '';
    try {
      backend = getBackend().name;
    } catch {
      backend = 'none';
    }
    const r = finish(c, undefined, `TESSERA_PROFILE: whole process (current backend ${backend})`, [
      'printed at exit: time outside kernels includes start-up, I/O and idle waits; GPU timestamps still in flight at exit are missing',
    ]);
    console.error(formatProfile(r));
  });
}
