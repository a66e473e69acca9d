// Shared by the browser tests: Debian's headless Chromium (playwright-core, never a downloaded
// browser), a 127.0.0.1 server for a bundled page, and a runner that returns what the page left in
// `globalThis.__tessera` (a promise).
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
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

/**
 * Whether Chromium is installed. Without it: throws when CI is set, otherwise warns loudly (the
 * caller skips its tests), like a missing WebGPU adapter.
 */
export function haveChromium(what: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI) throw new Error(`${what}: ${CHROMIUM} is missing (apt-get install -y chromium)`);
  const line = '!'.repeat(78);
  console.warn(
    `\n${line}\n!! ${what.toUpperCase()} SKIPPED: ${CHROMIUM} not found (apt-get install -y chromium)\n${line}\n`,
  );
  return false;
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

/**
 * Serves `js` (an ES module bundle) from 127.0.0.1 (a secure context), opens it in headless
 * Chromium and returns the value of the page's `globalThis.__tessera` promise. A page that sets
 * `{ error }` fails with it and the page's console output.
 */
export async function runInChromium<T>(js: string, timeoutMs = 60_000): Promise<T> {
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
    await page.waitForFunction(() => '__tessera' in globalThis, undefined, { timeout: timeoutMs });
    const r = (await page.evaluate(() => (globalThis as unknown as { __tessera: Promise<unknown> }).__tessera)) as
      | T
      | { error: string };
    if (r !== null && typeof r === 'object' && 'error' in r)
      throw new Error(`page failed: ${r.error}\n${logs.join('\n')}`);
    return r as T;
  } finally {
    await browser.close();
    await new Promise((r) => server.close(r));
  }
}
