// The Cloud Service API Key tab and the Connector API Key Management page,
// with the consumer API proving that a replaced key stops working at once.
import type { APIRequestContext } from '@playwright/test';
import { expect, expectNoAxeViolations, obfuscate, signIn, test, waitForHydration } from './helpers';

const CLOUD = '/administration/api-configuration/legacy-api/internet-saas-api/cloud-service-api-key';
const CONNECTOR = '/administration/api-configuration/legacy-api/cloud-branch-connector-api/api-key-management';


async function apiLogin(request: APIRequestContext, key: string) {
  const timestamp = String(Date.now());
  return request.post('/o/acme/api/v1/authenticatedSession', {
    data: { apiKey: obfuscate(key, timestamp), username: 'api@acme.example', password: 'Keyport-demo-1', timestamp },
  });
}

async function openPage(page: import('@playwright/test').Page, path: string) {
  await page.goto(path);
  await waitForHydration(page);
}

async function revealKey(page: import('@playwright/test').Page): Promise<string> {
  const row = page.getByRole('row').nth(1);
  await row.getByRole('button', { name: 'Show key' }).click();
  const value = row.locator('code.secret-value');
  await expect(value).toHaveText(/^[A-Za-z0-9]{12}$/);
  return (await value.textContent())!.trim();
}

test('editing and regenerating the Cloud Service key ends the old key and its sessions', async ({ page, playwright, baseURL }) => {
  const api = await playwright.request.newContext({ baseURL });
  await signIn(page, 'api@acme.example');
  await openPage(page, CLOUD);
  await expect(page.getByRole('link', { name: 'Cloud Service API Key' })).toHaveAttribute('aria-current', 'page');
  await expect(page.getByText('http://127.0.0.1:3100/o/acme')).toBeVisible();
  const original = await revealKey(page);

  const login = await apiLogin(api, original);
  expect(login.status()).toBe(200);
  expect(await login.json()).toEqual({ authType: 'ADMIN_LOGIN', obfuscateApiKey: true });
  expect((await api.get('/o/acme/api/v1/status')).status()).toBe(200);

  await page.getByRole('button', { name: 'Edit' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit API Key' });
  await dialog.getByLabel('New key').fill('short');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(dialog.getByText('The key must be exactly 12 characters')).toBeVisible();
  await dialog.getByLabel('New key').fill('E2eShared123');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'API key changed.' })).toBeVisible();

  expect((await api.get('/o/acme/api/v1/status')).status()).toBe(401);
  expect((await apiLogin(api, original)).status()).toBe(400);
  expect((await apiLogin(api, 'E2eShared123')).status()).toBe(200);
  expect((await api.get('/o/acme/api/v1/status')).status()).toBe(200);

  await page.getByRole('button', { name: 'Regenerate' }).click();
  const confirm = page.getByRole('alertdialog', { name: 'Regenerate API Key' });
  await expect(confirm).toContainText('This action cannot be undone.');
  await confirm.getByRole('button', { name: 'Ok' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'API key regenerated.' })).toBeVisible();
  const regenerated = await revealKey(page);
  expect(regenerated).not.toBe('E2eShared123');
  expect((await api.get('/o/acme/api/v1/status')).status()).toBe(401);
  expect((await apiLogin(api, 'E2eShared123')).status()).toBe(400);
  expect((await apiLogin(api, regenerated)).status()).toBe(200);
  await expectNoAxeViolations(page);
  await api.dispose();
});

test('view-only roles see the keys but no controls', async ({ page }) => {
  await signIn(page, 'readonly@acme.example');
  for (const path of [CLOUD, CONNECTOR]) {
    await openPage(page, path);
    await expect(page.getByRole('row')).toHaveCount(2);
    for (const name of ['Add API Key', 'Edit', 'Regenerate', 'Delete', 'Show key']) {
      await expect(page.getByRole('button', { name, exact: true })).toHaveCount(0);
    }
    await expectNoAxeViolations(page);
  }
});

test('only the provider modifies the connector key', async ({ page }) => {
  await signIn(page, 'api@acme.example');
  await openPage(page, CONNECTOR);
  await expect(page.getByText('Currently, only the provider modifies the key.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Regenerate' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Show key' })).toBeVisible();

  await page.getByRole('button', { name: 'Sign Out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await signIn(page, 'provider@keyport.example');
  await openPage(page, CONNECTOR);
  await page.getByRole('button', { name: 'Regenerate' }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Ok' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'API key regenerated.' })).toBeVisible();
});

test('the audit log shows, filters and exports what was just done', async ({ page }) => {
  await signIn(page, 'super@acme.example');
  // Something to find: regenerate the Cloud Service key.
  await openPage(page, CLOUD);
  await page.getByRole('button', { name: 'Regenerate' }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Ok' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'API key regenerated.' })).toBeVisible();

  await openPage(page, '/administration/audit-logs');
  await expect(page.getByRole('heading', { name: 'Audit Logs' })).toBeVisible();
  await page.getByLabel('Action').selectOption('Regenerate');
  await page.getByRole('button', { name: 'Apply' }).click();
  // The filter travels as the stable code (docs/AUDIT.md).
  await expect(page).toHaveURL(/action=regenerate/);
  const rows = page.getByRole('table', { name: 'Audit log entries' }).getByRole('row');
  await expect(rows.nth(1)).toContainText('Regenerate');
  await expect(rows.filter({ hasText: 'Sign In' })).toHaveCount(0);
  await expectNoAxeViolations(page);

  const download = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Export CSV' }).click();
  const file = await download;
  const text = await (await file.createReadStream()).toArray().then((chunks) => Buffer.concat(chunks).toString('utf8'));
  expect(text.split('\r\n')[0]).toBe('Timestamp,Action,Category,Sub-Category,Resource,Admin,Organisation,Client IP,Interface,Trace ID,Result');
  expect(text).toContain('Regenerate');
  expect(text).not.toContain('Sign In');
});

test('a Cloud Connector Admin has no audit log', async ({ page }) => {
  await signIn(page, 'connector@acme.example');
  await expect(page.getByRole('link', { name: 'Audit Logs' })).toHaveCount(0);
  const response = await page.goto('/administration/audit-logs');
  expect(response!.status()).toBe(403);
  await expect(page.getByRole('heading', { name: 'You are not permitted to view this page', level: 1 })).toBeVisible();
  await expect(page.getByRole('table')).toHaveCount(0);
});

test('the overview lists every section with the Base URL', async ({ page }) => {
  await signIn(page, 'readonly@acme.example');
  await expect(page.getByRole('heading', { name: 'API Configuration', level: 1 })).toBeVisible();
  await expect(page.getByText('http://127.0.0.1:3100/o/acme')).toBeVisible();
  for (const name of ['Cloud Service API Key', 'OAuth 2.0 Authorization Servers', 'Sandbox API Token', 'API Key Management']) {
    await expect(page.getByRole('heading', { name, level: 2 })).toBeVisible();
  }
  await expectNoAxeViolations(page);
});

test('a multi-organisation admin switches to Globex', async ({ page }) => {
  await signIn(page, 'multi@example.com');
  await page.getByLabel('Organisation').selectOption('globex');
  await page.getByRole('button', { name: 'Switch' }).click();
  await expect(page.getByText('http://127.0.0.1:3100/o/globex')).toBeVisible();
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the key pages, OAuth servers, the overview and the audit log are readable', async ({ page }) => {
    await page.goto('/login');
    await page.getByLabel('Username').fill('super@acme.example');
    await page.getByLabel('Password').fill('Keyport-demo-1');
    await page.getByRole('button', { name: 'Sign In', exact: true }).click();
    await page.goto(CLOUD);
    await expect(page.getByRole('cell', { name: /^••••/ })).toBeVisible();
    await page.goto(CONNECTOR);
    await expect(page.getByRole('cell', { name: /^••••/ })).toBeVisible();
    await page.goto('/administration/audit-logs?result=success');
    await expect(page.getByRole('table', { name: 'Audit log entries' }).getByRole('row').nth(1)).toBeVisible();
    await page.goto('/administration/api-configuration/legacy-api/internet-saas-api/oauth-authorization-servers');
    await expect(page.getByRole('columnheader', { name: 'Authorization Server Name' })).toBeVisible();
    await page.goto('/administration/api-configuration');
    await expect(page.getByRole('heading', { name: 'Sandbox API Token', level: 2 })).toBeVisible();
  });
});
