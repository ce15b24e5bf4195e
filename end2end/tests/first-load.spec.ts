// What the browser downloads (docs/FIRST-LOAD.md): the pages are server-
// rendered, and each control is a small lazy island whose wasm chunk only
// the pages showing it fetch. The provider console's code never reaches an
// admin who does not open it, and the audit log has no code of its own.
import type { Page } from '@playwright/test';
import { expect, openSandbox, signIn, signOut, test, waitForHydration } from './helpers';

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

test('each page fetches its own islands only; the console stays with those who open it', async ({ page }) => {
  const wasm = wasmRequests(page);
  await signIn(page, 'api@acme.example');
  await waitForHydration(page);
  // The overview has no page island: the main module only.
  expect(wasm.filter((n) => n.startsWith('split_'))).toEqual([]);

  await openSandbox(page);
  expect(island(wasm, 'add_token_button')).toHaveLength(1);
  expect(island(wasm, 'token_actions')).toHaveLength(1);
  expect(island(wasm, 'masked_secret')).toHaveLength(1);
  // Interactive once the chunk arrived: the dialog opens.
  await page.getByRole('button', { name: 'Add Sandbox API Token' }).click();
  await expect(page.getByRole('dialog', { name: 'Add Sandbox API Token' })).toBeVisible();
  await page.getByRole('button', { name: 'Cancel' }).click();
  expect(island(wasm, 'org_console')).toEqual([]);
  expect(island(wasm, 'test_authentication')).toEqual([]);

  // The connector key page has no Test authentication; the Cloud Service
  // page has.
  await page.goto('/administration/api-configuration/legacy-api/cloud-branch-connector-api/api-key-management');
  await waitForHydration(page);
  expect(island(wasm, 'test_authentication')).toEqual([]);
  await page.goto('/administration/api-configuration/legacy-api/internet-saas-api/cloud-service-api-key');
  await waitForHydration(page);
  expect(island(wasm, 'test_authentication')).toHaveLength(1);
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
