// nn + optim + checkpoint, runnable: node --import tsx examples/train-mlp.ts (or npx tsx ...)
//
// Fits y = sin(x) with a small MLP and Adam, saves a checkpoint halfway (weights, Adam state and
// the data's random-number generator), then resumes it into freshly built objects: the resumed run
// continues exactly where the uninterrupted one goes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Outside this repository the import is from 'tessera'.
import { checkpoint, Generator, mseLoss, nn, optim, type ParamTree, tidy, valueAndGrad } from '../src/index.js';

interface Run {
  net: nn.Sequential;
  opt: optim.Adam;
  data: Generator;
}

function build(seed: number): Run {
  const net = nn.mlp([1, 32, 32, 1], { activation: 'tanh', rng: new Generator(seed) });
  return { net, opt: new optim.Adam(net, { lr: 1e-2 }), data: new Generator(seed + 100) };
}

/** Trains `steps` minibatch steps and returns the last loss. */
function train({ net, opt, data }: Run, steps: number): number {
  let last = Number.NaN;
  for (let i = 0; i < steps; i++) {
    last = tidy(() => {
      const x = data.uniform([64, 1], -3, 3); // a fresh batch from the seeded data generator
      const [loss, grads] = valueAndGrad((p: ParamTree) => mseLoss(net.call(p, x), x.sin()))(net.parameters());
      opt.step(grads);
      return loss.dataSync()[0]!;
    });
  }
  return last;
}

export async function trainMlpExample(steps = 150): Promise<{ first: number; straight: number; resumed: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-example-'));
  const path = join(dir, 'ckpt.safetensors');
  try {
    const a = build(0);
    const first = train(a, steps);
    await checkpoint.saveCheckpoint(path, {
      modules: a.net,
      optimizers: { adam: a.opt },
      rngs: { data: a.data },
      metadata: { step: String(steps) },
    });
    const straight = train(a, steps); // the uninterrupted run

    const b = build(1); // different initial weights and data stream: all replaced by the checkpoint
    const { metadata } = await checkpoint.loadCheckpoint(path, {
      modules: b.net,
      optimizers: { adam: b.opt },
      rngs: { data: b.data },
    });
    if (metadata.step !== String(steps)) throw new Error(`unexpected metadata ${JSON.stringify(metadata)}`);
    const resumed = train(b, steps);

    for (const r of [a, b]) {
      r.opt.dispose();
      r.net.dispose();
    }
    return { first, straight, resumed };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const steps = 150;
  const r = await trainMlpExample(steps);
  console.log(`mse after ${steps} steps: ${r.first.toPrecision(4)}`);
  console.log(
    `mse after ${2 * steps} steps: ${r.straight.toPrecision(6)} straight, ${r.resumed.toPrecision(6)} resumed`,
  );
}
