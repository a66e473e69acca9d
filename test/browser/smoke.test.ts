/**
 * Browser smoke test: bundles test/browser/page.ts with esbuild, serves it from 127.0.0.1 (a
 * secure context) and opens it in Debian's headless Chromium (playwright-core, never a
 * downloaded browser) with WebGPU enabled; the page runs matmul, conv2d and a gradient on the
 * WebGPU backend (navigator.gpu) and compares them with the CPU backend.
 *
 * Needs /usr/bin/chromium (apt-get install -y chromium). Without it: fails when CI is set,
 * otherwise skips with a loud banner (like a missing WebGPU adapter).
 */
import { resolve } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { haveChromium, runInChromium } from './harness.js';
import type { SmokeResult } from './page.js';

describe.skipIf(!haveChromium('browser smoke test'))('browser smoke test (headless Chromium, WebGPU)', () => {
  it('matmul, conv2d and a gradient on WebGPU in the browser match the CPU backend', async () => {
    const bundle = await build({
      entryPoints: [resolve(import.meta.dirname, 'page.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
    });
    const js = bundle.outputFiles[0]!.text;
    const r = await runInChromium<SmokeResult>(js);
    console.log(`browser: ${r.description}; ${JSON.stringify(r)}`);
    expect(r.secureContext).toBe(true);
    expect(r.backend).toBe('webgpu');
    expect(r.description).toMatch(/^WebGPU: .*\(browser, /);
    for (const k of ['matmul', 'grad', 'conv2d'] as const) {
      expect(typeof r[k], `${k}: ${r[k]} (${r.ms[k].toFixed(0)} ms)`).toBe('number');
      expect(r[k] as number, `${k} max relative error vs the CPU`).toBeLessThan(1e-4);
    }
  });
});
