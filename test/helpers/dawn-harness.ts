/**
 * A minimal runner for Program builders, independent of the library's WebGPU runtime: creates a
 * Dawn device (core adapter, else the OpenGL ES compatibility adapter), binds uniforms, inputs and
 * output per the contract of src/kernels/wgsl/program.ts, dispatches and reads back.
 */
import type { Program, ProgramContext } from '../../src/kernels/wgsl/program.js';

export interface Harness {
  readonly device: GPUDevice;
  readonly ctx: ProgramContext;
  readonly description: string;
  /** Runs `p` on float32 inputs and returns `outSize` float32 outputs. */
  run(p: Program, inputs: readonly Float32Array[], outSize: number): Promise<Float32Array>;
  /** Uploads inputs once; `dispatch()` then runs `p` again (for timing); `read()` reads the output. */
  prepare(p: Program, inputs: readonly Float32Array[], outSize: number): PreparedRun;
}

export interface PreparedRun {
  dispatch(times?: number): void;
  read(count?: number): Promise<Float32Array>;
  destroy(): void;
}

let cached: Promise<Harness | undefined> | undefined;
const keep: unknown[] = []; // the GPU instance must stay referenced, or Dawn crashes when it is collected

/** The shared harness, or undefined when no adapter can be created. */
export function getHarness(): Promise<Harness | undefined> {
  cached ??= createHarness().catch(() => undefined);
  return cached;
}

async function createHarness(): Promise<Harness | undefined> {
  process.env.EGL_PLATFORM ??= 'surfaceless';
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  let gpu = create([]);
  keep.push(gpu);
  let adapter = await gpu.requestAdapter().catch(() => null);
  if (adapter === null) {
    gpu = create(['backend=opengles']);
    adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' } as GPURequestAdapterOptions);
  }
  if (adapter === null) return undefined;
  keep.push(gpu, adapter);
  const L = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: L.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: L.maxComputeWorkgroupSizeY,
      maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
      maxStorageBuffersPerShaderStage: L.maxStorageBuffersPerShaderStage,
      maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
      maxBufferSize: L.maxBufferSize,
    },
  });
  const ctx: ProgramContext = {
    maxInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
    maxWorkgroupSizeX: L.maxComputeWorkgroupSizeX,
    maxWorkgroupSizeY: L.maxComputeWorkgroupSizeY,
    maxWorkgroupsPerDimension: L.maxComputeWorkgroupsPerDimension,
    maxWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
  };
  const pipelines = new Map<string, GPUComputePipeline>();
  const pipeline = (p: Program): GPUComputePipeline => {
    let pl = pipelines.get(p.key);
    if (pl === undefined) {
      device.pushErrorScope('validation');
      const module = device.createShaderModule({ code: p.wgsl });
      pl = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      const err = device.popErrorScope();
      void err.then((e) => {
        if (e !== null) console.error(`${p.key}: ${e.message}\n${p.wgsl}`);
      });
      pipelines.set(p.key, pl);
    }
    return pl;
  };
  const storage = (bytes: number) =>
    device.createBuffer({
      size: Math.max(16, Math.ceil(bytes / 16) * 16),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
  const prepare = (p: Program, inputs: readonly Float32Array[], outSize: number): PreparedRun => {
    const uni = device.createBuffer({
      size: p.uniforms.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(uni, 0, p.uniforms);
    const ins = inputs.map((a) => {
      const b = storage(a.byteLength);
      device.queue.writeBuffer(b, 0, a as Float32Array<ArrayBuffer>);
      return b;
    });
    const out = storage(outSize * 4);
    const pl = pipeline(p);
    const bg = device.createBindGroup({
      layout: pl.getBindGroupLayout(0),
      entries: [uni, ...ins, out].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    return {
      dispatch(times = 1) {
        if (p.workgroups.some((w) => w === 0)) return;
        const enc = device.createCommandEncoder();
        for (let i = 0; i < times; i++) {
          const pass = enc.beginComputePass();
          pass.setPipeline(pl);
          pass.setBindGroup(0, bg);
          pass.dispatchWorkgroups(...p.workgroups);
          pass.end();
        }
        device.queue.submit([enc.finish()]);
      },
      async read(count = outSize) {
        const bytes = Math.max(4, count * 4);
        const staging = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
        const enc = device.createCommandEncoder();
        enc.copyBufferToBuffer(out, 0, staging, 0, bytes);
        device.queue.submit([enc.finish()]);
        await staging.mapAsync(GPUMapMode.READ);
        const r = new Float32Array(staging.getMappedRange().slice(0, count * 4));
        staging.unmap();
        staging.destroy();
        return r;
      },
      destroy() {
        for (const b of [uni, ...ins, out]) b.destroy();
      },
    };
  };
  const info = adapter.info;
  return {
    device,
    ctx,
    description: `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.trim(),
    prepare,
    async run(p, inputs, outSize) {
      const r = prepare(p, inputs, outSize);
      r.dispatch();
      const res = await r.read();
      r.destroy();
      return res;
    },
  };
}

/**
 * The adapter-missing policy: on CI (process.env.CI set) a missing adapter fails the tests; on a
 * developer machine they skip after a loud warning. Returns true when the tests should run.
 */
export function requireAdapter(h: Harness | undefined, suite: string): h is Harness {
  if (h !== undefined) return true;
  if (process.env.CI) throw new Error(`${suite}: no WebGPU adapter could be created, and CI is set`);
  console.warn(
    `\n${'!'.repeat(78)}\n!! ${suite}: NO WEBGPU ADAPTER - these tests are SKIPPED on this machine.\n!! Install Mesa (libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri) to run them.\n${'!'.repeat(78)}\n`,
  );
  return false;
}
