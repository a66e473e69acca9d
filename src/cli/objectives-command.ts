// `tessera objectives`: every registered objective with its paper, players and defaults, and the data sets.
import { describeData } from '../gan/data.js';
import { getObjective, objectiveNames } from '../gan/registry.js';
import type { CliIO } from './main.js';

/** Prints each objective (name, paper, players, default settings) and the named data sets. */
export function runObjectivesCommand(io: CliIO, json = false): number {
  const rows = objectiveNames().map((name) => {
    const o = getObjective(name);
    return {
      name,
      title: o.title,
      paper: o.paper,
      players: [...o.players],
      defaults: o.defaults,
      presets: o.presets ?? {},
    };
  });
  if (json) {
    io.out.write(`${JSON.stringify({ objectives: rows, data: describeData() }, null, 2)}\n`);
    return 0;
  }
  for (const r of rows) {
    io.out.write(`${r.name}  (${r.title}; players ${r.players.join(', ')})\n  ${r.paper}\n`);
    const flat = flatten(r.defaults as unknown as Record<string, unknown>);
    io.out.write(`  defaults: ${flat.join(', ')}\n`);
    for (const [kind, p] of Object.entries(r.presets))
      io.out.write(`  ${kind} data: ${flatten(p as Record<string, unknown>).join(', ')}\n`);
    io.out.write('\n');
  }
  io.out.write('data sets (--data):\n');
  for (const d of describeData()) io.out.write(`  ${d.name.padEnd(18)}${d.description}\n`);
  return 0;
}

function flatten(o: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      out.push(...flatten(v as Record<string, unknown>, key));
    else out.push(`${key}=${Array.isArray(v) ? `[${v.join(',')}]` : String(v)}`);
  }
  return out;
}
