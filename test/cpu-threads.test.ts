/**
 * The CPU backend's worker threads: elementwise maps, GEMMs and convolutions split across threads
 * give the bits of one thread (with chunks run on a worker, not only on the caller), and the pool
 * survives churn and a training loop.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataSource } from '../src/gan/data.js';
import { OBJECTIVES } from '../src/gan/registry.js';
import { GanTrainer } from '../src/gan/trainer.js';
import {
  add,
  conv2d,
  conv2dBackwardFilter,
  conv2dBackwardInput,
  cpuThreads,
  dispose,
  exp,
  getBackend,
  matmul,
  mul,
  neg,
  setBackend,
  setCpuThreads,
  TesseraError,
  tanh,
  tanhBackward,
} from '../src/index.js';
import { columnsForImages, serialColumns } from '../src/kernels/cpu/im2col.js';
import { sharedArrayLike, threadStats } from '../src/kernels/cpu/threads.js';
import { sizeOf } from '../src/tensor/shape.js';
import { bitsOf, type Dt, firstDifference, make, operands, sleep, values } from './helpers/kernel-values.js';

beforeAll(async () => {
  await setBackend('cpu');
  expect(getBackend().name).toBe('cpu');
});

describe('threaded elementwise maps', () => {
  it('split by rows across threads give bitwise-identical results (shared, copied and broadcast operands)', async () => {
    // Large enough to split (128 rows, 32,768 elements); x and col are kernel outputs (shared
    // memory while threads are on), bias is a small user array (copied for the workers).
    const step = (dtype: Dt): Uint8Array[] => {
      const x = add(make(values(128 * 256, 4, dtype), [128, 256], dtype), 0);
      const bias = make(values(256, 5, dtype), [256], dtype);
      const col = add(make(values(128, 6, dtype), [128, 1], dtype), 0);
      const y = tanh(add(x, bias));
      const z = tanhBackward(y, mul(x, col));
      const out = [bitsOf(y), bitsOf(z), bitsOf(exp(neg(z)))];
      dispose([x, bias, col, y, z]);
      return out;
    };
    try {
      for (const dtype of ['float32', 'float64'] as const) {
        setCpuThreads(1);
        const single = step(dtype);
        // A sleeping worker may wake after the caller took every row: repeat until it took some.
        const before = threadStats.workerChunks;
        for (let i = 0; i < 50 && threadStats.workerChunks === before; i++) {
          setCpuThreads(2);
          const threaded = step(dtype);
          threaded.forEach((b, k) => {
            expect(firstDifference(b, single[k]!), `${dtype} output ${k}: first differing byte`).toBe(-1);
          });
          await sleep(2);
        }
        expect(threadStats.workerChunks, dtype).toBeGreaterThan(before);
      }
      // No worker failed on the way (a failure turns threads off for good).
      expect(cpuThreads()).toBe(2);
    } finally {
      setCpuThreads(1);
    }
  });
});

describe('the thread pool under churn', () => {
  it('survives workers that read a job late (after the caller ran it alone and began the next)', async () => {
    // Short maps (32,768 elements: the caller may finish both halves before a worker has read the
    // job) each followed at once by a GEMM, whose header has another layout: a worker reading
    // the old job's header while the caller writes the new one must skip it, never run it torn.
    // Widths cycle so that outputs are often fresh buffers, which workers fetch from their port
    // while reading a job (the slow path that widens the window).
    const widths = [128, 132, 136, 140, 144, 148, 152, 156];
    const xs = widths.map((n, i) => make(values(256 * n, 8 + i, 'float32'), [256, n], 'float32'));
    const ws = widths.map((n, i) => make(values(n * n, 20 + i, 'float32'), [n, n], 'float32'));
    const step = (k: number) => {
      let y = add(xs[k]!, 0);
      for (let i = 0; i < 8; i++) {
        const next = i % 2 === 0 ? tanh(y) : matmul(y, ws[k]!);
        y.dispose();
        y = next;
      }
      const bits = bitsOf(y);
      y.dispose();
      return bits;
    };
    setCpuThreads(1);
    const want = widths.map((_, k) => step(k));
    try {
      setCpuThreads(2);
      for (let round = 0; round < 400; round++) {
        if (round % 50 === 0) await sleep(3); // also let the workers fall asleep now and then
        const k = (round * 5) % widths.length;
        expect(firstDifference(step(k), want[k]!)).toBe(-1);
      }
      await sleep(20); // a worker's 'error' event is delivered on this thread's event loop
      expect(cpuThreads()).toBe(2);
    } finally {
      setCpuThreads(1);
      dispose([xs, ws]);
    }
  });
});

describe('the thread pool in a training loop', () => {
  it('300 ring-GAN steps with 2 threads: the same losses as with 1, and no worker lost', async () => {
    // The benchmark's workload (batch 64: GEMMs, maps and Adam updates of every size, back to back)
    // is what exposed a torn job header in an earlier pool (a worker crash; this test caught it in
    // two of three runs against that pool).
    const losses = async (threads: number) => {
      setCpuThreads(threads);
      const gan = new GanTrainer({ objective: OBJECTIVES.gan, data: await loadDataSource('ring'), seed: 4 });
      const out: number[] = [];
      for (let i = 0; i < 300; i++) {
        const { D: d, G: g } = gan.step();
        out.push(d!.dataSync()[0]!, g!.dataSync()[0]!);
        dispose([d!, g!]);
        if (i % 10 === 0) await sleep(3);
      }
      gan.dispose();
      return out;
    };
    try {
      const single = await losses(1);
      const before = threadStats.workerChunks;
      const threaded = await losses(2);
      await sleep(20); // a worker's 'error' event is delivered on this thread's event loop
      expect(threaded).toEqual(single);
      expect(threadStats.workerChunks).toBeGreaterThan(before);
      expect(cpuThreads()).toBe(2);
    } finally {
      setCpuThreads(1);
    }
  });
});

describe('threaded CPU GEMM', () => {
  it('rejects a bad thread count', () => {
    expect(() => setCpuThreads(0)).toThrow(TesseraError);
    expect(() => setCpuThreads(1.5)).toThrow(/integer >= 1/);
  });

  it('gives bitwise-identical matmul and conv results with 1 and 2 threads, with chunks run on a worker', async () => {
    // Each run returns the result bytes; the shapes are above the threading threshold, with edges,
    // k > 256 (several k slices, float32 through a float64 accumulator) and the conv batch GEMMs.
    const runs: (() => Uint8Array)[] = [];
    for (const dtype of ['float32', 'float64'] as const) {
      for (const [m, n, k, tA, tB] of [
        [130, 129, 70, false, false],
        [67, 103, 300, true, false],
        [100, 61, 257, false, true],
        // Column blocks of 16, 16, 16 and 1: the last one is a matrix-vector product (dotGemm).
        [8, 49, 700, false, true],
      ] as const) {
        const c = operands(m, n, k, tA, tB, [], []);
        const a = make(values(sizeOf(c.aShape), m, dtype), c.aShape, dtype);
        const b = make(values(sizeOf(c.bShape), n, dtype), c.bShape, dtype);
        runs.push(() => bitsOf(matmul(a, b, { transA: tA, transB: tB })));
        // Kernel outputs as operands: with threads on they live in SharedArrayBuffers and reach the
        // workers without a copy (and the product is written by the workers in place).
        runs.push(() => {
          const [a2, b2] = [add(a, 0), add(b, 0)];
          const y = matmul(a2, b2, { transA: tA, transB: tB });
          const bits = bitsOf(y);
          for (const t of [a2, b2, y]) t.dispose();
          return bits;
        });
      }
      // Every conv GEMM here is above the threading threshold; the filter gradient accumulates
      // (k = 8 images x 144 pixels > 256).
      const x = make(values(8 * 8 * 24 * 24, 1, dtype), [8, 8, 24, 24], dtype);
      const w = make(values(32 * 8 * 4 * 4, 2, dtype), [32, 8, 4, 4], dtype);
      const dy = make(values(8 * 32 * 12 * 12, 3, dtype), [8, 32, 12, 12], dtype);
      const opts = { stride: 2, padding: 1 };
      runs.push(() => bitsOf(conv2d(x, w, opts)));
      runs.push(() => bitsOf(conv2dBackwardInput(dy, w, [8, 8, 24, 24], opts)));
      runs.push(() => bitsOf(conv2dBackwardFilter(x, dy, [32, 8, 4, 4], opts)));
      // Kernel outputs as operands (shared with threads on): im2col and col2im split by image too.
      runs.push(() => {
        const [x2, dy2] = [add(x, 0), add(dy, 0)];
        const outs = [
          conv2d(x2, w, opts),
          conv2dBackwardInput(dy2, w, [8, 8, 24, 24], opts),
          conv2dBackwardFilter(x2, dy2, [32, 8, 4, 4], opts),
        ];
        const bits = Uint8Array.from(outs.flatMap((t) => Array.from(bitsOf(t))));
        for (const t of [x2, dy2, ...outs]) t.dispose();
        return bits;
      });
      // K = 512 taps >= P = 16 pixels: the gradients gather dY per chunk (above, K < P: a GEMM per image).
      const xk = add(make(values(8 * 32 * 8 * 8, 7, dtype), [8, 32, 8, 8], dtype), 0);
      const wk = make(values(16 * 32 * 16, 8, dtype), [16, 32, 4, 4], dtype);
      const dyk = add(make(values(8 * 16 * 16, 9, dtype), [8, 16, 4, 4], dtype), 0);
      runs.push(() => bitsOf(conv2d(xk, wk, opts)));
      runs.push(() => bitsOf(conv2dBackwardInput(dyk, wk, [8, 32, 8, 8], opts)));
      runs.push(() => bitsOf(conv2dBackwardFilter(xk, dyk, [16, 32, 4, 4], opts)));
      // The DCGAN's 7x7 conv to one logit: single GEMMs, matrix-vector shaped, k-outer (axpy) loops.
      const x7 = make(values(64 * 128 * 49, 4, dtype), [64, 128, 7, 7], dtype);
      const w7 = make(values(128 * 49, 5, dtype), [1, 128, 7, 7], dtype);
      const dy7 = make(values(64, 6, dtype), [64, 1, 1, 1], dtype);
      runs.push(() => bitsOf(conv2d(x7, w7)));
      runs.push(() => bitsOf(conv2dBackwardInput(dy7, w7, [64, 128, 7, 7])));
      runs.push(() => bitsOf(conv2dBackwardFilter(x7, dy7, [1, 128, 7, 7])));
    }
    try {
      setCpuThreads(1);
      const single = runs.map((r) => r());
      setCpuThreads(2);
      if (cpuThreads() < 2) return expect.fail('worker threads are unavailable in this Node process');
      // The worker starts asynchronously; until it is up the caller runs every chunk itself.
      const start = threadStats.workerChunks;
      for (let i = 0; i < 100 && threadStats.workerChunks === start; i++) {
        runs[0]!();
        await sleep(20);
      }
      expect(threadStats.workerChunks).toBeGreaterThan(start);
      // With threads on, the backend's (large) outputs live in shared memory.
      const probe = add(make(values(4096, 9, 'float32'), [64, 64], 'float32'), 0);
      expect((probe.storageRef().data as Float32Array).buffer).toBeInstanceOf(SharedArrayBuffer);
      probe.dispose();
      const before = threadStats.workerChunks;
      const convBefore = threadStats.bySource.conv ?? 0;
      for (let rep = 0; rep < 3; rep++) {
        runs.forEach((r, i) => {
          expect(firstDifference(r(), single[i]!), `run ${i}: first differing byte`).toBe(-1);
        });
        await sleep(5);
      }
      expect(threadStats.workerChunks).toBeGreaterThan(before);
      // The conv chunk job (im2col, GEMM and scatter in one) ran chunks on a worker too.
      expect(threadStats.bySource.conv ?? 0).toBeGreaterThan(convBefore);
      // No worker failed on the way (a failure turns threads off for good).
      expect(cpuThreads()).toBe(2);
    } finally {
      setCpuThreads(1);
    }
  });
});

describe('im2col / col2im split by image', () => {
  it('give the serial bits with 2 threads, chunks run on a worker (the path of machines with more threads than chunks)', async () => {
    // With 2 threads the conv chunks themselves fill both threads, so convolutions never reach this
    // job; it runs where a conv has fewer chunks than threads. Here it is called directly.
    const g = { channels: 16, h: 14, w: 14, kh: 4, kw: 4, oh: 7, ow: 7, sh: 2, sw: 2, ph: 1, pw: 1, dh: 1, dw: 1 };
    const nb = 8; // 256 taps x 392 pixels: above the split threshold (2^16 elements)
    const p = g.oh * g.ow;
    const ld = nb * p;
    const k = g.channels * g.kh * g.kw;
    const imageSize = g.channels * g.h * g.w;
    const image = sharedArrayLike(new Float32Array(0), nb * imageSize) as Float32Array;
    image.set(new Float32Array(values(nb * imageSize, 11, 'float32')));
    const serialCols = new Float64Array(k * ld);
    serialColumns(true, image, 0, imageSize, g, serialCols, p, ld, nb);
    const serialImage = new Float64Array(nb * imageSize);
    serialColumns(false, serialImage, 0, imageSize, g, serialCols, p, ld, nb);
    try {
      setCpuThreads(2);
      if (cpuThreads() < 2) return expect.fail('worker threads are unavailable in this Node process');
      let workerRuns = 0;
      for (let i = 0; i < 100 && workerRuns === 0; i++) {
        const before = threadStats.bySource.im2col ?? 0;
        const cols = sharedArrayLike(serialCols, k * ld) as Float64Array;
        columnsForImages(true, image, 0, imageSize, g, cols, p, ld, nb);
        const back = sharedArrayLike(serialImage, nb * imageSize) as Float64Array;
        columnsForImages(false, back, 0, imageSize, g, cols, p, ld, nb);
        expect(firstDifference(new Uint8Array(cols.buffer), new Uint8Array(serialCols.buffer))).toBe(-1);
        expect(firstDifference(new Uint8Array(back.buffer), new Uint8Array(serialImage.buffer))).toBe(-1);
        if ((threadStats.bySource.im2col ?? 0) > before) workerRuns++;
        else await sleep(20);
      }
      expect(workerRuns).toBe(1);
    } finally {
      setCpuThreads(1);
    }
  });
});
