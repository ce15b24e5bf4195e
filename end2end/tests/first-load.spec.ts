// What the browser downloads (docs/FIRST-LOAD.md): the pages are server-
// rendered, and each page's island is a lazy wasm chunk that only the pages
// showing it fetch. The provider console's and the audit log's code never
// reach an admin who does not open them.
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

test('each page fetches its own island only; the console and the audit log stay with those who open them', async ({ page }) => {
  const wasm = wasmRequests(page);
  await signIn(page, 'api@acme.example');
  await waitForHydration(page);
  // The overview has no page island: the main module only.
  expect(wasm.filter((n) => n.startsWith('split_'))).toEqual([]);

  await openSandbox(page);
  expect(island(wasm, 'sandbox_tokens')).toHaveLength(1);
  // Interactive once the chunk arrived: the dialog opens.
  await page.getByRole('button', { name: 'Add Sandbox API Token' }).click();
  await expect(page.getByRole('dialog', { name: 'Add Sandbox API Token' })).toBeVisible();
  await page.getByRole('button', { name: 'Cancel' }).click();
  expect(island(wasm, 'org_console')).toEqual([]);
  expect(island(wasm, 'audit_log')).toEqual([]);
  await signOut(page);

  // A role without the audit log gets the 403 page, and not its code.
  await signIn(page, 'connector@acme.example');
  const response = await page.goto('/administration/audit-logs');
  expect(response!.status()).toBe(403);
  await waitForHydration(page);
  expect(island(wasm, 'audit_log')).toEqual([]);
  await signOut(page);

  await signIn(page, 'provider@keyport.example');
  await page.goto('/provider');
  await waitForHydration(page);
  expect(island(wasm, 'org_console')).toHaveLength(1);
});
