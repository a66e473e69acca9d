// formatProfile: a ProfileResult as a plain-text table (kernels slowest first, then the time
// outside kernels, thread hand-off and notes); the columns are described in docs/profiling.md.
import type { ProfileResult } from './profiler.js';

const ms = (x: number): string => (x >= 100 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3));
const pct = (x: number, of: number): string => (of > 0 ? `${((100 * x) / of).toFixed(1)}%` : '-');
const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(2);

/**
 * The table of a profile as text: one line per kernel, then the totals, the time outside kernels,
 * the CPU thread hand-off, memory and notes (columns: docs/profiling.md).
 *
 * @example
 * const r = profile(() => tidy(() => matmul(a, b).sum()));
 * console.error(formatProfile(r));
 */
export function formatProfile(r: ProfileResult): string {
  const gpu = r.rows.some((row) => row.gpuMs !== null);
  const anyWebgpu = r.rows.some((row) => row.backend === 'webgpu');
  const header = [
    'kernel',
    'backend',
    'calls',
    anyWebgpu ? 'total ms (CPU)' : 'total ms',
    'mean ms',
    '% wall',
    'bwd ms',
    'GFLOP/s',
    'MiB alloc',
    ...(gpu ? ['GPU ms', 'GPU % wall'] : []),
  ];
  const lines: string[][] = r.rows.map((row) => [
    row.name,
    row.backend,
    String(row.calls),
    ms(row.totalMs),
    ms(row.meanMs),
    pct(row.totalMs, r.wallMs),
    ms(row.backwardMs),
    row.gflops === null ? '' : row.gflops.toFixed(2),
    mb(row.bytes),
    ...(gpu ? [row.gpuMs === null ? '' : ms(row.gpuMs), row.gpuMs === null ? '' : pct(row.gpuMs, r.wallMs)] : []),
  ]);
  const blank = header.map(() => '');
  const summary = (label: string, total: number, extra: Partial<Record<number, string>> = {}): string[] => {
    const row = [...blank];
    row[0] = label;
    row[3] = ms(total);
    row[5] = pct(total, r.wallMs);
    for (const [i, v] of Object.entries(extra)) row[Number(i)] = v ?? '';
    return row;
  };
  // The GEMM family's rate over its own time (GPU time where every GEMM-family row has it).
  const gemmRows = r.rows.filter((row) => row.gflops !== null);
  const gemmMs = gemmRows.reduce((s, row) => s + (row.gpuMs ?? row.totalMs), 0);
  const gemmFlops = gemmRows.reduce((s, row) => s + row.flops, 0);
  const totalGflops = gemmMs > 0 ? (gemmFlops / gemmMs / 1e6).toFixed(2) : '';
  const calls = r.rows.reduce((s, row) => s + row.calls, 0);
  const tail: string[][] = [
    summary('all kernels', r.kernelMs, {
      2: String(calls),
      6: ms(r.backward.kernelMs),
      7: totalGflops,
      8: mb(r.bytesAllocated),
      ...(gpu ? { 9: ms(r.gpuMs), 10: pct(r.gpuMs, r.wallMs) } : {}),
    }),
    summary('outside kernels', r.outsideKernelsMs),
    summary('  backward (autodiff bookkeeping)', r.backward.outsideKernelsMs),
    summary('  engine, forward and other', r.engineMs),
  ];
  if (r.threadJobs > 0) {
    tail.push(summary(`in kernels: waiting for CPU workers (${r.threadJobs} jobs)`, r.threadWaitMs));
  }
  const widths = header.map((h, i) => Math.max(h.length, ...[...lines, ...tail].map((l) => (l[i] ?? '').length)));
  const fmt = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const out = [
    `${r.label}: ${ms(r.wallMs)} ms wall, ${calls} kernel calls, ${(r.flops / 1e9).toFixed(3)} GFLOP, ${mb(r.bytesAllocated)} MiB allocated`,
    fmt(header),
    rule,
    ...lines.map(fmt),
    rule,
    ...tail.map(fmt),
  ];
  if (anyWebgpu && !gpu) {
    out.push('note: WebGPU rows show CPU-side dispatch time only (no GPU timestamps for this region)');
  }
  for (const [name, m] of Object.entries(r.memory)) {
    out.push(
      `memory (${name}): ${mb(m.startBytes)} MiB in use at start, peak ${mb(m.peakBytes)} MiB (+${mb(m.peakBytes - m.startBytes)}), ${mb(m.endBytes)} MiB at end`,
    );
  }
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join('\n');
}
