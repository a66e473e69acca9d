// The package entry (src/index.ts, the '.' export of package.json): the core flat, the rest in
// namespaces (nn, optim, checkpoint, hmc, data, metrics, plot, models, gan, profile, evaluation), and the 0.1
// flat names kept as deprecated aliases for this release. Each block makes one tiny call.
import { describe, expect, it } from 'vitest';
import * as tessera from '../src/index.js';
import {
  checkpoint,
  data,
  evaluation,
  Generator,
  gan,
  grad,
  hmc,
  metrics,
  models,
  nn,
  optim,
  plot,
  profile,
  type Tensor,
  tensor,
  tidy,
} from '../src/index.js';

const NAMESPACES = {
  checkpoint,
  data,
  evaluation,
  gan,
  hmc,
  metrics,
  models,
  nn,
  optim,
  plot,
  profile,
} as const;

/** What each namespace must hold (the names the README and docs use). */
const MEMBERS: Record<keyof typeof NAMESPACES, string[]> = {
  checkpoint: [
    'saveCheckpoint',
    'loadCheckpoint',
    'checkpointToBytes',
    'loadCheckpointBytes',
    'encodeSafetensors',
    'decodeSafetensors',
    'readSafetensors',
    'writeSafetensors',
    'writeFileAtomic',
  ],
  data: [
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
  ],
  evaluation: ['evaluateTrainer', 'ivom', 'classifierTwoSampleTest', 'predictiveLogLikelihood'],
  gan: ['GanTrainer', 'OBJECTIVES', 'loadDataSource', 'runTrainer', 'evaluateMixture', 'presganEntropySurrogate'],
  hmc: [
    'hmc',
    'leapfrog',
    'summary',
    'effectiveSampleSize',
    'splitRHat',
    'acceptanceRates',
    'presganPosterior',
    'PRESGAN_HMC_DEFAULTS',
    'presganStepSizeUpdate',
  ],
  metrics: ['modeMetrics', 'countStackedModes', 'accuracy', 'confusionMatrix', 'evaluateClassifier'],
  models: ['mnistClassifier', 'trainClassifier', 'loadClassifier', 'saveClassifier'],
  nn: ['Module', 'Linear', 'Conv2d', 'Sequential', 'mlp', 'Dropout'],
  optim: ['SGD', 'Adam', 'AdamW', 'RMSprop'],
  plot: ['scatterPlot', 'densityPlot', 'imageGrid', 'linePlot'],
  profile: ['profile', 'formatProfile'],
};

/** The core stays flat: tensors, ops, autodiff, random draws, backends, trees, errors. */
const CORE = [
  'tensor',
  'Tensor',
  'matmul',
  'conv2d',
  'softmax',
  'mseLoss',
  'grad',
  'valueAndGrad',
  'vjp',
  'gradcheck',
  'tidy',
  'dispose',
  'memory',
  'Generator',
  'uniform',
  'normal',
  'setBackend',
  'getBackendInfo',
  'cpuBackend',
  'mapTree',
  'zipTrees',
  'flattenTree',
  'unflattenTree',
  'treeLeaves',
  'TesseraError',
];

describe('package entry: the core flat, the rest in namespaces', () => {
  it('exports the core ops flat', () => {
    const exported = tessera as unknown as Record<string, unknown>;
    expect(CORE.filter((n) => exported[n] === undefined)).toEqual([]);
  });

  it('groups the rest in namespaces, each holding its members', () => {
    const missing: string[] = [];
    for (const [ns, names] of Object.entries(MEMBERS)) {
      const members = NAMESPACES[ns as keyof typeof NAMESPACES] as unknown as Record<string, unknown>;
      for (const n of names) if (members[n] === undefined) missing.push(`${ns}.${n}`);
    }
    expect(missing).toEqual([]);
  });

  it('no core name is also a namespace member, and no namespace is named like a core export', () => {
    const overlap: string[] = [];
    for (const [ns, members] of Object.entries(NAMESPACES)) {
      for (const n of CORE) if (n in members) overlap.push(`${ns}.${n}`);
    }
    expect(overlap).toEqual([]);
  });

  it('the deprecated flat aliases are the namespaces members themselves (hmc is the namespace)', () => {
    const exported = tessera as unknown as Record<string, unknown>;
    const different: string[] = [];
    let aliases = 0;
    for (const [ns, members] of Object.entries(NAMESPACES)) {
      if (ns === 'profile' || ns === 'evaluation') continue; // new in 0.2: namespaced only
      for (const [n, v] of Object.entries(members)) {
        if (n in NAMESPACES) continue; // a name that is a namespace (hmc.hmc, gan.gan) is the namespace
        if (ns === 'gan') continue; // the GAN layer had only six flat names, checked below
        aliases++;
        if (exported[n] !== v) different.push(`${n} is not ${ns}.${n}`);
      }
    }
    for (const n of MEMBERS.gan) if (exported[n] !== (gan as unknown as Record<string, unknown>)[n]) different.push(n);
    expect(different).toEqual([]);
    expect(aliases).toBeGreaterThan(100);
    expect(tessera.hmc).toBe(hmc);
    expect(typeof hmc.hmc).toBe('function');
  });
});

describe('package entry: one call through each namespace', () => {
  it('hmc: a 2-D standard normal, a few transitions, with diagnostics', async () => {
    const rng = new Generator(7);
    const r = hmc.hmc((z: Tensor) => z.square().sum(1).mul(-0.5), {
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
      const rows = await hmc.summary(r.samples);
      expect(rows).toHaveLength(2);
      for (const row of rows) expect(Number.isFinite(row.mean)).toBe(true);
      expect(await hmc.effectiveSampleSize(r.samples)).toHaveLength(2);
      expect(await hmc.splitRHat(r.samples)).toHaveLength(2);
    } finally {
      tessera.dispose(r);
    }
    const z = tensor([[0.5, -1]]);
    const p = tensor([[1, 0]]);
    const out = hmc.leapfrog((x: Tensor) => x.square().sum(1).mul(-0.5), z, p, 0.1, 2);
    expect(out.z.shape).toEqual([1, 2]);
    // The PresGAN rule h + rate (a - target) h with rate 0.02, target 0.67, a = 1.
    const h = hmc.presganStepSizeUpdate(tensor(0.01, { dtype: 'float64' }), 1);
    expect(await h.item()).toBeCloseTo(0.01 + 0.02 * (1 - 0.67) * 0.01, 12);
    tessera.dispose([out.z, out.p, z, p, h]);
  });

  it('hmc: the PresGAN posterior target', () => {
    const W = tensor([
      [1, 0],
      [0, 1],
    ]);
    const target = hmc.presganPosterior({
      G: (z: Tensor) => tessera.matmul(z, W),
      x: tensor([[0.3, -0.2]]),
      sigma: 0.5,
    });
    const r = hmc.hmc(target, { ...hmc.PRESGAN_HMC_DEFAULTS, initial: tensor([[0, 0]]), stepSize: 0.1 });
    expect(r.samples.shape).toEqual([hmc.PRESGAN_HMC_DEFAULTS.numSamples, 1, 2]);
    tessera.dispose(r);
  });

  it('data: synthetic sets, batching, transforms, IDX and CIFAR readers', async () => {
    const ring = data.ringMixture({ radius: 2, std: 0.02 });
    expect(ring.means).toHaveLength(8);
    const s = data.sampleMixture(ring, 16, new Generator(1));
    expect(s.x.shape).toEqual([16, 2]);
    expect(s.modes.shape).toEqual([16]);
    expect(data.gridMixture().means).toHaveLength(25);
    const moons = data.twoMoons(5);
    expect(moons.x.shape).toEqual([5, 2]);
    tessera.dispose([s, moons]);

    const batches = await data.epochBatches(10, { batchSize: 4, rng: new Generator(0) });
    expect(batches.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(Array.from(data.scaleToSymmetric(Float32Array.of(0, 0.5, 1)))).toEqual([-1, 0, 1]);

    const idx = data.parseIdx(data.encodeIdx('uint8', [2, 3], [1, 2, 3, 4, 5, 6]));
    expect(idx.shape).toEqual([2, 3]);
    const cifar = new Uint8Array(1 + 3 * 32 * 32);
    cifar[0] = 3;
    const ds = data.parseCifar(cifar);
    expect(ds.labels[0]).toBe(3);
    expect(data.CIFAR10_CLASSES[3]).toBe('cat');
  });

  it('metrics, models, nn, optim, checkpoint and the GAN layer', async () => {
    const ring = data.ringMixture();
    const m = metrics.modeMetrics(ring.means, ring);
    expect(m.modesCaptured).toBe(8);
    expect(metrics.accuracy([1, 2, 3], [1, 2, 0])).toBeCloseTo(2 / 3);
    expect(metrics.countStackedModes([0, 1, 2]).modes).toBe(1);

    const trainer = new gan.GanTrainer({
      objective: gan.OBJECTIVES.gan,
      data: await gan.loadDataSource('ring'),
      set: { 'net.hidden': 8, batchSize: 8 },
    });
    const losses = trainer.step();
    expect(losses.D!.shape).toEqual([]);
    expect(trainer.sample(4).shape).toEqual([4, 2]);
    gan.disposeLosses(losses);
    trainer.dispose();
    expect(gan.gan.defaults.batchSize).toBe(64);

    const net = models.mnistClassifier({ rng: new Generator(0) });
    expect(tidy(() => net.forward(tensor(new Float32Array(28 * 28), { shape: [1, 1, 28, 28] })).shape)).toEqual([
      1, 10,
    ]);
    net.dispose();

    // One SGD step on f(w) = sum(w^2): w <- w - lr 2w = 0.8 w with lr = 0.1.
    const lin = new nn.Linear(2, 1, { rng: new Generator(0) });
    const w0 = Array.from((lin.parameters().weight as Tensor).dataSync());
    const sgd = new optim.SGD(lin, { lr: 0.1 });
    const g = tidy(() => grad((p: tessera.ParamTree) => (p.weight as Tensor).square().sum())(lin.parameters()));
    sgd.step(g);
    tessera.dispose(g);
    const w1 = Array.from((lin.parameters().weight as Tensor).dataSync());
    for (const [i, w] of w1.entries()) expect(w).toBeCloseTo(0.8 * w0[i]!, 6);
    const bytes = await checkpoint.checkpointToBytes({ modules: lin, optimizers: { sgd } });
    expect(checkpoint.decodeSafetensors(bytes).tensors.has('weight')).toBe(true);
    sgd.dispose();
    lin.dispose();
  });

  it('the deprecated `generator` / `generators` options still work for this release', async () => {
    const weights = (m: nn.Module) => m.namedParameters().map(([, t]) => Array.from(t.dataSync()));
    const a = nn.mlp([2, 3, 1], { generator: new Generator(5) });
    const b = nn.mlp([2, 3, 1], { rng: new Generator(5) });
    expect(weights(a)).toEqual(weights(b));
    const drop = new nn.Dropout(0.5, { generator: new Generator(1) });
    expect(drop.rng).toBeInstanceOf(Generator);
    expect(drop.generator).toBe(drop.rng);
    expect(() => new nn.Dropout(0.5, { rng: {} as Generator })).toThrow(/Dropout: rng must be a Generator/);

    const saved = new Generator(9);
    saved.uniform([3]).dispose();
    const bytes = await checkpoint.checkpointToBytes({ generators: { data: saved } });
    const loaded = new Generator(0);
    checkpoint.loadCheckpointBytes(bytes, { rngs: { data: loaded } });
    expect(loaded.getState()).toEqual(saved.getState());
    a.dispose();
    b.dispose();
  });
});
