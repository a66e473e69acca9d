// HMC on a user-defined target, runnable: node --import tsx examples/hmc-banana.ts (or npx tsx ...)
//
// The "banana" (a twisted Gaussian): z1 ~ N(0, 1) and z2 | z1 ~ N(b (z1^2 - 1), 1), so
// log p(z) = -z1^2 / 2 - (z2 - b (z1^2 - 1))^2 / 2 + const, with E[z] = 0, Var z1 = 1 and
// Var z2 = 1 + 2 b^2. Any function of tensor ops works as a target: the gradient comes from autodiff.
// Outside this repository the import is from 'tessera'.
import { Generator, hmc, type Tensor } from '../src/index.js';

export interface BananaResult {
  rows: hmc.SummaryRow[];
  acceptRate: number;
  stepSize: number;
  essZ2Squared: number;
  meanZ2Squared: number;
}

export async function bananaExample(b = 1, chains = 32, numSamples = 500): Promise<BananaResult> {
  // One row per chain: z is [chains, 2]; the log-density returns [chains].
  const logProb = (z: Tensor): Tensor => {
    const z1 = z.slice([null, 0]);
    const z2 = z.slice([null, 1]);
    const bend = z2.sub(z1.square().sub(1).mul(b));
    return z1.square().add(bend.square()).mul(-0.5);
  };

  const rng = new Generator(42); // seeded: the run is reproducible
  const r = hmc.hmc(logProb, {
    initial: rng.normal([chains, 2]),
    numBurnin: 300,
    numSamples,
    numLeapfrogSteps: 10,
    stepSize: 0.1,
    stepSizeJitter: 0.1,
    adapt: 'dual-averaging',
    targetAccept: 0.8,
    rng,
  });

  // Diagnostics read the samples back once, after sampling.
  const rows = await hmc.summary(r.samples);
  const z2sq = r.samples.slice([null, null, [1, 2]]).square();
  const [essZ2Squared] = await hmc.effectiveSampleSize(z2sq);
  return {
    rows,
    acceptRate: await r.acceptRate.mean().item(),
    stepSize: await r.stepSize.item(),
    essZ2Squared: essZ2Squared!,
    meanZ2Squared: await z2sq.mean().item(),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = await bananaExample();
  console.log(`step size after burn-in ${out.stepSize.toFixed(3)}, acceptance ${out.acceptRate.toFixed(2)}`);
  console.table(
    out.rows.map((row, i) => ({
      param: `z${i + 1}`,
      mean: row.mean.toFixed(3),
      sd: row.sd.toFixed(3),
      mcse: row.mcse.toFixed(3),
      ess: row.ess.toFixed(0),
      rhat: row.rhat.toFixed(3),
    })),
  );
  console.log(`E[z2^2] = ${out.meanZ2Squared.toFixed(3)} (exact: 3 for b = 1)`);
}
