// The OAuth 2.0 Authorization Servers tab, validating a JWKS served by a
// small local server that this test starts.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, expectNoAxeViolations, signIn, test, waitForHydration } from './helpers';

const OAUTH = '/administration/api-configuration/legacy-api/internet-saas-api/oauth-authorization-servers';
const JWKS = JSON.stringify({ keys: [{ kty: 'RSA', kid: 'e2e-key', alg: 'RS256', use: 'sig', n: 'sXch', e: 'AQAB' }] });

let server: http.Server;
let jwksUrl = '';

test.beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/jwks') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JWKS);
    } else {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});

test.afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

test('an API Admin validates a JWKS, saves, and meets the limits', async ({ page }) => {
  await signIn(page, 'api@acme.example');
  await page.goto(OAUTH);
  await waitForHydration(page);

  for (const [name, enabled] of [['Okta', true], ['AzureAD', false]] as const) {
    await page.getByRole('button', { name: 'Add Authorization Server' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add Authorization Server' });
    if (enabled) await dialog.getByRole('switch', { name: 'Enable' }).check();
    await dialog.getByLabel('Name').fill(name);
    await dialog.getByLabel('Description').fill(`${name} for the API`);
    await dialog.getByLabel('OAuth 2.0 JWKS Location').fill(`${jwksUrl.replace('/jwks', '/nope')}`);
    await dialog.getByRole('button', { name: 'Validate' }).click();
    // The remote status and body are not echoed (docs/SECURITY.md, outbound requests).
    await expect(dialog.getByText('The server did not answer with the document.')).toBeVisible();
    await expect(dialog.getByRole('button', { name: 'Save' })).toHaveCount(0);
    await dialog.getByLabel('OAuth 2.0 JWKS Location').fill(jwksUrl);
    await dialog.getByRole('button', { name: 'Validate' }).click();
    await expect(dialog.getByText('kid e2e-key · RSA · RS256')).toBeVisible();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByRole('row', { name: new RegExp(name) })).toBeVisible();
  }
  await expect(page.getByRole('row', { name: /Okta/ })).toContainText('Enabled');
  await expect(page.getByRole('button', { name: 'Add Authorization Server' })).toHaveCount(0);
  await expect(page.getByText('at most 2 authorization servers')).toBeVisible();
  await expectNoAxeViolations(page);

  // A second enabled server is refused.
  await page.getByRole('row', { name: /AzureAD/ }).getByRole('button', { name: 'Edit' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit Authorization Server' });
  await edit.getByRole('switch', { name: 'Enable' }).check();
  await edit.getByRole('button', { name: 'Validate' }).click();
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Only one authorization server can be enabled' })).toBeVisible();
  await edit.getByRole('button', { name: 'Cancel' }).click();

  for (const name of ['Okta', 'AzureAD']) {
    await page.getByRole('row', { name: new RegExp(name) }).getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Ok' }).click();
    await expect(page.getByRole('row', { name: new RegExp(name) })).toHaveCount(0);
  }
});

test('a Read-Only Admin sees the tab without controls', async ({ page }) => {
  await signIn(page, 'readonly@acme.example');
  await page.goto(OAUTH);
  await waitForHydration(page);
  await expect(page.getByRole('columnheader', { name: 'Authorization Server Name' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Add Authorization Server' })).toHaveCount(0);
  await expectNoAxeViolations(page);
});
