// GPU time per dispatch for the profiler (src/profile/): while a profile runs, each labelled dispatch
// of a batch gets its own compute pass with timestamp writes, resolved and read back after submit.
import { type ProfileSink, profiling } from '../../tensor/profiling.js';

const QUERY_RESOLVE = 0x0200; // GPUBufferUsage.QUERY_RESOLVE
const COPY_SRC = 0x0004;
const COPY_DST = 0x0008;
const MAP_READ = 0x0001;

/** Why a profile has no GPU times on this device (printed once in the table's notes). */
export const NO_TIMESTAMPS_NOTE =
  "this WebGPU adapter has no 'timestamp-query' feature: WebGPU rows show CPU-side time only (recording dispatches, plus any submit of a full batch, which may run the whole batch in that call, as on Dawn's OpenGL ES backend over llvmpipe: that work then lands on the kernel that filled the batch)";

/** True when the device was created with the 'timestamp-query' feature (see device.ts). */
export function hasTimestamps(device: GPUDevice): boolean {
  return device.features.has('timestamp-query');
}

/** The profiler's label for the dispatch being recorded now, or undefined when not profiling. */
export function dispatchLabel(device: GPUDevice): string | undefined {
  const sink = profiling.sink;
  if (sink === undefined) return undefined;
  if (!hasTimestamps(device)) {
    sink.note(NO_TIMESTAMPS_NOTE);
    return undefined;
  }
  return profiling.kernelName ?? 'other dispatches';
}

/** Timestamp queries for the labelled dispatches of one submitted batch. */
export class BatchTimestamps {
  readonly #labels: string[] = [];
  readonly #querySet: GPUQuerySet;
  readonly #resolve: GPUBuffer;
  readonly #read: GPUBuffer;

  constructor(device: GPUDevice, count: number) {
    this.#querySet = device.createQuerySet({ type: 'timestamp', count: 2 * count });
    const bytes = 16 * count;
    this.#resolve = device.createBuffer({ size: bytes, usage: QUERY_RESOLVE | COPY_SRC });
    this.#read = device.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST });
  }

  /** A compute pass timing one dispatch labelled `label` (the caller ends it after the dispatch). */
  beginPass(enc: GPUCommandEncoder, label: string): GPUComputePassEncoder {
    const i = this.#labels.length;
    this.#labels.push(label);
    return enc.beginComputePass({
      timestampWrites: { querySet: this.#querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
    });
  }

  /** Records the resolve and the copy to the read-back buffer (after the batch's passes). */
  resolve(enc: GPUCommandEncoder): void {
    const n = this.#labels.length;
    if (n === 0) return;
    enc.resolveQuerySet(this.#querySet, 0, 2 * n, this.#resolve, 0);
    enc.copyBufferToBuffer(this.#resolve, 0, this.#read, 0, 16 * n);
  }

  /**
   * After submit: reads the times back and reports them to `sink` (which awaits the read-back), or
   * only releases the queries when the profile has ended before the batch was submitted.
   */
  report(sink: ProfileSink | undefined): void {
    const n = this.#labels.length;
    const done = (async () => {
      try {
        if (n > 0 && sink !== undefined) {
          await this.#read.mapAsync(MAP_READ, 0, 16 * n);
          const ticks = new BigUint64Array(this.#read.getMappedRange(0, 16 * n).slice(0));
          this.#read.unmap();
          for (let i = 0; i < n; i++) {
            const ns = ticks[2 * i + 1]! - ticks[2 * i]!;
            // Some drivers report an end before the beginning for an empty pass: count it as 0.
            sink.gpuTime(this.#labels[i]!, ns > 0n ? Number(ns) / 1e6 : 0);
          }
        }
      } catch (e) {
        sink?.note(`GPU timestamps could not be read: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        this.#querySet.destroy();
        this.#resolve.destroy();
        this.#read.destroy();
      }
    })();
    sink?.pending(done);
  }
}
