// What the browser downloads (docs/FIRST-LOAD.md): the pages are server-
// rendered, and their controls (masked secret, Columns menu, sort buttons,
// local times, toasts) are small islands in the main module. Each page's
// dialogs are one lazy island, fetched when the admin first opens one of
// them; the provider console is another, which never reaches an admin who
// does not open it. The audit log has no code of its own.
import type { Page } from '@playwright/test';
import { expect, openSandbox, SANDBOX, signIn, signOut, test, waitForHydration } from './helpers';

/** The names of the wasm files the page requests from now on. */
function wasmRequests(page: Page): string[] {
  const names: string[] = [];
  page.on('request', (r) => {
    const name = new URL(r.url()).pathname.split('/').pop() ?? '';
    if (name.endsWith('.wasm')) names.push(name);
  });
  return names;
}

const island = (names: string[], loader: string) => names.filter((n) => n.startsWith(`split_${loader}_loader_`));

test('a page needs only the main module; its dialogs come at the first open, the console only to those who open it', async ({ page }) => {
  const wasm = wasmRequests(page);
  await signIn(page, 'api@acme.example');
  await waitForHydration(page);
  // The overview has no page island: the main module only.
  expect(wasm.filter((n) => n.startsWith('split_'))).toEqual([]);

  await openSandbox(page);
  // The page is interactive with the main module alone.
  expect(wasm.filter((n) => n.startsWith('split_'))).toEqual([]);
  // The first dialog fetches the page's dialogs, once; the second needs nothing.
  await page.getByRole('button', { name: 'Add Sandbox API Token' }).click();
  await expect(page.getByRole('dialog', { name: 'Add Sandbox API Token' })).toBeVisible();
  expect(island(wasm, 'sandbox_dialogs')).toHaveLength(1);
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await page.getByRole('row', { name: /CI pipeline/ }).getByRole('button', { name: 'Edit' }).click();
  await expect(page.getByRole('dialog', { name: 'Edit Sandbox API Token' })).toBeVisible();
  await expect(page.getByLabel('Name')).toHaveValue('CI pipeline');
  await page.getByRole('button', { name: 'Cancel' }).click();
  expect(island(wasm, 'sandbox_dialogs')).toHaveLength(1);
  expect(wasm.filter((n) => n.startsWith('split_'))).toEqual(island(wasm, 'sandbox_dialogs'));
  const fetched = wasm.length;
  await page.goto('/administration/api-configuration/legacy-api/internet-saas-api/cloud-service-api-key');
  await waitForHydration(page);
  await page.goto('/administration/audit-logs');
  await waitForHydration(page);
  // Neither page fetched anything beyond the main module (from the cache).
  expect(wasm.slice(fetched).filter((n) => !n.startsWith('keyport.'))).toEqual([]);
  await signOut(page);

  // A role that may change nothing has no dialogs on the page at all.
  await signIn(page, 'readonly@acme.example');
  await openSandbox(page);
  await expect(page.locator('template#sandbox-dialogs')).toHaveCount(0);
  await expect(page.locator('[data-dialog]')).toHaveCount(0);
  await signOut(page);

  // A role without the audit log gets the 403 page, which fetches no
  // island at all.
  await signIn(page, 'connector@acme.example');
  await waitForHydration(page);
  const before = wasm.filter((n) => n.startsWith('split_')).length;
  const response = await page.goto('/administration/audit-logs');
  expect(response!.status()).toBe(403);
  await waitForHydration(page);
  expect(wasm.filter((n) => n.startsWith('split_')).length).toBe(before);
  await signOut(page);

  await signIn(page, 'provider@keyport.example');
  await page.goto('/provider');
  await waitForHydration(page);
  expect(island(wasm, 'org_console')).toHaveLength(1);
});

// The stylesheet comes inside the page (`app::PageStyle`), admitted by the
// page's Content-Security-Policy through the render's nonce: no request
// for it, no policy violation, and the page styled, before and after
// signing in (a kept render's nonce is replaced at every view).
test('the stylesheet is inline, carries the page nonce, and styles the page', async ({ page }) => {
  const css: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.endsWith('.css')) css.push(r.url());
  });
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __violations: string[] }).__violations = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const expectStyled = async (path: string) => {
    const response = await page.goto(path);
    await waitForHydration(page);
    const csp = response!.headers()['content-security-policy'];
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(csp).toMatch(/style-src 'self' 'nonce-[^']+'/);
    expect(await page.locator('head style').count()).toBe(1);
    expect(await page.locator('head style').evaluate((s) => (s as HTMLStyleElement).nonce)).toBe(nonce);
    await expect(page.locator('link[rel="stylesheet"]')).toHaveCount(0);
    // main.css: `body { margin: 0 }` and the panel colour of buttons.
    expect(await page.evaluate(() => getComputedStyle(document.body).margin)).toBe('0px');
    expect(await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations)).toEqual([]);
  };
  await expectStyled('/login');
  await signIn(page, 'api@acme.example');
  await expectStyled(SANDBOX);
  // The same page again: from its kept render, with a new nonce.
  await expectStyled(SANDBOX);
  expect(css).toEqual([]);
});
