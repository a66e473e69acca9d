// Progress reporting for the CLI: a cli-progress bar on a terminal, plain log lines elsewhere.
import { Presets, SingleBar } from 'cli-progress';

interface Progress {
  /** Sets the number of finished units and optional extra text (e.g. the current losses). */
  update(done: number, info?: string): void;
  /** Finishes the bar (or prints the last log line). */
  stop(): void;
}

interface ProgressOptions {
  /** Output stream (default process.stdout). */
  stream?: NodeJS.WriteStream;
  /** Unit name shown in the rate (default 'it'). */
  unit?: string;
  /** Seconds between log lines when the stream is not a TTY (default 5). */
  logEvery?: number;
  /** Print nothing (tests). */
  silent?: boolean;
}

/** Formats seconds as 1h02m, 3m05s or 12s. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/**
 * A progress bar with rate and ETA (cli-progress) on a terminal; on anything else (CI logs, files,
 * pipes) it degrades to one plain log line every few seconds and a final line.
 */
export function createProgress(label: string, total: number, opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stdout;
  const unit = opts.unit ?? 'it';
  const start = performance.now();
  let done = 0;
  let info = '';
  const rate = () => done / Math.max((performance.now() - start) / 1000, 1e-9);
  const eta = () => (done > 0 ? (total - done) / rate() : Number.NaN);
  if (opts.silent) return { update: () => {}, stop: () => {} };
  if (stream.isTTY) {
    const bar = new SingleBar(
      {
        format: `${label} [{bar}] {percentage}% {value}/{total} | {rate} ${unit}/s | ETA {etaText} | {info}`,
        stream,
        hideCursor: true,
        etaBuffer: 50,
        fps: 5,
      },
      Presets.shades_classic,
    );
    bar.start(total, 0, { rate: '0.0', etaText: '?', info: '' });
    return {
      update(d, i) {
        done = d;
        if (i !== undefined) info = i;
        bar.update(d, { rate: rate().toFixed(1), etaText: formatDuration(eta()), info });
      },
      stop() {
        bar.update(done, { rate: rate().toFixed(1), etaText: '0s', info });
        bar.stop();
      },
    };
  }
  const every = (opts.logEvery ?? 5) * 1000;
  let last = start;
  let printed = -1;
  const line = () => {
    printed = done;
    const pct = total > 0 ? ((100 * done) / total).toFixed(0) : '100';
    const elapsed = formatDuration((performance.now() - start) / 1000);
    stream.write(
      `${label} ${done}/${total} (${pct}%) | ${rate().toFixed(1)} ${unit}/s | elapsed ${elapsed} | ETA ${formatDuration(eta())}${info ? ` | ${info}` : ''}\n`,
    );
  };
  return {
    update(d, i) {
      done = d;
      if (i !== undefined) info = i;
      const now = performance.now();
      if (now - last >= every) {
        last = now;
        line();
      }
    },
    stop() {
      if (printed !== done) line();
    },
  };
}
