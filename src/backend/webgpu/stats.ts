/**
 * Cumulative WebGPU counters (read-backs, dispatches, submits, compiles, buffer pool hits), shared
 * by every runtime in the process; the runtime's parts increment them, tests compare snapshots.
 */

/** Cumulative counters (all runtimes in this process); tests compare before/after. */
export interface WebGPUStats {
  /** Read-backs (buffer -> host copies) started: read() calls on non-empty tensors. */
  readbacks: number;
  dispatches: number;
  submits: number;
  /** Pipelines compiled (cache misses). */
  compiles: number;
  /** GPU storage buffers created (pool misses). */
  buffersCreated: number;
  /** Storage buffers taken from the pool (pool hits). */
  poolHits: number;
  uploads: number;
}

/** The live counters (incremented by runtime.ts, buffers.ts and pipelines.ts). */
export const counters: WebGPUStats = {
  readbacks: 0,
  dispatches: 0,
  submits: 0,
  compiles: 0,
  buffersCreated: 0,
  poolHits: 0,
  uploads: 0,
};

/** A snapshot of the WebGPU counters (read-backs, dispatches, submits, compiles, pool hits). */
export function webgpuStats(): Readonly<WebGPUStats> {
  return { ...counters };
}
