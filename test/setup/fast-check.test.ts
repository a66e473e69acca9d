// The fast-check seed policy of test/setup/fast-check.ts, checked from inside a test run.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('fast-check seed', () => {
  it('is FC_SEED when set, the pinned CI seed under CI, otherwise left to fast-check', () => {
    const seed = fc.readConfigureGlobal().seed;
    if (process.env.FC_SEED !== undefined) expect(seed).toBe(Number(process.env.FC_SEED));
    else if (process.env.CI) expect(seed).toBe(20261204);
    else expect(seed).toBeUndefined();
  });
});
