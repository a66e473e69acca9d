// Linear algebra ops: matmul (batched, broadcasting, with transposes), dot and outer.
import { fail, fmtShape } from '../../errors.js';
import { runPrimitive } from '../engine.js';
import { broadcastShapes } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { checkOptions, checkTensor, publicOp } from './args.js';
import { reshape } from './movement.js';

export interface MatmulOptions {
  /** Use the transpose of a's last two axes. */
  transA?: boolean;
  /** Use the transpose of b's last two axes. */
  transB?: boolean;
}

/**
 * Batched matrix product: a [..., m, k] x b [..., k, n] -> [..., m, n], batch axes broadcast.
 * 1-D operands are promoted as in NumPy (a vector on the left is a row, on the right a column).
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const op = 'matmul';
  checkTensor(op, a, 'a');
  checkTensor(op, b, 'b');
  checkOptions(op, opts);
  if (a.rank === 0 || b.rank === 0)
    fail(op, `operands must have rank >= 1, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  if (a.dtype !== b.dtype)
    fail(op, `dtypes differ: ${a.dtype} ${fmtShape(a.shape)} and ${b.dtype} ${fmtShape(b.shape)}`);
  if (a.dtype !== 'float32' && a.dtype !== 'float64') fail(op, `expected float tensors, got ${a.dtype}`);
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const aVec = a.rank === 1;
  const bVec = b.rank === 1;
  const A = aVec ? reshape(a, [1, a.shape[0]!]) : a;
  const B = bVec ? reshape(b, [b.shape[0]!, 1]) : b;
  const m = A.shape[A.rank - (transA ? 1 : 2)]!;
  const ka = A.shape[A.rank - (transA ? 2 : 1)]!;
  const kb = B.shape[B.rank - (transB ? 1 : 2)]!;
  const n = B.shape[B.rank - (transB ? 2 : 1)]!;
  if (ka !== kb) {
    fail(
      op,
      `inner dimensions differ: ${fmtShape(a.shape)}${transA ? '^T' : ''} x ${fmtShape(b.shape)}${transB ? '^T' : ''} (${ka} vs ${kb})`,
    );
  }
  const batch = broadcastShapes(op, A.shape.slice(0, -2), B.shape.slice(0, -2));
  const out = runPrimitive('matmul', [A, B], { transA, transB }, [...batch, m, n], a.dtype);
  if (!aVec && !bVec) return out;
  const shape = [...batch];
  if (!aVec) shape.push(m);
  if (!bVec) shape.push(n);
  return reshape(out, shape);
}

/** Inner product of two 1-D tensors (a scalar). */
export function dot(a: Tensor, b: Tensor): Tensor {
  checkTensor('dot', a, 'a');
  checkTensor('dot', b, 'b');
  if (a.rank !== 1 || b.rank !== 1)
    fail('dot', `expected 1-D tensors, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  return publicOp('dot', () => matmul(a, b));
}

/** Outer product of two 1-D tensors. */
export function outer(a: Tensor, b: Tensor): Tensor {
  checkTensor('outer', a, 'a');
  checkTensor('outer', b, 'b');
  if (a.rank !== 1 || b.rank !== 1)
    fail('outer', `expected 1-D tensors, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  return publicOp('outer', () => matmul(reshape(a, [a.size, 1]), reshape(b, [1, b.size])));
}
