// TESSERA_PROFILE=1: a child process's top-level region prints its table when it ends, and the
// whole process prints one at exit; without the variable nothing is printed.
import '../../src/index.js'; // registers the CPU backend
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs a script that does 2 matmuls inside a region and 1 outside; returns its stderr. */
function runChild(env: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-profile-'));
  const script = join(dir, 'child.mts');
  writeFileSync(
    script,
    [
      `import { matmul, tensor, tidy } from ${JSON.stringify(join(ROOT, 'src/index.ts'))};`,
      `import { profile } from ${JSON.stringify(join(ROOT, 'src/profile/index.ts'))};`,
      'const a = tensor([[1, 2], [3, 4]]);',
      "profile(() => tidy(() => { matmul(a, a); matmul(a, a); }), { label: 'two matmuls' });",
      'tidy(() => matmul(a, a));',
    ].join('\n'),
  );
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stderr;
}

describe('TESSERA_PROFILE', () => {
  it('=1 prints the region table when it ends and the whole-process table at exit', () => {
    const err = runChild({ TESSERA_PROFILE: '1' });
    const region = err.indexOf('two matmuls: ');
    const whole = err.indexOf('TESSERA_PROFILE: whole process');
    expect(region).toBeGreaterThanOrEqual(0);
    expect(whole).toBeGreaterThan(region);
    // The region's table counts its 2 matmuls; the process table counts all 3.
    const matmulCalls = (text: string) => Number(/\nmatmul\s+cpu\s+(\d+)/.exec(text)?.[1]);
    expect(matmulCalls(err.slice(region, whole))).toBe(2);
    expect(matmulCalls(err.slice(whole))).toBe(3);
  }, 60_000);

  it('unset prints nothing', () => {
    const err = runChild({ TESSERA_PROFILE: '' });
    expect(err).not.toContain('matmul');
    expect(err).not.toContain('TESSERA_PROFILE');
  }, 60_000);
});
