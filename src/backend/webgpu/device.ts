/**
 * Creates the WebGPU backend: finds an adapter, requests a device with the adapter's limits, and
 * wires the runtime and kernel table into the Backend interface.
 *
 * Adapter order: a core adapter on the default backend (a real GPU: Vulkan, Metal, D3D12), then
 * Dawn's OpenGL ES backend in compatibility mode (GPU-less Linux: Mesa llvmpipe through EGL
 * surfaceless; `EGL_PLATFORM=surfaceless` is set when unset, before dawn.node loads), then a clear
 * error (setBackend('auto') then falls back to the CPU and says so). In Node the `webgpu` package
 * (Dawn) is imported dynamically, so browsers and CPU-only users never load it; in browsers
 * `navigator.gpu` is used.
 *
 * Lifetime (Node): an instance returned by the webgpu package's `create()` is never dropped. When
 * one was garbage-collected after its device was destroyed, Dawn aborted the process from a
 * background thread (std::system_error, "futex facility returned an unexpected error code"; 12 of
 * 12 runs of a create / destroy / gc() loop), so instances are created once per flag set and kept
 * for the life of the process; a process still exits on its own (test/webgpu/exit.test.ts).
 */

import { fail } from '../../errors.js';
import { checkFiniteProgram } from '../../kernels/wgsl/check.js';
import type { Backend, BackendMemory, DataHandle } from '../../tensor/backend.js';
import type { DType, TypedArray } from '../../tensor/dtype.js';
import type { GpuData } from './buffers.js';
import { webgpuFusedAdam, webgpuKernels } from './kernels.js';
import { type RuntimeOptions, WebGPURuntime } from './runtime.js';

export interface WebGPUBackendOptions extends RuntimeOptions {
  /** 'auto' (default): core, then compatibility; or force one of them. */
  adapter?: 'auto' | 'core' | 'compat';
  powerPreference?: GPUPowerPreference;
}

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** 'core' or 'compatibility'. */
  featureLevel: 'core' | 'compatibility';
  /** Where the adapter came from: 'browser', 'node-default' or 'node-opengles'. */
  source: 'browser' | 'node-default' | 'node-opengles';
}

export interface WebGPUBackend extends Backend {
  readonly name: 'webgpu';
  readonly runtime: WebGPURuntime;
  readonly adapter: AdapterSummary;
}

interface Found {
  adapter: GPUAdapter;
  featureLevel: 'core' | 'compatibility';
  source: AdapterSummary['source'];
}

/** Dawn instances by their `create()` flags, kept for the life of the process (see the lifetime note). */
const nodeInstances = new Map<string, GPU>();

function nodeInstance(mod: { create: (flags: string[]) => GPU }, flags: string[]): GPU {
  const key = flags.join(' ');
  let gpu = nodeInstances.get(key);
  if (gpu === undefined) {
    gpu = mod.create(flags);
    nodeInstances.set(key, gpu);
  }
  return gpu;
}

interface NodeProcess {
  env: Record<string, string | undefined>;
  versions?: { node?: string };
}

function nodeProcess(): NodeProcess | undefined {
  const p = (globalThis as { process?: NodeProcess }).process;
  return p?.versions?.node !== undefined ? p : undefined;
}

async function findAdapter(opts: WebGPUBackendOptions): Promise<Found> {
  const which = opts.adapter ?? 'auto';
  const pp = opts.powerPreference === undefined ? {} : { powerPreference: opts.powerPreference };
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  const proc = nodeProcess();
  if (nav?.gpu !== undefined && proc === undefined) {
    if (which !== 'compat') {
      const a = await nav.gpu.requestAdapter(pp);
      if (a !== null) return { adapter: a, featureLevel: 'core', source: 'browser' };
    }
    if (which !== 'core') {
      const a = await nav.gpu.requestAdapter({ ...pp, featureLevel: 'compatibility' });
      if (a !== null) return { adapter: a, featureLevel: 'compatibility', source: 'browser' };
    }
    return fail('setBackend', 'navigator.gpu returned no adapter (is WebGPU enabled in this browser?)');
  }
  if (proc === undefined) return fail('setBackend', 'no WebGPU here: neither navigator.gpu nor Node.js');
  // Must happen before dawn.node loads: EGL reads it when the library initialises.
  if (proc.env.EGL_PLATFORM === undefined) proc.env.EGL_PLATFORM = 'surfaceless';
  let mod: { create: (flags: string[]) => GPU };
  try {
    const name = 'webgpu';
    mod = (await import(/* @vite-ignore */ name)) as { create: (flags: string[]) => GPU };
  } catch (e) {
    return fail(
      'setBackend',
      `could not load the 'webgpu' package (Dawn for Node, an optional peer dependency): install it with ` +
        `\`npm install webgpu\` (${(e as Error).message})`,
    );
  }
  const tried: string[] = [];
  if (which !== 'compat') {
    try {
      const gpu = nodeInstance(mod, []);
      const a = await gpu.requestAdapter(pp);
      if (a !== null) return { adapter: a, featureLevel: 'core', source: 'node-default' };
      tried.push('no core adapter on the default backend');
    } catch (e) {
      tried.push(`default backend failed: ${(e as Error).message}`);
    }
  }
  if (which !== 'core') {
    try {
      const gpu = nodeInstance(mod, ['backend=opengles']);
      const a = await gpu.requestAdapter({ ...pp, featureLevel: 'compatibility' });
      if (a !== null) return { adapter: a, featureLevel: 'compatibility', source: 'node-opengles' };
      tried.push('no compatibility adapter on the OpenGL ES backend');
    } catch (e) {
      tried.push(`OpenGL ES backend failed: ${(e as Error).message}`);
    }
  }
  return fail(
    'setBackend',
    `no WebGPU adapter found (${tried.join('; ')}). On Linux without a GPU install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri`,
  );
}

const LIMITS = [
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxComputeWorkgroupStorageSize',
  'maxStorageBuffersPerShaderStage',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxUniformBufferBindingSize',
] as const;

/** Creates a WebGPU backend (see the module comment for the adapter order). */
export async function createWebGPUBackend(opts: WebGPUBackendOptions = {}): Promise<WebGPUBackend> {
  const found = await findAdapter(opts);
  const { adapter } = found;
  const requiredLimits: Record<string, number> = {};
  for (const k of LIMITS) {
    const v = adapter.limits[k];
    if (typeof v === 'number') requiredLimits[k] = v;
  }
  let device: GPUDevice;
  try {
    // 'timestamp-query' when the adapter has it: it costs nothing until the profiler (src/profile/) times dispatches.
    const requiredFeatures: GPUFeatureName[] = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'tessera' });
  } catch (e) {
    return fail('setBackend', `requestDevice failed: ${(e as Error).message}`);
  }
  const info = adapter.info;
  const summary: AdapterSummary = {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    featureLevel: found.featureLevel,
    source: found.source,
  };
  const software =
    /llvmpipe|lavapipe|softpipe|swiftshader|swrast/i.test(
      `${summary.vendor} ${summary.architecture} ${summary.device} ${summary.description}`,
    ) || (info as GPUAdapterInfo & { isFallbackAdapter?: boolean })?.isFallbackAdapter === true;
  const swiftShader = /swiftshader/i.test(
    `${summary.vendor} ${summary.architecture} ${summary.device} ${summary.description}`,
  );
  const rt = new WebGPURuntime(device, { slowBarriers: software, smallRegisterTiles: swiftShader, ...opts });
  const name = [summary.vendor, summary.architecture, summary.device, summary.description]
    .filter((s) => s !== '')
    .join(' / ');
  const how =
    found.source === 'node-opengles'
      ? 'Dawn OpenGL ES backend, compatibility mode'
      : found.source === 'node-default'
        ? 'Dawn default backend, core'
        : `browser, ${found.featureLevel}`;
  const description = `WebGPU: ${name || 'unknown adapter'} (${how})`;

  const backend: WebGPUBackend = {
    name: 'webgpu',
    description,
    runtime: rt,
    adapter: summary,
    get destroyed(): boolean {
      return rt.destroyed;
    },
    kernels: webgpuKernels(rt),
    fusedAdam: (inputs, size, params) => webgpuFusedAdam(rt, inputs as readonly GpuData[], size, params),
    supportsDType: (d: DType) => d !== 'float64',
    fromArray(data: TypedArray, dtype: DType): DataHandle {
      if (dtype === 'float64' || data instanceof Float64Array) {
        fail('tensor', 'the WebGPU backend stores float32, int32 and bool; float64 stays on the CPU backend');
      }
      let words: Float32Array | Int32Array | Uint32Array;
      if (dtype === 'bool') words = Uint32Array.from(data as Uint8Array);
      else if (dtype === 'int32') words = data instanceof Int32Array ? data : Int32Array.from(data);
      else words = data instanceof Float32Array ? data : Float32Array.from(data);
      return rt.upload(words, 'tensor');
    },
    async read(data: DataHandle, dtype: DType, size: number): Promise<TypedArray> {
      const buf = await rt.readBytes(data as GpuData, size * 4);
      if (dtype === 'float32') return new Float32Array(buf);
      if (dtype === 'int32') return new Int32Array(buf);
      if (dtype === 'bool') return Uint8Array.from(new Uint32Array(buf));
      return fail('read', `the WebGPU backend does not store ${dtype}`);
    },
    release(data: DataHandle): void {
      if (rt.destroyed) return;
      rt.release(data as GpuData);
    },
    memory(): BackendMemory {
      return rt.memory();
    },
    checkFinite(data: DataHandle, dtype: DType, size: number, label: string): void {
      if (dtype !== 'float32' || size === 0) return;
      const code = rt.errorCode('checkNumerics', `${label} produced NaN or Inf`);
      rt.dispatch(checkFiniteProgram(rt.ctx, size, code), [data as GpuData], []);
    },
    sync(): Promise<void> {
      return rt.sync();
    },
    destroy(): void {
      rt.destroy();
    },
  };
  return backend;
}
