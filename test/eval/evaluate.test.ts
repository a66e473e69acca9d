// The evaluation step on a tiny trained ring model: a complete, JSON-able, reproducible record;
// metric selection and its errors; loading a model from a checkpoint file.
import '../../src/index.js'; // registers the CPU backend
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateTrainer, resolveMetrics } from '../../src/eval/evaluate.js';
import { loadTrainedModel } from '../../src/eval/load.js';
import { disposeLosses, GanTrainer } from '../../src/gan/trainer.js';
import { Generator, loadDataSource, OBJECTIVES } from '../../src/index.js';
import { mnistClassifier } from '../../src/models/classifier.js';
import { MnistClassifier } from '../../src/models/classifier-checkpoint.js';

const FAST = {
  samples: 400,
  seed: 7,
  ivomImages: 10,
  ivom: { steps: 30, restarts: 2 },
  c2st: { epochs: 3, hidden: [16] },
  noisyD: { epochs: 2 },
  kernelSubsets: 5,
  kernelSubsetSize: 100,
  birthdayTrials: 10,
};

async function tinyRingTrainer(): Promise<GanTrainer> {
  const data = await loadDataSource('ring');
  const trainer = new GanTrainer({ objective: OBJECTIVES.gan, data, seed: 3 });
  for (let i = 0; i < 30; i++) disposeLosses(trainer.step());
  return trainer;
}

describe('evaluateTrainer on a ring model', () => {
  it('gives a complete JSON record with every applicable metric and its protocol', async () => {
    const trainer = await tinyRingTrainer();
    const { record, samples, sampleShape, histogram } = await evaluateTrainer(trainer, {
      ...FAST,
      metrics: ['modes', 'frechet', 'kernel', 'precision-recall', 'birthday', 'ivom', 'c2st', 'noisy-d'],
    });
    expect(sampleShape).toEqual([400, 2]);
    expect(samples.length).toBe(800);
    // JSON round trip keeps everything (no NaN, no typed arrays).
    expect(JSON.parse(JSON.stringify(record))).toEqual(record);
    expect(record.kind).toBe('tessera.eval.v1');
    expect(record.model).toMatchObject({ objective: 'gan', data: 'ring', seed: 3, step: 30 });
    expect(record.protocol).toMatchObject({
      data: 'ring',
      samples: 400,
      latentSeed: 7,
      drawSeed: 8,
      referenceSamples: 400,
    });
    expect(record.protocol.versions.tessera).toMatch(/^\d+\.\d+\.\d+/);
    expect(record.protocol.classifier).toBeUndefined();
    expect(Object.keys(record.metrics).sort()).toEqual(
      ['birthday', 'c2st', 'frechet', 'ivom', 'kernel', 'modes', 'noisy-d', 'precision-recall'].sort(),
    );
    const modes = record.metrics.modes!;
    expect(modes.numModes).toBe(8);
    expect(modes.threshold).toBe(3);
    expect((modes.histogram as number[]).reduce((a, b) => a + b, 0)).toBe(
      Math.round((modes.highQualityFraction as number) * 400),
    );
    expect(histogram?.counts).toEqual(modes.histogram);
    expect(record.metrics.ivom).toMatchObject({
      images: 10,
      steps: 30,
      restarts: 2,
      latentDim: trainer.hyper.latentDim,
    });
    expect((record.metrics.ivom!.distances as number[]).length).toBe(10);
    expect(record.metrics.c2st).toMatchObject({ nTest: 400, nTrain: 400 });
    expect(record.metrics['noisy-d']).toMatchObject({ threshold: 0.99, noiseStd: 0.1, testExamples: 400 });
    expect(record.metrics.birthday).toMatchObject({ pool: 400, trials: 10 });
    expect(record.metrics.birthday!.threshold).toBeCloseTo(0.002, 12);
    for (const m of Object.keys(record.metrics)) expect(record.seconds[m as 'modes']).toBeGreaterThanOrEqual(0);
    // Fréchet distance of raw 2-D coordinates (closed-form checks live with the metric's own tests).
    expect(record.metrics.frechet!.value as number).toBeGreaterThanOrEqual(0);
    trainer.dispose();
    trainer.data.dispose();
  });

  it('is reproducible: the same seed gives the same numbers', async () => {
    const trainer = await tinyRingTrainer();
    const opts = { ...FAST, metrics: ['modes', 'c2st', 'birthday'] };
    const a = await evaluateTrainer(trainer, opts);
    const b = await evaluateTrainer(trainer, opts);
    expect(b.record.metrics).toEqual(a.record.metrics);
    expect(b.samples).toEqual(a.samples);
    trainer.dispose();
    trainer.data.dispose();
  });

  it('picks the applicable metrics and rejects unknown or inapplicable ones', async () => {
    const trainer = await tinyRingTrainer();
    const defaults = resolveMetrics(trainer, undefined);
    expect(defaults).toEqual(['modes', 'frechet', 'kernel', 'precision-recall', 'birthday', 'ivom', 'c2st']);
    expect(() => resolveMetrics(trainer, ['modes', 'fid'])).toThrow(
      /evaluateTrainer: unknown metric 'fid'; expected one of modes, classifier-score/,
    );
    expect(() => resolveMetrics(trainer, ['classifier-score'])).toThrow(
      /metric 'classifier-score' does not apply to gan on 'ring'/,
    );
    expect(() => resolveMetrics(trainer, ['loglik'])).toThrow(/metric 'loglik' does not apply/);
    trainer.dispose();
    trainer.data.dispose();
  });

  it('loads a trained model from a checkpoint file and fails clearly on a missing one', async () => {
    const trainer = await tinyRingTrainer();
    const dir = mkdtempSync(join(tmpdir(), 'tessera-eval-'));
    writeFileSync(join(dir, 'checkpoint.safetensors'), await trainer.checkpoint());
    const fromDir = await loadTrainedModel(dir);
    const fromFile = await loadTrainedModel(join(dir, 'checkpoint.safetensors'));
    expect(fromDir.runDir).toBe(dir);
    expect(fromDir.trainer.stepCount).toBe(30);
    const x = await trainer.sample(50, 1).data();
    expect(await fromFile.trainer.sample(50, 1).data()).toEqual(x);
    await expect(loadTrainedModel(join(dir, 'nope'))).rejects.toThrow(
      /loadTrainedModel: no run folder or checkpoint at/,
    );
    const empty = mkdtempSync(join(tmpdir(), 'tessera-eval-empty-'));
    await expect(loadTrainedModel(empty)).rejects.toThrow(/is a folder without checkpoint\.safetensors/);
    for (const t of [trainer, fromDir.trainer, fromFile.trainer]) {
      t.dispose();
      t.data.dispose();
    }
  });

  it('runs the classifier metrics on Stacked MNIST (untrained model, random classifier: shapes and protocol)', async () => {
    const data = await loadDataSource('stacked-mnist');
    const trainer = new GanTrainer({ objective: OBJECTIVES.gan, data, seed: 1 });
    const model = mnistClassifier({ rng: new Generator(9) });
    model.eval();
    const classifier = {
      classifier: new MnistClassifier(model, { kind: 'test' }),
      path: '(test)',
      sha256: 'ab',
      metadata: {},
    };
    const { record, histogram, sampleShape } = await evaluateTrainer(trainer, {
      samples: 20,
      classifier,
      kernelSubsets: 3,
      kernelSubsetSize: 10,
      metrics: ['modes', 'classifier-score', 'mode-score', 'frechet', 'kernel', 'precision-recall'],
    });
    expect(sampleShape).toEqual([20, 3, 28, 28]);
    expect(record.protocol.classifier).toMatchObject({ path: '(test)', sha256: 'ab' });
    expect(record.protocol.referenceSamples).toBe(20);
    const modes = record.metrics.modes!;
    expect(modes.numModes).toBe(1000);
    expect(modes.modes as number).toBeGreaterThanOrEqual(1);
    expect(modes.modes as number).toBeLessThanOrEqual(20);
    // KL(histogram || U_1000) = log 1000 - H, and H <= log 20 for 20 samples.
    expect(modes.reverseKL as number).toBeGreaterThanOrEqual(Math.log(1000) - Math.log(20) - 1e-9);
    expect(histogram!.counts.reduce((a, b) => a + b, 0)).toBe(20);
    expect(record.metrics['classifier-score']).toMatchObject({ splits: 10, classes: 1000 });
    expect(record.metrics.frechet).toMatchObject({ name: 'Fréchet classifier distance', generated: 20, reference: 20 });
    expect(record.metrics.frechet!.features).toMatch(/384 per image/);
    expect(typeof record.metrics['mode-score']!.value).toBe('number');
    expect(record.metrics['precision-recall']).toMatchObject({ k: 3 });
    classifier.classifier.dispose();
    trainer.dispose();
    data.dispose();
  }, 120_000);

  it('calls the predictive log-likelihood for a PresGAN and records its protocol', async () => {
    const data = await loadDataSource('ring');
    const trainer = new GanTrainer({ objective: OBJECTIVES.presgan, data, seed: 1 });
    expect(resolveMetrics(trainer, undefined)).not.toContain('loglik'); // on request only
    const { record } = await evaluateTrainer(trainer, {
      samples: 50,
      metrics: ['loglik'],
      loglikExamples: 5,
      loglik: { samples: 20, encoderSteps: 10, mapSteps: 5 },
    });
    const r = record.metrics.loglik!;
    expect(r.examples).toBe(5);
    expect(Number.isFinite(r.natsPerExample as number)).toBe(true);
    expect(r.bitsPerDim as number).toBeCloseTo(-(r.natsPerExample as number) / (2 * Math.LN2), 10);
    expect(r.protocol).toBeDefined();
    trainer.dispose();
    data.dispose();
  }, 120_000);
});
