/**
 * WGSL float helpers that match the CPU backend (JavaScript's Math in float64, rounded to float32)
 * to a few ulp, including NaN, Inf and signed-zero cases.
 *
 * Why not WGSL's built-ins: WGSL lets implementations assume no NaN/Inf, and measured on Dawn's
 * OpenGL ES backend over Mesa llvmpipe (see docs in the tests): `log` near 1 was off by ~6000 ulp,
 * `tanh` near 0 by ~18000 ulp and `tanh(NaN)` gave 1, `atan`/`atan2` by ~350 ulp and
 * `atan2(0, 0)` gave 3pi/4, `max(NaN, 0)` gave 0, `sign(NaN)` gave 0, and the compiler applies
 * fast-math rewrites such as `(1 + x) - 1 -> x` and `x * 0 -> 0`. So: NaN/Inf tests use bit
 * patterns, special cases are explicit, and the transcendentals are Cephes-style polynomials with
 * range reduction that contain no cancellation tricks a fast-math compiler could undo. `sin`,
 * `cos`, `sqrt`, `floor`, `ceil`, `trunc`, `round` (half to even) measured within 1 ulp and are used
 * as built-ins.
 */

interface MathFn {
  readonly deps: readonly string[];
  readonly code: string;
}

const FNS: Record<string, MathFn> = {
  consts: {
    deps: [],
    code: `
var<private> BITS_INF : u32 = 0x7f800000u;
var<private> BITS_NAN : u32 = 0x7fc00000u;
fn inf_f() -> f32 { return bitcast<f32>(BITS_INF); }
fn nan_f() -> f32 { return bitcast<f32>(BITS_NAN); }
fn is_nan(x : f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn is_inf(x : f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
fn sign_bit(x : f32) -> bool { return (bitcast<u32>(x) & 0x80000000u) != 0u; }
fn is_nonfinite(x : f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u; }
`,
  },
  exp: {
    deps: ['consts'],
    code: `
fn t_exp(x : f32) -> f32 {
  if (is_nan(x)) { return x; }
  if (x > 88.72283935546875) { return inf_f(); }
  if (x < -103.97208404541016) { return 0.0; }
  let k = round(x * 1.4426950408889634);
  let r = (x - k * 0.693359375) + k * 2.12194440e-4;
  let z = r * r;
  var p = 1.9875691500e-4;
  p = p * r + 1.3981999507e-3;
  p = p * r + 8.3334519073e-3;
  p = p * r + 4.1665795894e-2;
  p = p * r + 1.6666665459e-1;
  p = p * r + 5.0000001201e-1;
  let y = p * z + r + 1.0;
  let ki = i32(k);
  let h = ki / 2;
  return ldexp(ldexp(y, h), ki - h);
}
`,
  },
  log: {
    deps: ['consts'],
    code: `
fn t_log(x0 : f32) -> f32 {
  if (is_nan(x0)) { return x0; }
  if (x0 < 0.0) { return nan_f(); }
  if (x0 == 0.0) { return -inf_f(); }
  if (is_inf(x0)) { return x0; }
  var x = x0;
  var e = 0;
  if (x < 1.1754943508222875e-38) { x = x * 16777216.0; e = -24; }
  let b = bitcast<u32>(x);
  e = e + i32((b >> 23u) & 0xffu) - 126;
  var m = bitcast<f32>((b & 0x007fffffu) | 0x3f000000u);
  if (m < 0.70710678118654752) { e = e - 1; m = m + m - 1.0; } else { m = m - 1.0; }
  let z = m * m;
  var y = 7.0376836292e-2;
  y = y * m - 1.1514610310e-1;
  y = y * m + 1.1676998740e-1;
  y = y * m - 1.2420140846e-1;
  y = y * m + 1.4249322787e-1;
  y = y * m - 1.6668057665e-1;
  y = y * m + 2.0000714765e-1;
  y = y * m - 2.4999993993e-1;
  y = y * m + 3.3333331174e-1;
  y = y * m * z;
  let fe = f32(e);
  y = y - 2.12194440e-4 * fe;
  y = y - 0.5 * z;
  return (m + y) + 0.693359375 * fe;
}
`,
  },
  log1p: {
    deps: ['consts', 'log'],
    code: `
fn t_log1p(x : f32) -> f32 {
  if (is_nan(x)) { return x; }
  if (x > -0.4 && x < 0.6666) {
    // log(1 + x) = 2 atanh(s), s = x / (2 + x), |s| <= 0.25
    let s = x / (2.0 + x);
    let s2 = s * s;
    var p = 1.0 / 15.0;
    p = p * s2 + 1.0 / 13.0;
    p = p * s2 + 1.0 / 11.0;
    p = p * s2 + 1.0 / 9.0;
    p = p * s2 + 1.0 / 7.0;
    p = p * s2 + 1.0 / 5.0;
    p = p * s2 + 1.0 / 3.0;
    return 2.0 * s + 2.0 * s * (p * s2);
  }
  return t_log(1.0 + x);
}
`,
  },
  expm1: {
    deps: ['consts', 'exp'],
    code: `
fn t_expm1(x : f32) -> f32 {
  if (is_nan(x) || x == 0.0) { return x; }
  if (abs(x) < 0.5) {
    var p = 1.0 / 39916800.0;
    p = p * x + 1.0 / 3628800.0;
    p = p * x + 1.0 / 362880.0;
    p = p * x + 1.0 / 40320.0;
    p = p * x + 1.0 / 5040.0;
    p = p * x + 1.0 / 720.0;
    p = p * x + 1.0 / 120.0;
    p = p * x + 1.0 / 24.0;
    p = p * x + 1.0 / 6.0;
    p = p * x + 0.5;
    return x + x * (p * x);
  }
  return t_exp(x) - 1.0;
}
`,
  },
  tanh: {
    deps: ['consts', 'exp'],
    code: `
fn t_tanh(x : f32) -> f32 {
  if (is_nan(x) || x == 0.0) { return x; }
  let a = abs(x);
  if (a < 0.625) {
    let z = x * x;
    var p = -5.70498872745e-3;
    p = p * z + 2.06390887954e-2;
    p = p * z - 5.37397155531e-2;
    p = p * z + 1.33314422036e-1;
    p = p * z - 3.33332819422e-1;
    return x + x * (p * z);
  }
  var r = 1.0;
  if (a < 44.0) { r = 1.0 - 2.0 / (t_exp(2.0 * a) + 1.0); }
  return select(r, -r, x < 0.0);
}
`,
  },
  sigmoid: {
    deps: ['consts', 'exp'],
    code: `
fn t_sigmoid(x : f32) -> f32 {
  if (is_nan(x)) { return x; }
  if (x >= 0.0) { return 1.0 / (1.0 + t_exp(-x)); }
  let e = t_exp(x);
  return e / (1.0 + e);
}
`,
  },
  atan: {
    deps: ['consts'],
    code: `
fn t_atan(x0 : f32) -> f32 {
  if (is_nan(x0)) { return x0; }
  var x = abs(x0);
  var y = 0.0;
  if (x > 2.414213562373095) {
    y = 1.5707963267948966;
    x = -1.0 / x;
  } else if (x > 0.41421356237309503) {
    y = 0.7853981633974483;
    x = (x - 1.0) / (x + 1.0);
  }
  let z = x * x;
  var p = 8.05374449538e-2;
  p = p * z - 1.38776856032e-1;
  p = p * z + 1.99777106478e-1;
  p = p * z - 3.33329491539e-1;
  y = y + (x + x * (p * z));
  return select(y, -y, sign_bit(x0));
}
`,
  },
  atan2: {
    deps: ['consts', 'atan'],
    code: `
fn t_atan2(y : f32, x : f32) -> f32 {
  if (is_nan(x) || is_nan(y)) { return nan_f(); }
  let xneg = sign_bit(x);
  let ay = abs(y);
  let ax = abs(x);
  var r = 0.0;
  if (ay == 0.0) {
    r = select(0.0, 3.141592653589793, xneg);
  } else if (ax == 0.0) {
    r = 1.5707963267948966;
  } else if (is_inf(ay) && is_inf(ax)) {
    r = select(0.7853981633974483, 2.356194490192345, xneg);
  } else if (is_inf(ay)) {
    r = 1.5707963267948966;
  } else if (is_inf(ax)) {
    r = select(0.0, 3.141592653589793, xneg);
  } else {
    let a = t_atan(ay / ax);
    r = select(a, 3.141592653589793 - a, xneg);
  }
  return select(r, -r, sign_bit(y));
}
`,
  },
  pow: {
    deps: ['consts', 'exp', 'log'],
    code: `
fn is_int_f(y : f32) -> bool { return floor(y) == y; }
fn is_odd_int_f(y : f32) -> bool {
  return abs(y) < 16777216.0 && floor(y) == y && (i32(y) & 1) != 0;
}
fn t_pow(x : f32, y : f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  if (is_nan(x) || is_nan(y)) { return nan_f(); }
  let ax = abs(x);
  if (is_inf(y)) {
    if (ax == 1.0) { return nan_f(); }
    if ((ax > 1.0) == (y > 0.0)) { return inf_f(); }
    return 0.0;
  }
  let xneg = sign_bit(x);
  let odd = is_odd_int_f(y);
  if (ax == 0.0) {
    if (y > 0.0) { return select(0.0, x, odd); }
    return select(inf_f(), select(inf_f(), -inf_f(), xneg), odd);
  }
  if (is_inf(x)) {
    var r = 0.0;
    if (y > 0.0) { r = inf_f(); }
    return select(r, -r, xneg && odd);
  }
  if (xneg && !is_int_f(y)) { return nan_f(); }
  let r = t_exp(y * t_log(ax));
  return select(r, -r, xneg && odd);
}
`,
  },
  f2i: {
    deps: [],
    code: `
// float -> int32 like JavaScript's Math.trunc + ToInt32: truncation, modulo 2^32 outside the
// int32 range, NaN and +-Inf -> 0.
fn f2i(x : f32) -> i32 {
  let b = bitcast<u32>(x);
  let ex = i32((b >> 23u) & 0xffu);
  if (ex == 255) { return 0; }
  if (ex < 158) { return i32(trunc(x)); }
  let sh = ex - 150;
  var v = 0u;
  if (sh < 32) { v = ((b & 0x007fffffu) | 0x00800000u) << u32(sh); }
  if ((b >> 31u) != 0u) { v = 0u - v; }
  return bitcast<i32>(v);
}
`,
  },
};

/** The WGSL source of the named helpers and everything they depend on, each once, in order. */
export function mathLib(names: readonly string[]): string {
  const seen = new Set<string>();
  const order: string[] = [];
  const visit = (n: string): void => {
    if (seen.has(n)) return;
    seen.add(n);
    const f = FNS[n];
    if (f === undefined) throw new Error(`unknown WGSL helper ${n}`);
    for (const d of f.deps) visit(d);
    order.push(f.code);
  };
  for (const n of names) visit(n);
  return order.join('');
}
