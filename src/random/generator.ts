// Seeded random numbers: the Philox Generator, the default generator and its free functions, and
// the `rng` option.
import { fail, fmtShape } from '../errors.js';
import type { DType } from '../tensor/dtype.js';
import { backendNamed, runPrimitive, tensorFromArray, tidy } from '../tensor/engine.js';
import { checkFinite, checkTensor, describeValue } from '../tensor/ops/args.js';
import { add, cast, cos, floor, log1p, lt, mul, neg, sqrt } from '../tensor/ops/elementwise.js';
import { checkShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { philox4x32, uniformBits } from './philox.js';

export interface GeneratorState {
  key: [number, number];
  /** Draws made so far (each draw uses its own Philox stream). */
  draws: number;
}

export interface DrawOptions {
  dtype?: 'float32' | 'float64';
  /** The backend to draw on, by name (default: the current backend). */
  backend?: 'cpu' | 'webgpu';
}

/**
 * A seeded counter-based generator (Philox-4x32-10). Each draw takes the next stream number, so
 * a generator's sequence of draws is reproducible from its seed and independent of the backend:
 * `uniform` gives bitwise-identical values on the CPU and WebGPU backends.
 */
export class Generator {
  #key: [number, number];
  #draws = 0;

  /** `seed` is an integer in [0, 2^53); its low and high 32 bits form the Philox key. */
  constructor(seed = 0) {
    if (!Number.isSafeInteger(seed) || seed < 0)
      fail('Generator', `seed must be a non-negative safe integer, got ${String(seed)}`);
    this.#key = [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0];
  }

  /** Snapshot for checkpoints; `setState` restores it exactly. */
  getState(): GeneratorState {
    return { key: [...this.#key], draws: this.#draws };
  }

  /**
   * Restores a `getState()` snapshot. Anything else (a missing key, words outside [0, 2^32), a
   * negative or fractional draw count) is an error rather than a silently different stream.
   */
  setState(s: GeneratorState): void {
    checkState(s);
    this.#key = [s.key[0] >>> 0, s.key[1] >>> 0];
    this.#draws = s.draws;
  }

  static fromState(s: GeneratorState): Generator {
    const g = new Generator(0);
    g.setState(s);
    return g;
  }

  private nextStream(): [number, number] {
    const d = this.#draws++;
    return [d >>> 0, Math.floor(d / 2 ** 32) >>> 0];
  }

  /** Independent child generators (keys derived with Philox from this key and a fresh stream). */
  split(n = 2): Generator[] {
    const [s0, s1] = this.nextStream();
    const out: Generator[] = [];
    for (let i = 0; i < n; i++) {
      const w = philox4x32(i, 0xffffffff, s0, s1, this.#key[0], this.#key[1]);
      const g = new Generator(0);
      g.setState({ key: [w[0]!, w[1]!], draws: 0 });
      out.push(g);
    }
    return out;
  }

  /** Uniform draws in [low, high). */
  uniform(shape: readonly number[], low = 0, high = 1, opts: DrawOptions = {}): Tensor {
    checkDraw('uniform', shape, opts);
    checkFinite('uniform', low, 'low');
    checkFinite('uniform', high, 'high');
    if (low > high) fail('uniform', `low ${low} is greater than high ${high} (expected low <= high)`);
    const s = checkShape('uniform', shape);
    const dtype: DType = opts.dtype ?? 'float32';
    const backend = opts.backend === undefined ? undefined : backendNamed('uniform', opts.backend);
    // In a tidy scope: the scaled draw's intermediates are freed even when the caller has none.
    return tidy(() => {
      const params = { key: [...this.#key] as [number, number], stream: this.nextStream(), offset: 0 };
      const u = runPrimitive('randomUniform', [], params, s, dtype, backend);
      return low === 0 && high === 1 ? u : add(mul(u, high - low), low);
    });
  }

  /**
   * Normal draws by Box-Muller: sqrt(-2 log(1 - u1)) cos(2 pi u2), u1 and u2 from two streams.
   * float32 draws use the transform of src/random/box-muller.ts (float32 additions and
   * multiplications only), so they are bitwise identical on the CPU and WebGPU backends.
   */
  normal(shape: readonly number[], mean = 0, std = 1, opts: DrawOptions = {}): Tensor {
    checkDraw('normal', shape, opts);
    checkFinite('normal', mean, 'mean');
    checkFinite('normal', std, 'std');
    if (std < 0) fail('normal', `std must be >= 0, got ${std}`);
    // In a tidy scope: intermediates (float64 Box-Muller, scaling) are freed even when the caller has none.
    return tidy(() => {
      let z: Tensor;
      if ((opts.dtype ?? 'float32') === 'float32') {
        const s = checkShape('normal', shape);
        const stream = this.nextStream();
        z = runPrimitive(
          'randomUniform',
          [],
          { key: [...this.#key], stream, offset: 0, angleStream: this.nextStream() },
          s,
          'float32',
          opts.backend === undefined ? undefined : backendNamed('normal', opts.backend),
        );
      } else {
        const u1 = this.uniform(shape, 0, 1, opts);
        const u2 = this.uniform(shape, 0, 1, opts);
        const r = sqrt(mul(log1p(neg(u1)), -2));
        z = mul(r, cos(mul(u2, 2 * Math.PI)));
      }
      return mean === 0 && std === 1 ? z : add(mul(z, std), mean);
    });
  }

  /** Bool draws, true with probability p (a number or a tensor that broadcasts). */
  bernoulli(p: number | Tensor, shape: readonly number[]): Tensor {
    checkDraw('bernoulli', shape, {});
    checkProbability(p);
    return tidy(() => lt(this.uniform(shape), p));
  }

  /** Integers in [low, high), int32. */
  randint(low: number, high: number, shape: readonly number[]): Tensor {
    checkDraw('randint', shape, {});
    if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low)
      fail('randint', `need integers low < high, got ${describeValue(low)}, ${describeValue(high)}`);
    if (high - low > 2 ** 24) fail('randint', `range ${high - low} exceeds 2^24 (the resolution of one uniform draw)`);
    return tidy(() => add(cast(floor(mul(this.uniform(shape), high - low)), 'int32'), low));
  }

  /** A random permutation of 0..n-1 (int32), by Fisher-Yates on the generator's words. */
  permutation(n: number): Tensor {
    if (!Number.isInteger(n) || n < 0) fail('permutation', `n must be a non-negative integer, got ${describeValue(n)}`);
    checkShape('permutation', [n]);
    const words = uniformBits(Math.max(n, 1), this.#key, this.nextStream());
    const perm = new Int32Array(n);
    for (let i = 0; i < n; i++) perm[i] = i;
    for (let i = n - 1; i > 0; i--) {
      // Multiply-shift maps a 32-bit word to [0, i] with bias below 2^-32 * n.
      const j = Math.floor((words[i]! / 2 ** 32) * (i + 1));
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
    }
    return tensorFromArray(perm, [n], 'int32');
  }
}

/** The shape and options every draw checks first, so errors name the draw the user called. */
function checkDraw(op: string, shape: readonly number[], opts: DrawOptions): void {
  checkShape(op, shape);
  if (typeof opts !== 'object' || opts === null) fail(op, `options must be an object, got ${describeValue(opts)}`);
  if (opts.dtype !== undefined && opts.dtype !== 'float32' && opts.dtype !== 'float64') {
    fail(op, `dtype must be float32 or float64, got ${describeValue(opts.dtype)}`);
  }
}

/**
 * A Bernoulli probability: a number in [0, 1] (NaN is not one), or a float tensor; a tensor's
 * values are checked where they can be read synchronously (the CPU backend).
 */
function checkProbability(p: unknown): void {
  const op = 'bernoulli';
  if (typeof p === 'number') {
    if (!(p >= 0 && p <= 1)) fail(op, `probability must be in [0, 1], got ${p}`);
    return;
  }
  checkTensor(op, p, 'p');
  if (p.dtype !== 'float32' && p.dtype !== 'float64') fail(op, `p must be a float tensor, got ${p.dtype}`);
  const readSync = p.backend.readSync;
  if (readSync === undefined) return;
  const values = readSync.call(p.backend, p.storageRef().data, p.dtype, p.size);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= 0 && v <= 1)) fail(op, `probability ${v} at flat index ${i} of p ${fmtShape(p.shape)} is not in [0, 1]`);
  }
}

const WORD = 2 ** 32;

/** A GeneratorState: key two integers in [0, 2^32), draws a non-negative safe integer. */
function checkState(s: unknown): asserts s is GeneratorState {
  const op = 'setState';
  if (typeof s !== 'object' || s === null)
    fail(op, `expected a GeneratorState { key, draws }, got ${describeValue(s)}`);
  const { key, draws } = s as { key?: unknown; draws?: unknown };
  if (
    !Array.isArray(key) ||
    key.length !== 2 ||
    !key.every((w) => typeof w === 'number' && Number.isInteger(w) && w >= 0 && w < WORD)
  ) {
    fail(
      op,
      `key must be two integers in [0, 2^32), got ${Array.isArray(key) ? `[${key.join(',')}]` : describeValue(key)}`,
    );
  }
  if (typeof draws !== 'number' || !Number.isSafeInteger(draws) || draws < 0) {
    fail(op, `draws must be a non-negative safe integer, got ${describeValue(draws)}`);
  }
}

let defaultGenerator = new Generator(0);

/** Reseeds the default generator used by the free functions `uniform`, `normal`, ... */
export function seed(s: number): void {
  defaultGenerator = new Generator(s);
}

export function getDefaultGenerator(): Generator {
  return defaultGenerator;
}

/**
 * The option that takes a random-number generator, named `rng` everywhere (in a GAN library
 * "generator" means the network). What the default is, each owner says.
 */
export interface RngOptions {
  /** Source of randomness. Never Math.random. */
  rng?: Generator;
  /** @deprecated Renamed `rng`; still accepted for this release. */
  generator?: Generator;
}

/**
 * `opts.rng` (or the deprecated `opts.generator`), checked to be a Generator; undefined when
 * neither is given, so the caller picks the default.
 */
export function rngOption(op: string, opts: RngOptions | undefined): Generator | undefined {
  const rng = opts?.rng ?? opts?.generator;
  if (rng !== undefined && !(rng instanceof Generator)) fail(op, 'rng must be a Generator');
  return rng;
}

export const uniform = (shape: readonly number[], low = 0, high = 1, opts?: DrawOptions): Tensor =>
  defaultGenerator.uniform(shape, low, high, opts);
export const normal = (shape: readonly number[], mean = 0, std = 1, opts?: DrawOptions): Tensor =>
  defaultGenerator.normal(shape, mean, std, opts);
export const bernoulli = (p: number | Tensor, shape: readonly number[]): Tensor => defaultGenerator.bernoulli(p, shape);
export const randint = (low: number, high: number, shape: readonly number[]): Tensor =>
  defaultGenerator.randint(low, high, shape);
export const permutation = (n: number): Tensor => defaultGenerator.permutation(n);
