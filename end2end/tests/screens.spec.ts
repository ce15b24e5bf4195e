// The screens to a commercial standard (docs/PAGES.md): the console refused
// to other roles, confirmations with their blast radius, a reveal that moves
// nothing, View only, labels, local times, hideable columns and the demo's
// one-click sign-in. Each test puts back what it changed.
import type { Locator, Page } from '@playwright/test';
import { expect, openSandbox, SANDBOX, signIn, signOut, test, waitForHydration } from './helpers';

const CLOUD = '/administration/api-configuration/legacy-api/internet-saas-api/cloud-service-api-key';
const AUDIT = '/administration/audit-logs';

async function openConsole(page: Page) {
  await page.goto('/provider');
  await waitForHydration(page);
  await expect(page.getByRole('heading', { name: 'Acme Corp (acme)' })).toBeVisible();
}

test('other roles get a 403 page instead of the provider console, and no link to it', async ({ page }) => {
  for (const user of ['super@acme.example', 'api@acme.example', 'readonly@acme.example', 'connector@acme.example']) {
    await signIn(page, user);
    await expect(page.getByRole('link', { name: 'Provider Console' })).toHaveCount(0);
    const response = await page.goto('/provider');
    expect(response!.status(), user).toBe(403);
    await waitForHydration(page);
    await expect(page.getByRole('heading', { name: 'You are not permitted to view this page', level: 1 })).toBeVisible();
    await expect(page.getByText('Create an organisation')).toHaveCount(0);
    await expect(page.getByRole('textbox')).toHaveCount(0);
    await page.getByRole('link', { name: 'Go to API Configuration' }).click();
    await expect(page).toHaveURL(/\/administration\/api-configuration$/);
    await signOut(page);
  }
  await signIn(page, 'provider@keyport.example');
  await expect(page.getByRole('link', { name: 'Provider Console' })).toBeVisible();
});

test('Disable, Remove and subscription changes in the console ask first, with what they stop', async ({ page }) => {
  await signIn(page, 'provider@keyport.example');
  await openConsole(page);
  const credential = page.locator('li.credential').filter({ hasText: 'Primary' });

  await page.getByRole('button', { name: 'Disable Primary' }).click();
  const disable = page.getByRole('alertdialog', { name: 'Disable Sandbox API Token' });
  await expect(disable).toContainText('Disable “Primary” in Acme Corp (reason: Other)?');
  await expect(disable).toContainText('integrations using it fail until it is re-enabled');
  await expect(disable).toContainText('You can enable it again at any time.');
  const ok = disable.getByRole('button', { name: 'Ok' });
  await expect(ok).toHaveClass(/danger/);
  expect(await ok.evaluate((b) => getComputedStyle(b).backgroundColor)).toBe('rgb(164, 22, 26)');
  await disable.getByRole('button', { name: 'Cancel' }).click();
  await expect(disable).toHaveCount(0);
  await expect(credential).toContainText('Enabled');

  await page.getByRole('button', { name: 'Remove readonly@acme.example' }).click();
  const remove = page.getByRole('alertdialog', { name: 'Remove administrator' });
  await expect(remove).toContainText('Removing readonly@acme.example ends their portal sessions and API sessions in Acme Corp now.');
  await expect(remove).toContainText('This action cannot be undone.');
  await remove.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('rowheader', { name: 'readonly@acme.example' })).toBeVisible();

  await page.getByLabel('State').first().selectOption('expired');
  await page.getByRole('button', { name: 'Save Sandbox subscription' }).click();
  const expire = page.getByRole('alertdialog', { name: 'Expire the Sandbox subscription' });
  await expect(expire).toContainText(/Its \d+ Sandbox API tokens? stops? accepting submissions at once/);
  await expire.getByRole('button', { name: 'Cancel' }).click();
  await openConsole(page);
  await expect(page.getByText('Now: Active').first()).toBeVisible();
});

/** The row's buttons, where they are on screen. */
async function boxes(buttons: Locator[]) {
  return Promise.all(buttons.map(async (b) => (await b.boundingBox())!));
}

test.describe('at 1440 px', () => {
  test.use({ viewport: { width: 1440, height: 900 } });

  test('revealing a secret moves nothing and cuts off no action; Copy copies all of it', async ({ page, context }) => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await signIn(page, 'api@acme.example');
    await openSandbox(page);
    const row = page.getByRole('row', { name: /Primary/ });
    const value = row.locator('code.secret-value');
    const style = await value.evaluate((e) => {
      const s = getComputedStyle(e);
      return { font: s.fontFamily, overflow: s.textOverflow, wrap: s.whiteSpace };
    });
    expect(style.font).toMatch(/mono|Menlo|Consolas/i);
    expect(style).toMatchObject({ overflow: 'ellipsis', wrap: 'nowrap' });
    const buttons = ['Edit', 'Regenerate', 'Delete'].map((name) => row.getByRole('button', { name, exact: true }));
    const before = await boxes(buttons);
    const valueBefore = (await value.boundingBox())!;

    await row.getByRole('button', { name: 'Show token' }).click();
    await expect(value).toHaveText(/^[A-Za-z0-9]{32}$/);
    const after = await boxes(buttons);
    expect(after).toEqual(before);
    expect((await value.boundingBox())!).toEqual(valueBefore);
    // Fully visible: inside the table's region and the window.
    const region = (await page.locator('.table-scroll').first().boundingBox())!;
    for (const b of after) {
      expect(b.x).toBeGreaterThanOrEqual(region.x);
      expect(b.x + b.width).toBeLessThanOrEqual(Math.min(region.x + region.width, 1440));
    }

    const secret = (await value.textContent())!.trim();
    await row.getByRole('button', { name: 'Copy', exact: true }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Copied to the clipboard.' })).toBeVisible();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
  });
});

test('View only is said at the top of the pages a role cannot change', async ({ page }) => {
  await signIn(page, 'readonly@acme.example');
  await openSandbox(page);
  const notice = page.getByRole('note').filter({ hasText: 'View only.' });
  await expect(notice).toHaveText('View only. Your role (Read-Only Admin) can see this page but not change it.');
  await signOut(page);

  await signIn(page, 'connector@acme.example');
  await page.goto(CLOUD);
  await expect(page.getByRole('note').filter({ hasText: 'View only.' })).toContainText('Cloud Connector Admin');
  await signOut(page);

  await signIn(page, 'api@acme.example');
  await openSandbox(page);
  await expect(page.getByRole('note').filter({ hasText: 'View only.' })).toHaveCount(0);
});

test('the audit log names sub-categories as the pages do', async ({ page }) => {
  await signIn(page, 'readonly@acme.example');
  // A refused change, sent as a script would: the guard records it.
  const refused = await page.request.post('/api/sandbox-tokens/add', { form: { name: 'Nope' } });
  expect(refused.status()).toBe(403);
  await signOut(page);

  await signIn(page, 'api@acme.example');
  await page.goto(`${AUDIT}?action=access`);
  await waitForHydration(page);
  const row = page.getByRole('row').filter({ hasText: 'readonly@acme.example' }).first();
  await expect(row).toContainText('Sandbox API Token');
  await expect(page.getByRole('cell', { name: /Manage|_/ })).toHaveCount(0);
});

test('seeded credentials say Provider, not system', async ({ page }) => {
  // Globex's expired Sandbox subscription keeps its seeded token untouched.
  await signIn(page, 'api@globex.example');
  await openSandbox(page);
  const headers = await page.getByRole('table', { name: 'Sandbox API Tokens' }).getByRole('columnheader').allTextContents();
  const by = headers.findIndex((h) => h.includes('Last Modified By'));
  const cells = page.getByRole('row', { name: /Primary/ }).locator('th, td');
  await expect(cells.nth(by)).toHaveText('Provider');
});

test.describe('in Tokyo', () => {
  test.use({ timezoneId: 'Asia/Tokyo' });

  test('times show in the viewer\'s zone, with UTC on hover', async ({ page }) => {
    await signIn(page, 'api@acme.example');
    await openSandbox(page);
    const time = page.getByRole('table', { name: 'Sandbox API Tokens' }).locator('time').first();
    const iso = (await time.getAttribute('datetime'))!;
    expect(iso).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const utc = new Date(iso);
    const tokyo = new Date(utc.getTime() + 9 * 3600_000);
    const fmt = (d: Date) => d.toISOString().slice(0, 19).replace('T', ' ');
    await expect(time).toHaveText(`${fmt(tokyo)} UTC+09:00`);
    await expect(time).toHaveAttribute('title', `${fmt(utc)} UTC`);
  });
});

test('Last Used shows by default, and every column but Name can be hidden', async ({ page }) => {
  await signIn(page, 'super@acme.example');
  await openSandbox(page);
  const headers = page.getByRole('table', { name: 'Sandbox API Tokens' }).getByRole('columnheader');
  await expect(headers.filter({ hasText: 'Last Used' })).toHaveCount(1);
  await page.getByText('Columns', { exact: true }).click();
  await expect(page.getByRole('checkbox', { name: 'Name' })).toBeDisabled();
  for (const name of ['Sandbox API Token', 'Status', 'Last Modified By', 'Last Modified On', 'Last Used']) {
    await page.getByRole('checkbox', { name, exact: true }).uncheck();
  }
  await expect(headers).toHaveText(['Name', 'Actions']);
  await page.getByRole('button', { name: 'Reset' }).click();
  await expect(headers.filter({ hasText: 'Status' })).toHaveCount(1);
  await page.waitForTimeout(500);
});

test('the demo signs in with one click and says it is a demo', async ({ page }) => {
  await page.goto('/login');
  await waitForHydration(page);
  await expect(page.getByText('Demo data — reset nightly at 03:00 UTC.')).toBeVisible();
  await page.getByRole('button', { name: 'Sign in as readonly@acme.example' }).click();
  await expect(page).toHaveURL(/\/administration\/api-configuration$/);
  await expect(page.getByRole('note').filter({ hasText: 'Demo data' })).toHaveText('Demo data — reset nightly at 03:00 UTC.');
  await expect(page.locator('.who')).toContainText('readonly@acme.example');
  await page.goto(SANDBOX);
  await expect(page.getByRole('note').filter({ hasText: 'Demo data' })).toBeVisible();
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('one-click sign-in works, and the console refusal is a plain 403 page', async ({ page }) => {
    await page.goto('/login');
    await page.getByRole('button', { name: 'Sign in as super@acme.example' }).click();
    await expect(page).toHaveURL(/\/administration\/api-configuration$/);
    const response = await page.goto('/provider');
    expect(response!.status()).toBe(403);
    await expect(page.getByRole('heading', { name: 'You are not permitted to view this page' })).toBeVisible();
  });
});
