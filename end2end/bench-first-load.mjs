// `make bench`: what a browser downloads when it opens a page first, per
// role and page, and how long the page takes to become interactive.
// A person's first visit, per demo account: `/login` in a fresh context
// (empty cache), the sign-in, and the page it lands on (timed from the
// sign-in's navigation, so the POST and its redirect count; the wasm comes
// from the sign-in page's download). Then every page the role can open is
// loaded in a fresh context (empty cache, the same session). Each row sums
// the bytes that came over the wire for the page: every script, wasm and
// stylesheet (Resource Timing `encodedBodySize` of the responses not served
// from the cache; lazy islands' chunks included) and the HTML document,
// which carries the stylesheet inline (`app::PageStyle`); and reads the
// `keyport-hydrated` performance mark (navigation to interactive: every
// island hydrated).
// Usage: node bench-first-load.mjs BASE_URL
import { chromium } from '@playwright/test';

const base = process.argv[2];
const API_PAGES = [
  '/administration/api-configuration',
  '/administration/api-configuration/legacy-api/internet-saas-api/sandbox-api-token',
  '/administration/api-configuration/legacy-api/internet-saas-api/cloud-service-api-key',
  '/administration/api-configuration/legacy-api/internet-saas-api/oauth-authorization-servers',
  '/administration/api-configuration/legacy-api/cloud-branch-connector-api/api-key-management',
];
const AUDIT = '/administration/audit-logs';
const CONSOLE = '/provider';
// Each role's pages, as its navigation offers them (docs/ROLES.md).
const accounts = [
  ['Super Admin', 'super@acme.example', [...API_PAGES, AUDIT]],
  ['API Admin', 'api@acme.example', [...API_PAGES, AUDIT]],
  ['Read-Only Admin', 'readonly@acme.example', [...API_PAGES, AUDIT]],
  ['Cloud Connector Admin', 'connector@acme.example', API_PAGES],
  ['Provider', 'provider@keyport.example', [...API_PAGES, AUDIT, CONSOLE]],
];

const browser = await chromium.launch({
  headless: true,
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
// Waits for the page to be interactive, then reads its bytes and time.
async function measure(page) {
  await page.locator('body[data-hydrated="true"]').waitFor({ state: 'attached', timeout: 30_000 });
  const measured = await page.evaluate(() => {
    // Body bytes that came over the wire: a response from the cache has no
    // transfer size.
    const wire = (entry) => (entry && entry.transferSize > 0 ? entry.encodedBodySize : 0);
    const bytes = { wasm: 0, js: 0, css: 0 };
    for (const r of performance.getEntriesByType('resource')) {
      const name = new URL(r.name).pathname;
      const kind = name.endsWith('.wasm') ? 'wasm' : name.endsWith('.js') ? 'js' : name.endsWith('.css') ? 'css' : null;
      if (kind) bytes[kind] += wire(r);
    }
    bytes.html = wire(performance.getEntriesByType('navigation')[0]);
    const hydrated = performance.getEntriesByName('keyport-hydrated')[0]?.startTime ?? null;
    return { bytes, hydrated_ms: hydrated };
  });
  // The HTML counts: with the stylesheet inline it is part of what the
  // page needs before it is styled.
  const total = measured.bytes.wasm + measured.bytes.js + measured.bytes.css + measured.bytes.html;
  return { ...measured, total_bytes: total };
}

const results = [];
for (const [role, username, pages] of accounts) {
  const context = await browser.newContext({ baseURL: base });
  const page = await context.newPage();
  await page.goto('/login');
  results.push({ role, page: '/login', ...(await measure(page)) });
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('Keyport-demo-1');
  await page.getByRole('button', { name: 'Sign In', exact: true }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
  const landed = new URL(page.url()).pathname;
  results.push({ role, page: `${landed} (right after signing in)`, ...(await measure(page)) });
  const storageState = await context.storageState();
  for (const path of pages) {
    const fresh = await browser.newContext({ baseURL: base, storageState });
    const first = await fresh.newPage();
    await first.goto(path, { waitUntil: 'load' });
    results.push({ role, page: path, ...(await measure(first)) });
    await fresh.close();
  }
  await context.close();
}
await browser.close();
console.log(JSON.stringify(results));
