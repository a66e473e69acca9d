// The CPU GEMM's rate against the depth k of the product, at the conv-shaped 64 x 3136 x k (a
// 4x4 conv layer's output channels against 16 images of 14x14 pixels; k = taps), float32 and
// float64 C, one thread, beside the square 1024^3 rate measured in the same run. Few taps (k = 16,
// 48) leave the 4x4 micro-kernel few steps per tile: this shows what that costs.
// Run: npm run bench -- bench/gemm-depth.bench.ts
import { serialGemm } from '../src/kernels/cpu/gemm-serial.js';

const DEPTHS = [16, 32, 48, 64, 128, 256];

/** Median GFLOP/s of serialGemm on m x n x k with random float32 operands (about 0.3 s of runs each). */
function rate(m: number, n: number, k: number, dtype: 'float32' | 'float64'): number {
  const a = Float32Array.from({ length: m * k }, () => Math.random() - 0.5);
  const b = Float32Array.from({ length: k * n }, () => Math.random() - 0.5);
  const c = dtype === 'float32' ? new Float32Array(m * n) : new Float64Array(m * n);
  const av = { data: a, offset: 0, rowStride: k, colStride: 1 };
  const bv = { data: b, offset: 0, rowStride: n, colStride: 1 };
  const once = () => {
    const t0 = performance.now();
    serialGemm(m, n, k, av, bv, c, 0, n, false);
    return performance.now() - t0;
  };
  for (let i = 0; i < 3; i++) once();
  const reps = Math.max(5, Math.ceil(3e8 / (m * n * k)));
  const times = Array.from({ length: reps }, once).sort((x, y) => x - y);
  return (2 * m * n * k) / times[Math.floor(reps / 2)]! / 1e6;
}

export async function run(): Promise<void> {
  const square = rate(1024, 1024, 1024, 'float32');
  console.log(`1024^3, float32 C: ${square.toFixed(2)} GFLOP/s`);
  console.log('k      f32 C GFLOP/s  of 1024^3   f64 C GFLOP/s  of 1024^3');
  for (const k of DEPTHS) {
    const f32 = rate(64, 3136, k, 'float32');
    const f64 = rate(64, 3136, k, 'float64');
    const pct = (r: number) => `${((100 * r) / square).toFixed(0)}%`.padStart(9);
    console.log(
      `${String(k).padEnd(6)} ${f32.toFixed(2).padStart(13)}  ${pct(f32)}   ${f64.toFixed(2).padStart(13)}  ${pct(f64)}`,
    );
  }
  console.log('note: one thread; the host drifts, so compare the fractions within one run');
}
