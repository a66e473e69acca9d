// Small helpers shared by bench files: one tinybench measurement, number formats, a plain table.
import { Bench } from 'tinybench';

/** BENCH_QUICK=1 skips the slowest peer cases (each reported as "skipped", never estimated). */
export const QUICK = process.env.BENCH_QUICK === '1';

export interface MeasureOptions {
  /** Time budget in ms (runs continue until both it and `iterations` are met). */
  time?: number;
  /** Minimum timed iterations. */
  iterations?: number;
  /** Untimed warm-up iterations before timing (0 for multi-second cases). */
  warmup?: number;
}

export interface Timing {
  /** Median wall time per call, ms. */
  wallMs: number;
  /** Median process CPU time per call (all threads), ms: less sensitive than wall time to other load. */
  cpuMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN;

/** Median wall and CPU time of `fn` under tinybench. */
export async function measure(name: string, fn: () => unknown, opts: MeasureOptions = {}): Promise<Timing> {
  const warmup = opts.warmup ?? 1;
  const bench = new Bench({
    time: opts.time ?? 1000,
    iterations: opts.iterations ?? 5,
    warmup: warmup > 0,
    warmupIterations: warmup,
    warmupTime: 0,
    throws: true,
  });
  let cpu: number[] = [];
  const timed = () => {
    const u0 = process.cpuUsage();
    fn();
    const u = process.cpuUsage(u0);
    cpu.push((u.user + u.system) / 1000);
  };
  bench.add(name, timed, {
    beforeAll: (mode) => {
      if (mode === 'run') cpu = [];
    },
  });
  await bench.run();
  const r = bench.tasks[0]!.result;
  if (r.state !== 'completed') throw new Error(`bench ${name} did not complete: ${r.state}`);
  return { wallMs: r.latency.p50, cpuMs: median(cpu) };
}

export const fmtMs = (ms: number): string =>
  ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;

export const gflops = (flops: number, ms: number): number => flops / ms / 1e6;

/** Prints rows as an aligned text table (first column left-aligned, the rest right-aligned). */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}
