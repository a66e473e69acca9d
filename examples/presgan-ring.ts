// The GAN layer, runnable: node --import tsx examples/presgan-ring.ts [steps] (or npx tsx ...)
//
// Trains a PresGAN on the 8-Gaussian ring with the trainer, scores it with the mixture metrics,
// and shows that a run resumed from a checkpoint ends bitwise where the uninterrupted one does.
// Outside this repository the import is from 'tessera'.
import { gan } from '../src/index.js';

/** Trains `steps` iterations straight, and again with a checkpoint halfway; returns both results. */
export async function presganRingExample(steps = 300) {
  const data = await gan.loadDataSource('ring'); // 8 Gaussians, radius 2, std 0.02
  const setup = { objective: gan.OBJECTIVES.presgan, data, seed: 1, set: { lambda: 0.01 } };

  const trainer = new gan.GanTrainer(setup);
  const run = await gan.runTrainer(trainer, { steps, logEvery: 50 });
  const { metrics } = (await gan.evaluateMixture(trainer))!; // 2,500 samples, 3-std high quality

  const first = new gan.GanTrainer(setup);
  await gan.runTrainer(first, { steps, stopAfter: steps / 2 }); // as if killed halfway
  const bytes = await first.checkpoint();
  first.dispose();
  const resumed = new gan.GanTrainer(setup);
  resumed.restore(bytes); // every player, optimiser, the random stream, the HMC step size
  const rest = await gan.runTrainer(resumed, { steps });
  const same = JSON.stringify(rest.finalLosses) === JSON.stringify(run.finalLosses);

  trainer.dispose();
  resumed.dispose();
  data.dispose();
  return { losses: run.finalLosses, metrics, same, stepsPerSecond: run.stepsPerSecond };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await presganRingExample(Number(process.argv[2] ?? 300));
  console.log(`losses ${JSON.stringify(r.losses)}`);
  console.log(`modes ${r.metrics.modes}/8, high quality ${(100 * r.metrics.highQuality).toFixed(1)}%`);
  console.log(`resumed run equals the uninterrupted one: ${r.same}`);
}
