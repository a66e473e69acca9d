// HMC throughput on the PresGAN ring-generator posterior: generator 10 -> 128 -> 128 -> 2 (tanh),
// PresGAN defaults (2 burn-in + 2 kept transitions per call, 5 leapfrog steps, step size carried
// from call to call), 64 and 512 chains, on the CPU backend and on WebGPU when an adapter exists.
// Run: npx tsx bench/hmc.bench.ts (or through the bench runner, which calls run()).
import { Bench } from 'tinybench';
import { hmc, PRESGAN_HMC_DEFAULTS, presganPosterior } from '../src/hmc/index.js';
import {
  type Backend,
  dispose,
  Generator,
  getBackend,
  matmul,
  setBackend,
  setCpuThreads,
  type Tensor,
  tidy,
} from '../src/index.js';

const TARGET = 150; // transitions per second with 64 chains on the CPU backend (issue 5)
/** CPU thread counts to measure (HMC_BENCH_THREADS=1,2 by default; the library default is 1). */
const THREADS = (process.env.HMC_BENCH_THREADS ?? '1,2').split(',').map(Number);
/** Backends to measure (HMC_BENCH_KINDS=cpu,webgpu by default). */
const KINDS = (process.env.HMC_BENCH_KINDS ?? 'cpu,webgpu').split(',');
const TRANSITIONS_PER_CALL = PRESGAN_HMC_DEFAULTS.numBurnin + PRESGAN_HMC_DEFAULTS.numSamples;
const REPORTED: [string, number][] = [
  ['PyTorch 1.13, OpenBLAS, 1 thread', 378],
  ['tfjs-wasm', 75],
  ['tfjs-cpu', 18],
];

interface RingParams {
  W1: Tensor;
  b1: Tensor;
  W2: Tensor;
  b2: Tensor;
  W3: Tensor;
  b3: Tensor;
}

function ringParams(rng: Generator): RingParams {
  const layer = (i: number, o: number) => [rng.normal([i, o], 0, 1 / Math.sqrt(i)), rng.normal([o], 0, 0.1)] as const;
  const [W1, b1] = layer(10, 128);
  const [W2, b2] = layer(128, 128);
  const [W3, b3] = layer(128, 2);
  return { W1, b1, W2, b2, W3, b3 };
}

const ringG = (z: Tensor, p: RingParams): Tensor =>
  matmul(matmul(matmul(z, p.W1).add(p.b1).tanh(), p.W2).add(p.b2).tanh(), p.W3).add(p.b3);

/** A PresGAN-style sampler state for `chains` chains: z that generated x, and the carried step size. */
function setup(chains: number, seed: number) {
  const rng = new Generator(seed);
  const params = ringParams(rng);
  const z = rng.normal([chains, 10]);
  const sigma = Math.log1p(Math.exp(-1)); // softplus(-1), the official initial sigma
  const x = tidy(() => ringG(z, params).add(rng.normal([chains, 2]).mul(sigma)));
  const target = presganPosterior({ G: ringG, params, x, sigma });
  let stepSize: Tensor | number = 0.1;
  const call = () => {
    const r = hmc(target, { ...PRESGAN_HMC_DEFAULTS, initial: z, stepSize, rng });
    if (typeof stepSize !== 'number') stepSize.dispose();
    stepSize = r.stepSize;
    const { stepSize: _kept, ...rest } = r;
    dispose(rest);
  };
  const free = () => {
    dispose([params, z, x]);
    if (typeof stepSize !== 'number') stepSize.dispose();
  };
  return { call, free };
}

/** Read-backs (backend.read / readSync calls) during one sampler call. */
function countReadbacks(backend: Backend, call: () => void): number {
  let n = 0;
  const read = backend.read;
  const readSync = backend.readSync;
  const b = backend as { read: Backend['read']; readSync?: Backend['readSync'] };
  b.read = (...a) => {
    n++;
    return read.apply(backend, a);
  };
  if (readSync) {
    b.readSync = (...a) => {
      n++;
      return readSync.apply(backend, a);
    };
  }
  try {
    call();
  } finally {
    b.read = read;
    if (readSync) b.readSync = readSync;
  }
  return n;
}

interface Row {
  backend: string;
  threads: number;
  chains: number;
  perSecond: number;
  msPerTransition: number;
  readbacks: number;
}

async function measure(name: 'cpu' | 'webgpu', chains: number, threads = 1): Promise<Row> {
  await setBackend(name);
  setCpuThreads(threads);
  const backend = getBackend();
  const s = setup(chains, 5 + chains);
  s.call(); // compile / warm the caches
  await backend.sync();
  const readbacks = countReadbacks(backend, s.call);
  const bench = new Bench({ time: chains > 100 ? 4000 : 3000, warmupTime: 300, iterations: 3 });
  bench.add(`${name} ${chains}`, async () => {
    s.call();
    await backend.sync();
  });
  await bench.run();
  const res = bench.tasks[0]!.result;
  s.free();
  setCpuThreads(1);
  if (res.state !== 'completed') throw new Error(`bench ${name} ${chains} did not complete: ${res.state}`);
  const msPerCall = res.latency.p50;
  return {
    backend: name,
    threads,
    chains,
    perSecond: (TRANSITIONS_PER_CALL * 1000) / msPerCall,
    msPerTransition: msPerCall / TRANSITIONS_PER_CALL,
    readbacks,
  };
}

export async function run(): Promise<void> {
  const rows: Row[] = [];
  if (KINDS.includes('cpu')) {
    for (const chains of [64, 512]) for (const t of THREADS) rows.push(await measure('cpu', chains, t));
  }
  let webgpu = 'measured';
  try {
    if (!KINDS.includes('webgpu')) throw new Error('HMC_BENCH_KINDS leaves it out');
    await setBackend('webgpu');
    for (const chains of [64, 512]) rows.push(await measure('webgpu', chains));
  } catch (e) {
    webgpu = `not measured: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    await setBackend('cpu');
  }
  console.log('\nHMC transitions per second, PresGAN ring-generator posterior (10 -> 128 -> 128 -> 2, tanh),');
  console.log(
    `PresGAN defaults: ${TRANSITIONS_PER_CALL} transitions per call, L = 5, step size carried; median of calls.`,
  );
  console.table(
    rows.map((r) => ({
      backend: r.backend === 'cpu' ? `cpu ${r.threads}T` : r.backend,
      chains: r.chains,
      'transitions/s': Number(r.perSecond.toFixed(1)),
      'ms/transition': Number(r.msPerTransition.toFixed(2)),
      [`vs ${TARGET}/s target`]: r.chains === 64 && r.backend === 'cpu' ? `${(r.perSecond / TARGET).toFixed(2)}x` : '-',
      'read-backs per call': r.readbacks,
    })),
  );
  console.log('nT = n CPU threads (setCpuThreads; the calling thread and n - 1 workers share each GEMM).');
  console.log(`WebGPU: ${webgpu}`);
  console.log('Reference, 64 chains (reported, not measured here):');
  console.table(REPORTED.map(([library, perSecond]) => ({ library, 'transitions/s': perSecond })));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
}
