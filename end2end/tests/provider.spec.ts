// The provider console and what it changes for the organisation's admins,
// and the usage features: quota meter, blast radius, test authentication,
// one key for several organisations (docs/STATES.md, docs/PAGES.md#beyond-the-reference-portal). Each test puts
// back what it changed: the browser tests share one demo database.
import type { Page } from '@playwright/test';
import { expect, expectNoAxeViolations, obfuscate, openSandbox, signIn, signOut, test, waitForHydration } from './helpers';

const CLOUD = '/administration/api-configuration/legacy-api/internet-saas-api/cloud-service-api-key';
const FILE = '%PDF-1.7 pretend document';

async function openConsole(page: Page) {
  await page.getByRole('link', { name: 'Provider Console' }).click();
  await expect(page.getByRole('heading', { name: 'Provider Console', level: 1 })).toBeVisible();
  await waitForHydration(page);
  await expect(page.getByRole('heading', { name: 'Acme Corp (acme)' })).toBeVisible();
}

async function saveAllowance(page: Page, allowance: string) {
  await page.getByLabel('Daily Sandbox API-call allowance').fill(allowance);
  await page.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Settings saved.' })).toBeVisible();
}

test('the provider disables a token, the API admin sees it Disabled without actions, and it is enabled again', async ({ page }) => {
  await signIn(page, 'provider@keyport.example');
  await openConsole(page);
  await expectNoAxeViolations(page);

  await page.getByLabel('Reason for disabling Primary').selectOption('terms_violation');
  await page.getByRole('button', { name: 'Disable Primary' }).click();
  await page.getByRole('alertdialog', { name: 'Disable Sandbox API Token' }).getByRole('button', { name: 'Ok' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Status changed.' })).toBeVisible();
  const credential = page.locator('li.credential').filter({ hasText: 'Primary' });
  await expect(credential).toContainText('Disabled: Terms violation');

  await signOut(page);
  await signIn(page, 'api@acme.example');
  await openSandbox(page);
  const row = page.getByRole('row', { name: /Primary/ });
  await expect(row).toContainText('Disabled');
  await expect(row).toContainText('By the service provider: Terms violation');
  await expect(page.getByText('Contact support or your service provider to re-enable the token.')).toBeVisible();
  await expect(row.getByRole('button', { name: 'Regenerate' })).toHaveCount(0);
  await expect(row.getByRole('button', { name: 'Delete' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Add Sandbox API Token' })).toHaveCount(0);
  await expectNoAxeViolations(page);

  await signOut(page);
  await signIn(page, 'provider@keyport.example');
  await openConsole(page);
  await page.getByRole('button', { name: 'Enable Primary' }).click();
  await expect(credential).toContainText('Enabled');

  await signOut(page);
  await signIn(page, 'api@acme.example');
  await openSandbox(page);
  await expect(page.getByRole('row', { name: /Primary/ }).getByRole('button', { name: 'Regenerate' })).toBeVisible();
});

test('the quota meter warns from 80 % of the daily allowance', async ({ page, request }) => {
  await signIn(page, 'provider@keyport.example');
  await openConsole(page);
  await saveAllowance(page, '5');
  await signOut(page);

  await signIn(page, 'api@acme.example');
  await openSandbox(page);
  await expect(page.getByText(/0 of 5 Sandbox API calls used today/).first()).toBeVisible();
  await expect(page.getByText(/used 80 % or more/)).toHaveCount(0);
  await page.getByRole('button', { name: 'Add Sandbox API Token' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add Sandbox API Token' });
  await dialog.getByLabel('Name').fill('Quota probe');
  await dialog.getByRole('button', { name: 'Save' }).click();
  const secret = (await page.locator('code.issued-secret').textContent())!.trim();
  for (let i = 0; i < 4; i++) {
    const r = await request.post(`/o/acme/zscsb/submit?api_token=${secret}&force=0`, { data: FILE });
    expect(r.status()).toBe(200);
  }
  await openSandbox(page);
  await expect(page.getByText(/4 of 5 Sandbox API calls used today \(80 %\)/).first()).toBeVisible();
  await expect(page.getByText(/used 80 % or more of its daily Sandbox API-call allowance/)).toBeVisible();
  await expectNoAxeViolations(page);

  // Put things back: the probe goes, the allowance returns to the default.
  const row = page.getByRole('row', { name: /Quota probe/ });
  await row.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Ok' }).click();
  await expect(row).toHaveCount(0);
  await signOut(page);
  await signIn(page, 'provider@keyport.example');
  await openConsole(page);
  await saveAllowance(page, '100');
});

test('Regenerate and Delete show the blast radius before acting', async ({ page, request }) => {
  await signIn(page, 'api@acme.example');
  await page.goto(CLOUD);
  await waitForHydration(page);
  const row = page.getByRole('row').nth(1);
  await row.getByRole('button', { name: 'Show key' }).click();
  const value = row.locator('code.secret-value');
  await expect(value).toHaveText(/^[A-Za-z0-9]{12}$/);
  const key = (await value.textContent())!.trim();
  const timestamp = String(Date.now());
  const login = await request.post('/o/acme/api/v1/authenticatedSession', {
    data: { apiKey: obfuscate(key, timestamp), username: 'api@acme.example', password: 'Keyport-demo-1', timestamp },
  });
  expect(login.status()).toBe(200);
  expect((await request.get('/o/acme/api/v1/status')).status()).toBe(200);

  await page.reload();
  await waitForHydration(page);
  await page.getByRole('row').nth(1).getByRole('button', { name: 'Regenerate' }).click();
  const confirm = page.getByRole('alertdialog', { name: 'Regenerate API Key' });
  await expect(confirm).toContainText(/Last used \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC from 127\.0\.0\.1/);
  await expect(confirm).toContainText(/It served \d+ calls in the last hour\./);
  await expect(confirm).toContainText('This action cannot be undone.');
  await expectNoAxeViolations(page);
  await confirm.getByRole('button', { name: 'Cancel' }).click();

  await page.getByRole('row').nth(1).getByRole('button', { name: 'Delete' }).click();
  const del = page.getByRole('alertdialog', { name: 'Delete API Key' });
  await expect(del).toContainText('from 127.0.0.1');
  await del.getByRole('button', { name: 'Cancel' }).click();
  // Nothing changed: the key still works.
  expect((await request.get('/o/acme/api/v1/status')).status()).toBe(200);
});

test('Test authentication runs the round trip and shows each step, without the key for roles that may not reveal it', async ({ page }) => {
  await signIn(page, 'api@acme.example');
  await page.goto(CLOUD);
  await waitForHydration(page);
  await page.getByLabel('Your password').fill('Keyport-demo-1');
  await page.getByRole('button', { name: 'Test authentication' }).click();
  await expect(page.getByText('Authentication succeeded.')).toBeVisible();
  const steps = page.getByRole('list', { name: 'Steps' });
  for (const label of ['Timestamp', 'Obfuscate the key', 'POST http://127.0.0.1:3100/o/acme/api/v1/authenticatedSession', 'Session', 'GET http://127.0.0.1:3100/o/acme/api/v1/status']) {
    await expect(steps).toContainText(label);
  }
  await expect(steps.locator('li').nth(1).locator('code')).toHaveText(/^[A-Za-z0-9]{12}$/);
  await expectNoAxeViolations(page);

  await signOut(page);
  await signIn(page, 'readonly@acme.example');
  await page.goto(CLOUD);
  await waitForHydration(page);
  await page.getByLabel('Your password').fill('Keyport-demo-1');
  await page.getByRole('button', { name: 'Test authentication' }).click();
  // Read-Only Admins have no API access (docs/ROLES.md): the round trip
  // stops at the sign-in, which says why, and the key stays hidden.
  await expect(page.getByText('Authentication failed.')).toBeVisible();
  const readonlySteps = page.getByRole('list', { name: 'Steps' });
  await expect(readonlySteps.locator('li').nth(1)).toContainText('hidden: your role may not reveal the key');
  await expect(readonlySteps.locator('li').nth(2)).toContainText('API_ACCESS_NOT_GRANTED');
});

test('an admin of two organisations sets one key in both in one step', async ({ page, request }) => {
  await signIn(page, 'multi@example.com');
  await page.goto(CLOUD);
  await waitForHydration(page);
  const row = page.getByRole('row').nth(1);
  await row.getByRole('button', { name: 'Show key' }).click();
  await expect(row.locator('code.secret-value')).toHaveText(/^[A-Za-z0-9]{12}$/);
  const key = (await row.locator('code.secret-value').textContent())!.trim();

  await page.getByRole('button', { name: 'Use this key in other organisations' }).click();
  const dialog = page.getByRole('dialog', { name: 'Use this key in other organisations' });
  await dialog.getByLabel('Globex').check();
  await expectNoAxeViolations(page);
  await dialog.getByRole('button', { name: 'Set the key' }).click();
  const results = dialog.getByRole('list', { name: 'Results per organisation' });
  await expect(results).toContainText('Globex — Done: Key set.');
  await dialog.getByRole('button', { name: 'Close' }).click();

  // globex now accepts acme's key.
  const timestamp = String(Date.now());
  const login = await request.post('/o/globex/api/v1/authenticatedSession', {
    data: { apiKey: obfuscate(key, timestamp), username: 'api@globex.example', password: 'Keyport-demo-1', timestamp },
  });
  expect(login.status()).toBe(200);

  // And shows it, after switching organisation.
  await page.getByLabel('Organisation').selectOption('globex');
  await page.getByRole('button', { name: 'Switch' }).click();
  await expect(page.locator('.org-switcher select')).toHaveValue('globex');
  await page.goto(CLOUD);
  await waitForHydration(page);
  await expect(page.getByRole('row').nth(1).locator('code.secret-value')).toHaveText(`••••${key.slice(-4)}`);
});
