import type { Backend } from '../backend.js';
import { fail } from '../../tensor/errors.js';

/** Placeholder until the WebGPU backend lands (issue 3): reports that no adapter is available. */
export async function createWebGPUBackend(): Promise<Backend> {
  return fail('setBackend', 'the WebGPU backend is not built yet');
}
