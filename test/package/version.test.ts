// `tessera --version` (and -v, version) prints the version in package.json; test/package/pack.test.ts
// runs the installed command the same way.
import '../../src/index.js'; // registers the CPU backend
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type CliIO, main } from '../../src/cli/main.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const write = (s: string): boolean => {
    out += s;
    return true;
  };
  const sink = { write, isTTY: false } as unknown as NodeJS.WriteStream;
  const io: CliIO = { out: sink, err: sink, quiet: true };
  const code = await main(argv, io);
  return { code, out };
}

describe('tessera --version', () => {
  it("prints package.json's version and exits 0", async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+/);
    for (const flag of ['--version', '-v', 'version']) {
      expect(await cli(flag)).toEqual({ code: 0, out: `tessera ${pkg.version}\n` });
    }
  });
});
