// The one GAN trainer: runs any objective's phases, differentiating each update only with
// respect to its own players and stepping only their optimisers; checkpoints and resumes exactly.
import { valueAndGrad } from '../autograd/transforms.js';
import { checkpointToBytes, loadCheckpointBytes } from '../checkpoint/checkpoint.js';
import { decodeSafetensors } from '../checkpoint/safetensors.js';
import { fail, TesseraError } from '../errors.js';
import { functionalCall, type Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizers.js';
import { Generator } from '../random/generator.js';
import { dispose, keep, noGrad, tidy } from '../tensor/engine.js';
import { scalar } from '../tensor/ops/convert.js';
import { Tensor } from '../tensor/tensor.js';
import { type ParamTree, treeLeaves } from '../tensor/tree.js';
import { makeOptimizer, resolveHyper } from './config.js';
import type { DataSource } from './data.js';
import type {
  BaseHyper,
  LossOutput,
  Objective,
  Phase,
  PhaseContext,
  PlayerName,
  StepContext,
  Update,
} from './objective.js';
import { StateBuffers } from './players.js';

/** How a trainer is set up: everything that defines the run (saved in checkpoints and reports). */
export interface TrainerSetup<H extends BaseHyper = BaseHyper> {
  objective: Objective<H>;
  data: DataSource;
  /** Seed of every random draw of the run (initial weights, batches, noise, HMC). Default 0. */
  seed?: number;
  /** Hyperparameter overrides as dotted keys (`{'optimizers.G.lr': 1e-4, lambda: 0}`). */
  set?: Readonly<Record<string, unknown>>;
}

/** One iteration's losses: update name -> scalar tensor (the last repetition of its phase). */
export type StepLosses = Record<string, Tensor>;

/**
 * Trains one objective on one data set. `step()` runs one iteration (every phase in order);
 * `checkpoint()` / `restore()` save and load every player, optimiser, the random stream, the
 * objective state and the iteration counter, so a resumed run continues bit for bit.
 *
 * @example
 * const data = await loadDataSource('ring');
 * const trainer = new GanTrainer({ objective: OBJECTIVES.gan, data, seed: 1 });
 * for (let i = 0; i < 100; i++) disposeLosses(trainer.step());
 * const x = trainer.sample(2500); // [2500, 2]
 */
export class GanTrainer<H extends BaseHyper = BaseHyper> {
  readonly objective: Objective<H>;
  readonly data: DataSource;
  readonly seed: number;
  /** The resolved hyperparameters (defaults, data-kind preset, overrides). */
  readonly hyper: H;
  /** The overrides this run was given. */
  readonly overrides: Readonly<Record<string, unknown>>;
  readonly nets: Readonly<Record<PlayerName, Module>>;
  readonly optimizers: Readonly<Record<PlayerName, Optimizer<{ lr: unknown }>>>;
  /** The run's random stream (batches, noise, HMC momenta). */
  readonly rng: Generator;
  readonly #state: StateBuffers;
  readonly #phases: readonly Phase<H>[];
  #step = 0;

  constructor(setup: TrainerSetup<H>) {
    const { objective, data } = setup;
    const seed = setup.seed ?? 0;
    if (!Number.isSafeInteger(seed) || seed < 0) fail('GanTrainer', `seed must be a non-negative integer, got ${seed}`);
    this.objective = objective;
    this.data = data;
    this.seed = seed;
    this.overrides = { ...(setup.set ?? {}) };
    this.hyper = resolveHyper(objective, data.info, this.overrides);
    const [initRng, trainRng] = new Generator(seed).split(2);
    this.rng = trainRng!;
    this.nets = objective.build(data.info, this.hyper, initRng!);
    for (const p of objective.players) {
      if (!(this.nets[p] instanceof Object)) fail('GanTrainer', `${objective.name}.build did not build player '${p}'`);
    }
    this.optimizers = Object.fromEntries(
      objective.players.map((p) => [p, makeOptimizer(this.nets[p]!, this.hyper.optimizers[p]!)]),
    );
    this.#state = new StateBuffers(
      noGrad(() => tidy(() => objective.initState?.(this.hyper, data.info, this.nets) ?? {})),
    );
    this.#phases = objective.phases(this.hyper);
  }

  /** Iterations completed. */
  get stepCount(): number {
    return this.#step;
  }

  /** The objective state (e.g. PresGAN's HMC step size): live tensors owned by the trainer. */
  get state(): Readonly<Record<string, Tensor>> {
    return this.#state.values();
  }

  /** Every player's current parameter tree. */
  params(): Record<PlayerName, ParamTree> {
    return Object.fromEntries(this.objective.players.map((p) => [p, this.nets[p]!.parameters()]));
  }

  #phaseContext(): PhaseContext<H> {
    return {
      nets: this.nets,
      data: this.data.info,
      hyper: this.hyper,
      state: this.#state.values(),
      step: this.#step,
      rng: this.rng,
      sampleReal: (n) => {
        const s = this.data.sample(n, this.rng);
        s.labels?.dispose();
        return s.x;
      },
    };
  }

  /**
   * The context a loss sees, at the current parameters (or `params`) with these draws: for
   * evaluating an objective's losses outside a training step (tests, studies of a loss).
   */
  context(draws: Record<string, Tensor>, params: Record<PlayerName, ParamTree> = this.params()): StepContext<H> {
    return {
      params,
      nets: this.nets,
      hyper: this.hyper,
      draws,
      state: this.#state.values(),
      step: this.#step,
      rng: this.rng,
      optimizers: this.optimizers,
      apply: (player, x, opts) => {
        const net = this.nets[player];
        if (net === undefined) return fail(this.objective.name, `no player '${player}'`);
        return functionalCall(net, params[player]!, x, opts);
      },
    };
  }

  /** Loss, gradients with respect to the update's players, logs and state of one update. */
  #evaluate(u: Update<H>, all: Record<PlayerName, ParamTree>, draws: Record<string, Tensor>) {
    for (const p of u.players) {
      if (!this.objective.players.includes(p))
        fail(this.objective.name, `update '${u.name}' names unknown player '${p}'`);
    }
    const own = Object.fromEntries(u.players.map((p) => [p, all[p]!]));
    const f = (mine: Record<PlayerName, ParamTree>) => {
      const out: LossOutput = u.loss(this.context(draws, { ...all, ...mine }));
      const r = out instanceof Tensor ? { loss: out } : out;
      return [r.loss, { logs: r.logs ?? {}, state: r.state ?? {} }] as const;
    };
    const [[loss, aux], grads] = valueAndGrad(f, { hasAux: true })(own);
    return { loss, logs: aux.logs, state: aux.state, grads: grads as Record<PlayerName, ParamTree> };
  }

  /** The scalars a gated phase's gate reads: each update's loss and logs, by name. */
  #gateInputs(phase: Phase<H>, results: readonly { loss: Tensor; logs: Record<string, Tensor> }[]): [string, Tensor][] {
    const inputs: [string, Tensor][] = [];
    phase.updates.forEach((u, i) => {
      inputs.push([u.name, results[i]!.loss]);
      for (const [k, v] of Object.entries(results[i]!.logs)) inputs.push([`${u.name}/${k}`, v]);
    });
    for (const [name, t] of inputs) {
      if (t.size !== 1) fail(this.objective.name, `gated phase '${phase.name}': '${name}' is not a scalar`);
    }
    return inputs;
  }

  /** A gated phase's decisions (update name -> steps?) from the values its gate read. */
  #gate(phase: Phase<H>, values: Record<string, number>): Readonly<Record<string, boolean>> {
    const out = phase.gate!(values, this.#phaseContext());
    for (const k of Object.keys(out)) {
      if (!phase.updates.some((u) => u.name === k))
        fail(this.objective.name, `phase '${phase.name}' gate names unknown update '${k}'`);
    }
    return out;
  }

  /**
   * One iteration as a coroutine: it yields the scalars a gated phase's gate must read and
   * resumes with their values, so `step()` reads them synchronously and `stepAsync()` awaits them
   * (the only difference between the two; the arithmetic is the same, so are the bits).
   */
  *#iteration(): globalThis.Generator<[string, Tensor][], StepLosses, Record<string, number>> {
    const losses: StepLosses = {};
    for (const phase of this.#phases) {
      const reps = phase.repeat?.(this.#step, this.hyper) ?? 1;
      if (!Number.isInteger(reps) || reps < 0)
        fail(this.objective.name, `phase '${phase.name}' repeat must be a non-negative integer, got ${reps}`);
      for (let r = 0; r < reps; r++) {
        phase.before?.(this.#phaseContext());
        // Simultaneous: every loss at the same parameters, then every step.
        const results = tidy(() => {
          const draws = phase.draw(this.#phaseContext());
          const all = this.params();
          return phase.updates.map((u) => this.#evaluate(u, all, draws));
        });
        let stepped: Readonly<Record<string, boolean>> | undefined;
        try {
          if (phase.gate !== undefined) stepped = this.#gate(phase, yield this.#gateInputs(phase, results));
        } catch (e) {
          dispose(results);
          throw e;
        }
        const out = tidy(() => {
          phase.updates.forEach((u, i) => {
            if (stepped?.[u.name] === false) return;
            for (const p of u.players) this.optimizers[p]!.step(results[i]!.grads[p]!);
          });
          const nextState: Record<string, Tensor> = {};
          const logged: StepLosses = {};
          phase.updates.forEach((u, i) => {
            const res = results[i]!;
            Object.assign(nextState, res.state);
            logged[u.name] = keep(res.loss);
            for (const [k, v] of Object.entries(res.logs)) logged[`${u.name}/${k}`] = keep(v);
            if (stepped !== undefined) logged[`${u.name}/stepped`] = keep(scalar(stepped[u.name] === false ? 0 : 1));
          });
          if (Object.keys(nextState).length > 0) this.#state.update(nextState);
          return logged;
        });
        // Free the iteration's gradients and draws' products; what was logged or became state lives on.
        const owned = new Set([...Object.values(out), ...results.flatMap((res) => Object.values(res.state))]);
        for (const t of treeLeaves(results)) if (!owned.has(t) && !t.isDisposed) t.dispose();
        for (const [k, t] of Object.entries(out)) {
          losses[k]?.dispose();
          losses[k] = t;
        }
        phase.after?.(this.#phaseContext());
      }
    }
    this.#step++;
    return losses;
  }

  /**
   * Runs one iteration (every phase, each `repeat` times) and returns its losses (kept: dispose
   * them). A phase with a gate reads its losses back synchronously, which WebGPU cannot do: use
   * `stepAsync()` there (`runTrainer` does).
   */
  step(): StepLosses {
    const it = this.#iteration();
    let next = it.next();
    while (!next.done) {
      const values: Record<string, number> = {};
      for (const [name, t] of next.value) {
        try {
          values[name] = Number(t.dataSync()[0]);
        } catch (e) {
          if (!(e instanceof TesseraError)) throw e;
          it.throw(
            new TesseraError(
              this.objective.name,
              `a phase has a gate, which step() reads back synchronously, and ${e.message}; ` +
                'use `await trainer.stepAsync()` (runTrainer does) on this backend',
            ),
          );
        }
      }
      next = it.next(values);
    }
    return next.value;
  }

  /** `step()` with the gates' read-backs awaited: the same iteration, on any backend. */
  async stepAsync(): Promise<StepLosses> {
    const it = this.#iteration();
    let next = it.next();
    while (!next.done) {
      const reads = await Promise.all(next.value.map(([, t]) => t.data()));
      next = it.next(Object.fromEntries(next.value.map(([name], i) => [name, Number(reads[i]![0])])));
    }
    return next.value;
  }

  /** `n` model samples `[n, ...data shape]` from latents drawn with `seed` (fixed latents for evaluation; PacGAN's 2333). */
  sample(n: number, seed = 2333): Tensor {
    if (!Number.isInteger(n) || n < 1) fail('GanTrainer.sample', `n must be a positive integer, got ${n}`);
    return tidy(() =>
      noGrad(() => {
        const rng = new Generator(seed);
        const z = rng.normal([n, this.hyper.latentDim]);
        return this.objective.sample(
          { nets: this.nets, hyper: this.hyper, state: this.#state.values(), data: this.data.info },
          z,
          rng,
        );
      }),
    );
  }

  /** Everything that defines the run, as JSON (goes into checkpoints and `report.json`). */
  describe(): TrainerDescription {
    return {
      objective: this.objective.name,
      data: this.data.name,
      seed: this.seed,
      set: { ...this.overrides },
      hyper: structuredClone(this.hyper) as unknown as Record<string, unknown>,
    };
  }

  #targets() {
    return {
      modules: { ...this.nets, state: this.#state },
      optimizers: { ...this.optimizers },
      rngs: { rng: this.rng },
    };
  }

  /** The whole run state as safetensors bytes (write them with `writeFileAtomic`). */
  checkpoint(): Promise<Uint8Array> {
    return checkpointToBytes({
      ...this.#targets(),
      metadata: { 'gan.step': String(this.#step), 'gan.setup': JSON.stringify(this.describe()) },
    });
  }

  /** Loads a checkpoint of the same setup (see `readCheckpointSetup`), continuing from its iteration. */
  restore(bytes: Uint8Array): void {
    const saved = readCheckpointSetup(bytes);
    const mine = this.describe();
    if (JSON.stringify(saved.setup) !== JSON.stringify(mine)) {
      fail(
        'GanTrainer.restore',
        `the checkpoint is of another run: ${JSON.stringify(saved.setup)}, this trainer is ${JSON.stringify(mine)}`,
      );
    }
    loadCheckpointBytes(bytes, this.#targets());
    this.#step = saved.step;
  }

  /** Frees every player, optimiser state and the objective state (not the data source). */
  dispose(): void {
    for (const o of Object.values(this.optimizers)) o.dispose();
    for (const n of Object.values(this.nets)) n.dispose();
    this.#state.dispose();
  }
}

/** A run's identity: objective, data, seed, overrides and the resolved hyperparameters. */
export interface TrainerDescription {
  objective: string;
  data: string;
  seed: number;
  set: Record<string, unknown>;
  hyper: Record<string, unknown>;
}

/** The setup and iteration a GAN checkpoint was written at. */
export function readCheckpointSetup(bytes: Uint8Array): { setup: TrainerDescription; step: number } {
  const meta = decodeSafetensors(bytes).metadata;
  const setup = meta['gan.setup'];
  const step = Number(meta['gan.step']);
  if (setup === undefined || !Number.isInteger(step))
    fail('readCheckpointSetup', 'not a GAN trainer checkpoint (no gan.setup / gan.step metadata)');
  return { setup: JSON.parse(setup) as TrainerDescription, step };
}

/** Disposes an iteration's losses. */
export function disposeLosses(losses: StepLosses): void {
  for (const t of Object.values(losses)) t.dispose();
}
