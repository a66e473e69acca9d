// Axis scales (linear and log10): data-to-unit mapping, major ticks with labels, minor ticks.
import { fail } from '../errors.js';

/** How an axis maps data to position. */
export type ScaleKind = 'linear' | 'log';

/** A tick label: plain text, or a power of ten written as base with a superscript exponent. */
export interface TickLabel {
  text: string;
  /** When set, the label reads `text` with `exponent` as a superscript (e.g. 10 and -3 for 10^-3). */
  exponent?: string;
}

export interface Tick {
  value: number;
  label: TickLabel;
}

/** Evenly spaced "nice" tick values (steps of 1, 2 or 5 times a power of ten) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) return [];
  if (hi <= lo) return [lo];
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const out: number[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  for (let k = first; k * step <= hi + step * 1e-9; k++) out.push(k === 0 ? 0 : Number((k * step).toPrecision(12)));
  return out;
}

/** Formats tick values with as many decimals as the spacing needs (exponent form for extremes). */
export function formatTick(v: number, ticks: readonly number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : Math.abs(v) || 1;
  const big = Math.max(...ticks.map(Math.abs));
  if (big >= 1e6 || (big > 0 && big < 1e-3)) return v === 0 ? '0' : v.toExponential(1).replace('e+', 'e');
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

/** A scale over [min, max]: `unit(v)` is 0 at min and 1 at max (NaN for values a log scale cannot show). */
export class Scale {
  constructor(
    readonly kind: ScaleKind,
    readonly min: number,
    readonly max: number,
  ) {
    if (!(Number.isFinite(min) && Number.isFinite(max) && max > min)) {
      fail('Scale', `needs finite min < max, got [${min}, ${max}]`);
    }
    if (kind === 'log' && !(min > 0)) fail('Scale', `a log scale needs a positive range, got [${min}, ${max}]`);
  }

  unit(v: number): number {
    if (this.kind === 'linear') return (v - this.min) / (this.max - this.min);
    if (!(v > 0)) return Number.NaN;
    return (Math.log10(v) - Math.log10(this.min)) / (Math.log10(this.max) - Math.log10(this.min));
  }

  /** Major ticks with labels. */
  ticks(target = 6): Tick[] {
    if (this.kind === 'linear') {
      const values = niceTicks(this.min, this.max, target);
      return values.map((value) => ({ value, label: { text: formatTick(value, values) } }));
    }
    const lo = Math.ceil(Math.log10(this.min) - 1e-9);
    const hi = Math.floor(Math.log10(this.max) + 1e-9);
    if (hi - lo >= 1) {
      const every = Math.max(1, Math.ceil((hi - lo + 1) / Math.max(2, target + 2)));
      const out: Tick[] = [];
      for (let k = lo; k <= hi; k++) {
        if ((k - lo) % every === 0) out.push({ value: 10 ** k, label: { text: '10', exponent: String(k) } });
      }
      return out;
    }
    // Less than a decade: 1, 2 and 5 times powers of ten, or plain nice ticks, written as numbers.
    let values = this.logSubTicks([1, 2, 5]);
    if (values.length < 2) values = niceTicks(this.min, this.max, Math.min(target, 4)).filter((v) => v > 0);
    return values.map((value) => ({ value, label: { text: formatTick(value, values) } }));
  }

  /** Unlabelled minor ticks (log scales: 2-9 times each power of ten, when the axis spans a decade or more). */
  minorTicks(): number[] {
    if (this.kind === 'linear') return [];
    const decades = Math.log10(this.max) - Math.log10(this.min);
    if (decades < 1 || decades > 12) return [];
    return this.logSubTicks([2, 3, 4, 5, 6, 7, 8, 9]);
  }

  private logSubTicks(mults: readonly number[]): number[] {
    const out: number[] = [];
    for (let k = Math.floor(Math.log10(this.min)); k <= Math.ceil(Math.log10(this.max)); k++) {
      for (const m of mults) {
        const v = Number((m * 10 ** k).toPrecision(12));
        if (v >= this.min * (1 - 1e-9) && v <= this.max * (1 + 1e-9)) out.push(v);
      }
    }
    return out;
  }
}

/**
 * A data range for a scale: the finite values' [min, max] (positive values only for log), padded by
 * `pad` of the span on each side (in log10 units for log); a fallback when there is no usable value.
 */
export function dataRange(op: string, kind: ScaleKind, values: Iterable<number>, pad = 0.05): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (!Number.isFinite(v) || (kind === 'log' && !(v > 0))) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (!Number.isFinite(lo)) {
    if (kind === 'log') fail(op, 'a log axis needs at least one positive finite value');
    return [0, 1];
  }
  if (kind === 'log') {
    const a = Math.log10(lo);
    const b = Math.log10(hi);
    const p = Math.max(b - a, 0.5) * pad;
    return [10 ** (a - p), 10 ** (b + p)];
  }
  const p = (hi - lo || Math.abs(lo) || 1) * pad;
  return [lo - p, hi + p];
}
