// `make bench`: time from navigation to hydrated (the `keyport-hydrated`
// performance mark the WebAssembly sets) on the signed-in Sandbox API Token
// page, in headless Debian Chromium. Usage: node bench-hydration.mjs BASE_URL [runs]
import { chromium } from '@playwright/test';

const base = process.argv[2];
const runs = Number(process.argv[3] ?? 10);
const page_path = '/administration/api-configuration/legacy-api/internet-saas-api/sandbox-api-token';

const browser = await chromium.launch({
  headless: true,
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const context = await browser.newContext({ baseURL: base });
const page = await context.newPage();
await page.goto('/login');
await page.locator('body[data-hydrated="true"]').waitFor({ state: 'attached' });
await page.getByLabel('Username').fill('api@acme.example');
await page.getByLabel('Password').fill('Keyport-demo-1');
await page.getByRole('button', { name: 'Sign In', exact: true }).click();
await page.waitForURL(/api-configuration$/);

const times = [];
// One warm-up load (compiles the wasm into the cache like a returning user), then the runs.
for (let i = 0; i <= runs; i++) {
  await page.goto(page_path, { waitUntil: 'commit' });
  await page.locator('body[data-hydrated="true"]').waitFor({ state: 'attached', timeout: 30_000 });
  const t = await page.evaluate(() => performance.getEntriesByName('keyport-hydrated')[0]?.startTime ?? null);
  if (i > 0 && t !== null) times.push(t);
}
await browser.close();
times.sort((a, b) => a - b);
const median = times.length ? (times[(times.length - 1) >> 1] + times[times.length >> 1]) / 2 : null;
console.log(JSON.stringify({ runs: times.length, median_ms: median, all_ms: times }));
