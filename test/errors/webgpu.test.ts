/**
 * issue 14 on WebGPU: a tensor of a destroyed device used after re-initialising says so (was
 * "different backends (webgpu, webgpu)"); an out-of-range index is reported at the next read-back
 * under the op the user called, with the offending index; an integer division by zero is an error
 * there too (as on the CPU). Skips loudly without an adapter, fails in CI (test/helpers/webgpu.ts).
 */
import '../../src/index.js'; // registers the CPU backend
import { afterAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/select.js';
import { createWebGPUBackend } from '../../src/backend/webgpu/device.js';
import * as T from '../../src/index.js';
import { getBackend, useBackend } from '../../src/tensor/engine.js';
import { initWebGPU, onGpu, releaseWebGPU } from '../helpers/webgpu.js';
import { expectTesseraError, expectTesseraRejection } from './expect-error.js';

const gpu = await initWebGPU();
afterAll(releaseWebGPU);

const i32 = (v: number[]): T.Tensor => onGpu(gpu!, Int32Array.from(v), [v.length], 'int32');
const f32 = (v: number[], shape = [v.length]): T.Tensor => onGpu(gpu!, Float32Array.from(v), shape, 'float32');

describe.skipIf(gpu === undefined)('WebGPU: clear errors (issue 14)', () => {
  it('a tensor of a destroyed device, used after re-initialising, names the op and the destroyed device', async () => {
    const old = await createWebGPUBackend();
    useBackend(old);
    const t = T.tensor([1, 2]);
    old.destroy();
    await setBackend('webgpu'); // a fresh device (or the live shared one)
    const fresh = getBackend();
    expect(fresh).not.toBe(old);
    const u = T.tensor([1, 2]);
    const err = expectTesseraError(
      () => T.add(t, u),
      'add',
      'the WebGPU backend was destroyed',
      `tensor #${t.id}`,
      '[2]',
    );
    expect(err.message).not.toContain('different backends');
    expectTesseraError(() => T.exp(t), 'exp', 'destroyed');
    T.dispose([t, u]);
    useBackend(gpu!);
  });

  it('take with an out-of-range index: the read-back names take and the index', async () => {
    const x = f32([1, 2, 3]);
    const y = T.take(x, i32([0, 5]));
    await expectTesseraRejection(
      () => y.data(),
      'take',
      'index 5 is out of range for axis 0 of size 3',
      'raised by gather',
    );
    // Reported once; the device keeps working.
    expect(Array.from(await T.take(x, i32([2, 0])).data())).toEqual([3, 1]);
    T.dispose([x, y]);
  });

  it('a negative index', async () => {
    const x = f32([1, 2, 3]);
    const y = T.take(x, i32([-2]));
    await expectTesseraRejection(() => y.data(), 'take', 'index -2');
    T.dispose([x, y]);
  });

  it('gather called directly names gather', async () => {
    const x = f32([1, 2, 3, 4], [2, 2]);
    const y = T.gather(x, onGpu(gpu!, Int32Array.from([0, 9]), [1, 2], 'int32'), 0);
    await expectTesseraRejection(() => y.data(), 'gather', 'index 9', 'size 2');
    T.dispose([x, y]);
  });

  it('indexAdd (scatterAdd inside) names indexAdd and the index', async () => {
    const base = f32([0, 0, 0]);
    const y = T.indexAdd(base, 0, i32([1, 7]), f32([1, 1]));
    await expectTesseraRejection(() => y.data(), 'indexAdd', 'index 7', 'size 3', 'raised by scatterAdd');
    T.dispose([base, y]);
  });

  it('crossEntropy with a label out of range names crossEntropy', async () => {
    const logits = f32([0, 0, 0, 0], [2, 2]);
    const y = T.crossEntropy(logits, i32([0, 4]));
    await expectTesseraRejection(() => y.data(), 'crossEntropy', 'index 4', 'size 2');
    T.dispose([logits, y]);
  });

  it('oneHot with a label equal to depth names oneHot and the label', async () => {
    const y = T.oneHot(i32([1, 3]), 3);
    await expectTesseraRejection(() => y.data(), 'oneHot', 'index 3', 'size 3');
    y.dispose();
  });

  it('integer division by zero is reported at the next read-back, with the index', async () => {
    const y = T.div(i32([4, 6, 8]), i32([2, 0, 4]));
    await expectTesseraRejection(() => y.data(), 'div', 'integer division by zero', 'flat index 1', '[3]');
    // Without a zero the division truncates like the CPU: 7 / 2 = 3, -7 / 2 = -3.
    expect(Array.from(await T.div(i32([7, -7]), i32([2, 2])).data())).toEqual([3, -3]);
  });

  it('an int32 division by the number 0', async () => {
    const y = T.div(i32([1]), 0);
    await expectTesseraRejection(() => y.data(), 'div', 'integer division by zero');
  });
});
