// The CPU kernel for Philox uniforms (randomUniform).
import { uniformBits, wordToUniform } from '../../random/philox.js';
import type { Kernel } from '../../tensor/backend.js';
import { alloc } from './util.js';

export const randomUniform: Kernel<'randomUniform'> = (_inputs, { key, stream, offset }, out) => {
  const y = alloc(out.dtype, out.shape);
  const bits = uniformBits(y.length, key, stream, offset);
  for (let i = 0; i < y.length; i++) y[i] = wordToUniform(bits[i]!);
  return y;
};
