/**
 * The web UI behind the auth plugin, in a real browser (Chromium through playwright-core, on
 * the real server): the page's files load without a key (they hold no data), every API call
 * needs one, the UI asks for it with the server's reason, and keeps it only where the user
 * chose — this page, this tab, or this browser. A wrong key is refused and asked again.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshot, watchPageHealth } from '../support/browser.ts';
import { startUiServer, type UiServer } from '../support/ui-server.ts';
import { chooseModel, composer, inPage, lastReply, sendMessage, waitForReplyEnd } from './chat-page.ts';

const KEY = 'pb-ui-auth-test-key-0123456789abcdef';
const hashOf = (key: string) => `sha256:${createHash('sha256').update(key).digest('hex')}`;

describe('web UI with the auth plugin', () => {
  let server: UiServer;
  let browser: Browser;

  before(async () => {
    server = await startUiServer({
      sections: `middleware:
  auth:
    config:
      keys:
        - id: ui-user
          hash: ${hashOf(KEY)}
          scopes: [chat, models]
`,
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('the page loads without a key, but the APIs it calls do not answer without one', async () => {
    const page = await fetch(`${server.url}/`, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 200, 'the page itself is public');
    const models = await fetch(`${server.url}/v1/models`);
    assert.equal(models.status, 401, 'the model list needs a key');
    const chat = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(chat.status, 401, 'a chat needs a key');
  });

  test('the UI asks for the key with the reason; kept for this page only, it is gone after a reload', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const health = watchPageHealth(page, server.url);
    await page.goto(server.url);
    const dialog = page.getByRole('dialog', { name: 'API key' });
    await dialog.waitFor();
    assert.match((await dialog.textContent()) ?? '', /key/i, 'the dialog says what it needs');
    await screenshot(page, 'auth-01-key-prompt');

    // Cancelled: the page says a key is needed (not "no model: download one"), and offers the prompt again.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.getByText('This server needs an API key').waitFor();
    assert.equal(
      await page.getByRole('button', { name: /Download a small model/ }).count(),
      0,
      'no download offer when the models are only hidden behind the key',
    );
    await screenshot(page, 'auth-01a-needs-key');
    await page.getByRole('button', { name: 'Enter an API key' }).click();
    await dialog.waitFor();

    // A wrong key: refused, and asked again.
    await dialog.getByLabel('API key').fill('pb-wrong-key-0000000000000000');
    await dialog.getByLabel('for this page only').check();
    await dialog.getByRole('button', { name: 'Save' }).click();
    // The page retries with it, is refused, and asks again with the server's reason.
    const again = page.getByRole('dialog', { name: 'API key' });
    await again.waitFor({ timeout: 10_000 });
    assert.match((await again.textContent()) ?? '', /not valid|invalid|unknown/i, 'says the key was refused');
    await screenshot(page, 'auth-01b-wrong-key');

    await page.getByRole('dialog', { name: 'API key' }).getByLabel('API key').fill(KEY);
    await page.getByLabel('for this page only').check();
    await page.getByRole('button', { name: 'Save' }).click();
    await chatWorks(page);
    assert.deepEqual(await storedKeys(page), { session: null, local: null }, 'not written to any storage');
    await screenshot(page, 'auth-02-chatting');

    await page.reload();
    await page.getByRole('dialog', { name: 'API key' }).waitFor();
    const unexpected = health.problems.filter((problem) => !/status of 401/.test(problem));
    assert.deepEqual(unexpected, [], 'no page error besides the expected refusals');
    await context.close();
  });

  test('kept in this browser, the key survives a reload and a new tab, until "Forget key"', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(server.url);
    await page.getByRole('dialog', { name: 'API key' }).getByLabel('API key').fill(KEY);
    await page.getByLabel('in this browser').check();
    await page.getByRole('button', { name: 'Save' }).click();
    await chatWorks(page);
    assert.deepEqual(await storedKeys(page), { session: null, local: KEY }, 'in localStorage only');

    const second = await context.newPage();
    await second.goto(server.url);
    await chatWorks(second);

    await second.getByRole('button', { name: 'Forget key' }).click();
    assert.deepEqual(await storedKeys(second), { session: null, local: null }, 'forgotten everywhere');
    await context.close();
  });

  test('a malformed #token= does not blank the page, and leaves the address', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const health = watchPageHealth(page, server.url);
    await page.goto(`${server.url}/#token=%E0%A4%A`);
    await page.getByRole('dialog', { name: 'API key' }).waitFor();
    assert.equal(await inPage(page, 'location.hash'), '#/', 'the token is gone from the address');
    assert.equal(await storedAdminToken(page), null, 'nothing adopted');
    const errors = health.problems.filter((problem) => !/status of 401/.test(problem));
    assert.deepEqual(errors, [], 'no page error');
    await context.close();
  });

  test('a #token= link opened in a tab that shows the UI: adopted, cut from the address, the route kept', async () => {
    const context = await browser.newContext();
    await context.addInitScript(`sessionStorage.setItem('plugboard.apiKey', ${JSON.stringify(KEY)})`);
    const page = await context.newPage();
    await page.goto(`${server.url}/#/`);
    await composer(page).waitFor();
    await inPage(page, `location.hash = '#/dashboard&token=${server.adminToken}'`);
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    assert.equal(await inPage(page, 'location.hash'), '#/dashboard', 'the route without the token');
    assert.equal(await storedAdminToken(page), server.adminToken, 'the token is kept for this tab');
    // The history entry the link made holds no token either.
    await page.goBack();
    await composer(page).waitFor();
    assert.ok(!(await inPage<string>(page, 'location.href')).includes('token'), 'Back: no token in the address');
    await page.goForward();
    assert.equal(await inPage(page, 'location.hash'), '#/dashboard', 'Forward: the route, without the token');

    // "Admin token ✓" offers to forget it.
    await page.getByRole('button', { name: 'Admin token ✓' }).click();
    const dialog = page.getByRole('dialog', { name: 'Admin token' });
    await screenshot(page, 'auth-03-forget-admin-token');
    await dialog.getByRole('button', { name: 'Forget admin token' }).click();
    await page.getByRole('button', { name: 'Admin token', exact: true }).waitFor();
    assert.equal(await storedAdminToken(page), null, 'forgotten');
    await context.close();
  });
});

async function chatWorks(page: Page): Promise<void> {
  await composer(page).waitFor();
  // The model list loads only with the key; the echo backend answers what it was sent.
  await chooseModel(page, 'echo/echo');
  await sendMessage(page, 'hello through the key');
  assert.equal(await waitForReplyEnd(page), 'done', 'the reply finished');
  assert.match((await lastReply(page).textContent()) ?? '', /You said: hello through the key/);
}

function storedKeys(page: Page): Promise<{ session: string | null; local: string | null }> {
  return inPage(
    page,
    `({ session: sessionStorage.getItem('plugboard.apiKey'), local: localStorage.getItem('plugboard.apiKey') })`,
  );
}

function storedAdminToken(page: Page): Promise<string | null> {
  return inPage(page, `sessionStorage.getItem('plugboard.adminToken') ?? localStorage.getItem('plugboard.adminToken')`);
}
