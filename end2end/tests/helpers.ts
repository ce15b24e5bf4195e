// Shared steps for Keyport's browser tests.
import { test as base, expect, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';

export const PASSWORD = 'Keyport-demo-1';
export const SANDBOX = '/administration/api-configuration/legacy-api/internet-saas-api/sandbox-api-token';

/** Signs in through the form, as a person does. */
export async function signIn(page: Page, username: string) {
  await page.goto('/login');
  await waitForHydration(page);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign In', exact: true }).click();
  await expect(page).toHaveURL(/\/administration\/api-configuration$/);
}

/** Opens the Sandbox API Token tab and waits until it is interactive. */
export async function openSandbox(page: Page) {
  await page.goto(SANDBOX);
  await waitForHydration(page);
  await expect(page.getByRole('heading', { name: 'Sandbox API Token' })).toBeVisible();
}

/** The reference SDKs' obfuscation (docs/CONSUMER-API.md#the-obfuscation). */
export function obfuscate(key: string, timestamp: string): string {
  const n = timestamp.slice(-6);
  const r = String(parseInt(n, 10) >> 1).padStart(6, '0');
  return [...n].map((d) => key[Number(d)]).join('') + [...r].map((d) => key[Number(d) + 2]).join('');
}

/** Signs out with the header's button. */
export async function signOut(page: Page) {
  await page.getByRole('button', { name: 'Sign Out' }).click();
  await expect(page).toHaveURL(/\/login/);
}

export async function waitForHydration(page: Page) {
  await page.locator('body[data-hydrated="true"]').waitFor({ state: 'attached', timeout: 30_000 });
}

/** An axe-core scan of the page as it is now: no violations allowed. */
export async function expectNoAxeViolations(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  const summary = results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  expect(summary).toEqual([]);
}

/** Playwright's `test`, with the browser's errors printed when a test fails. */
export const test = base.extend({
  page: async ({ page }, use, testInfo) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    await use(page);
    if (testInfo.status !== testInfo.expectedStatus && errors.length > 0) {
      console.log(`Browser errors in "${testInfo.title}":\n${errors.join('\n')}`);
    }
  },
});
export { expect };
