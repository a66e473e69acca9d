// Small helpers shared by bench files: one tinybench measurement, number formats, a plain table,
// and TensorFlow.js's WebGPU backend started on Dawn's OpenGL ES compatibility adapter (the peer
// of the tessera WebGPU backend on the same adapter).
import type * as TF from '@tensorflow/tfjs-core';
import { Bench } from 'tinybench';

/** BENCH_QUICK=1 skips the slowest peer cases (each reported as "skipped", never estimated). */
export const QUICK = process.env.BENCH_QUICK === '1';

export interface MeasureOptions {
  /** Time budget in ms (runs continue until both it and `iterations` are met). */
  time?: number;
  /** Minimum timed iterations. */
  iterations?: number;
  /** Untimed warm-up iterations before timing (0 for multi-second cases). */
  warmup?: number;
}

export interface Timing {
  /** Median wall time per call, ms. */
  wallMs: number;
  /** Median process CPU time per call (all threads), ms: less sensitive than wall time to other load. */
  cpuMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN;

/** Median wall and CPU time of `fn` under tinybench. */
export async function measure(name: string, fn: () => unknown, opts: MeasureOptions = {}): Promise<Timing> {
  const warmup = opts.warmup ?? 1;
  const bench = new Bench({
    time: opts.time ?? 1000,
    iterations: opts.iterations ?? 5,
    warmup: warmup > 0,
    warmupIterations: warmup,
    warmupTime: 0,
    throws: true,
  });
  let cpu: number[] = [];
  const timed = () => {
    const u0 = process.cpuUsage();
    fn();
    const u = process.cpuUsage(u0);
    cpu.push((u.user + u.system) / 1000);
  };
  bench.add(name, timed, {
    beforeAll: (mode) => {
      if (mode === 'run') cpu = [];
    },
  });
  await bench.run();
  const r = bench.tasks[0]!.result;
  if (r.state !== 'completed') throw new Error(`bench ${name} did not complete: ${r.state}`);
  return { wallMs: r.latency.p50, cpuMs: median(cpu) };
}

export const fmtMs = (ms: number): string =>
  ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;

export const gflops = (flops: number, ms: number): number => flops / ms / 1e6;

/** Prints rows as an aligned text table (first column left-aligned, the rest right-aligned). */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

// ------------------------------------------------------------------ tfjs-webgpu on the Dawn adapter

/** tfjs with its WebGPU backend active (see startTfjsWebGPU). */
export interface TfjsWebGPU {
  tf: typeof TF;
  backend: { device: GPUDevice; ensureCommandEncoderReady(): void; endComputePassEncoder(): void; submitQueue(): void };
  /** The tfjs backend that was active before (restore it with `tf.setBackend(previous)`). */
  previous: string;
  /** The adapter tfjs got, e.g. `llvmpipe (LLVM 15, 256 bits) / OpenGL ES 3.2 Mesa 22.3.6 (compatibility)`. */
  adapter: string;
}

/** Dawn objects that must stay referenced while tfjs uses the device (see docs/webgpu.md, Lifetime). */
const keepAlive: unknown[] = [];
let tfjsWebGPU: Promise<TfjsWebGPU> | undefined;

/**
 * Starts tfjs-backend-webgpu on Dawn's OpenGL ES compatibility adapter and makes it tfjs's active
 * backend: Dawn's globals on globalThis, a navigator.gpu shim that asks for the compatibility
 * adapter, requestDevice raised to the adapter's limits, and requiredFeatures flattened and
 * filtered. Started once per process (later calls re-select the same backend).
 * Rejects with the reason when it cannot start.
 */
export async function startTfjsWebGPU(): Promise<TfjsWebGPU> {
  tfjsWebGPU ??= initTfjsWebGPU();
  const peer = await tfjsWebGPU;
  const current = peer.tf.getBackend();
  if (current !== 'webgpu') {
    if (!(await peer.tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") failed');
    peer.previous = current ?? 'cpu';
  }
  return peer;
}

async function initTfjsWebGPU(): Promise<TfjsWebGPU> {
  process.env.EGL_PLATFORM ??= 'surfaceless';
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create(['backend=opengles']);
  keepAlive.push(gpu);
  let adapterName = 'unknown adapter';
  const shim = {
    async requestAdapter(): Promise<GPUAdapter | null> {
      const adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' } as GPURequestAdapterOptions);
      if (adapter === null) return null;
      keepAlive.push(adapter);
      const info = adapter.info;
      adapterName = `${[info?.device, info?.description].filter((x) => x).join(' / ')} (compatibility)`;
      const requestDevice = adapter.requestDevice.bind(adapter);
      const L = adapter.limits;
      Object.defineProperty(adapter, 'requestDevice', {
        value: (desc: GPUDeviceDescriptor = {}) => {
          const feats = [...((desc.requiredFeatures ?? []) as Iterable<unknown>)]
            .flat()
            .filter((f): f is GPUFeatureName => typeof f === 'string' && adapter.features.has(f));
          return requestDevice({
            ...desc,
            requiredFeatures: feats,
            requiredLimits: {
              ...desc.requiredLimits,
              maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
              maxComputeWorkgroupSizeX: L.maxComputeWorkgroupSizeX,
              maxComputeWorkgroupSizeY: L.maxComputeWorkgroupSizeY,
              maxComputeWorkgroupSizeZ: L.maxComputeWorkgroupSizeZ,
              maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
              maxStorageBuffersPerShaderStage: L.maxStorageBuffersPerShaderStage,
            },
          });
        },
      });
      return adapter;
    },
    getPreferredCanvasFormat: () => 'rgba8unorm',
    wgslLanguageFeatures: new Set<string>(),
  };
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  if (nav === undefined) Object.defineProperty(globalThis, 'navigator', { value: { gpu: shim }, configurable: true });
  else Object.defineProperty(nav, 'gpu', { value: shim, configurable: true });
  // The backend registers itself on import only when navigator.gpu exists: import after the shim.
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  const previous = tf.getBackend() ?? 'cpu';
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") failed (no adapter or device)');
  await tf.ready();
  const backend = tf.backend() as unknown as TfjsWebGPU['backend'];
  return { tf, backend, previous, adapter: adapterName };
}

/** Submits tfjs-webgpu's queued work and resolves when the device has finished it. */
export async function tfjsWebGPUDone(peer: TfjsWebGPU): Promise<void> {
  peer.backend.ensureCommandEncoderReady();
  peer.backend.endComputePassEncoder();
  peer.backend.submitQueue();
  await peer.backend.device.queue.onSubmittedWorkDone();
}
