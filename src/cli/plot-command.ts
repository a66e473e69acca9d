// `tessera plot <run dir>`: redraws a run's figures from its files (metrics.jsonl loss and metric
// curves, sample data, report.json titles) as SVG and/or PNG, skipping a torn last line of the log.
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { imageGridSVG } from '../plot/grid.js';
import { lineSVG, type Series } from '../plot/line.js';
import { type FigureFormat, rasterScale, saveFigure } from '../plot/png.js';
import { scatterSVG } from '../plot/scatter.js';
import type { Figure } from '../plot/svg.js';
import { COMMAND_USAGE, intOption, numberOption, parseOptions, UsageError } from './args.js';
import type { CliIO } from './main.js';

/** One parsed line of metrics.jsonl. */
export interface LogRow {
  step: number;
  losses: Record<string, number>;
  metrics: Record<string, number>;
}

/** Parses metrics.jsonl text: unparsable lines (a torn last line of a killed run) are skipped. */
export function parseMetricsLog(text: string): { rows: LogRow[]; skipped: number } {
  const rows: LogRow[] = [];
  let skipped = 0;
  const numbers = (o: unknown): Record<string, number> => {
    const out: Record<string, number> = {};
    if (typeof o !== 'object' || o === null) return out;
    for (const [k, v] of Object.entries(o)) if (typeof v === 'number') out[k] = v;
    return out;
  };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      skipped++;
      continue;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      skipped++;
      continue;
    }
    const r = parsed as Record<string, unknown>;
    const step = typeof r.step === 'number' ? r.step : rows.length;
    // Metrics: a `metrics` object, and numeric top-level fields other than the bookkeeping ones.
    const top = numbers(r);
    for (const k of ['step', 'epoch', 'wallSeconds', 'batch']) delete top[k];
    rows.push({ step, losses: numbers(r.losses), metrics: { ...top, ...numbers(r.metrics) } });
  }
  return { rows, skipped };
}

/** Curves of the keys of `pick(row)` over the steps (missing values break the line). */
function curves(
  rows: readonly LogRow[],
  keys: readonly string[],
  pick: (r: LogRow) => Record<string, number>,
  suffix = '',
): Series[] {
  return keys.map((k) => {
    const own = rows.filter((r) => pick(r)[k] !== undefined);
    return { name: `${k}${suffix}`, x: own.map((r) => r.step), y: own.map((r) => pick(r)[k]!) };
  });
}

/** Log y axis when every value is positive and they span more than two decades. */
function autoYScale(series: readonly Series[]): 'linear' | 'log' {
  const ys = series.flatMap((s) => s.y).filter(Number.isFinite);
  if (ys.length === 0 || ys.some((v) => v <= 0)) return 'linear';
  return Math.max(...ys) / Math.min(...ys) > 100 ? 'log' : 'linear';
}

interface SampleFile {
  step?: number;
  shape: number[];
  data: number[];
  modes?: number[][];
}

function readSampleFile(text: string, path: string): SampleFile {
  const s = JSON.parse(text) as Partial<SampleFile>;
  const size = Array.isArray(s.shape) ? s.shape.reduce((a, b) => a * b, 1) : -1;
  if (!Array.isArray(s.data) || !Array.isArray(s.shape) || size !== s.data.length) {
    throw new UsageError(`tessera plot: ${path} needs "shape" and "data" with shape's product of values`);
  }
  return s as SampleFile;
}

function sampleFigure(s: SampleFile, title: string): Figure | undefined {
  if (s.shape.length === 2 && s.shape[1] === 2) {
    return scatterSVG(s.data, { modes: s.modes ?? [], title, xLabel: 'x1', yLabel: 'x2', subtitle: `n=${s.shape[0]}` });
  }
  if (s.shape.length === 4 && (s.shape[1] === 1 || s.shape[1] === 3)) {
    const [n, c, h, w] = s.shape as [number, number, number, number];
    const count = Math.min(64, n);
    const lo = Math.min(...s.data);
    return imageGridSVG(
      s.data.slice(0, count * c * h * w),
      { count, channels: c, height: h, width: w },
      { range: lo < 0 ? [-1, 1] : [0, 1], title },
    );
  }
  return undefined;
}

/** The figures of one run folder (metrics.jsonl, report.json, sample data), by file name. */
export async function runFigures(dir: string): Promise<{ figures: Map<string, Figure>; skipped: number }> {
  const figures = new Map<string, Figure>();
  const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8').catch(() => '{}')) as Record<
    string,
    unknown
  >;
  const what =
    typeof report.objective === 'string'
      ? report.objective
      : typeof report.command === 'string'
        ? report.command
        : basename(dir);
  const label = typeof report.data === 'string' ? `${what} on ${report.data}` : what;
  const { rows, skipped } = parseMetricsLog(await readFile(join(dir, 'metrics.jsonl'), 'utf8').catch(() => ''));
  const lossKeys = [...new Set(rows.flatMap((r) => Object.keys(r.losses)))];
  const smooth = Math.max(1, Math.floor(rows.length / 40));
  const groups: [string, string[], string][] = [
    ['losses', lossKeys.filter((k) => !k.includes('/')), 'losses'],
    ['loss-terms', lossKeys.filter((k) => k.includes('/')), 'loss terms'],
  ];
  for (const [name, keys, heading] of groups) {
    if (keys.length === 0) continue;
    const series = curves(rows, keys, (r) => r.losses, name === 'losses' ? ' loss' : '');
    const n = Math.max(...series.map((s) => s.y.length));
    figures.set(
      name,
      lineSVG(series, {
        title: `${label}: ${heading}`,
        xLabel: 'step',
        yLabel: name === 'losses' ? 'loss' : 'value',
        smooth: Math.max(1, Math.min(smooth, Math.floor(n / 4) || 1)),
        yScale: autoYScale(series),
      }),
    );
  }
  for (const key of [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))]) {
    const series = curves(rows, [key], (r) => r.metrics);
    figures.set(
      `metric-${key.replace(/[^\w.-]+/g, '_')}`,
      lineSVG(series, {
        title: `${label}: ${key}`,
        xLabel: 'step',
        yLabel: key,
        yScale: autoYScale(series),
        legend: false,
      }),
    );
  }
  const sampleFiles: [string, string][] = [];
  if (existsSync(join(dir, 'samples.json'))) sampleFiles.push(['samples', join(dir, 'samples.json')]);
  const snapDir = join(dir, 'snapshots');
  if (existsSync(snapDir)) {
    for (const f of (await readdir(snapDir)).filter((f) => f.endsWith('.json')).sort()) {
      sampleFiles.push([`snapshot-${f.replace(/\.json$/, '')}`, join(snapDir, f)]);
    }
  }
  for (const [name, path] of sampleFiles) {
    const s = readSampleFile(await readFile(path, 'utf8'), path);
    const fig = sampleFigure(s, s.step !== undefined ? `${label}, step ${s.step}` : `${label}: samples`);
    if (fig) figures.set(name, fig);
  }
  return { figures, skipped };
}

const PLOT_OPTIONS = {
  out: { type: 'string' },
  format: { type: 'string' },
  scale: { type: 'string' },
  dpi: { type: 'string' },
} as const;

/** `tessera plot <run dir> [--out DIR] [--format svg,png] [--scale X | --dpi N]`; returns the exit status. */
export async function plotCommand(argv: readonly string[], io: CliIO): Promise<number> {
  const c = 'tessera plot';
  const [dir, ...rest] = argv;
  if (dir === '--help' || dir === '-h') {
    io.out.write(`${COMMAND_USAGE.plot!}\n`);
    return 0;
  }
  if (dir === undefined || dir.startsWith('-')) throw new UsageError(`${c}: expected a run folder first`);
  const o = parseOptions(c, rest, PLOT_OPTIONS);
  if (o.help) {
    io.out.write(`${COMMAND_USAGE.plot!}\n`);
    return 0;
  }
  const formats = String(o.format ?? 'svg,png')
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '');
  const bad = formats.filter((f) => f !== 'svg' && f !== 'png');
  if (formats.length === 0 || bad.length > 0) {
    throw new UsageError(`${c}: --format takes svg, png or svg,png, got '${String(o.format)}'`);
  }
  if (o.scale !== undefined && o.dpi !== undefined) throw new UsageError(`${c}: give --scale or --dpi, not both`);
  const dpi = intOption(c, 'dpi', o.dpi, 24, 1536);
  const raster = dpi !== undefined ? { dpi } : { scale: numberOption(c, 'scale', o.scale) ?? 2 };
  try {
    rasterScale(c, raster);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${c}: no run folder '${dir}'`);
  // A folder of runs (tessera demo writes gan/ and presgan/): plot each run that has a log.
  const runs: [string, string][] = [];
  const outRoot = (o.out as string | undefined) ?? join(dir, 'plots');
  if (existsSync(join(dir, 'metrics.jsonl'))) runs.push([dir, outRoot]);
  else {
    for (const e of (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (existsSync(join(dir, e.name, 'metrics.jsonl'))) runs.push([join(dir, e.name), join(outRoot, e.name)]);
    }
  }
  if (runs.length === 0) throw new UsageError(`${c}: no metrics.jsonl in '${dir}' or its subfolders`);
  let count = 0;
  for (const [runDir, out] of runs) {
    const { figures, skipped } = await runFigures(runDir);
    if (skipped > 0)
      io.out.write(
        `${runDir}: skipped ${skipped} unreadable line(s) of metrics.jsonl (a torn last line of a killed run)\n`,
      );
    await mkdir(out, { recursive: true });
    for (const [name, fig] of figures) {
      const paths = await saveFigure(join(out, name), fig, { ...raster, formats: formats as FigureFormat[] });
      for (const p of paths) io.out.write(`${p}\n`);
      count += paths.length;
    }
  }
  io.out.write(`${count} file(s) written\n`);
  return 0;
}
