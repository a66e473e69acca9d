/**
 * Float32-accurate replacements for slow `Math` functions, used only where the result is stored
 * as float32 (float64 results keep `Math`, the reference).
 */

// Rational minimax approximation of tanh on [-7.905, 7.905] (the constants of Eigen's
// `ptanh_float`): numerator odd of degree 13, denominator even of degree 6. Below 4e-4,
// tanh(x) = x in float32.
const CLAMP = 7.905311107635498;
const A1 = 4.89352455891786e-3;
const A3 = 6.37261928875436e-4;
const A5 = 1.48572235717979e-5;
const A7 = 5.12229709037114e-8;
const A9 = -8.60467152213735e-11;
const A11 = 2.00018790482477e-13;
const A13 = -2.76076847742355e-16;
const B0 = 4.89352518554385e-3;
const B2 = 2.268434632439e-3;
const B4 = 1.18534705686654e-4;
const B6 = 1.19825839466702e-6;

/** tanh within 3 float32 ulp (2.63 at worst on a 4M-point sweep; test/cpu-elementwise.test.ts). */
export function tanhFloat32(v: number): number {
  const m = Math.abs(v);
  if (m < 4e-4) return v; // keeps -0
  // Beyond the fit's range (rare in practice) the exact function: the clamped fit would give
  // 1 - 2^-22 where float32 tanh is already 1. NaN also goes this way.
  if (!(m <= CLAMP)) return Math.tanh(v);
  const x = v;
  const x2 = x * x;
  let p = A13;
  p = p * x2 + A11;
  p = p * x2 + A9;
  p = p * x2 + A7;
  p = p * x2 + A5;
  p = p * x2 + A3;
  p = p * x2 + A1;
  let q = B6;
  q = q * x2 + B4;
  q = q * x2 + B2;
  q = q * x2 + B0;
  return (p * x) / q;
}
