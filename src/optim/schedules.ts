// Learning-rate schedules: constant, step, exponential, cosine and linear warm-up.
import { fail } from '../errors.js';

/** A learning-rate schedule: the rate to use for the update after `step` updates (0 for the first). */
export type Schedule = (step: number) => number;

function pos(op: string, name: string, v: number, allowZero = false): void {
  if (!Number.isFinite(v) || (allowZero ? v < 0 : v <= 0))
    fail(op, `${name} must be ${allowZero ? 'non-negative' : 'positive'}, got ${v}`);
}

function stepArg(op: string, step: number): void {
  if (!Number.isInteger(step) || step < 0) fail(op, `step must be a non-negative integer, got ${step}`);
}

/** A constant rate. */
export function constantLR(lr: number): Schedule {
  pos('constantLR', 'lr', lr, true);
  return (step) => {
    stepArg('constantLR', step);
    return lr;
  };
}

/** lr * gamma^floor(step / stepSize) (torch StepLR). */
export function stepLR(lr: number, stepSize: number, gamma = 0.1): Schedule {
  pos('stepLR', 'lr', lr, true);
  if (!Number.isInteger(stepSize) || stepSize <= 0)
    fail('stepLR', `stepSize must be a positive integer, got ${stepSize}`);
  pos('stepLR', 'gamma', gamma, true);
  return (step) => {
    stepArg('stepLR', step);
    return lr * gamma ** Math.floor(step / stepSize);
  };
}

/** lr * gamma^step (torch ExponentialLR). */
export function exponentialLR(lr: number, gamma: number): Schedule {
  pos('exponentialLR', 'lr', lr, true);
  pos('exponentialLR', 'gamma', gamma, true);
  return (step) => {
    stepArg('exponentialLR', step);
    return lr * gamma ** step;
  };
}

/**
 * Cosine annealing from lr to minLr over totalSteps, then constant at minLr:
 * minLr + (lr - minLr) (1 + cos(pi min(step, T) / T)) / 2 (torch CosineAnnealingLR's closed form).
 */
export function cosineLR(lr: number, totalSteps: number, minLr = 0): Schedule {
  pos('cosineLR', 'lr', lr, true);
  pos('cosineLR', 'minLr', minLr, true);
  if (!Number.isInteger(totalSteps) || totalSteps <= 0)
    fail('cosineLR', `totalSteps must be a positive integer, got ${totalSteps}`);
  return (step) => {
    stepArg('cosineLR', step);
    const s = Math.min(step, totalSteps);
    return minLr + ((lr - minLr) * (1 + Math.cos((Math.PI * s) / totalSteps))) / 2;
  };
}

/**
 * Linear warmup: the base rate (a number or a schedule) times a factor rising linearly from
 * `startFactor` at step 0 to 1 at `warmupSteps`, and 1 afterwards (torch LinearLR with end factor 1).
 */
export function linearWarmup(base: number | Schedule, warmupSteps: number, startFactor = 0): Schedule {
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0)
    fail('linearWarmup', `warmupSteps must be a non-negative integer, got ${warmupSteps}`);
  if (!(startFactor >= 0 && startFactor <= 1))
    fail('linearWarmup', `startFactor must be in [0, 1], got ${startFactor}`);
  const b = typeof base === 'number' ? constantLR(base) : base;
  return (step) => {
    stepArg('linearWarmup', step);
    const f = warmupSteps === 0 || step >= warmupSteps ? 1 : startFactor + ((1 - startFactor) * step) / warmupSteps;
    return b(step) * f;
  };
}
