// Every objective by name: adding a method is one file in objectives/ and one line here.
import { fail } from '../errors.js';
import type { BaseHyper, Objective } from './objective.js';
import { bigan } from './objectives/bigan.js';
import { ebgan } from './objectives/ebgan.js';
import { fGan } from './objectives/f-gan.js';
import { gan } from './objectives/gan.js';
import { ldmgan } from './objectives/ldmgan.js';
import { lsgan } from './objectives/lsgan.js';
import { mdgan } from './objectives/mdgan.js';
import { mmdGan } from './objectives/mmd-gan.js';
import { pacgan } from './objectives/pacgan.js';
import { presgan } from './objectives/presgan.js';
import { regGan } from './objectives/reg-gan.js';
import { unrolled } from './objectives/unrolled.js';
import { vae } from './objectives/vae.js';
import { vaeGan } from './objectives/vae-gan.js';
import { veegan } from './objectives/veegan.js';
import { wgan } from './objectives/wgan.js';
import { wganGp } from './objectives/wgan-gp.js';

/** The registered objectives, by registry name. */
export const OBJECTIVES = {
  gan,
  presgan,
  'reg-gan': regGan,
  mdgan,
  veegan,
  ldmgan,
  wgan,
  'wgan-gp': wganGp,
  lsgan,
  vae,
  'vae-gan': vaeGan,
  unrolled,
  pacgan,
  bigan,
  'mmd-gan': mmdGan,
  'f-gan': fGan,
  ebgan,
} as const satisfies Record<string, Objective<BaseHyper>>;

export type ObjectiveName = keyof typeof OBJECTIVES;

/** The registered names. */
export function objectiveNames(): ObjectiveName[] {
  return Object.keys(OBJECTIVES) as ObjectiveName[];
}

/** The objective registered under `name` (a TesseraError listing the names otherwise). */
export function getObjective(name: string): Objective<BaseHyper> {
  const o = (OBJECTIVES as Record<string, Objective<BaseHyper>>)[name];
  if (o === undefined)
    return fail('train', `unknown objective '${name}'; expected one of ${objectiveNames().join(', ')}`);
  return o;
}
