/**
 * Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), in plain
 * 32-bit arithmetic so the WGSL kernel (src/kernels/wgsl/random.ts) computes the same bits.
 */
const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product a * b, from 16-bit halves (as the WGSL kernel does it). */
export function mulhi32(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const loLo = aLo * bLo;
  const loHi = aLo * bHi;
  const hiLo = aHi * bLo;
  const cross = (loLo >>> 16) + (loHi & 0xffff) + (hiLo & 0xffff);
  return (aHi * bHi + (loHi >>> 16) + (hiLo >>> 16) + (cross >>> 16)) >>> 0;
}

/** One Philox-4x32-10 block: counter (4 words) and key (2 words) -> 4 random words, written to `out`. */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array | number[] = new Uint32Array(4),
): Uint32Array | number[] {
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi32(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi32(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

/** The uniform in [0, 1) of one random word: its top 24 bits times 2^-24 (exact in float32). */
export function wordToUniform(w: number): number {
  return (w >>> 8) * 5.9604644775390625e-8;
}

/**
 * The layout shared by every backend: element i of a draw with key `key`, stream `stream` and
 * block offset `offset` is word (i mod 4) of philox(counter = (floor(i / 4) + offset, 0, stream0, stream1), key).
 */
export function uniformBits(
  n: number,
  key: readonly [number, number],
  stream: readonly [number, number],
  offset = 0,
): Uint32Array {
  const out = new Uint32Array(n);
  const block = new Uint32Array(4);
  for (let b = 0; b * 4 < n; b++) {
    philox4x32((b + offset) >>> 0, 0, stream[0], stream[1], key[0], key[1], block);
    for (let j = 0; j < 4 && b * 4 + j < n; j++) out[b * 4 + j] = block[j]!;
  }
  return out;
}
