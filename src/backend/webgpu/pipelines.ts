/**
 * The WebGPU runtime's pipeline cache: bind group layouts by binding signature, pipelines by
 * Program.key, synchronous compiles checked in a validation scope, async warm-up compiles, and
 * WGSL compile errors with the messages and the numbered source.
 */
import { fail, TesseraError } from '../../errors.js';
import type { Program } from '../../kernels/wgsl/program.js';
import { counters } from './stats.js';

const STAGE_COMPUTE = 4;

interface BindingLayout {
  readonly bgl: GPUBindGroupLayout;
  readonly pl: GPUPipelineLayout;
}

export interface PipelineEntry {
  readonly key: string;
  readonly program: Program;
  readonly layout: BindingLayout;
  pipeline: GPUComputePipeline | null;
  state: 'ready' | 'failed';
  error: TesseraError | null;
  /** Settles when validation of a synchronously created pipeline is known. */
  checked: Promise<void>;
}

interface PipelineCacheOptions {
  /** The device's maxStorageBuffersPerShaderStage. */
  readonly maxStorageBuffers: number;
  /** 2 or more prints each compile with its WGSL. */
  readonly debug: number;
  /** Receives the compile error of a pipeline created synchronously, once validation has failed. */
  readonly onCompileError: (e: TesseraError) => void;
}

function numbered(src: string): string {
  const lines = src.split('\n');
  const w = String(lines.length).length;
  return lines.map((l, i) => `${String(i + 1).padStart(w, ' ')} | ${l}`).join('\n');
}

function compileError(program: Program, info: GPUCompilationInfo | null, fallback: string): TesseraError {
  const msgs =
    info === null || info.messages.length === 0
      ? fallback
      : info.messages.map((m) => `  ${m.type} at line ${m.lineNum}:${m.linePos}: ${m.message}`).join('\n');
  return new TesseraError(
    'webgpu',
    `WGSL compile error in program '${program.key}':\n${msgs}\n--- WGSL source ---\n${numbered(program.wgsl)}`,
  );
}

export class PipelineCache {
  readonly #device: GPUDevice;
  readonly #opts: PipelineCacheOptions;
  readonly #pipelines = new Map<string, PipelineEntry>();
  readonly #layouts = new Map<string, BindingLayout>();
  /** Validation results of synchronously created pipelines not yet waited for. */
  readonly #unchecked = new Set<Promise<void>>();

  constructor(device: GPUDevice, opts: PipelineCacheOptions) {
    this.#device = device;
    this.#opts = opts;
  }

  #layout(nIn: number, nOut: number): BindingLayout {
    const sig = `${nIn}:${nOut}`;
    let l = this.#layouts.get(sig);
    if (l !== undefined) return l;
    const entries: GPUBindGroupLayoutEntry[] = [{ binding: 0, visibility: STAGE_COMPUTE, buffer: { type: 'uniform' } }];
    for (let i = 0; i < nIn; i++) {
      entries.push({ binding: i + 1, visibility: STAGE_COMPUTE, buffer: { type: 'read-only-storage' } });
    }
    for (let i = 0; i < nOut; i++) {
      entries.push({ binding: nIn + 1 + i, visibility: STAGE_COMPUTE, buffer: { type: 'storage' } });
    }
    const bgl = this.#device.createBindGroupLayout({ entries, label: `tessera ${sig}` });
    l = { bgl, pl: this.#device.createPipelineLayout({ bindGroupLayouts: [bgl] }) };
    this.#layouts.set(sig, l);
    return l;
  }

  /** The cache key of `program` with nIn inputs and nOut outputs (plus the error word), and its output bindings. */
  #signature(program: Program, nIn: number, nOut: number): { key: string; outs: number } {
    const total = nIn + nOut + (program.errorFlag === true ? 1 : 0);
    const max = this.#opts.maxStorageBuffers;
    if (total > max) {
      fail(
        'webgpu',
        `program '${program.key}' binds ${total} storage buffers, more than this device's maxStorageBuffersPerShaderStage of ${max}`,
      );
    }
    const outs = total - nIn;
    return { key: `${program.key}#${nIn}:${outs}`, outs };
  }

  #add(
    key: string,
    program: Program,
    layout: BindingLayout,
    pipeline: GPUComputePipeline | null,
    error: TesseraError | null = null,
  ): PipelineEntry {
    const state = error === null ? 'ready' : 'failed';
    const entry: PipelineEntry = { key, program, layout, pipeline, state, error, checked: Promise.resolve() };
    this.#pipelines.set(key, entry);
    return entry;
  }

  /**
   * The pipeline for `program` (nIn inputs, nOut outputs), compiled synchronously on first use;
   * throws the compile error of a program known to be broken.
   */
  entry(program: Program, nIn: number, nOut: number): PipelineEntry {
    const { key, outs } = this.#signature(program, nIn, nOut);
    const hit = this.#pipelines.get(key);
    if (hit !== undefined) {
      if (hit.state === 'failed') throw hit.error!;
      return hit;
    }
    counters.compiles++;
    const layout = this.#layout(nIn, outs);
    const t0 = this.#opts.debug >= 2 ? performance.now() : 0;
    this.#device.pushErrorScope('validation');
    const module = this.#device.createShaderModule({ code: program.wgsl, label: program.key });
    const pipeline = this.#device.createComputePipeline({
      layout: layout.pl,
      compute: { module, entryPoint: 'main' },
      label: program.key,
    });
    const scope = this.#device.popErrorScope();
    const entry = this.#add(key, program, layout, pipeline);
    entry.checked = scope.then(
      async (err) => {
        if (err === null) return;
        const info = await module.getCompilationInfo().catch(() => null);
        entry.state = 'failed';
        entry.pipeline = null;
        entry.error = compileError(program, info, err.message);
        this.#opts.onCompileError(entry.error);
      },
      () => {},
    );
    this.#unchecked.add(entry.checked);
    if (this.#opts.debug >= 2) {
      console.error(`[tessera webgpu] compiled ${program.key} in ${(performance.now() - t0).toFixed(1)} ms`);
      console.error(numbered(program.wgsl));
    }
    return entry;
  }

  /**
   * Compiles a program ahead of use with createComputePipelineAsync (nIn inputs, nOut outputs
   * besides the error word); rejects with a TesseraError holding the messages and numbered WGSL.
   */
  async compile(program: Program, nIn: number, nOut: number): Promise<void> {
    const { key, outs } = this.#signature(program, nIn, nOut);
    const hit = this.#pipelines.get(key);
    if (hit !== undefined) {
      await hit.checked;
      if (hit.state === 'failed') throw hit.error!;
      return;
    }
    const layout = this.#layout(nIn, outs);
    this.#device.pushErrorScope('validation');
    const module = this.#device.createShaderModule({ code: program.wgsl, label: program.key });
    const moduleErr = this.#device.popErrorScope();
    counters.compiles++;
    try {
      const pipeline = await this.#device.createComputePipelineAsync({
        layout: layout.pl,
        compute: { module, entryPoint: 'main' },
        label: program.key,
      });
      await moduleErr;
      this.#add(key, program, layout, pipeline);
    } catch (e) {
      await moduleErr.catch(() => null);
      const info = await module.getCompilationInfo().catch(() => null);
      const error = compileError(program, info, e instanceof Error ? e.message : String(e));
      this.#add(key, program, layout, null, error);
      throw error;
    }
  }

  /** Waits for the validation results of pipelines created since the last wait. */
  async settle(): Promise<void> {
    if (this.#unchecked.size === 0) return;
    const all = [...this.#unchecked];
    this.#unchecked.clear();
    await Promise.all(all);
  }

  clear(): void {
    this.#pipelines.clear();
  }
}
