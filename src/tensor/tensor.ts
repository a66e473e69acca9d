// The Tensor class: shape, dtype, backend storage, read-back, disposal and the op methods.
import { fail, fmtShape } from '../errors.js';
import type { Backend } from './backend.js';
import type { DType, TypedArray } from './dtype.js';
import type { Node, Storage } from './engine.js';
import { nextTensorId, trackTensor, untrackTensor } from './engine.js';
import * as ops from './ops/index.js';
import type { ReduceOptions } from './ops/reduce.js';
import { sizeOf, stridesOf } from './shape.js';

/** A nested array of numbers (or booleans) as returned by `array()`. */
export type NestedArray = number | boolean | NestedArray[];

/** Anything an op accepts in place of a tensor: a tensor, a JS number/boolean, or a nested array. */
export type TensorLike = Tensor | number | boolean | NestedArray | TypedArray;

/**
 * An n-dimensional array on one backend. Tensors are immutable and stored contiguously (row-major);
 * ops never consume their inputs. Free storage with `dispose()` or `tidy()`.
 */
export class Tensor {
  readonly id: number;
  readonly shape: readonly number[];
  readonly dtype: DType;
  #storage: Storage | null;
  #node: Node | null = null;
  #requiresGrad = false;
  #kept = false;
  /** Temporaries made from JS numbers for this op's inputs; released with this tensor. */
  #owned: Tensor[] | null = null;

  /** @internal Use `tensor()`, the creation functions or ops to make tensors. */
  constructor(storage: Storage, shape: readonly number[], dtype: DType) {
    this.id = nextTensorId();
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.#storage = storage;
    trackTensor(this, storage);
  }

  get rank(): number {
    return this.shape.length;
  }
  get size(): number {
    return sizeOf(this.shape);
  }
  /** Row-major strides in elements (storage is always contiguous). */
  get strides(): number[] {
    return stridesOf(this.shape);
  }
  get backend(): Backend {
    return this.storageRef().backend;
  }
  get isDisposed(): boolean {
    return this.#storage === null;
  }
  get isKept(): boolean {
    return this.#kept;
  }
  /** True when this tensor depends on a value being differentiated. */
  get requiresGrad(): boolean {
    return this.#requiresGrad;
  }
  /** @internal The autodiff node that produced this tensor, if recorded. */
  get node(): Node | null {
    return this.#node;
  }
  /** @internal */
  setNode(node: Node | null): void {
    this.#node = node;
    this.#requiresGrad = node !== null;
  }
  /** @internal Marks a leaf being differentiated. */
  markRequiresGrad(): void {
    this.#requiresGrad = true;
  }
  /** @internal Ties a temporary input's lifetime to this tensor. */
  adopt(temp: Tensor): void {
    (this.#owned ??= []).push(temp);
  }
  /** @internal */
  markKept(): void {
    this.#kept = true;
  }

  /** @internal */
  storageRef(): Storage {
    if (this.#storage === null) this.disposedError('use');
    return this.#storage;
  }

  /** @internal */
  assertAlive(op: string): void {
    if (this.#storage === null) this.disposedError(op);
  }

  private disposedError(op: string): never {
    return fail(op, `tensor #${this.id} of shape ${fmtShape(this.shape)} (${this.dtype}) was already disposed`);
  }

  /** Releases this tensor's storage (idempotent). */
  dispose(): void {
    if (this.#storage === null) return;
    const s = this.#storage;
    this.#storage = null;
    this.#node = null;
    untrackTensor(this, s);
    if (this.#owned !== null) for (const t of this.#owned) t.dispose();
    this.#owned = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Keeps this tensor alive past the tidy scope it was made in. */
  keep(): this {
    return ops.keepTensor(this);
  }

  /** The elements as a flat typed array (row-major), read back from the device. */
  async data(): Promise<TypedArray> {
    this.assertAlive('data');
    const s = this.storageRef();
    const out = await s.backend.read(s.data, this.dtype, this.size);
    return out;
  }

  /** The elements synchronously; only on the CPU backend. */
  dataSync(): TypedArray {
    this.assertAlive('dataSync');
    const s = this.storageRef();
    if (s.backend.readSync === undefined) {
      fail('dataSync', `the ${s.backend.name} backend reads asynchronously; use await t.data()`);
    }
    return s.backend.readSync(s.data, this.dtype, this.size);
  }

  /** The elements as a nested array (booleans for bool tensors). */
  async array(): Promise<NestedArray> {
    return ops.toNested(await this.data(), this.shape, this.dtype);
  }

  /** Nested array, synchronously (CPU backend only). */
  arraySync(): NestedArray {
    return ops.toNested(this.dataSync(), this.shape, this.dtype);
  }

  /** The single element of a size-1 tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) fail('item', `expected a tensor with one element, got shape ${fmtShape(this.shape)}`);
    return (await this.data())[0]!;
  }

  toString(): string {
    return `Tensor(shape=${fmtShape(this.shape)}, dtype=${this.dtype}, backend=${this.#storage?.backend.name ?? 'disposed'})`;
  }

  // ------------------------------------------------------------ ops as methods
  add(y: TensorLike): Tensor {
    return ops.add(this, y);
  }
  sub(y: TensorLike): Tensor {
    return ops.sub(this, y);
  }
  mul(y: TensorLike): Tensor {
    return ops.mul(this, y);
  }
  div(y: TensorLike): Tensor {
    return ops.div(this, y);
  }
  pow(y: TensorLike): Tensor {
    return ops.pow(this, y);
  }
  maximum(y: TensorLike): Tensor {
    return ops.maximum(this, y);
  }
  minimum(y: TensorLike): Tensor {
    return ops.minimum(this, y);
  }
  eq(y: TensorLike): Tensor {
    return ops.eq(this, y);
  }
  ne(y: TensorLike): Tensor {
    return ops.ne(this, y);
  }
  lt(y: TensorLike): Tensor {
    return ops.lt(this, y);
  }
  le(y: TensorLike): Tensor {
    return ops.le(this, y);
  }
  gt(y: TensorLike): Tensor {
    return ops.gt(this, y);
  }
  ge(y: TensorLike): Tensor {
    return ops.ge(this, y);
  }
  neg(): Tensor {
    return ops.neg(this);
  }
  exp(): Tensor {
    return ops.exp(this);
  }
  log(): Tensor {
    return ops.log(this);
  }
  log1p(): Tensor {
    return ops.log1p(this);
  }
  expm1(): Tensor {
    return ops.expm1(this);
  }
  sqrt(): Tensor {
    return ops.sqrt(this);
  }
  rsqrt(): Tensor {
    return ops.rsqrt(this);
  }
  square(): Tensor {
    return ops.square(this);
  }
  abs(): Tensor {
    return ops.abs(this);
  }
  sign(): Tensor {
    return ops.sign(this);
  }
  sin(): Tensor {
    return ops.sin(this);
  }
  cos(): Tensor {
    return ops.cos(this);
  }
  tanh(): Tensor {
    return ops.tanh(this);
  }
  sigmoid(): Tensor {
    return ops.sigmoid(this);
  }
  relu(): Tensor {
    return ops.relu(this);
  }
  floor(): Tensor {
    return ops.floor(this);
  }
  ceil(): Tensor {
    return ops.ceil(this);
  }
  round(): Tensor {
    return ops.round(this);
  }
  clamp(min?: number, max?: number): Tensor {
    return ops.clamp(this, min, max);
  }
  cast(dtype: DType): Tensor {
    return ops.cast(this, dtype);
  }
  sum(axis?: number | number[], opts?: ReduceOptions): Tensor {
    return ops.sum(this, axis, opts);
  }
  mean(axis?: number | number[], opts?: ReduceOptions): Tensor {
    return ops.mean(this, axis, opts);
  }
  max(axis?: number | number[], opts?: ReduceOptions): Tensor {
    return ops.max(this, axis, opts);
  }
  min(axis?: number | number[], opts?: ReduceOptions): Tensor {
    return ops.min(this, axis, opts);
  }
  argmax(axis?: number, opts?: ReduceOptions): Tensor {
    return ops.argmax(this, axis, opts);
  }
  argmin(axis?: number, opts?: ReduceOptions): Tensor {
    return ops.argmin(this, axis, opts);
  }
  logsumexp(axis?: number | number[], opts?: ReduceOptions): Tensor {
    return ops.logsumexp(this, axis, opts);
  }
  softmax(axis = -1): Tensor {
    return ops.softmax(this, axis);
  }
  logSoftmax(axis = -1): Tensor {
    return ops.logSoftmax(this, axis);
  }
  reshape(shape: readonly number[]): Tensor {
    return ops.reshape(this, shape);
  }
  flatten(): Tensor {
    return ops.reshape(this, [-1]);
  }
  permute(perm: readonly number[]): Tensor {
    return ops.permute(this, perm);
  }
  transpose(perm?: readonly number[]): Tensor {
    return ops.transpose(this, perm);
  }
  /** Swaps the last two axes. */
  get T(): Tensor {
    return ops.transpose(this);
  }
  expand(shape: readonly number[]): Tensor {
    return ops.broadcastTo(this, shape);
  }
  broadcastTo(shape: readonly number[]): Tensor {
    return ops.broadcastTo(this, shape);
  }
  squeeze(axis?: number | number[]): Tensor {
    return ops.squeeze(this, axis);
  }
  unsqueeze(axis: number): Tensor {
    return ops.unsqueeze(this, axis);
  }
  slice(spec: ops.SliceSpec): Tensor {
    return ops.slice(this, spec);
  }
  flip(axes?: number | number[]): Tensor {
    return ops.flip(this, axes);
  }
  matmul(y: Tensor, opts?: ops.MatmulOptions): Tensor {
    return ops.matmul(this, y, opts);
  }
  /** A tensor with the same values that autodiff treats as a constant. */
  detach(): Tensor {
    return ops.stopGradient(this);
  }
  /** A copy on another backend (by name). */
  to(backend: 'cpu' | 'webgpu'): Promise<Tensor> {
    return ops.toBackend(this, backend);
  }
}
