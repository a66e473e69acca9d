// hmc(): batched Hamiltonian Monte Carlo chains on the device, with step-size adaptation and
// acceptance statistics.
import { fail, fmtShape } from '../errors.js';
import { getDefaultGenerator, type RngOptions, rngOption } from '../random/generator.js';
import { isFloat } from '../tensor/dtype.js';
import { getBackend, noGrad, tidy } from '../tensor/engine.js';
import {
  add,
  cast,
  exp,
  isfinite,
  log,
  lt,
  mean,
  minimum,
  mul,
  ne,
  reciprocal,
  reshape,
  sqrt,
  stack,
  sub,
  sum,
  tensor,
  where,
} from '../tensor/ops/index.js';
import { Tensor } from '../tensor/tensor.js';
import {
  checkDualAveraging,
  type DualAveragingOptions,
  type DualAveragingState,
  dualAveragingFinal,
  dualAveragingInit,
  dualAveragingUpdate,
  presganStepSizeUpdate,
} from './adapt.js';
import {
  checkLogProbShape,
  constantLike,
  type Evaluation,
  type GradFn,
  integrate,
  kineticEnergy,
  type LogProbFn,
  valueAndGradLogProb,
} from './leapfrog.js';

/**
 * A target for `hmc`: the log-density (up to a constant) and, optionally, its gradient and a
 * separate prior term for `leapfrogGradient: 'prior-only'`.
 */
export interface HmcTarget {
  /** log pi(z) up to a constant: z `[chains, ...event]` -> `[chains]`; chains must not interact. */
  logProb: LogProbFn;
  /** Gradient of `logProb` (default: reverse-mode autodiff of `logProb`). */
  gradLogProb?: GradFn;
  /** The prior term, whose gradient drives the leapfrog under `leapfrogGradient: 'prior-only'`. */
  priorLogProb?: LogProbFn;
  /** Gradient of `priorLogProb` (default: autodiff of `priorLogProb`). */
  gradPriorLogProb?: GradFn;
}

/** How the step size is tuned during burn-in. */
export type StepSizeAdaptation = 'presgan' | 'dual-averaging' | 'none';

/**
 * Options of `hmc`; `rng` is the source of the momenta, the accept uniforms and the jitter
 * (default: the default generator).
 */
export interface HmcOptions extends RngOptions {
  /** Starting state, `[chains, ...event]` (one independent chain per row). Not consumed. */
  initial: Tensor;
  /** Samples kept per chain after burn-in (>= 1). */
  numSamples: number;
  /** Transitions before the first kept sample; the step size adapts during them (default 0). */
  numBurnin?: number;
  /** Leapfrog steps L per transition (default 10; PresGAN uses 5). */
  numLeapfrogSteps?: number;
  /** Keep every `thin`-th transition after burn-in (default 1). */
  thin?: number;
  /**
   * Initial step size h (default 0.1): a number, a scalar tensor (shared by the chains), or a
   * `[chains]` / `[chains, 1]` tensor (one per chain), e.g. the `stepSize` of a previous result.
   */
  stepSize?: number | Tensor;
  /** With a number or scalar `stepSize`: give every chain its own copy (default false). */
  perChainStepSize?: boolean;
  /**
   * Randomise the step size of each transition uniformly in h (1 +- jitter), with jitter in
   * [0, 1) (default 0, no extra draws). Breaks the periodic trajectories a fixed h L can fall
   * into on near-Gaussian targets (Neal 2011, section 5.4.2.2). Adaptation acts on the base h.
   */
  stepSizeJitter?: number;
  /** Step-size tuning during burn-in (default 'presgan'). */
  adapt?: StepSizeAdaptation;
  /** Target acceptance for either adaptation rule (default 0.67). */
  targetAccept?: number;
  /** Learning rate of the PresGAN rule h <- h + rate (a - target) h (default 0.02). */
  adaptRate?: number;
  /**
   * What `a` is in the PresGAN rule: the fraction of chains accepted (default, as in the
   * official code; per chain it is the chain's 0/1 accept indicator) or the mean Metropolis
   * acceptance probability min(1, exp(-dH)).
   */
  adaptStatistic?: 'accepted' | 'probability';
  /** Settings of dual averaging (Hoffman and Gelman 2014) when `adapt: 'dual-averaging'`. */
  dualAveraging?: DualAveragingOptions;
  /**
   * Diagonal of the mass matrix M (positive; broadcasts against one chain's state, e.g. `[dim]`);
   * momenta are drawn from N(0, M). Default identity. A good choice is the inverse of the
   * target's variances.
   */
  massDiag?: Tensor | readonly number[];
  /**
   * Gradient driving the leapfrog: 'full' (default), the gradient of `logProb`; or
   * 'prior-only', the gradient of the target's `priorLogProb` (the PresGAN official code's
   * behaviour). The Metropolis test always uses the full `logProb`.
   */
  leapfrogGradient?: 'full' | 'prior-only';
}

export interface HmcResult {
  /** Kept states, `[numSamples, chains, ...event]`. */
  samples: Tensor;
  /** log pi at the kept states, `[numSamples, chains]`. */
  logProbs: Tensor;
  /** Per-chain acceptance rate over the transitions after burn-in, `[chains]`. */
  acceptRate: Tensor;
  /** Per-chain acceptance rate over the burn-in transitions, `[chains]` (NaN without burn-in). */
  burninAcceptRate: Tensor;
  /** Accept indicators (1 accepted, 0 rejected), `[transitions, chains]`, in z's dtype. */
  accepted: Tensor;
  /** Metropolis acceptance probabilities min(1, exp(-dH)) (0 for NaN proposals), `[transitions, chains]`. */
  acceptProb: Tensor;
  /** The step size after burn-in: `[]` if shared, `[chains, 1]` per chain. Pass it back in to continue. */
  stepSize: Tensor;
  /** The step size used at each transition (jitter included), `[transitions]` or `[transitions, chains]`. */
  stepSizes: Tensor;
  /** The last state of every chain, `[chains, ...event]` (start the next call here). */
  finalState: Tensor;
  /** log pi at the last state, `[chains]`. */
  finalLogProb: Tensor;
  /**
   * Divergent-transition indicators (1 divergent, 0 not), `[transitions, chains]`, in z's dtype. A
   * transition diverges when the energy error H(z*, p*) - H(z, p) is not finite (a NaN or infinite
   * log-density or energy, at the proposal or at the current state) or exceeds `MAX_DELTA_ENERGY`
   * (1000, the threshold of Stan and NumPyro). A divergent proposal is always rejected.
   */
  divergent: Tensor;
  /** Divergent transitions per chain after burn-in (Stan's count), `[chains]`, in z's dtype. */
  divergences: Tensor;
  /** Transitions run: numBurnin + numSamples * thin. */
  numTransitions: number;
}

/** Energy error above which a transition counts as divergent (Stan's and NumPyro's max_delta_energy). */
export const MAX_DELTA_ENERGY = 1000;

/** The entries of `values` that fail `ok`, as "index: value" (the first five) for error messages. */
function offenders(values: readonly number[], ok: (v: number) => boolean): string[] {
  const bad: string[] = [];
  for (let i = 0; i < values.length; i++) if (!ok(values[i]!)) bad.push(`${i}: ${values[i]}`);
  return bad.length > 5 ? [...bad.slice(0, 5), `... (${bad.length} in all)`] : bad;
}

function posInt(op: string, name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) fail(op, `${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

/** The step size as a tensor on z's backend: `[]` (shared) or `[chains, 1, ...]` (z's rank). */
function initialStepSize(op: string, o: HmcOptions, z: Tensor): Tensor {
  const chains = z.shape[0]!;
  const perChainShape = [chains, ...z.shape.slice(1).map(() => 1)];
  const s = o.stepSize ?? 0.1;
  if (typeof s === 'number') {
    if (!(s > 0) || !Number.isFinite(s)) fail(op, `stepSize must be a positive finite number, got ${s}`);
    return constantLike(z, s, o.perChainStepSize ? perChainShape : []);
  }
  if (!(s instanceof Tensor)) fail(op, `stepSize must be a number or a tensor, got ${typeof s}`);
  s.assertAlive(op);
  if (!isFloat(s.dtype)) fail(op, `stepSize must be a float tensor, got ${s.dtype}`);
  if (s.backend !== z.backend) fail(op, `stepSize lives on ${s.backend.name}, the initial state on ${z.backend.name}`);
  const h = mul(cast(s, z.dtype), 1); // a private copy
  if (h.size === 1 && h.rank <= 1) {
    const scalarH = reshape(h, []);
    return o.perChainStepSize ? mul(scalarH, constantLike(z, 1, perChainShape)) : scalarH;
  }
  if ((h.rank === 1 || (h.rank === 2 && h.shape[1] === 1)) && h.shape[0] === chains) return reshape(h, perChainShape);
  return fail(op, `stepSize must be a scalar, [${chains}] or [${chains}, 1] tensor, got ${fmtShape(s.shape)}`);
}

function massTensor(op: string, m: Tensor | readonly number[], z: Tensor): Tensor {
  if (Array.isArray(m)) {
    if (!m.every((v) => typeof v === 'number')) fail(op, 'massDiag must be a tensor or an array of numbers');
    // Numbers are checked here; a tensor's values are not read back (hmc reads nothing back):
    // a zero, negative or NaN entry there makes every transition of the chains divergent.
    const bad = offenders(m as number[], (v) => v > 0 && Number.isFinite(v));
    if (bad.length > 0) {
      fail(
        op,
        `massDiag must hold positive finite numbers (a zero, negative or NaN mass freezes the chains); bad entries (index: value) ${bad.join(', ')}`,
      );
    }
  }
  const t =
    m instanceof Tensor
      ? m
      : Array.isArray(m)
        ? tensor([...m], { dtype: z.dtype })
        : fail(op, 'massDiag must be a tensor or an array of numbers');
  if (t.backend !== z.backend) fail(op, `massDiag lives on ${t.backend.name}, the initial state on ${z.backend.name}`);
  if (!isFloat(t.dtype)) fail(op, `massDiag must be float, got ${t.dtype}`);
  const event = z.shape.slice(1);
  const fits = t.rank <= event.length && t.shape.every((d, i) => d === 1 || d === event[event.length - t.rank + i]);
  if (!fits) fail(op, `massDiag ${fmtShape(t.shape)} does not broadcast against one chain's state ${fmtShape(event)}`);
  return cast(t, z.dtype);
}

interface ChainState {
  z: Tensor;
  lp: Tensor;
  /** The gradient the leapfrog uses, at z. */
  grad: Tensor;
}

/**
 * Hamiltonian Monte Carlo over a batch of independent chains, entirely on the device: momenta,
 * leapfrog, Metropolis accept/reject (as a mask), step-size adaptation and acceptance statistics
 * are tensor ops, so a call reads nothing back. Gradients come from the engine's autodiff.
 *
 * Each transition: p ~ N(0, M); L leapfrog steps of size h; accept chain b with probability
 * min(1, exp(H(z, p) - H(z*, p*))). During burn-in the step size adapts (PresGAN rule or dual
 * averaging); afterwards it is fixed, so the kept samples come from a valid Markov chain.
 *
 * @example
 * const rng = new Generator(1);
 * const logProb = (z: Tensor) => z.square().sum(1).mul(-0.5); // standard normal
 * const r = hmc(logProb, { initial: zeros([64, 10]), numBurnin: 200, numSamples: 500, rng });
 * r.samples.shape; // [500, 64, 10]
 */
export function hmc(target: LogProbFn | HmcTarget, opts: HmcOptions): HmcResult {
  const op = 'hmc';
  const t: HmcTarget = typeof target === 'function' ? { logProb: target } : target;
  if (t === null || typeof t !== 'object' || typeof t.logProb !== 'function') {
    fail(op, 'target must be a log-density function or an object with a logProb function');
  }
  if (opts === null || typeof opts !== 'object') fail(op, 'options are required (at least initial and numSamples)');
  const z0 = opts.initial;
  if (!(z0 instanceof Tensor)) fail(op, 'initial must be a tensor [chains, ...event]');
  z0.assertAlive(op);
  if (!isFloat(z0.dtype)) fail(op, `initial must be float32 or float64, got ${z0.dtype}`);
  if (z0.rank < 2 || z0.shape[0] === 0)
    fail(op, `initial must be [chains, ...event] with chains >= 1, got ${fmtShape(z0.shape)}`);
  if (z0.backend !== getBackend()) {
    fail(
      op,
      `initial lives on ${z0.backend.name} but the current backend is ${getBackend().name}; the draws must be on the same device`,
    );
  }
  const numSamples = posInt(op, 'numSamples', opts.numSamples, 1);
  const numBurnin = posInt(op, 'numBurnin', opts.numBurnin ?? 0, 0);
  const L = posInt(op, 'numLeapfrogSteps', opts.numLeapfrogSteps ?? 10, 1);
  const thin = posInt(op, 'thin', opts.thin ?? 1, 1);
  const adapt = opts.adapt ?? 'presgan';
  if (adapt !== 'presgan' && adapt !== 'dual-averaging' && adapt !== 'none') {
    fail(op, `adapt must be 'presgan', 'dual-averaging' or 'none', got ${String(adapt)}`);
  }
  const targetAccept = opts.targetAccept ?? 0.67;
  if (!(targetAccept > 0 && targetAccept < 1)) fail(op, `targetAccept must be in (0, 1), got ${targetAccept}`);
  const adaptRate = opts.adaptRate ?? 0.02;
  if (!(adaptRate > 0) || !Number.isFinite(adaptRate)) fail(op, `adaptRate must be positive, got ${adaptRate}`);
  const jitter = opts.stepSizeJitter ?? 0;
  if (!(jitter >= 0 && jitter < 1)) fail(op, `stepSizeJitter must be in [0, 1), got ${jitter}`);
  const statistic = opts.adaptStatistic ?? 'accepted';
  if (statistic !== 'accepted' && statistic !== 'probability') {
    fail(op, `adaptStatistic must be 'accepted' or 'probability', got ${String(statistic)}`);
  }
  const da = checkDualAveraging(op, opts.dualAveraging ?? {});
  const mode = opts.leapfrogGradient ?? 'full';
  if (mode !== 'full' && mode !== 'prior-only')
    fail(op, `leapfrogGradient must be 'full' or 'prior-only', got ${String(mode)}`);
  if (mode === 'prior-only' && t.priorLogProb === undefined && t.gradPriorLogProb === undefined) {
    fail(op, "leapfrogGradient 'prior-only' needs a target with priorLogProb (or gradPriorLogProb)");
  }
  const rng = rngOption(op, opts) ?? getDefaultGenerator();

  const chains = z0.shape[0]!;
  const dtype = z0.dtype as 'float32' | 'float64';
  const bcast = [chains, ...z0.shape.slice(1).map(() => 1)];
  const T = numBurnin + numSamples * thin;

  return noGrad(() =>
    tidy(() => {
      let h = initialStepSize(op, opts, z0);
      const perChain = h.rank > 0;
      const mass = opts.massDiag === undefined ? undefined : massTensor(op, opts.massDiag, z0);
      const invMass = mass === undefined ? undefined : reciprocal(mass);
      const sqrtMass = mass === undefined ? undefined : sqrt(mass);

      const logProb = (z: Tensor): Tensor => {
        const lp = t.logProb(z);
        checkLogProbShape(op, lp, chains, 'logProb', dtype);
        return lp;
      };
      // The gradient the leapfrog follows, with the log-density when it comes free.
      const evaluate = (z: Tensor): Evaluation => {
        if (mode === 'prior-only') {
          if (t.gradPriorLogProb) return { grad: t.gradPriorLogProb(z) };
          return { grad: valueAndGradLogProb(op, t.priorLogProb!, z, 'priorLogProb').grad };
        }
        if (t.gradLogProb) return { grad: t.gradLogProb(z) };
        const e = valueAndGradLogProb(op, t.logProb, z);
        checkLogProbShape(op, e.value!, chains, 'logProb', dtype);
        return e;
      };
      const checkGrad = (g: Tensor, z: Tensor): Tensor => {
        if (g.shape.length !== z.shape.length || g.shape.some((d, i) => d !== z.shape[i])) {
          fail(op, `the gradient has shape ${fmtShape(g.shape)}, expected the state's ${fmtShape(z.shape)}`);
        }
        if (g.dtype !== z.dtype) fail(op, `the gradient is ${g.dtype}, the state ${z.dtype}`);
        return g;
      };

      // Copies, so that a target returning tensors it owns never has them disposed here.
      let state: ChainState = tidy(() => {
        const e = evaluate(z0);
        return { z: z0, lp: mul(e.value ?? logProb(z0), 1), grad: mul(checkGrad(e.grad, z0), 1) };
      });
      let daState: DualAveragingState | undefined =
        adapt === 'dual-averaging' && numBurnin > 0 ? dualAveragingInit(h, da) : undefined;

      const kept = new Set<Tensor>();
      const samples: Tensor[] = [];
      const logProbs: Tensor[] = [];
      const accepted: Tensor[] = [];
      const acceptProb: Tensor[] = [];
      const stepSizes: Tensor[] = [];
      const divergent: Tensor[] = [];

      for (let step = 0; step < T; step++) {
        const burnin = step < numBurnin;
        const hNow = h;
        const cur = state;
        const out = tidy(() => {
          const hUse =
            jitter > 0 ? mul(hNow, add(rng.uniform(perChain ? bcast : [], -jitter, jitter, { dtype }), 1)) : hNow;
          const xi = rng.normal(cur.z.shape, 0, 1, { dtype });
          const p0 = sqrtMass === undefined ? xi : mul(xi, sqrtMass);
          const r = integrate(evaluate, cur.z, p0, cur.grad, hUse, L, invMass);
          checkGrad(r.end.grad, r.z);
          const lpProp = r.end.value ?? logProb(r.z);
          // log alpha = -(H(z*, p*) - H(z, p)) with H = -log pi + K.
          const logAlpha = sub(sub(lpProp, cur.lp), sub(kineticEnergy(r.p, invMass), kineticEnergy(p0, invMass)));
          const u = rng.uniform([chains], 0, 1, { dtype });
          const acc = lt(log(u), logAlpha); // NaN proposals compare false: rejected
          // Divergent: the energy error -logAlpha is not finite or above MAX_DELTA_ENERGY.
          const div = cast(where(isfinite(logAlpha), lt(logAlpha, -MAX_DELTA_ENERGY), true), dtype);
          const accB = reshape(acc, bcast);
          const next: ChainState = {
            z: where(accB, r.z, cur.z),
            lp: where(acc, lpProp, cur.lp),
            grad: where(accB, r.end.grad, cur.grad),
          };
          const accF = cast(acc, dtype);
          const prob = where(ne(logAlpha, logAlpha), 0, exp(minimum(logAlpha, 0)));
          let hNext = hNow;
          let daNext = daState;
          if (burnin && adapt === 'presgan') {
            const a = statistic === 'accepted' ? accF : prob;
            hNext = presganStepSizeUpdate(hNow, perChain ? reshape(a, bcast) : mean(a), adaptRate, targetAccept);
          } else if (burnin && adapt === 'dual-averaging' && daState !== undefined) {
            const d = dualAveragingUpdate(daState, perChain ? reshape(prob, bcast) : mean(prob), targetAccept);
            daNext = d.state;
            hNext = step === numBurnin - 1 ? dualAveragingFinal(d.state) : d.h;
          }
          return { next, accF, prob, hNext, daNext, hUse, div };
        });
        // Free the previous state (not the caller's initial tensor, not kept samples).
        for (const x of [cur.z, cur.lp, cur.grad]) if (x !== z0 && !kept.has(x)) x.dispose();
        if (daState !== undefined && out.daNext !== daState) {
          daState.hBar.dispose();
          daState.logHAvg.dispose();
        }
        daState = out.daNext;
        state = out.next;
        accepted.push(out.accF);
        acceptProb.push(out.prob);
        divergent.push(out.div);
        stepSizes.push(out.hUse);
        if (out.hNext !== hNow && out.hUse !== hNow) hNow.dispose();
        h = out.hNext;
        if (!burnin && (step - numBurnin + 1) % thin === 0) {
          samples.push(state.z);
          logProbs.push(state.lp);
          kept.add(state.z);
          kept.add(state.lp);
        }
      }

      const acceptedAll = stack(accepted);
      const rate = (from: number, to: number): Tensor =>
        to > from ? mean(acceptedAll.slice([[from, to]]), 0) : constantLike(z0, Number.NaN, [chains]);
      const divergentAll = stack(divergent);
      return {
        divergent: divergentAll,
        divergences: sum(divergentAll.slice([[numBurnin, T]]), 0),
        samples: stack(samples),
        logProbs: stack(logProbs),
        acceptRate: rate(numBurnin, T),
        burninAcceptRate: rate(0, numBurnin),
        accepted: acceptedAll,
        acceptProb: stack(acceptProb),
        stepSize: perChain ? reshape(mul(h, 1), [chains, 1]) : mul(h, 1),
        stepSizes: perChain ? reshape(stack(stepSizes), [T, chains]) : stack(stepSizes),
        finalState: state.z,
        finalLogProb: state.lp,
        numTransitions: T,
      };
    }),
  );
}
