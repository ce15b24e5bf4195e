// The Sandbox API Token tab, as each demo role uses it.
import { expect, expectNoAxeViolations, openSandbox, signIn, SANDBOX, test, waitForHydration } from './helpers';

const FILE = 'MZ pretend executable';

test('an API Admin adds, reveals, regenerates and deletes a token; the old one stops working at once', async ({ page, request }) => {
  await signIn(page, 'api@acme.example');
  await openSandbox(page);

  await page.getByRole('button', { name: 'Add Sandbox API Token' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add Sandbox API Token' });
  await dialog.getByLabel('Name').fill('E2E token');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Token “E2E token” added.' })).toBeVisible();

  const row = page.getByRole('row', { name: /E2E token/ });
  await expect(row).toBeVisible();
  const value = row.locator('code.secret-value');
  await expect(value).toHaveText(/^••••[A-Za-z0-9]{4}$/);

  await row.getByRole('button', { name: 'Show token' }).click();
  await expect(value).toHaveText(/^[A-Za-z0-9]{32}$/);
  const oldToken = (await value.textContent())!.trim();
  await expect(row.getByRole('button', { name: 'Hide token' })).toBeVisible();

  const okOld = await request.post(`/o/acme/zscsb/submit?api_token=${oldToken}&force=0`, { data: FILE });
  expect(okOld.status()).toBe(200);

  await row.getByRole('button', { name: 'Regenerate' }).click();
  const confirm = page.getByRole('alertdialog', { name: 'Regenerate Sandbox API Token' });
  await expect(confirm).toContainText('This action cannot be undone.');
  await confirm.getByRole('button', { name: 'Ok' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'regenerated' })).toBeVisible();
  await expect(confirm).toBeHidden();

  const newRow = page.getByRole('row', { name: /E2E token/ });
  await newRow.getByRole('button', { name: 'Show token' }).click();
  const newValue = newRow.locator('code.secret-value');
  await expect(newValue).toHaveText(/^[A-Za-z0-9]{32}$/);
  const newToken = (await newValue.textContent())!.trim();
  expect(newToken).not.toBe(oldToken);

  const stale = await request.post(`/o/acme/zscsb/submit?api_token=${oldToken}&force=0`, { data: FILE });
  expect(stale.status()).toBe(401);
  const fresh = await request.post(`/o/acme/zscsb/submit?api_token=${newToken}&force=0`, { data: FILE });
  expect(fresh.status()).toBe(200);
  expect((await fresh.json()).message).toBe('/submit response OK');

  await newRow.getByRole('button', { name: 'Delete' }).click();
  const del = page.getByRole('alertdialog', { name: 'Delete Sandbox API Token' });
  await del.getByRole('button', { name: 'Ok' }).click();
  await expect(page.getByRole('row', { name: /E2E token/ })).toHaveCount(0);
  const deleted = await request.post(`/o/acme/zscsb/submit?api_token=${newToken}&force=0`, { data: FILE });
  expect(deleted.status()).toBe(401);
});

test('Cancel in the confirmation changes nothing, and Edit renames', async ({ page }) => {
  await signIn(page, 'super@acme.example');
  await openSandbox(page);
  const row = page.getByRole('row', { name: /CI pipeline/ });
  const masked = await row.locator('code.secret-value').textContent();
  await row.getByRole('button', { name: 'Regenerate' }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('alertdialog')).toHaveCount(0);
  await expect(row.locator('code.secret-value')).toHaveText(masked!);

  await row.getByRole('button', { name: 'Edit' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit Sandbox API Token' });
  await dialog.getByLabel('Name').fill('');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(dialog.getByText('Enter a name for the token.')).toBeVisible();
  await dialog.getByLabel('Name').fill('Primary');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(dialog.getByText('This name is already used by another token.')).toBeVisible();
  await dialog.getByLabel('Name').fill('CI pipeline (build)');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('row', { name: /CI pipeline \(build\)/ })).toBeVisible();
  // Put it back for the other tests.
  await page.getByRole('row', { name: /CI pipeline \(build\)/ }).getByRole('button', { name: 'Edit' }).click();
  await page.getByRole('dialog').getByLabel('Name').fill('CI pipeline');
  await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('row', { name: /^CI pipeline/ })).toBeVisible();
});

test('a Read-Only Admin sees the table but no actions and no reveal', async ({ page }) => {
  await signIn(page, 'readonly@acme.example');
  await openSandbox(page);
  await expect(page.getByRole('row', { name: /Primary/ })).toBeVisible();
  for (const name of ['Add Sandbox API Token', 'Edit', 'Regenerate', 'Delete', 'Show token', 'Copy']) {
    await expect(page.getByRole('button', { name, exact: true })).toHaveCount(0);
  }
  await expectNoAxeViolations(page);
});

test('a Cloud Connector Admin may reveal but not change', async ({ page }) => {
  await signIn(page, 'connector@acme.example');
  await openSandbox(page);
  const row = page.getByRole('row', { name: /Primary/ });
  await row.getByRole('button', { name: 'Show token' }).click();
  await expect(row.locator('code.secret-value')).toHaveText(/^[A-Za-z0-9]{32}$/);
  for (const name of ['Add Sandbox API Token', 'Edit', 'Regenerate', 'Delete']) {
    await expect(page.getByRole('button', { name, exact: true })).toHaveCount(0);
  }
});

test('Globex (expired Sandbox subscription) sees everything and can change nothing', async ({ page }) => {
  await signIn(page, 'api@globex.example');
  await openSandbox(page);
  await expect(page.getByText('Your Sandbox subscription has expired.', { exact: false })).toBeVisible();
  const row = page.getByRole('row', { name: /Primary/ });
  await expect(row.getByText('Disabled', { exact: true })).toBeVisible();
  for (const name of ['Add Sandbox API Token', 'Edit', 'Regenerate', 'Delete']) {
    await expect(page.getByRole('button', { name, exact: true })).toHaveCount(0);
  }
  await expectNoAxeViolations(page);
});

test('the signed-in pages and the sign-in page pass axe-core', async ({ page }) => {
  await page.goto('/login');
  await expectNoAxeViolations(page);
  await signIn(page, 'api@acme.example');
  await expectNoAxeViolations(page);
  await openSandbox(page);
  await expectNoAxeViolations(page);
  await page.getByRole('button', { name: 'Add Sandbox API Token' }).click();
  await expectNoAxeViolations(page);
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  for (const tab of ['Cloud Service API Key', 'OAuth 2.0 Authorization Servers']) {
    await page.getByRole('link', { name: tab }).click();
    await expect(page.getByRole('heading', { name: tab })).toBeVisible();
    await expectNoAxeViolations(page);
  }
});

test('a wrong password is refused with a clear message', async ({ page }) => {
  await page.goto('/login');
  await waitForHydration(page);
  await page.getByLabel('Username').fill('nobody@example.com');
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Sign In', exact: true }).click();
  await expect(page.getByRole('alert')).toContainText('Invalid username or password.');
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('a failed sign-in says so', async ({ page }) => {
    await page.goto('/login');
    await page.getByLabel('Username').fill('nobody@example.com');
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign In', exact: true }).click();
    await expect(page).toHaveURL(/\/login\?__path=/);
    await expect(page.getByRole('alert')).toContainText('Invalid username or password.');
  });

  test('signing in works and the page renders its table', async ({ page }) => {
    await page.goto('/login');
    await expect(page.getByText('Demo environment')).toBeVisible();
    await page.getByLabel('Username').fill('readonly@acme.example');
    await page.getByLabel('Password').fill('Keyport-demo-1');
    await page.getByRole('button', { name: 'Sign In', exact: true }).click();
    await page.goto(SANDBOX);
    await expect(page.getByRole('row', { name: /Primary/ })).toBeVisible();
    await expect(page.getByRole('row', { name: /CI pipeline/ })).toBeVisible();
    await expect(page.getByText('http://127.0.0.1:3100/o/acme')).toBeVisible();
    await expect(page.getByRole('link', { name: 'Sandbox API Token' })).toHaveAttribute('aria-current', 'page');
  });
});

test('a revealed token hides itself after 30 seconds, and Copy puts it on the clipboard', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.clock.install();
  await signIn(page, 'api@acme.example');
  await openSandbox(page);
  const row = page.getByRole('row', { name: /Primary/ });
  const value = row.locator('code.secret-value');
  await row.getByRole('button', { name: 'Show token' }).click();
  await expect(value).toHaveText(/^[A-Za-z0-9]{32}$/);
  const secret = (await value.textContent())!.trim();

  await row.getByRole('button', { name: 'Copy', exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Copied to the clipboard.' })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

  await page.clock.runFor(29_000);
  await expect(value).toHaveText(secret);
  await page.clock.runFor(2_000);
  await expect(value).toHaveText(/^••••[A-Za-z0-9]{4}$/);
  await expect(row.getByRole('button', { name: 'Show token' })).toBeVisible();
});

test('at the limit the Add button is withdrawn and the page says why', async ({ page }) => {
  await signIn(page, 'super@acme.example');
  await openSandbox(page);
  const added: string[] = [];
  while (await page.getByRole('button', { name: 'Add Sandbox API Token' }).isVisible()) {
    const name = `Limit ${added.length + 1}`;
    await page.getByRole('button', { name: 'Add Sandbox API Token' }).click();
    await page.getByRole('dialog').getByLabel('Name').fill(name);
    await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
    await expect(page.getByRole('row', { name: new RegExp(name) })).toBeVisible();
    added.push(name);
  }
  await expect(page.getByRole('row')).toHaveCount(6); // header + 5 tokens
  await expect(page.getByText('Delete an existing token before adding a new one.')).toBeVisible();
  // Clean up for the tests that follow.
  for (const name of added) {
    await page.getByRole('row', { name: new RegExp(name) }).getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Ok' }).click();
    await expect(page.getByRole('row', { name: new RegExp(name) })).toHaveCount(0);
  }
  await expect(page.getByRole('button', { name: 'Add Sandbox API Token' })).toBeVisible();
});

test('signed-out visitors are sent to the sign-in page, and Sign Out ends the session', async ({ page }) => {
  await page.goto(SANDBOX);
  await expect(page).toHaveURL(/\/login$/);
  await signIn(page, 'api@acme.example');
  await page.getByRole('button', { name: 'Sign Out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto(SANDBOX);
  await expect(page).toHaveURL(/\/login$/);
});

test('the column choice and sort survive a reload, and Reset restores the default', async ({ page }) => {
  await signIn(page, 'api@acme.example');
  await openSandbox(page);
  const headers = page.getByRole('table', { name: 'Sandbox API Tokens' }).getByRole('columnheader');
  await expect(headers.filter({ hasText: 'API Calls (24h)' })).toHaveCount(0);

  await page.getByText('Columns', { exact: true }).click();
  await page.getByRole('checkbox', { name: 'API Calls (24h)' }).check();
  await page.getByRole('button', { name: 'Move API Calls (24h) up' }).click();
  await expect(headers.filter({ hasText: 'API Calls (24h)' })).toHaveCount(1);
  await page.getByRole('button', { name: 'Name', exact: true }).click(); // ascending
  await page.getByRole('button', { name: 'Name', exact: true }).click(); // descending
  await expect(page.getByRole('columnheader', { name: 'Name' })).toHaveAttribute('aria-sort', 'descending');

  // The server renders the saved layout: even without JavaScript after a reload.
  await page.waitForTimeout(500);
  await page.reload();
  await waitForHydration(page);
  await expect(headers.filter({ hasText: 'API Calls (24h)' })).toHaveCount(1);
  await expect(page.getByRole('columnheader', { name: 'Name' })).toHaveAttribute('aria-sort', 'descending');
  const names = await page.getByRole('table', { name: 'Sandbox API Tokens' }).getByRole('rowheader').allTextContents();
  expect(names).toEqual([...names].sort().reverse());
  await expectNoAxeViolations(page);

  await page.getByText('Columns', { exact: true }).click();
  await page.getByRole('button', { name: 'Reset' }).click();
  await expect(headers.filter({ hasText: 'API Calls (24h)' })).toHaveCount(0);
  await page.waitForTimeout(500);
  await page.reload();
  await expect(headers.filter({ hasText: 'API Calls (24h)' })).toHaveCount(0);
});
