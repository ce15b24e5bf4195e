// `make bench`: what a browser downloads on its first visit, per role, and
// how long the page takes to become interactive. For each demo account a
// fresh browser context (empty cache) signs in; on the first signed-in page
// it sums the bytes of every script, wasm and stylesheet as they came over
// the wire (Resource Timing `encodedBodySize`: compressed as sent), and
// reads the `keyport-hydrated` performance mark (navigation to interactive).
// Usage: node bench-first-load.mjs BASE_URL
import { chromium } from '@playwright/test';

const base = process.argv[2];
const accounts = [
  ['Super Admin', 'super@acme.example'],
  ['API Admin', 'api@acme.example'],
  ['Read-Only Admin', 'readonly@acme.example'],
  ['Cloud Connector Admin', 'connector@acme.example'],
  ['Provider', 'provider@keyport.example'],
];

const browser = await chromium.launch({
  headless: true,
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const results = [];
for (const [role, username] of accounts) {
  const context = await browser.newContext({ baseURL: base });
  const page = await context.newPage();
  await page.goto('/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('Keyport-demo-1');
  await page.getByRole('button', { name: 'Sign In', exact: true }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
  // The first signed-in page, loaded afresh with an empty cache.
  const path = new URL(page.url()).pathname;
  const fresh = await browser.newContext({ baseURL: base, storageState: await context.storageState() });
  const first = await fresh.newPage();
  await first.goto(path, { waitUntil: 'load' });
  await first.locator('body[data-hydrated="true"]').waitFor({ state: 'attached', timeout: 30_000 });
  const measured = await first.evaluate(() => {
    const bytes = { wasm: 0, js: 0, css: 0 };
    for (const r of performance.getEntriesByType('resource')) {
      const name = new URL(r.name).pathname;
      const kind = name.endsWith('.wasm') ? 'wasm' : name.endsWith('.js') ? 'js' : name.endsWith('.css') ? 'css' : null;
      if (kind) bytes[kind] += r.encodedBodySize;
    }
    const hydrated = performance.getEntriesByName('keyport-hydrated')[0]?.startTime ?? null;
    return { bytes, hydrated_ms: hydrated };
  });
  const total = measured.bytes.wasm + measured.bytes.js + measured.bytes.css;
  results.push({ role, page: path, ...measured, total_bytes: total });
  await fresh.close();
  await context.close();
}
await browser.close();
console.log(JSON.stringify(results));
