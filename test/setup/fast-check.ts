// fast-check's seed: pinned under CI (every run checks the same cases, so a landing never depends
// on a draw), random on a developer's machine (wider exploration); FC_SEED sets it anywhere. A
// failing property prints its seed; `FC_SEED=<seed> npx vitest run <file>` reruns it.
import fc from 'fast-check';

const pinned = process.env.FC_SEED ?? (process.env.CI ? '20261204' : undefined);
if (pinned !== undefined) {
  const seed = Number(pinned);
  if (!Number.isInteger(seed)) throw new Error(`FC_SEED must be an integer, got ${JSON.stringify(pinned)}`);
  fc.configureGlobal({ seed });
}
