// Loading a trained GAN-layer model for evaluation: a run folder of `tessera train` (its
// checkpoint.safetensors) or a checkpoint file, rebuilt into a GanTrainer at the saved step.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fail } from '../errors.js';
import { loadDataSource } from '../gan/data.js';
import { getObjective } from '../gan/registry.js';
import { GanTrainer, readCheckpointSetup } from '../gan/trainer.js';

/** The file name `tessera train` writes its checkpoint under, in the run folder. */
export const RUN_CHECKPOINT = 'checkpoint.safetensors';

/** Where a trained model was loaded from. */
export interface LoadedModel {
  trainer: GanTrainer;
  /** The checkpoint file read. */
  checkpoint: string;
  /** The run folder when a folder was given. */
  runDir?: string;
}

/**
 * Rebuilds the trainer of a run folder (`<dir>/checkpoint.safetensors`) or of a GAN checkpoint file:
 * same objective, data set, seed and overrides, restored to the saved step. Dispose `trainer` and
 * `trainer.data` when done.
 *
 * @example
 * const { trainer } = await loadTrainedModel('runs/train-gan-ring-2026-12-03T18-00-00');
 * const x = trainer.sample(2500);
 */
export async function loadTrainedModel(path: string): Promise<LoadedModel> {
  const op = 'loadTrainedModel';
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) return fail(op, `no run folder or checkpoint at '${path}'`);
  const runDir = info.isDirectory() ? path : undefined;
  const checkpoint = runDir === undefined ? path : join(runDir, RUN_CHECKPOINT);
  const bytes = await readFile(checkpoint).catch(() => undefined);
  if (bytes === undefined)
    return fail(op, `'${path}' is a folder without ${RUN_CHECKPOINT}: not a run folder of 'tessera train'`);
  const u8 = new Uint8Array(bytes);
  let setup: ReturnType<typeof readCheckpointSetup>['setup'];
  try {
    setup = readCheckpointSetup(u8).setup;
  } catch (e) {
    return fail(op, `${checkpoint} is not a GAN trainer checkpoint (${e instanceof Error ? e.message : String(e)})`);
  }
  const objective = getObjective(setup.objective);
  const data = await loadDataSource(setup.data);
  const trainer = new GanTrainer({ objective, data, seed: setup.seed, set: setup.set });
  try {
    trainer.restore(u8);
  } catch (e) {
    trainer.dispose();
    data.dispose();
    throw e;
  }
  return { trainer, checkpoint, ...(runDir === undefined ? {} : { runDir }) };
}
