// The README's tour, runnable: npx tsx examples/tour.ts
import { Generator, grad, gradcheck, matmul, type Tensor, tensor, tidy, valueAndGrad } from '../src/index.js';

export async function tour(): Promise<Record<string, unknown>> {
  const x = tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const y = x.mul(2).add(tensor([10, 20, 30]));
  const rowSums = await y.sum(1).array();

  const f = (t: Tensor) => t.pow(3).sum();
  const df = grad(f);
  const d2f = grad((t: Tensor) => df(t).sum());
  const second = await d2f(tensor([1, 2])).array();

  const loss = (p: { w: Tensor; b: Tensor }, xb: Tensor) => matmul(xb, p.w).add(p.b).tanh().square().mean();
  const [value, grads] = valueAndGrad(loss)({ w: tensor([[0.1], [0.2], [0.3]]), b: tensor([0]) }, x);

  const check = gradcheck((a, b) => a.mul(b).tanh().sum(), [tensor([0.1, 0.2]), tensor([0.3, 0.5])]);
  const z = tidy(() => x.exp().sum());
  const noise = new Generator(42).normal([64, 10]);
  return {
    rowSums,
    second,
    loss: await value.item(),
    gradW: await grads.w.array(),
    gradcheckOk: check.ok,
    expSum: await z.item(),
    noiseShape: noise.shape,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await tour());
}
