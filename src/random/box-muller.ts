// The float32 Box-Muller transform shared bit for bit by the CPU and WebGPU backends: log, sqrt and
// cos written as fixed sequences of correctly rounded float32 additions and multiplications.
//
// WGSL's log, sqrt and cos are not correctly rounded (and neither are JS's Math.log and Math.cos),
// so computing them with the built-ins gave normals that differed by one ulp in about 23% of draws.
// Here every step is an IEEE float32 add, subtract or multiply (correctly rounded in WGSL and, via
// Math.fround of the exact float64 result, on the CPU), exact bit manipulations or exact
// comparisons, in the same order on both backends; src/kernels/wgsl/random.ts emits the same steps
// and keeps the compiler from fusing a product into an add (fma) by passing every product through
// an integer xor with a uniform that is zero.

const f = Math.fround;

/**
 * log(1 + t) = t p(t) for t in [sqrt(1/2) - 1, sqrt(2) - 1], p of degree 9: a least-squares fit at
 * 4,000 Chebyshev nodes to 40-digit log1p(t) / t, rounded to float32 and kept here as bit patterns
 * (so every engine gets the same numbers). Evaluated in float32 by Horner, the log of a mantissa
 * is within 2.7 float32 ulps of the exact value (checked at 2,001 points against mpmath); the
 * 22-term Taylor series this replaces was no more accurate and took twice the steps.
 */
const LOG_COEFF_BITS = [
  3181146172, 1040465339, 3188168211, 1041314874, 3190428628, 1045221947, 3196060180, 1051372200, 3204448252,
  1065353216,
];
/** The coefficients of p, highest degree first, as float32 values. */
export const LOG_COEFFS: readonly number[] = LOG_COEFF_BITS.map(
  (b) => new Float32Array(new Uint32Array([b]).buffer)[0]!,
);
/** The number of coefficients of p. */
export const LOG_TERMS = LOG_COEFFS.length;
/** cos(a) = sum_k (-1)^k a^(2k) / (2k)!, k = 0..6, highest first (a in [0, pi/4]: error < 1e-12). */
export const COS_COEFFS: readonly number[] = [6, 5, 4, 3, 2, 1, 0].map((k) =>
  f((k % 2 === 0 ? 1 : -1) / factorial(2 * k)),
);
/** sin(a) / a = sum_k (-1)^k a^(2k) / (2k+1)!, k = 0..6, highest first. */
export const SIN_COEFFS: readonly number[] = [6, 5, 4, 3, 2, 1, 0].map((k) =>
  f((k % 2 === 0 ? 1 : -1) / factorial(2 * k + 1)),
);
/** Float32 constants of the transform. */
export const BM = {
  /** sqrt(2) rounded to float32: mantissas above it are halved (so t = m - 1 is in [-0.293, 0.415)). */
  sqrt2: f(Math.SQRT2),
  ln2: f(Math.LN2),
  halfPi: f(Math.PI / 2),
  /** The float32 bit pattern of the fast inverse-square-root seed. */
  rsqrtMagic: 0x5f3759df,
} as const;

function factorial(n: number): number {
  let p = 1;
  for (let i = 2; i <= n; i++) p *= i;
  return p;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function bits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}

function fromBits(b: number): number {
  u32[0] = b >>> 0;
  return f32[0]!;
}

/** log(v) for a float32 v in [2^-24, 1]: exponent and mantissa split exactly, then a Taylor polynomial. */
export function logF32(v: number): number {
  const b = bits(v);
  let e = ((b >>> 23) & 0xff) - 127;
  let m = fromBits((b & 0x7fffff) | 0x3f800000);
  if (m > BM.sqrt2) {
    m = f(m * 0.5);
    e += 1;
  }
  const t = f(m - 1);
  let p = LOG_COEFFS[0]!;
  for (let i = 1; i < LOG_TERMS; i++) p = f(f(p * t) + LOG_COEFFS[i]!);
  return f(f(e * BM.ln2) + f(p * t));
}

/**
 * Newton steps of the inverse square root: the bit-trick seed is within 3.5e-3, and each step
 * squares the relative error (1.8e-5, then 5e-10: below float32's 6e-8 after three).
 */
export const NEWTON_STEPS = 3;

/** sqrt(x) for a float32 x >= 0: the inverse square root by Newton steps from the bit-trick seed, times x. */
export function sqrtF32(x: number): number {
  if (x === 0) return 0;
  let y = fromBits(BM.rsqrtMagic - (bits(x) >>> 1));
  const h = f(x * 0.5);
  for (let i = 0; i < NEWTON_STEPS; i++) y = f(y * f(1.5 - f(f(h * y) * y)));
  return f(x * y);
}

/** Horner evaluation of a polynomial in `x` with float32 steps (coefficients highest degree first). */
function horner(coeffs: readonly number[], x: number): number {
  let p = coeffs[0]!;
  for (let i = 1; i < coeffs.length; i++) p = f(f(p * x) + coeffs[i]!);
  return p;
}

/**
 * cos(2 pi u) for u = k 2^-24 in [0, 1): the quadrant and the fraction f of 4u are exact, the
 * fraction is folded to h = min(f, 1 - f) in [0, 1/2] (exact), and cos or sin of a = h pi/2 in
 * [0, pi/4] comes from its Taylor polynomial.
 */
export function cos2PiF32(u: number): number {
  const g = f(u * 4);
  const q = Math.floor(g);
  const frac = f(g - q);
  const flip = frac > 0.5;
  const h = flip ? f(1 - frac) : frac;
  const a = f(h * BM.halfPi);
  const a2 = f(a * a);
  // cos(q pi/2 + a'): q = 0 cos, 1 -sin, 2 -cos, 3 sin; folding swaps cos and sin.
  const wantCos = (q % 2 === 0) !== flip;
  const v = wantCos ? horner(COS_COEFFS, a2) : f(a * horner(SIN_COEFFS, a2));
  return q === 1 || q === 2 ? -v : v;
}

/**
 * One standard normal (float32) from two uniforms u1, u2 in [0, 1) (multiples of 2^-24):
 * sqrt(-2 log(1 - u1)) cos(2 pi u2), computed exactly as the WebGPU kernel does.
 */
export function boxMullerF32(u1: number, u2: number): number {
  const v = f(1 - u1); // exact: u1 is a multiple of 2^-24
  const r = sqrtF32(f(logF32(v) * -2));
  return f(r * cos2PiF32(u2));
}
