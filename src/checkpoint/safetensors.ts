/**
 * The safetensors format (https://github.com/huggingface/safetensors), so weights can be exchanged
 * with PyTorch: 8 bytes little-endian u64 N, then N bytes of JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {string: string}}`, then the
 * tensor bytes (little-endian, row-major; offsets relative to the start of this byte buffer).
 * Pure byte-level code (no file system), usable in browsers too.
 */

import { fail, fmtShape } from '../errors.js';
import type { DType, TypedArray } from '../tensor/dtype.js';
import { sizeOf } from '../tensor/shape.js';

/** Dtype names in safetensors files this library writes. */
export type SafetensorsDType = 'F32' | 'F64' | 'I32' | 'BOOL';

/** A host-side tensor record: what is read from or written to a file. */
export interface HostTensor {
  dtype: DType;
  shape: readonly number[];
  data: TypedArray;
}

export interface SafetensorsContents {
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string>;
}

const WRITE_DTYPE: Record<DType, SafetensorsDType> = { float32: 'F32', float64: 'F64', int32: 'I32', bool: 'BOOL' };

function littleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

function checkHost(op: string): void {
  if (!littleEndian()) fail(op, 'big-endian hosts are not supported');
}

/** Encodes tensors and string metadata as safetensors bytes (header padded with spaces to 8 bytes). */
export function encodeSafetensors(
  tensors: Iterable<readonly [string, HostTensor]>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const op = 'encodeSafetensors';
  checkHost(op);
  const header: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') fail(op, `metadata values must be strings, '${k}' is ${typeof v}`);
  }
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__' || name === '') fail(op, `invalid tensor name '${name}'`);
    if (name in header) fail(op, `duplicate tensor name '${name}'`);
    const n = sizeOf(t.shape);
    if (t.data.length !== n) fail(op, `'${name}' has shape ${fmtShape(t.shape)} but ${t.data.length} values`);
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: WRITE_DTYPE[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  const enc = new TextEncoder();
  let hb = enc.encode(json);
  const pad = (8 - ((8 + hb.length) % 8)) % 8;
  if (pad > 0) {
    json += ' '.repeat(pad);
    hb = enc.encode(json);
  }
  const out = new Uint8Array(8 + hb.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let pos = 8 + hb.length;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** IEEE half -> number. */
function halfToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 0x1f) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

const ELEM_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/**
 * Decodes safetensors bytes. F32, F64, I32 and BOOL map to float32, float64, int32 and bool;
 * for files written by PyTorch, F16 and BF16 are widened to float32, and I64 / I16 / I8 / U8 to
 * int32 (I64 values must fit in int32).
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsContents {
  const op = 'decodeSafetensors';
  checkHost(op);
  if (bytes.length < 8) fail(op, `file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8)) fail(op, `header length ${n64} exceeds the file size ${bytes.length}`);
  const n = Number(n64);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    return fail(op, `header is not valid UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail(op, 'header must be a JSON object');
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, HostTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info)) fail(op, '__metadata__ must be an object');
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(op, `__metadata__['${k}'] must be a string, got ${typeof v}`);
        metadata[k] = v;
      }
      continue;
    }
    const rec = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dt = rec?.dtype;
    const shape = rec?.shape;
    const offs = rec?.data_offsets;
    if (typeof dt !== 'string' || !(dt in ELEM_BYTES)) fail(op, `'${name}' has unsupported dtype ${String(dt)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      fail(op, `'${name}' has an invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isInteger(d) && d >= 0))
      fail(op, `'${name}' has invalid data_offsets ${JSON.stringify(offs)}`);
    const [b, e] = offs as [number, number];
    const count = (shape as number[]).reduce((a, c) => a * c, 1);
    const eb = ELEM_BYTES[dt]!;
    if (e < b || e > dataLen || e - b !== count * eb)
      fail(
        op,
        `'${name}': data_offsets [${b}, ${e}] do not hold ${count} ${dt} values (${count * eb} bytes) within ${dataLen} data bytes`,
      );
    // Copy into a fresh, aligned buffer (a Node Buffer's slice() would be a view into a pool).
    const raw = new Uint8Array(e - b);
    raw.set(bytes.subarray(dataStart + b, dataStart + e));
    const rdv = new DataView(raw.buffer);
    let data: TypedArray;
    let dtype: DType;
    switch (dt) {
      case 'F32':
        data = new Float32Array(raw.buffer);
        dtype = 'float32';
        break;
      case 'F64':
        data = new Float64Array(raw.buffer);
        dtype = 'float64';
        break;
      case 'I32':
        data = new Int32Array(raw.buffer);
        dtype = 'int32';
        break;
      case 'BOOL':
        data = new Uint8Array(raw.buffer).map((v) => (v ? 1 : 0));
        dtype = 'bool';
        break;
      case 'F16':
      case 'BF16': {
        const f = new Float32Array(count);
        const bits = new Uint32Array(1);
        const bf16 = new Float32Array(bits.buffer);
        for (let i = 0; i < count; i++) {
          const h = rdv.getUint16(2 * i, true);
          if (dt === 'F16') f[i] = halfToNumber(h);
          else {
            bits[0] = h << 16; // bfloat16 is the high half of a float32
            f[i] = bf16[0]!;
          }
        }
        data = f;
        dtype = 'float32';
        break;
      }
      default: {
        const out = new Int32Array(count);
        for (let i = 0; i < count; i++) {
          let v: number;
          if (dt === 'I64') {
            const big = rdv.getBigInt64(8 * i, true);
            if (big > 2147483647n || big < -2147483648n) fail(op, `'${name}' holds an I64 value ${big} outside int32`);
            v = Number(big);
          } else if (dt === 'I16') v = rdv.getInt16(2 * i, true);
          else if (dt === 'I8') v = rdv.getInt8(i);
          else v = rdv.getUint8(i);
          out[i] = v;
        }
        data = out;
        dtype = 'int32';
      }
    }
    tensors.set(name, { dtype, shape: shape as number[], data });
  }
  return { tensors, metadata };
}
