import { describe, expect, it } from 'vitest';
import { memory } from '../../src/index.js';
import { DEFAULT_TOY_GAN, resolveToyGanConfig, ToyGan } from '../../src/models/toy-gan.js';

describe('toy GAN recipe', () => {
  it('uses the toy networks: G 10-128-128-2 and D 2-128-128-1', () => {
    const gan = new ToyGan({ seed: 1 });
    const shapes = (m: ToyGan['generator']) => m.namedParameters().map(([n, t]) => `${n}:${t.shape.join('x')}`);
    expect(shapes(gan.generator)).toEqual([
      '0.weight:128x10',
      '0.bias:128',
      '2.weight:128x128',
      '2.bias:128',
      '4.weight:2x128',
      '4.bias:2',
    ]);
    expect(shapes(gan.discriminator)).toEqual([
      '0.weight:128x2',
      '0.bias:128',
      '2.weight:128x128',
      '2.bias:128',
      '4.weight:1x128',
      '4.bias:1',
    ]);
    gan.dispose();
  });

  it('a step updates both networks; losses start near 2 log 2 and log 2; runs are reproducible', async () => {
    const run = async (seed: number) => {
      const gan = new ToyGan({ seed, batchSize: 32 });
      const before = Array.from(await gan.generator.namedParameters()[0]![1].data());
      const dBefore = Array.from(await gan.discriminator.namedParameters()[0]![1].data());
      const losses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const { d, g } = gan.step();
        losses.push((await d.data())[0]!, (await g.data())[0]!);
        d.dispose();
        g.dispose();
      }
      const after = Array.from(await gan.generator.namedParameters()[0]![1].data());
      const dAfter = Array.from(await gan.discriminator.namedParameters()[0]![1].data());
      gan.dispose();
      return {
        losses,
        changedG: after.some((v, i) => v !== before[i]),
        changedD: dAfter.some((v, i) => v !== dBefore[i]),
      };
    };
    const tensorsBefore = memory().numTensors;
    const a = await run(3);
    expect(memory().numTensors).toBe(tensorsBefore);
    expect(a.changedG).toBe(true);
    expect(a.changedD).toBe(true);
    // An untrained D outputs logits near 0: BCE(real, 1) + BCE(fake, 0) ~ 2 log 2, BCE(fake, 1) ~ log 2.
    expect(Math.abs(a.losses[0]! - 2 * Math.log(2))).toBeLessThan(0.3);
    expect(Math.abs(a.losses[1]! - Math.log(2))).toBeLessThan(0.3);
    expect((await run(3)).losses).toEqual(a.losses);
    expect((await run(4)).losses).not.toEqual(a.losses);
  });

  it('checks its settings', () => {
    expect(resolveToyGanConfig({}).radius).toBe(DEFAULT_TOY_GAN.radius);
    expect(() => resolveToyGanConfig({ steps: 0 })).toThrow(/steps must be a positive integer/);
    expect(() => resolveToyGanConfig({ beta1: 1 })).toThrow(/beta1 must be in \[0, 1\)/);
    expect(() => resolveToyGanConfig({ data: 'moons' as 'ring' })).toThrow(/data must be 'ring' or 'grid'/);
  });
});
