import type { Worker } from 'node:worker_threads';
import { fail } from '../../tensor/errors.js';

/**
 * An optional pool of worker threads for the CPU backend's GEMM (Node only; elsewhere, or when a
 * worker cannot start, everything runs on the calling thread). Kernels stay synchronous: the
 * caller splits a job into chunks, n workers claim chunks through one atomic counter, and the
 * caller sleeps in Atomics.wait until all are done. Each chunk writes its own rows of a
 * SharedArrayBuffer result with the same code on every thread, so results are bitwise identical
 * whichever thread ran which chunk, and with any thread count.
 *
 * The caller does not compute while workers run: once any ArrayBuffer in the calling isolate has
 * been detached (tfjs and WebGPU do that), its typed-array loads pay a detach check, while the
 * workers' isolates never detach anything. Until the first worker is up (spawned lazily, unref'd
 * so it never keeps the process alive) the caller runs every chunk itself. Off by default (one
 * thread): the pool pays on an idle machine, not when other processes keep every core busy.
 */

/** What a worker runs: `source` defines `runChunk(job, chunk)` given the job's message. */
export interface JobSource {
  readonly name: string;
  /** Function declarations (self-contained, no imports) and a `runChunk` entry point. */
  readonly source: string;
}

// Control words in a shared Int32Array.
const CLAIM = 0; // (seq << 16) | next unclaimed chunk
const DONE = 1; // chunks finished in the current job
const ERROR = 2; // set by a worker whose chunk threw
const READY = 3; // workers whose message loop is running
const MAX_CHUNKS = 0xffff;

interface Pool {
  workers: Worker[];
  ctl: Int32Array;
  seq: number;
  loaded: Set<string>;
}

type WorkerThreads = typeof import('node:worker_threads');

function workerThreads(): WorkerThreads | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  try {
    return proc?.getBuiltinModule?.('node:worker_threads') as WorkerThreads | undefined;
  } catch {
    return undefined;
  }
}

/** TESSERA_CPU_THREADS=n opts in at startup; otherwise one thread until setCpuThreads(n). */
function defaultThreads(): number {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const n = Number(proc?.env?.TESSERA_CPU_THREADS ?? '1');
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

let threads = defaultThreads();
let pool: Pool | undefined;
let disabled = workerThreads() === undefined;

// The worker's message loop: load job sources once, then claim chunks of each job it is told about.
const WORKER_MAIN = `
const { parentPort, workerData } = require('node:worker_threads');
const runners = new Map();
parentPort.on('message', (m) => {
  if (m.type === 'load') {
    runners.set(m.name, (${compile.toString()})(m.source));
    return;
  }
  const ctl = m.ctl;
  const run = runners.get(m.name);
  for (;;) {
    const v = Atomics.load(ctl, ${CLAIM});
    if (v >>> 16 !== m.seq || (v & 0xffff) >= m.total) return;
    if (Atomics.compareExchange(ctl, ${CLAIM}, v, v + 1) !== v) continue;
    try {
      run(m.job, v & 0xffff);
    } catch (e) {
      Atomics.store(ctl, ${ERROR}, 1);
    }
    Atomics.add(ctl, ${DONE}, 1);
    Atomics.notify(ctl, ${DONE});
  }
});
Atomics.add(workerData.ctl, ${READY}, 1);
`;

/**
 * Compiles a job source into its `runChunk`. Sources come from Function.prototype.toString of
 * transpiled code: transpilers that keep function names may reference an `__name` helper.
 */
function compile(source: string): (job: unknown, chunk: number) => void {
  return new Function(`const __name = (f) => f;\n${source}\nreturn runChunk;`)() as (
    job: unknown,
    chunk: number,
  ) => void;
}

/**
 * Sets how many threads CPU GEMMs may use; 1 (the default) runs them on the calling thread. Going
 * back to 1 keeps idle workers (unref'd) so that switching again is cheap; a smaller n >= 2 ends
 * the extra ones.
 */
export function setCpuThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) fail('setCpuThreads', `expected an integer >= 1, got ${n}`);
  threads = n;
  if (pool !== undefined && n >= 2) for (const w of pool.workers.splice(n)) void w.terminate();
}

/** Counters since startup: threaded jobs, and chunks of them that ran on worker threads. */
export const threadStats = { jobs: 0, workerChunks: 0 };

/** Threads CPU GEMMs may use (1 where worker threads are unavailable). */
export function cpuThreads(): number {
  return disabled ? 1 : threads;
}

function getPool(job: JobSource): Pool | undefined {
  if (disabled || threads < 2) return undefined;
  const wt = workerThreads();
  if (wt === undefined) return undefined;
  if (pool === undefined) {
    pool = { workers: [], ctl: new Int32Array(new SharedArrayBuffer(16)), seq: 0, loaded: new Set() };
  }
  const p = pool;
  while (p.workers.length < threads) {
    try {
      const w = new wt.Worker(WORKER_MAIN, { eval: true, execArgv: [], workerData: { ctl: p.ctl } });
      w.unref();
      w.on('error', () => {
        // A worker that dies outside a chunk: stop using the pool (work continues on this thread).
        disabled = true;
      });
      for (const name of p.loaded) w.postMessage({ type: 'load', name, source: sources.get(name)! });
      p.workers.push(w);
    } catch {
      disabled = true;
      return undefined;
    }
  }
  if (!p.loaded.has(job.name)) {
    sources.set(job.name, job.source);
    for (const w of p.workers) w.postMessage({ type: 'load', name: job.name, source: job.source });
    p.loaded.add(job.name);
  }
  return p;
}

const sources = new Map<string, string>();

const localRunners = new Map<string, (job: unknown, chunk: number) => void>();

/**
 * Runs chunks 0..total-1 of a job: the job source's `runChunk(job, chunk)` on the workers, which
 * receive `job` (plain data and SharedArrayBuffer-backed arrays) by postMessage, or on this thread
 * while no worker is up. Every thread runs its own copy compiled from the same source. Returns when
 * all chunks are done.
 */
export function parallelChunks(src: JobSource, job: object, total: number): void {
  let run = localRunners.get(src.name);
  if (run === undefined) {
    run = compile(src.source);
    localRunners.set(src.name, run);
  }
  const runLocal = (chunk: number) => run(job, chunk);
  const p = total > 1 && total <= MAX_CHUNKS ? getPool(src) : undefined;
  if (p === undefined || Atomics.load(p.ctl, READY) === 0) {
    for (let i = 0; i < total; i++) runLocal(i);
    return;
  }
  const ctl = p.ctl;
  p.seq = (p.seq + 1) & 0x7fff;
  const seq = p.seq;
  Atomics.store(ctl, DONE, 0);
  Atomics.store(ctl, ERROR, 0);
  Atomics.store(ctl, CLAIM, seq << 16);
  for (const w of p.workers) w.postMessage({ type: 'run', name: src.name, ctl, seq, total, job });
  for (;;) {
    const d = Atomics.load(ctl, DONE);
    if (d >= total) break;
    Atomics.wait(ctl, DONE, d, 100);
  }
  if (Atomics.load(ctl, ERROR) !== 0) {
    // A chunk threw on a worker: stop using workers and redo the whole job here.
    disabled = true;
    for (let i = 0; i < total; i++) runLocal(i);
    return;
  }
  threadStats.jobs++;
  threadStats.workerChunks += total;
}
