// The log-likelihood evaluator on trained models of the GAN layer: a tiny PresGAN, the same with
// lambda = 0 (the paper's "GAN" row) and a tiny VAE with the same DCGAN decoder, on MNIST test digits.
import '../../src/index.js'; // registers the CPU backend
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../../src/data/mnist.js';
import { decoderModel, type LogLikelihoodOptions, predictiveLogLikelihood } from '../../src/eval/loglik.js';
import { imageSource, loadDataSource } from '../../src/gan/data.js';
import { OBJECTIVES } from '../../src/gan/registry.js';
import { disposeLosses, GanTrainer } from '../../src/gan/trainer.js';
import { Generator, matmul, type Tensor, tensor } from '../../src/index.js';

const SMALL = { batchSize: 4, latentDim: 8, 'net.ngf': 4, 'net.ndf': 4 };
const EVAL: LogLikelihoodOptions = {
  samples: 16,
  encoderSteps: 3,
  encoderBatchSize: 4,
  encoderHidden: [16],
  mapSteps: 3,
  batchSize: 32,
};
const PROTOCOL_KEYS = [
  'method',
  'model',
  'examples',
  'dimensions',
  'dtype',
  'backend',
  'likelihood',
  'sigma',
  'samples',
  'overdispersion',
  'overdispersionOf',
  'proposal',
  'encoder',
  'map',
  'batchSize',
  'effectiveSampleSize',
  'rng',
  'units',
];

async function trained(objective: 'presgan' | 'vae', set: Record<string, unknown>): Promise<GanTrainer> {
  const data = await loadDataSource('mnist');
  const setup = { data, seed: 3, set: { ...SMALL, ...set } };
  const t: GanTrainer =
    objective === 'presgan'
      ? new GanTrainer({ objective: OBJECTIVES.presgan, ...setup })
      : new GanTrainer({ objective: OBJECTIVES.vae, ...setup });
  for (let i = 0; i < 2; i++) disposeLosses(t.step());
  return t;
}

describe('predictive log-likelihood of trained GAN-layer models', () => {
  const test = imageSource(loadMnist({ split: 'test' }), 'mnist-test');
  const cases: [string, 'presgan' | 'vae', Record<string, unknown>][] = [
    ['PresGAN (lambda 0.01)', 'presgan', {}],
    ['PresGAN with lambda = 0', 'presgan', { lambda: 0 }],
    ['VAE (Gaussian decoder, same DCGAN generator)', 'vae', { likelihood: 'gaussian' }],
  ];
  for (const [title, objective, set] of cases) {
    it(`${title}: finite numbers, a complete protocol, same seed -> same result`, async () => {
      const trainer = await trained(objective, set);
      const x = test.sample(4, new Generator(9)).x;
      const encoderData = trainer.data.sample(16, new Generator(10)).x;
      const model = decoderModel(trainer);
      const wasTraining = trainer.nets.G!.training;
      const a = await predictiveLogLikelihood(model, x, { ...EVAL, encoderData, rng: new Generator(5) });
      const b = await predictiveLogLikelihood(model, x, { ...EVAL, encoderData, rng: new Generator(5) });
      expect(trainer.nets.G!.training).toBe(wasTraining); // the decoder's mode is restored
      expect(Number.isFinite(a.natsPerExample)).toBe(true);
      expect(Number.isFinite(a.standardError) && a.standardError > 0).toBe(true);
      // bits per dimension is the negative log-likelihood over 784 pixels in base 2.
      expect(a.bitsPerDim).toBeCloseTo(-a.natsPerExample / (784 * Math.LN2), 12);
      expect(a.perExample.length).toBe(4);
      for (const v of a.perExample) expect(Number.isFinite(v)).toBe(true);
      for (const e of a.effectiveSampleSize) expect(e >= 1 - 1e-9 && e <= 16 + 1e-9).toBe(true);
      expect(Object.keys(a.protocol).sort()).toEqual([...PROTOCOL_KEYS].sort());
      expect(a.protocol.likelihood).toMatch(/truncated to \[-1, 1\]/);
      expect((a.protocol.model as Record<string, unknown>).objective).toBe(objective);
      if (objective === 'presgan')
        expect((a.protocol.model as Record<string, unknown>).lambda).toBe(set.lambda ?? 0.01);
      expect(Array.from(b.perExample)).toEqual(Array.from(a.perExample));
      expect(b.natsPerExample).toBe(a.natsPerExample);
      // A different seed gives a different (but close) estimate.
      const c = await predictiveLogLikelihood(model, x, { ...EVAL, encoderData, rng: new Generator(6) });
      expect(Array.from(c.perExample)).not.toEqual(Array.from(a.perExample));
      for (const t of [x, encoderData, model.sigma]) t.dispose();
      trainer.dispose();
    });
  }

  it('refuses what it cannot evaluate, naming the op and what was expected', async () => {
    const bern = await trained('vae', { likelihood: 'bernoulli' });
    expect(() => decoderModel(bern)).toThrow(/decoderModel: .*likelihood 'bernoulli'.*'gaussian'/);
    bern.dispose();
    const gan = new GanTrainer({ objective: OBJECTIVES.gan, data: await loadDataSource('ring'), seed: 0 });
    expect(() => decoderModel(gan)).toThrow(
      /decoderModel: expected a trainer of objective 'presgan' or 'vae', got 'gan'/,
    );
    gan.dispose();
    const w = tensor([[1, 0.5]]);
    const model = { decode: (z: Tensor) => matmul(z, w), sigma: tensor([0.5, 0.5]), latentDim: 1 };
    const x = tensor([
      [0.1, 0.2],
      [0.3, 1.5],
    ]);
    await expect(predictiveLogLikelihood(model, x, { likelihood: 'truncated-gaussian' })).rejects.toThrow(
      /predictiveLogLikelihood: the truncated Gaussian likelihood needs data in \[-1, 1\], got max \|x\| = 1\.5/,
    );
    await expect(predictiveLogLikelihood(model, x, { samples: 0 })).rejects.toThrow(
      /predictiveLogLikelihood: samples must be an integer >= 1, got 0/,
    );
    await expect(predictiveLogLikelihood({ ...model, sigma: tensor([0.5, 0]) }, x)).rejects.toThrow(
      /sigma must be positive everywhere, got a minimum of 0/,
    );
    await expect(predictiveLogLikelihood({ ...model, latentDim: 2 }, x)).rejects.toThrow(
      /predictiveLogLikelihood: decode\(z \[1, 2\]\) failed \(latentDim 2\): matmul: inner dimensions differ/,
    );
    await expect(predictiveLogLikelihood(model, tensor([[0.1, 0.2, 0.3]]))).rejects.toThrow(
      /decode\(z \[1, 1\]\) gave \[1,2\], expected \[1,3\]/,
    );
  });
});
