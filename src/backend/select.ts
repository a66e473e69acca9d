// Backend selection: setBackend('cpu' | 'webgpu' | 'auto') and getBackendInfo.
import { fail } from '../errors.js';
import type { Backend } from '../tensor/backend.js';
import { getBackend, registeredBackend, useBackend } from '../tensor/engine.js';
import { cpuBackend } from './cpu.js';

export type BackendChoice = 'cpu' | 'webgpu' | 'auto';

export interface BackendInfo {
  name: 'cpu' | 'webgpu';
  description: string;
}

const CHOICES: readonly BackendChoice[] = ['cpu', 'webgpu', 'auto'];

/**
 * Selects the backend new tensors are created on. 'auto' tries WebGPU (a core adapter, then the
 * OpenGL ES compatibility adapter) and falls back to the CPU, saying which it chose. Any other
 * name (say 'CPU' or 'tpu') is an error listing the valid ones.
 *
 * @example
 * ```ts
 * await setBackend('cpu');   // { name: 'cpu', ... }
 * await setBackend('tpu');   // rejects: setBackend: unknown backend "tpu"; expected one of cpu, webgpu, auto
 * ```
 */
export async function setBackend(choice: BackendChoice): Promise<BackendInfo> {
  if (!CHOICES.includes(choice)) {
    fail(
      'setBackend',
      `unknown backend ${typeof choice === 'string' ? JSON.stringify(choice) : String(choice)}; expected one of ${CHOICES.join(', ')} (names are lower case)`,
    );
  }
  if (choice === 'cpu') {
    useBackend(cpuBackend);
    return getBackendInfo();
  }
  let backend: Backend | undefined = registeredBackend('webgpu');
  // A destroyed WebGPU backend stays registered; make a fresh one.
  if (backend?.destroyed === true) backend = undefined;
  if (backend === undefined) {
    try {
      const { createWebGPUBackend } = await import('./webgpu/device.js');
      backend = await createWebGPUBackend();
    } catch (e) {
      if (choice === 'webgpu') throw e;
      console.warn(`tessera: no WebGPU (${(e as Error).message}); using the CPU backend`);
      backend = undefined;
    }
  }
  if (backend === undefined) {
    if (choice === 'webgpu') fail('setBackend', 'no WebGPU adapter found');
    useBackend(cpuBackend);
  } else {
    useBackend(backend);
  }
  return getBackendInfo();
}

export function getBackendInfo(): BackendInfo {
  const b = getBackend();
  return { name: b.name, description: b.description };
}
