/**
 * Float32-accurate replacements for slow `Math` functions, used only where the result is stored
 * as float32 (float64 results keep `Math`, the reference).
 */

/**
 * tanh within 3 float32 ulp (2.63 at worst on a 4M-point sweep; test/cpu-elementwise.test.ts).
 *
 * A rational minimax approximation on [-7.905, 7.905] (the constants of Eigen's `ptanh_float`):
 * numerator odd of degree 13, denominator even of degree 6. Below 4e-4, tanh(x) = x in float32.
 * Self-contained (constants inside) so that worker threads can compile it from its source text.
 */
export function tanhFloat32(v: number): number {
  const m = Math.abs(v);
  if (m < 4e-4) return v; // keeps -0
  // Beyond the fit's range (rare in practice) the exact function: the clamped fit would give
  // 1 - 2^-22 where float32 tanh is already 1. NaN also goes this way.
  if (!(m <= 7.905311107635498)) return Math.tanh(v);
  const x2 = v * v;
  let p = -2.76076847742355e-16;
  p = p * x2 + 2.00018790482477e-13;
  p = p * x2 + -8.60467152213735e-11;
  p = p * x2 + 5.12229709037114e-8;
  p = p * x2 + 1.48572235717979e-5;
  p = p * x2 + 6.37261928875436e-4;
  p = p * x2 + 4.89352455891786e-3;
  let q = 1.19825839466702e-6;
  q = q * x2 + 1.18534705686654e-4;
  q = q * x2 + 2.268434632439e-3;
  q = q * x2 + 4.89352518554385e-3;
  return (p * v) / q;
}
