// Image data through the GAN layer: MNIST and Stacked MNIST sources, the DCGAN builders via the
// image preset, and the CLI's image-grid output.
import '../../src/index.js'; // registers the CPU backend
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CliIO, main } from '../../src/cli/main.js';
import { loadMnist } from '../../src/data/mnist.js';
import { imageSource, loadDataSource, stackedSource } from '../../src/gan/data.js';
import { OBJECTIVES } from '../../src/gan/registry.js';
import { disposeLosses, GanTrainer } from '../../src/gan/trainer.js';
import { decodePNG } from '../../src/plot/index.js';
import { Generator } from '../../src/random/generator.js';

const SMALL = { batchSize: 4, latentDim: 8, 'net.ngf': 4, 'net.ndf': 4 };

describe('image data in the GAN layer', () => {
  it('MNIST: [-1, 1] images, the DCGAN preset, finite steps, samples shaped like the data', async () => {
    const data = await loadDataSource('mnist');
    expect(data.info).toEqual({ shape: [1, 28, 28], kind: 'image' });
    const s = data.sample(3, new Generator(0));
    const px = await s.x.data();
    expect(Math.min(...px)).toBe(-1);
    expect(Math.max(...px)).toBe(1);
    const t = new GanTrainer({ objective: OBJECTIVES.gan, data, seed: 1, set: SMALL });
    expect(t.hyper.optimizers.G!.lr).toBe(2e-4); // the image preset (DCGAN)
    for (let i = 0; i < 2; i++) {
      const l = t.step();
      for (const v of Object.values(l)) expect(Number.isFinite((await v.data())[0])).toBe(true);
      disposeLosses(l);
    }
    const x = t.sample(5);
    expect(x.shape).toEqual([5, 1, 28, 28]);
    x.dispose();
    t.dispose();
    data.dispose();
  });

  it('Stacked MNIST: three digits drawn independently on the channels, label d0 + 10 d1 + 100 d2', async () => {
    const ds = loadMnist({ split: 'train' });
    const stacked = stackedSource(ds);
    const grey = imageSource(ds);
    const s = stacked.sample(6, new Generator(7));
    expect(s.x.shape).toEqual([6, 3, 28, 28]);
    // The same stream drawn by hand: three single-channel batches in channel order.
    const rng = new Generator(7);
    const parts = [grey.sample(6, rng), grey.sample(6, rng), grey.sample(6, rng)];
    const x = await s.x.data();
    const labels = await s.labels!.data();
    for (let c = 0; c < 3; c++) {
      const px = await parts[c]!.x.data();
      const lc = await parts[c]!.labels!.data();
      for (let n = 0; n < 6; n++) {
        expect(Array.from(x.subarray((n * 3 + c) * 784, (n * 3 + c + 1) * 784))).toEqual(
          Array.from(px.subarray(n * 784, (n + 1) * 784)),
        );
        expect(Math.floor(labels[n]! / 10 ** c) % 10).toBe(lc[n]);
      }
    }
    expect(stacked.numClasses).toBe(1000);
    stacked.dispose();
    grey.dispose();
  });

  it('tessera train gan --data stacked-mnist writes an image grid of samples', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'tessera-img-')), 'run');
    let out = '';
    let err = '';
    const stream = (f: (s: string) => void) =>
      ({
        write: (s: string) => {
          f(s);
          return true;
        },
        isTTY: false,
      }) as unknown as NodeJS.WriteStream;
    const io: CliIO = {
      out: stream((s) => {
        out += s;
      }),
      err: stream((s) => {
        err += s;
      }),
      quiet: true,
    };
    const sets = Object.entries(SMALL).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
    const code = await main(['train', 'gan', '--data', 'stacked-mnist', '--steps', '2', ...sets, '--out', dir], io);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain(join(dir, 'report.json'));
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(report.data).toBe('stacked-mnist');
    expect(report.metrics).toEqual({});
    const png = decodePNG(readFileSync(join(dir, 'samples.png')));
    expect(png.width).toBeGreaterThan(28 * 8);
    expect(existsSync(join(dir, 'checkpoint.safetensors'))).toBe(true);
  });
});
