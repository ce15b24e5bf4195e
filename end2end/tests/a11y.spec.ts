// Every page at a desktop width (1440 px) and a phone's (390 px): axe-core
// finds nothing, the page never scrolls sideways, and wide tables scroll in
// their own labelled, focusable region (docs/PAGES.md#narrow-screens).
import type { Page } from '@playwright/test';
import { expect, expectNoAxeViolations, SANDBOX, signIn, test, waitForHydration } from './helpers';

const CONFIGURATION = [
  '/administration/api-configuration',
  '/administration/api-configuration/legacy-api/internet-saas-api/cloud-service-api-key',
  '/administration/api-configuration/legacy-api/internet-saas-api/oauth-authorization-servers',
  SANDBOX,
  '/administration/api-configuration/legacy-api/cloud-branch-connector-api/api-key-management',
];
const AUDIT = '/administration/audit-logs';

/** axe, no sideways page scroll, and scroll regions as a keyboard user needs them. */
async function expectCleanAndFitting(page: Page, width: number) {
  await expectNoAxeViolations(page);
  const scrollWidth = await page.evaluate(() => document.scrollingElement!.scrollWidth);
  expect(scrollWidth, `${page.url()} scrolls sideways`).toBeLessThanOrEqual(width);
  for (const region of await page.locator('.table-scroll').all()) {
    await expect(region).toHaveAttribute('role', 'region');
    await expect(region).toHaveAttribute('tabindex', '0');
    const named = await region.evaluate((e) => !!(e.getAttribute('aria-label') || e.getAttribute('aria-labelledby')));
    expect(named, 'a scroll region has a name').toBe(true);
    expect(await region.evaluate((e) => getComputedStyle(e).overflowX)).toBe('auto');
  }
}

async function visit(page: Page, path: string) {
  await page.goto(path);
  await waitForHydration(page);
}

for (const width of [1440, 390]) {
  test.describe(`at ${width} px`, () => {
    test.use({ viewport: { width, height: 900 } });

    test('the sign-in page', async ({ page }) => {
      await visit(page, '/login');
      await expectCleanAndFitting(page, width);
    });

    test('the API Configuration pages and the audit log, for an API Admin', async ({ page }) => {
      await signIn(page, 'api@acme.example');
      for (const path of [...CONFIGURATION, AUDIT]) {
        await visit(page, path);
        await expectCleanAndFitting(page, width);
      }
      // A destructive confirmation, open: its red Ok passes the contrast check.
      await visit(page, SANDBOX);
      await page.getByRole('row', { name: /Primary/ }).getByRole('button', { name: 'Regenerate' }).click();
      const confirm = page.getByRole('alertdialog', { name: 'Regenerate Sandbox API Token' });
      await expect(confirm).toBeVisible();
      await expectCleanAndFitting(page, width);
      await confirm.getByRole('button', { name: 'Cancel' }).click();
    });

    test('the view-only pages, for a Read-Only Admin', async ({ page }) => {
      await signIn(page, 'readonly@acme.example');
      for (const path of [...CONFIGURATION, AUDIT]) {
        await visit(page, path);
        await expectCleanAndFitting(page, width);
      }
    });

    test('the provider console, and its refusal to a Super Admin', async ({ page }) => {
      await signIn(page, 'provider@keyport.example');
      await visit(page, '/provider');
      await expect(page.getByRole('heading', { name: 'Acme Corp (acme)' })).toBeVisible();
      await expectCleanAndFitting(page, width);
      await page.getByRole('button', { name: 'Disable Primary' }).click();
      await expect(page.getByRole('alertdialog')).toBeVisible();
      await expectCleanAndFitting(page, width);
      await page.getByRole('alertdialog').getByRole('button', { name: 'Cancel' }).click();

      await page.getByRole('button', { name: 'Sign Out' }).click();
      await signIn(page, 'super@acme.example');
      await visit(page, '/provider');
      await expect(page.getByRole('heading', { name: 'You are not permitted to view this page' })).toBeVisible();
      await expectCleanAndFitting(page, width);
    });
  });
}
