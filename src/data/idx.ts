// The IDX format of MNIST-style files (gzipped or plain): parser, reader and encoder.

import { fail } from '../errors.js';
import { sizeOf } from '../tensor/shape.js';
import { nodeBuiltin } from './node.js';

/** Element types of the IDX format (the third byte of the magic number). */
export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/** A parsed IDX file: the array's shape and its values in C order. */
export interface IdxArray {
  type: IdxType;
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<number, [IdxType, number]> = {
  8: ['uint8', 1],
  9: ['int8', 1],
  11: ['int16', 2],
  12: ['int32', 4],
  13: ['float32', 4],
  14: ['float64', 8],
};

/** True for bytes that start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Parses the IDX format of LeCun's MNIST files: two zero bytes, a type byte, the number of
 * dimensions, then one big-endian uint32 per dimension and the values (big-endian for multi-byte
 * types). Gzipped input is inflated first.
 */
export function parseIdx(input: Uint8Array): IdxArray {
  const op = 'parseIdx';
  const bytes = isGzip(input) ? gunzip(input) : input;
  if (bytes.length < 4) fail(op, `expected at least a 4-byte header, got ${bytes.length} bytes`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    fail(op, `bad magic number: the first two bytes must be 0, got ${bytes[0]} ${bytes[1]} (not an IDX file?)`);
  }
  const t = TYPES[bytes[2]!];
  if (t === undefined) fail(op, `unknown element type 0x${bytes[2]!.toString(16).padStart(2, '0')}`);
  const [type, width] = t;
  const rank = bytes[3]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) fail(op, `header declares ${rank} dimensions but the file has ${bytes.length} bytes`);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const count = sizeOf(shape);
  const need = headerBytes + count * width;
  if (bytes.length < need) {
    fail(op, `shape [${shape.join(',')}] of ${type} needs ${need} bytes, the file has ${bytes.length} (truncated?)`);
  }
  let data: IdxArray['data'];
  switch (type) {
    case 'uint8':
      data = bytes.slice(headerBytes, need);
      break;
    case 'int8':
      data = new Int8Array(bytes.slice(headerBytes, need).buffer);
      break;
    case 'int16': {
      const a = new Int16Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getInt16(headerBytes + 2 * i, false);
      data = a;
      break;
    }
    case 'int32': {
      const a = new Int32Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getInt32(headerBytes + 4 * i, false);
      data = a;
      break;
    }
    case 'float32': {
      const a = new Float32Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getFloat32(headerBytes + 4 * i, false);
      data = a;
      break;
    }
    case 'float64': {
      const a = new Float64Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getFloat64(headerBytes + 8 * i, false);
      data = a;
      break;
    }
  }
  return { type, shape, data };
}

/** Gunzips with Node's zlib (in a browser, decompress first, e.g. with DecompressionStream('gzip')). */
function gunzip(input: Uint8Array): Uint8Array {
  const zlib = nodeBuiltin('node:zlib', 'parseIdx', "in a browser decompress first (DecompressionStream('gzip'))");
  return new Uint8Array(zlib.gunzipSync(input));
}

/** Reads and parses an IDX file (plain or gzipped). */
export async function readIdx(path: string): Promise<IdxArray> {
  const { readFile } = nodeBuiltin('node:fs/promises', 'readIdx', 'in a browser fetch the bytes and use parseIdx');
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    return fail('readIdx', `cannot read ${path}: ${(e as Error).message}`);
  }
  return parseIdx(bytes);
}

/** Encodes an array in the IDX format (the inverse of parseIdx; used to write test files). */
export function encodeIdx(type: IdxType, shape: readonly number[], values: ArrayLike<number>): Uint8Array {
  const entry = Object.entries(TYPES).find(([, v]) => v[0] === type)!;
  const code = Number(entry[0]);
  const width = entry[1][1];
  const count = sizeOf(shape);
  if (values.length !== count)
    fail('encodeIdx', `shape [${shape.join(',')}] needs ${count} values, got ${values.length}`);
  const header = 4 + 4 * shape.length;
  const out = new Uint8Array(header + count * width);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = shape.length;
  shape.forEach((d, i) => {
    view.setUint32(4 + 4 * i, d, false);
  });
  for (let i = 0; i < count; i++) {
    const o = header + i * width;
    const v = values[i]!;
    if (type === 'uint8') view.setUint8(o, v);
    else if (type === 'int8') view.setInt8(o, v);
    else if (type === 'int16') view.setInt16(o, v, false);
    else if (type === 'int32') view.setInt32(o, v, false);
    else if (type === 'float32') view.setFloat32(o, v, false);
    else view.setFloat64(o, v, false);
  }
  return out;
}
