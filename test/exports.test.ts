// The package entry (src/index.ts, the only export of package.json) exposes every public module:
// each block imports from '../src/index.js' only and makes one tiny call.
import { describe, expect, it } from 'vitest';
import * as tessera from '../src/index.js';
import {
  Adam,
  accuracy,
  CIFAR10_CLASSES,
  countStackedModes,
  effectiveSampleSize,
  encodeIdx,
  epochBatches,
  Generator,
  gridMixture,
  hmc,
  Linear,
  leapfrog,
  linePlot,
  mnistClassifier,
  modeMetrics,
  PRESGAN_HMC_DEFAULTS,
  parseCifar,
  parseIdx,
  presganPosterior,
  presganStepSizeUpdate,
  ringMixture,
  sampleMixture,
  scaleToSymmetric,
  scatterPlot,
  splitRHat,
  summary,
  type Tensor,
  tensor,
  tidy,
  twoMoons,
} from '../src/index.js';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];

describe('package entry: public exports', () => {
  it('exports every module (core, nn, optim, checkpoint, hmc, data, metrics, plot, models)', () => {
    const names = [
      // core, nn, optim, checkpoint
      'tensor',
      'grad',
      'valueAndGrad',
      'setBackend',
      'Generator',
      'Linear',
      'Sequential',
      'Adam',
      'saveCheckpoint',
      'loadCheckpoint',
      // trees
      'mapTree',
      'zipTrees',
      'flattenTree',
      'unflattenTree',
      'treeLeaves',
      // hmc
      'hmc',
      'leapfrog',
      'summary',
      'effectiveSampleSize',
      'splitRHat',
      'acceptanceRates',
      'presganPosterior',
      'PRESGAN_HMC_DEFAULTS',
      'presganStepSizeUpdate',
      // data
      'ringMixture',
      'gridMixture',
      'highDimMixture',
      'sampleMixture',
      'twoMoons',
      'epochBatches',
      'gatherBatch',
      'scaleToSymmetric',
      'padImages',
      'resizeImages',
      'parseIdx',
      'readIdx',
      'encodeIdx',
      'parseCifar',
      'loadCifar10',
      'loadMnist',
      'loadFashionMnist',
      // metrics
      'modeMetrics',
      'countStackedModes',
      'accuracy',
      'confusionMatrix',
      'evaluateClassifier',
      // plot
      'scatterPlot',
      'densityPlot',
      'imageGrid',
      'linePlot',
      'savePNG',
      'Canvas',
      // models
      'mnistClassifier',
      'trainClassifier',
      'loadClassifier',
      'saveClassifier',
    ];
    const exported = tessera as unknown as Record<string, unknown>;
    const missing = names.filter((n) => exported[n] === undefined);
    expect(missing).toEqual([]);
  });

  it('hmc: a 2-D standard normal, a few transitions, with diagnostics', async () => {
    const rng = new Generator(7);
    const r = hmc((z: Tensor) => z.square().sum(1).mul(-0.5), {
      initial: rng.normal([4, 2]),
      numBurnin: 5,
      numSamples: 8,
      numLeapfrogSteps: 3,
      stepSize: 0.5,
      adapt: 'dual-averaging',
      rng,
    });
    try {
      expect(r.samples.shape).toEqual([8, 4, 2]);
      expect(r.acceptRate.shape).toEqual([4]);
      expect(r.numTransitions).toBe(13);
      const rows = await summary(r.samples);
      expect(rows).toHaveLength(2);
      for (const row of rows) expect(Number.isFinite(row.mean)).toBe(true);
      expect(await effectiveSampleSize(r.samples)).toHaveLength(2);
      expect(await splitRHat(r.samples)).toHaveLength(2);
    } finally {
      tessera.dispose(r);
    }
    const z = tensor([[0.5, -1]]);
    const p = tensor([[1, 0]]);
    const out = leapfrog((x: Tensor) => x.square().sum(1).mul(-0.5), z, p, 0.1, 2);
    expect(out.z.shape).toEqual([1, 2]);
    const h = presganStepSizeUpdate(tensor(0.01, { dtype: 'float64' }), 1);
    expect(await h.item()).toBeCloseTo(0.010066, 8);
    tessera.dispose([out.z, out.p, z, p, h]);
  });

  it('hmc: the PresGAN posterior target', () => {
    const W = tensor([
      [1, 0],
      [0, 1],
    ]);
    const target = presganPosterior({ G: (z: Tensor) => tessera.matmul(z, W), x: tensor([[0.3, -0.2]]), sigma: 0.5 });
    const r = hmc(target, { ...PRESGAN_HMC_DEFAULTS, initial: tensor([[0, 0]]), stepSize: 0.1 });
    expect(r.samples.shape).toEqual([PRESGAN_HMC_DEFAULTS.numSamples, 1, 2]);
    tessera.dispose(r);
  });

  it('data: synthetic sets, batching, transforms, IDX and CIFAR readers', async () => {
    const ring = ringMixture({ radius: 2, std: 0.02 });
    expect(ring.means).toHaveLength(8);
    const s = sampleMixture(ring, 16, new Generator(1));
    expect(s.x.shape).toEqual([16, 2]);
    expect(s.modes.shape).toEqual([16]);
    expect(gridMixture().means).toHaveLength(25);
    const moons = twoMoons(5);
    expect(moons.x.shape).toEqual([5, 2]);
    tessera.dispose([s, moons]);

    const batches = await epochBatches(10, { batchSize: 4, rng: new Generator(0) });
    expect(batches.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(Array.from(scaleToSymmetric(Float32Array.of(0, 0.5, 1)))).toEqual([-1, 0, 1]);

    const idx = parseIdx(encodeIdx('uint8', [2, 3], [1, 2, 3, 4, 5, 6]));
    expect(idx.shape).toEqual([2, 3]);
    const cifar = new Uint8Array(1 + 3 * 32 * 32);
    cifar[0] = 3;
    const ds = parseCifar(cifar);
    expect(ds.labels[0]).toBe(3);
    expect(CIFAR10_CLASSES[3]).toBe('cat');
  });

  it('metrics, plot, models and the GAN layer', async () => {
    const ring = ringMixture();
    const m = modeMetrics(ring.means, ring);
    expect(m.modesCaptured).toBe(8);
    expect(accuracy([1, 2, 3], [1, 2, 0])).toBeCloseTo(2 / 3);
    expect(countStackedModes([0, 1, 2]).modes).toBe(1);

    const png = scatterPlot([
      [0, 0],
      [1, 1],
    ]);
    expect(Array.from(png.subarray(0, 4))).toEqual(PNG_MAGIC);
    expect(Array.from(linePlot([{ name: 'loss', y: [3, 2, 1] }]).subarray(0, 4))).toEqual(PNG_MAGIC);

    const gan = new tessera.GanTrainer({
      objective: tessera.OBJECTIVES.gan,
      data: await tessera.loadDataSource('ring'),
      set: { 'net.hidden': 8, batchSize: 8 },
    });
    const losses = gan.step();
    expect(losses.D!.shape).toEqual([]);
    expect(gan.sample(4).shape).toEqual([4, 2]);
    tessera.gan.disposeLosses(losses);
    gan.dispose();
    expect(tessera.gan.gan.defaults.batchSize).toBe(64);

    const net = mnistClassifier({ rng: new Generator(0) });
    expect(tidy(() => net.forward(tensor(new Float32Array(28 * 28), { shape: [1, 1, 28, 28] })).shape)).toEqual([
      1, 10,
    ]);
    net.dispose();
    const lin = new Linear(2, 1, { rng: new Generator(0) });
    const opt = new Adam(lin, { lr: 1e-3 });
    opt.dispose();
    lin.dispose();
  });

  it('the deprecated `generator` / `generators` options still work for this release', async () => {
    const weights = (m: tessera.Module) => m.namedParameters().map(([, t]) => Array.from(t.dataSync()));
    const a = tessera.mlp([2, 3, 1], { generator: new Generator(5) });
    const b = tessera.mlp([2, 3, 1], { rng: new Generator(5) });
    expect(weights(a)).toEqual(weights(b));
    const drop = new tessera.Dropout(0.5, { generator: new Generator(1) });
    expect(drop.rng).toBeInstanceOf(Generator);
    expect(drop.generator).toBe(drop.rng);
    expect(() => new tessera.Dropout(0.5, { rng: {} as Generator })).toThrow(/Dropout: rng must be a Generator/);

    const saved = new Generator(9);
    saved.uniform([3]).dispose();
    const bytes = await tessera.checkpointToBytes({ generators: { data: saved } });
    const loaded = new Generator(0);
    tessera.loadCheckpointBytes(bytes, { rngs: { data: loaded } });
    expect(loaded.getState()).toEqual(saved.getState());
    a.dispose();
    b.dispose();
  });
});
