// The CPU backend's optional pool of worker threads (Node): jobs in shared memory, chunks claimed
// through an atomic counter.
import type { MessagePort, Worker } from 'node:worker_threads';
import { fail } from '../../errors.js';

/**
 * An optional pool of worker threads for the CPU backend's GEMM (Node only; elsewhere, or when a
 * worker cannot start, everything runs on the calling thread). Kernels stay synchronous: the caller
 * splits a job into chunks, it and the workers claim chunks through one atomic counter, and the
 * caller returns when every chunk is done. Each chunk writes its own part of a SharedArrayBuffer
 * result with the same code on every thread, so results are bitwise identical whichever thread ran
 * which chunk, and with any thread count.
 *
 * Hand-offs go through shared memory, not messages: a job is a few numbers written into a shared
 * header, and workers stay in a loop of their own (spinning briefly on the job counter after each
 * job, then sleeping in Atomics.wait), so a training step's dozens of small products each cost a
 * few microseconds to share, not a postMessage round trip through two event loops. Buffers and job
 * sources reach a worker once, through its MessagePort, which it reads synchronously
 * (receiveMessageOnPort) when a job names something it has not seen.
 *
 * Workers are spawned lazily and unref'd (they never keep the process alive); until the first is
 * up the caller runs every chunk itself. Off by default (one thread): a spinning worker pays on an
 * idle machine, not when other processes keep every core busy.
 */

/** What a worker runs: `source` defines `runChunk(job, chunk)`; the job has these fields. */
export interface JobSource {
  readonly name: string;
  /** Function declarations (self-contained, no imports) and a `runChunk` entry point. */
  readonly source: string;
  /** Fields of the job that are numbers (booleans travel as 0 / 1). */
  readonly numbers: readonly string[];
  /** Fields of the job that are typed arrays (Float32, Float64 or Int32) over SharedArrayBuffers. */
  readonly arrays: readonly string[];
}

/** An array a job can share with workers. */
export type SharedArr = Float32Array | Float64Array | Int32Array;

/** A job: its number fields and its shared array fields, by name. */
export type Job = Record<string, number | boolean | SharedArr>;

/** Typed-array constructors by the code a job header carries. */
const ARRAY_KINDS = ['Float32Array', 'Float64Array', 'Int32Array'] as const;

// Control words (Int32Array over a SharedArrayBuffer).
const SEQ = 0; // job sequence number (15 bits): workers wait on it
const CLAIM = 1; // (seq << 16) | next unclaimed chunk
const DONE = 2; // chunks finished in the current job
const ERROR = 3; // set by a worker whose chunk threw
const READY = 4; // workers whose loop is running
const FREED = 5; // buffers the caller has dropped (workers then drain their ports)
const VERSION = 6; // odd while the caller writes the job header (a seqlock for late readers)
const CONTROL_WORDS = 8;
// Job header (Float64Array over another SharedArrayBuffer): source id, chunk count, then fields.
const HEADER_WORDS = 64;
const MAX_CHUNKS = 0xffff;
/** How long a worker spins on SEQ after a job before it sleeps (a training step's products come
 * well within this of each other, so a busy loop never pays a wake-up). */
const SPIN_MS = 2;
/** A job whose chunks stop finishing for this long means a worker died. */
const STALL_MS = 30_000;

interface Pool {
  workers: Worker[];
  ports: MessagePort[];
  ctl: Int32Array;
  header: Float64Array;
  seq: number;
  /** Sources every worker has been sent (replayed to workers spawned later), by name. */
  sourceIds: Map<string, number>;
  sent: object[];
  /**
   * Buffers every worker has been sent. Workers hold them until the caller's copy is collected;
   * a new worker starts a new map, so that every buffer is sent again (under a new id).
   */
  bufferIds: WeakMap<SharedArrayBuffer, number>;
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

/**
 * A worker's loop: wait for SEQ to move, read the job header (fetching any new source or buffer
 * from the port), claim chunks until none is left, repeat.
 */
const WORKER_MAIN = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { ctl, header, port } = workerData;
const compile = ${compile.toString()};
const sources = new Map();
const buffers = new Map();
let freed = 0;
function drain() {
  freed = Atomics.load(ctl, ${FREED});
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    const msg = m.message;
    if (msg.kind === 'load') {
      // A source that does not compile here is left to the caller (the worker never claims its chunks).
      let run = null;
      try { run = compile(msg.source); } catch (e) {}
      sources.set(msg.id, run === null ? null : { run, numbers: msg.numbers, arrays: msg.arrays });
    }
    else if (msg.kind === 'buffer') buffers.set(msg.id, msg.buffer);
    else buffers.delete(msg.id);
  }
}
function runJob(seq) {
  if (Atomics.load(ctl, ${FREED}) !== freed) drain();
  // A worker that woke late may find the caller already writing the next job's header: read a
  // copy between two equal, even versions, and only the header of job 'seq'.
  const version = Atomics.load(ctl, ${VERSION});
  if (version & 1) return;
  const words = header.slice();
  if (Atomics.load(ctl, ${VERSION}) !== version || words[2] !== seq) return;
  let src = sources.get(words[0]);
  if (src === undefined) { drain(); src = sources.get(words[0]); }
  if (!src) return;
  const total = words[1];
  const job = {};
  let h = 3;
  for (const f of src.numbers) job[f] = words[h++];
  for (const f of src.arrays) {
    const id = words[h++], kind = words[h++], offset = words[h++], length = words[h++];
    let buf = buffers.get(id);
    if (buf === undefined) { drain(); buf = buffers.get(id); }
    if (buf === undefined) return;
    job[f] = new globalThis[${JSON.stringify(ARRAY_KINDS)}[kind]](buf, offset, length);
  }
  for (;;) {
    const v = Atomics.load(ctl, ${CLAIM});
    if (v >>> 16 !== seq || (v & 0xffff) >= total) return;
    if (Atomics.compareExchange(ctl, ${CLAIM}, v, v + 1) !== v) continue;
    try {
      src.run(job, v & 0xffff);
    } catch (e) {
      Atomics.store(ctl, ${ERROR}, 1);
    }
    Atomics.add(ctl, ${DONE}, 1);
    Atomics.notify(ctl, ${DONE});
  }
}
Atomics.add(ctl, ${READY}, 1);
let seen = Atomics.load(ctl, ${SEQ});
for (;;) {
  let seq = Atomics.load(ctl, ${SEQ});
  if (seq === seen) {
    const until = performance.now() + ${SPIN_MS};
    for (let i = 1; (seq = Atomics.load(ctl, ${SEQ})) === seen; i++) {
      if ((i & 255) === 0 && performance.now() > until) break;
    }
  }
  while (seq === seen) {
    Atomics.wait(ctl, ${SEQ}, seen, 1000);
    seq = Atomics.load(ctl, ${SEQ});
  }
  seen = seq;
  runJob(seq);
}
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
 * Sets how many threads CPU GEMMs may use (the calling thread included); 1 (the default) runs them
 * on the calling thread. Going back to 1 keeps idle workers (asleep, unref'd) so that switching
 * again is cheap; a smaller n >= 2 ends the extra ones.
 */
export function setCpuThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) fail('setCpuThreads', `expected an integer >= 1, got ${n}`);
  threads = n;
  if (pool !== undefined && n >= 2) {
    for (const w of pool.workers.splice(n - 1)) void w.terminate();
    for (const p of pool.ports.splice(n - 1)) p.close();
  }
}

/**
 * True for a SharedArrayBuffer. Browser pages that are not cross-origin isolated have no
 * SharedArrayBuffer at all (naming it throws), and no workers here either.
 */
export function isSharedBuffer(b: ArrayBufferLike): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && b instanceof SharedArrayBuffer;
}

/** A new zeroed array of `like`'s element type (float32 unless float64 or int32) over a SharedArrayBuffer. */
export function sharedArrayLike(like: ArrayBufferView, length: number): SharedArr {
  const Ctor = like instanceof Float64Array ? Float64Array : like instanceof Int32Array ? Int32Array : Float32Array;
  const buffer = new SharedArrayBuffer(length * Ctor.BYTES_PER_ELEMENT);
  return new (Ctor as unknown as new (b: SharedArrayBuffer) => SharedArr)(buffer);
}

/**
 * Counters since startup: threaded jobs, chunks of them that ran on worker threads (in all, and by
 * job source: a source a worker could not compile shows none), and ms this thread spent waiting for
 * workers after its own chunks (the hand-off; read by src/profile/).
 */
export const threadStats = { jobs: 0, workerChunks: 0, waitMs: 0, bySource: {} as Record<string, number> };

/** Threads CPU GEMMs may use (1 where worker threads are unavailable). */
export function cpuThreads(): number {
  return disabled ? 1 : threads;
}

function getPool(): Pool | undefined {
  if (disabled || threads < 2) return undefined;
  const wt = workerThreads();
  if (wt === undefined) return undefined;
  if (pool === undefined) {
    pool = {
      workers: [],
      ports: [],
      ctl: new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4)),
      header: new Float64Array(new SharedArrayBuffer(HEADER_WORDS * 8)),
      seq: 0,
      sourceIds: new Map(),
      bufferIds: new WeakMap(),
      sent: [],
    };
  }
  const p = pool;
  while (p.workers.length < threads - 1) {
    try {
      const { port1, port2 } = new wt.MessageChannel();
      const w = new wt.Worker(WORKER_MAIN, {
        eval: true,
        execArgv: [],
        workerData: { ctl: p.ctl, header: p.header, port: port2 },
        transferList: [port2],
      });
      w.unref();
      port1.unref();
      w.on('error', () => {
        // A worker that dies outside a chunk: stop using the pool (work continues on this thread).
        disabled = true;
      });
      for (const message of p.sent) port1.postMessage(message);
      p.bufferIds = new WeakMap();
      p.workers.push(w);
      p.ports.push(port1);
    } catch {
      disabled = true;
      return undefined;
    }
  }
  return p;
}

/** Sends a message to every worker. */
function broadcast(p: Pool, message: object): void {
  for (const port of p.ports) port.postMessage(message);
}

/** When a buffer workers hold is collected here, they let go of it too. */
const buffersFreed = new FinalizationRegistry<number>((id) => {
  if (pool === undefined) return;
  broadcast(pool, { kind: 'free', id });
  Atomics.add(pool.ctl, FREED, 1);
});

function sourceId(p: Pool, src: JobSource): number {
  let id = p.sourceIds.get(src.name);
  if (id === undefined) {
    id = p.sourceIds.size;
    p.sourceIds.set(src.name, id);
    const { source, numbers, arrays } = src;
    const message = { kind: 'load', id, source, numbers, arrays };
    p.sent.push(message);
    broadcast(p, message);
  }
  return id;
}

let nextBufferId = 0;

function bufferId(p: Pool, buffer: SharedArrayBuffer): number {
  let id = p.bufferIds.get(buffer);
  if (id === undefined) {
    id = nextBufferId++;
    p.bufferIds.set(buffer, id);
    buffersFreed.register(buffer, id);
    broadcast(p, { kind: 'buffer', id, buffer });
  }
  return id;
}

/**
 * Runs chunks 0..total-1 of a job, on this thread and on the workers: workers run the job source's
 * `runChunk(job, chunk)` (each its own copy compiled from the source, reading the job's shared
 * arrays); this thread runs `runHere(chunk)`, which must compute the same numbers (it may read the
 * caller's own arrays and write its results straight to their destination). Returns the chunks
 * that ran on workers, whose results are in the job's shared arrays; empty when every chunk ran
 * here (no worker up, or a chunk threw on a worker: this thread then reruns the workers' chunks).
 */
export function parallelChunks(src: JobSource, job: Job, total: number, runHere: (chunk: number) => void): number[] {
  const p = total > 1 && total <= MAX_CHUNKS ? getPool() : undefined;
  if (p === undefined || Atomics.load(p.ctl, READY) === 0) {
    for (let i = 0; i < total; i++) runHere(i);
    return [];
  }
  const { ctl, header } = p;
  const seq = (p.seq + 1) & 0x7fff;
  // The header: source, chunk count, seq, numbers, then (buffer id, kind, byte offset, length) per
  // array. Checked and assembled first, then written between two version bumps (see runJob).
  const words = [sourceId(p, src), total, seq];
  for (const f of src.numbers) words.push(Number(job[f]));
  for (const f of src.arrays) {
    const a = job[f];
    const kind = typeof a === 'object' ? (ARRAY_KINDS as readonly string[]).indexOf(a.constructor.name) : -1;
    if (typeof a !== 'object' || kind < 0 || !isSharedBuffer(a.buffer)) {
      fail('parallelChunks', `job field '${f}' of '${src.name}' must be a typed array over a SharedArrayBuffer`);
    }
    words.push(bufferId(p, a.buffer as SharedArrayBuffer), kind, a.byteOffset, a.length);
  }
  if (words.length > HEADER_WORDS) fail('parallelChunks', `job '${src.name}' has more fields than the header holds`);
  p.seq = seq;
  Atomics.add(ctl, VERSION, 1);
  header.set(words);
  Atomics.add(ctl, VERSION, 1);
  Atomics.store(ctl, DONE, 0);
  Atomics.store(ctl, ERROR, 0);
  Atomics.store(ctl, CLAIM, seq << 16);
  Atomics.store(ctl, SEQ, seq);
  Atomics.notify(ctl, SEQ);
  // This thread claims chunks like any worker.
  const here = new Uint8Array(total);
  for (;;) {
    const v = Atomics.load(ctl, CLAIM);
    if ((v & 0xffff) >= total) break;
    if (Atomics.compareExchange(ctl, CLAIM, v, v + 1) !== v) continue;
    runHere(v & 0xffff);
    here[v & 0xffff] = 1;
    Atomics.add(ctl, DONE, 1);
  }
  // Chunks still running on workers: spin a little, then sleep until each one reports.
  let done = Atomics.load(ctl, DONE);
  const spinUntil = performance.now() + SPIN_MS;
  for (let i = 1; done < total; i++) {
    // Reading the clock costs more than a load: look at it every 256 turns.
    if ((i & 255) === 0 && performance.now() > spinUntil) break;
    done = Atomics.load(ctl, DONE);
  }
  let lastProgress = performance.now();
  while (done < total) {
    Atomics.wait(ctl, DONE, done, 100);
    const now = Atomics.load(ctl, DONE);
    if (now !== done) lastProgress = performance.now();
    else if (performance.now() - lastProgress > STALL_MS) {
      disabled = true;
      fail('parallelChunks', `a CPU worker thread stopped responding during '${src.name}'; threads are now off`);
    }
    done = now;
  }
  threadStats.waitMs += performance.now() - (spinUntil - SPIN_MS);
  const onWorkers: number[] = [];
  for (let i = 0; i < total; i++) if (here[i] === 0) onWorkers.push(i);
  if (Atomics.load(ctl, ERROR) !== 0) {
    // A chunk threw on a worker: stop using workers and redo the workers' chunks here.
    disabled = true;
    for (const i of onWorkers) runHere(i);
    return [];
  }
  threadStats.jobs++;
  threadStats.workerChunks += onWorkers.length;
  threadStats.bySource[src.name] = (threadStats.bySource[src.name] ?? 0) + onWorkers.length;
  return onWorkers;
}
