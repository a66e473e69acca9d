/**
 * Device-side error reporting of the WebGPU runtime: the error word kernels `atomicMin` a code
 * into (an out-of-range index, a NaN in checkNumerics mode, an integer division by zero), a
 * detail word the first reporter fills (the offending index), and the codes handed out to them.
 */
import { TesseraError } from '../../errors.js';
import { BUF } from './buffers.js';

const NO_ERROR = 0xffffffff;

interface DeviceErrorInfo {
  readonly op: string;
  readonly message: string;
}

function filledBuffer(device: GPUDevice, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
  const b = device.createBuffer({ size: 16, usage, mappedAtCreation: true, label });
  new Uint32Array(b.getMappedRange()).fill(NO_ERROR);
  b.unmap();
  return b;
}

export class ErrorWord {
  /** The word kernels write codes into (bound after their outputs). */
  readonly buffer: GPUBuffer;
  /** NO_ERROR, copied over the word after each read-back. */
  readonly reset: GPUBuffer;
  /** A kernel that may write the word ran since the last read-back. */
  dirty = false;
  #nextCode = 1;
  readonly #codes = new Map<number, DeviceErrorInfo>();

  constructor(device: GPUDevice) {
    this.buffer = filledBuffer(device, BUF.STORAGE | BUF.COPY_SRC | BUF.COPY_DST, 'tessera error word');
    this.reset = filledBuffer(device, BUF.COPY_SRC, 'tessera error reset');
  }

  /** Reserves a code for a kernel that may fail on the device; reported as TesseraError(op, message). */
  code(op: string, message: string): number {
    const code = this.#nextCode++;
    if (this.#nextCode >= NO_ERROR) this.#nextCode = 1;
    this.#codes.set(code, { op, message });
    return code;
  }

  /** The next code to be handed out: a read-back passes it to `check` as the limit of what it covers. */
  get nextCode(): number {
    return this.#nextCode;
  }

  /**
   * The error a read-back word reports (null for none), and forgets the codes below `limit`
   * (handed out before the read-back was recorded). `detail` is the second word (err[1]): kernels
   * that report a value (an offending index) store it there, and `{detail}` in the message is
   * replaced by it as a signed integer.
   */
  check(word: number, limit: number, detail = NO_ERROR): TesseraError | null {
    let error: TesseraError | null = null;
    if (word !== NO_ERROR) {
      const info = this.#codes.get(word);
      const message = (info?.message ?? `a kernel reported error code ${word}`).replace('{detail}', String(detail | 0));
      error = new TesseraError(info?.op ?? 'webgpu', message);
    }
    for (const c of this.#codes.keys()) if (c < limit) this.#codes.delete(c);
    return error;
  }
}
