// What the browser downloads (docs/FIRST-LOAD.md): the pages are server-
// rendered, and their controls (masked secret, row actions and dialogs,
// Add, Columns menu, sort buttons, local times, toasts) are small islands
// in the main module. The provider console is the one lazy island: its
// code never reaches an admin who does not open it. The audit log has no
// code of its own.
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

test('admins fetch the main module only; the console stays with those who open it', async ({ page }) => {
  const wasm = wasmRequests(page);
  await signIn(page, 'api@acme.example');
  await waitForHydration(page);
  // The overview has no page island: the main module only.
  expect(wasm.filter((n) => n.startsWith('split_'))).toEqual([]);

  await openSandbox(page);
  // The page's controls came with the main module: interactive without a
  // chunk of its own, the dialog opens.
  await page.getByRole('button', { name: 'Add Sandbox API Token' }).click();
  await expect(page.getByRole('dialog', { name: 'Add Sandbox API Token' })).toBeVisible();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.goto('/administration/api-configuration/legacy-api/internet-saas-api/cloud-service-api-key');
  await waitForHydration(page);
  await page.goto('/administration/audit-logs');
  await waitForHydration(page);
  expect(wasm.filter((n) => n.startsWith('split_'))).toEqual([]);
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
