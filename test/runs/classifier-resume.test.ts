// train-classifier's exact resume at the library level: a run stopped mid-epoch (and one stopped
// between epochs) and resumed from its training state ends with the same weights, bit for bit,
// as an uninterrupted run, with dropout, augmentation, a validation split and a schedule.
import '../../src/index.js'; // registers the CPU backend
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ClassifierConfig, trainClassifier } from '../../src/models/classifier.js';
import { readClassifierState } from '../../src/models/classifier-state.js';

const CFG: Partial<ClassifierConfig> = {
  epochs: 2,
  batchSize: 8,
  limit: 24, // 3 batches an epoch
  testLimit: 20,
  validation: 20,
  lr: 2e-3,
  lrSchedule: [[2, 5e-4]],
  shift: 1,
  seed: 11,
};

class Stop extends Error {}

async function weightsOf(r: Awaited<ReturnType<typeof trainClassifier>>): Promise<Map<string, Uint32Array>> {
  const out = new Map<string, Uint32Array>();
  for (const [name, t] of r.model.namedParameters())
    out.set(name, new Uint32Array(Float32Array.from(await t.data()).buffer));
  r.model.dispose();
  return out;
}

describe('trainClassifier resume', () => {
  it('stopped after epoch 1 or mid-epoch 2 and resumed: the same weights, losses and selection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-cls-resume-'));
    const full = await trainClassifier(CFG);
    const fullLosses = [...full.batchLosses];
    const fullEpochs = full.epochs.map((e) => [e.meanLoss, e.validationAccuracy, e.testAccuracy]);
    const fullSelected = full.selectedEpoch;
    const want = await weightsOf(full);
    expect(fullLosses).toHaveLength(6);

    // Saves every 2 batches inside an epoch and after each epoch: after batches 2, 3 (end of epoch
    // 1), 5 and 6 (end of epoch 2). Stopping after batch s resumes from the last save <= s.
    for (const [stopAt, savedAt] of [
      [5, 5],
      [3, 3],
    ] as const) {
      const path = join(dir, `state-${stopAt}.safetensors`);
      await expect(
        trainClassifier(
          CFG,
          {
            onBatch: (done) => {
              if (done === stopAt + 1) throw new Stop(`stopped at ${stopAt}`);
            },
          },
          { path, every: 2 },
        ),
      ).rejects.toBeInstanceOf(Stop);
      const saved = await readClassifierState(path);
      expect(saved.done).toBe(savedAt);
      expect(saved.config.seed).toBe(11);
      const resumed = await trainClassifier(CFG, {}, { path, every: 2, resume: true });
      expect(resumed.batchLosses).toEqual(fullLosses);
      expect(resumed.epochs.map((e) => [e.meanLoss, e.validationAccuracy, e.testAccuracy])).toEqual(fullEpochs);
      expect(resumed.selectedEpoch).toBe(fullSelected);
      const got = await weightsOf(resumed);
      for (const [name, bits] of want) expect(got.get(name), name).toEqual(bits);
    }
  });
});
