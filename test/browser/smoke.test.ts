/**
 * Browser smoke test: bundles test/browser/page.ts with esbuild, serves it from 127.0.0.1 (a
 * secure context) and opens it in Debian's headless Chromium (playwright-core, never a
 * downloaded browser) with WebGPU enabled; the page runs matmul, conv2d and a gradient on the
 * WebGPU backend (navigator.gpu) and compares them with the CPU backend.
 *
 * Needs /usr/bin/chromium (apt-get install -y chromium). Without it: fails when CI is set,
 * otherwise skips with a loud banner (like a missing WebGPU adapter).
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { SmokeResult } from './page.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  if (process.env.CI) throw new Error(`browser smoke test: ${CHROMIUM} is missing (apt-get install -y chromium)`);
  const line = '!'.repeat(78);
  console.warn(
    `\n${line}\n!! BROWSER SMOKE TEST SKIPPED: ${CHROMIUM} not found (apt-get install -y chromium)\n${line}\n`,
  );
}

function serve(files: Record<string, { type: string; body: string }>): Promise<Server> {
  const server = createServer((req, res) => {
    const f = files[req.url ?? '/'];
    if (f === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': f.type }).end(f.body);
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

describe.skipIf(!haveChromium)('browser smoke test (headless Chromium, WebGPU)', () => {
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
    const server = await serve({
      '/': { type: 'text/html', body: '<!doctype html><script type="module" src="/page.js"></script>' },
      '/page.js': { type: 'text/javascript', body: js },
    });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
    try {
      const page = await browser.newPage();
      const logs: string[] = [];
      page.on('console', (m) => logs.push(m.text()));
      page.on('pageerror', (e) => logs.push(String(e)));
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await page.waitForFunction(() => '__tessera' in globalThis, undefined, { timeout: 60_000 });
      const r = (await page.evaluate(() => (globalThis as unknown as { __tessera: Promise<unknown> }).__tessera)) as
        | SmokeResult
        | { error: string };
      if ('error' in r) throw new Error(`page failed: ${r.error}\n${logs.join('\n')}`);
      console.log(`browser: ${r.description}; ${JSON.stringify(r)}`);
      expect(r.secureContext).toBe(true);
      expect(r.backend).toBe('webgpu');
      expect(r.description).toMatch(/^WebGPU: .*\(browser, /);
      for (const k of ['matmul', 'grad', 'conv2d'] as const) {
        expect(typeof r[k], `${k}: ${r[k]} (${r.ms[k].toFixed(0)} ms)`).toBe('number');
        expect(r[k] as number, `${k} max relative error vs the CPU`).toBeLessThan(1e-4);
      }
    } finally {
      await browser.close();
      await new Promise((r) => server.close(r));
    }
  });
});
