// Metrics on 128-D features: Fréchet distance of 10,000 samples (host float64 fit; matmul fit on CPU
// and WebGPU), kernel distance and precision / recall, each as a ratio to a plain float64 loop timed
// in the same run. Run: npm run bench -- bench/metrics.bench.ts (METRICS_BENCH_N sets the count).
import { Generator, setBackend, type Tensor, tensor } from '../src/index.js';
import {
  frechetDistance,
  gaussianFit,
  gaussianFitTensor,
  kernelDistance,
  type Matrix,
  matrix,
  precisionRecall,
} from '../src/metrics/index.js';
import { fmtMs, printTable } from './common.js';

const N = Number(process.env.METRICS_BENCH_N ?? 10000);
const D = 128;
/** Precision / recall is O(n^2 d): measured on this many rows of each set. */
const PR_N = Number(process.env.METRICS_BENCH_PR_N ?? 2000);
/** KID subsets timed (the protocol default is 100; the cost is linear in the count). */
const KID_SUBSETS = 10;

interface Timed {
  wallMs: number;
  cpuMs: number;
}

/** Median wall and process CPU time of `reps` calls. */
async function time(fn: () => unknown, reps = 3): Promise<Timed> {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  return { wallMs: med(wall), cpuMs: med(cpu) };
}

/** n x d features with correlated columns: z A with A lower-triangular, plus a shift. */
function features(n: number, d: number, seed: number, shift: number): Matrix {
  const t = new Generator(seed).normal([n, d], 0, 1, { dtype: 'float64', backend: 'cpu' });
  const z = t.dataSync();
  t.dispose();
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) {
      let s = shift;
      for (let k = Math.max(0, j - 3); k <= j; k++) s += z[i * d + k]! / (1 + j - k);
      out[i * d + j] = s;
    }
  return matrix(out, n, d);
}

/** About `macs` float64 multiply-adds as plain dot products of two arrays (the ratios' baseline). */
function baselineMacs(a: Float64Array, b: Float64Array, macs: number): number {
  let s = 0;
  const len = a.length;
  for (let done = 0; done < macs; done += len) for (let k = 0; k < len; k++) s += a[k]! * b[k]!;
  return s;
}

export async function run(): Promise<void> {
  const real = features(N, D, 1, 0);
  const fake = features(N, D, 2, 0.05);
  const probe = Float64Array.from({ length: 4096 }, (_, i) => Math.sin(i));
  const probe2 = Float64Array.from({ length: 4096 }, (_, i) => Math.cos(i));
  const baseMacs = 2e8;
  const base = await time(() => baselineMacs(probe, probe2, baseMacs));
  // Multiply-adds per ms of process CPU time (CPU time moves less than wall time on a loaded machine).
  const macRate = baseMacs / base.cpuMs;
  const rows: string[][] = [];
  const add = (name: string, t: Timed, macs: number, note = '') =>
    rows.push([
      name,
      fmtMs(t.wallMs),
      fmtMs(t.cpuMs),
      macs > 0 ? `${(macs / t.cpuMs / macRate).toFixed(2)}` : '-',
      note,
    ]);

  const fitMacs = (N * D * (D + 1)) / 2;
  add(`gaussianFit, host float64, ${N} x ${D}`, await time(() => gaussianFit(real)), fitMacs);
  const fa = gaussianFit(real);
  const fb = gaussianFit(fake);
  add(`frechetDistance (two ${D} x ${D} Jacobi eigh)`, await time(() => frechetDistance(fa, fb)), 0);
  const fd = frechetDistance(fa, fb);
  add(
    'Fréchet total: 2 fits + distance',
    await time(() => frechetDistance(gaussianFit(real), gaussianFit(fake)), 1),
    2 * fitMacs,
    `d = ${fd.toFixed(6)}`,
  );

  for (const backend of ['cpu', 'webgpu'] as const) {
    let x: Tensor | undefined;
    try {
      await setBackend(backend);
      x = tensor(Float32Array.from(real.data), { shape: [N, D] });
      await gaussianFitTensor(x); // warm up (kernel compilation on WebGPU)
      const t = await time(() => gaussianFitTensor(x!));
      const fit = await gaussianFitTensor(x);
      const err = Math.abs(frechetDistance(fit, fb) - fd) / fd;
      add(`gaussianFitTensor, ${backend} float32 matmul`, t, fitMacs * 2, `FD rel. err ${err.toExponential(1)}`);
    } catch (e) {
      rows.push([
        `gaussianFitTensor, ${backend}`,
        '-',
        '-',
        '-',
        `not measured: ${e instanceof Error ? e.message : String(e)}`,
      ]);
    } finally {
      x?.dispose();
      await setBackend('cpu');
    }
  }

  const m = Math.min(1000, N);
  const kidMacs = KID_SUBSETS * 1.5 * m * m * D;
  const kid = await time(() => kernelDistance(real, fake, { subsets: KID_SUBSETS, subsetSize: m }), 1);
  const k = kernelDistance(real, fake, { subsets: KID_SUBSETS, subsetSize: m });
  add(
    `kernelDistance, ${KID_SUBSETS} subsets of ${m}`,
    kid,
    kidMacs,
    `KID ${k.mean.toExponential(2)} ± ${k.std.toExponential(1)}; x${100 / KID_SUBSETS} for the 100-subset default`,
  );

  const pr = PR_N;
  const realPR = matrix(real.data.subarray(0, pr * D), pr, D);
  const fakePR = matrix(fake.data.subarray(0, pr * D), pr, D);
  const prRes = precisionRecall(realPR, fakePR);
  const prT = await time(() => precisionRecall(realPR, fakePR), 1);
  add(
    `precisionRecall, k = 3, ${pr} vs ${pr}`,
    prT,
    pr * pr * D, // the two k-NN passes (n^2 / 2 each); the ball search is extra and data-dependent
    `P ${prRes.precision.toFixed(3)}, R ${prRes.recall.toFixed(3)}`,
  );

  console.log(
    `\nMetrics on ${D}-D features; plain float64 dot loop: ${(macRate / 1e6).toFixed(2)} G multiply-adds per CPU second`,
  );
  printTable(['case', 'wall', 'cpu', 'x baseline', 'note'], rows);
  console.log(
    "'x baseline' = (the case's multiply-adds per CPU ms) / (the plain dot loop's, same run); WebGPU's CPU time",
  );
  console.log('includes llvmpipe threads when the adapter is a CPU one. Seconds are noisy on a shared machine.');
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
