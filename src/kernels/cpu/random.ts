// The CPU kernel for Philox uniforms (randomUniform) and, with an angle stream, Box-Muller normals.
import { boxMullerF32 } from '../../random/box-muller.js';
import { uniformBits, wordToUniform } from '../../random/philox.js';
import type { Kernel } from '../../tensor/backend.js';
import { alloc } from './util.js';

export const randomUniform: Kernel<'randomUniform'> = (_inputs, { key, stream, offset, angleStream }, out) => {
  const y = alloc(out.dtype, out.shape);
  const bits = uniformBits(y.length, key, stream, offset);
  if (angleStream === undefined) {
    for (let i = 0; i < y.length; i++) y[i] = wordToUniform(bits[i]!);
    return y;
  }
  const angle = uniformBits(y.length, key, angleStream, offset);
  for (let i = 0; i < y.length; i++) y[i] = boxMullerF32(wordToUniform(bits[i]!), wordToUniform(angle[i]!));
  return y;
};
