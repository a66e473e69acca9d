// memory().numTensors after the finaliser reclaims tensors a user forgot to dispose: a child Node
// process with --expose-gc creates and drops tensors, forces collection and reports the counters.
import '../../src/index.js'; // registers the CPU backend
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

const SCRIPT = `
import '${ROOT}/src/backend/cpu.js';
import { memory } from '${ROOT}/src/tensor/engine.js';
import { tensor } from '${ROOT}/src/tensor/ops/convert.js';
import { add } from '${ROOT}/src/tensor/ops/elementwise.js';
const gc = globalThis.gc;
const settle = async () => {
  for (let i = 0; i < 20; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
};
await settle();
const before = memory();
const kept = tensor([1, 2, 3]);
const view = kept.reshape([3, 1]);
(() => {
  for (let i = 0; i < 2000; i++) add(tensor([i, i + 1]), 1); // 4000 tensors never disposed
  // A reshape shares its input's storage: dropping the input must not free the view's data.
  const base = tensor([7, 8, 9, 10]);
  globalThis.leftView = base.reshape([2, 2]);
})();
const during = memory().numTensors;
await settle();
const after = memory();
const viewData = Array.from(await globalThis.leftView.data());
console.log(JSON.stringify({ before: before.numTensors, beforeBuffers: before.numBuffers, during, after: after.numTensors, afterBuffers: after.numBuffers, viewData, keptAlive: !kept.isDisposed && !view.isDisposed }));
`;

describe('memory() after the finaliser', () => {
  it('counts tensors reclaimed by garbage collection as gone, and keeps storage a live view shares', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-finaliser-'));
    const script = join(dir, 'leak.mts');
    writeFileSync(script, SCRIPT);
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', script], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const r = JSON.parse(out.trim().split('\n').pop()!) as {
      before: number;
      beforeBuffers: number;
      during: number;
      after: number;
      afterBuffers: number;
      viewData: number[];
      keptAlive: boolean;
    };
    // 2 kept + 4000 dropped + 2 (base and its view) were live before collection.
    expect(r.during).toBe(r.before + 2 + 4000 + 2);
    // Left: kept, view, and leftView (base was collected; its storage lives on through the view).
    expect(r.after).toBe(r.before + 3);
    expect(r.afterBuffers).toBe(r.beforeBuffers + 2);
    expect(r.viewData).toEqual([7, 8, 9, 10]);
    expect(r.keptAlive).toBe(true);
  });
});
