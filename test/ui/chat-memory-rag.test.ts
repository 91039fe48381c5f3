/**
 * The chat page with the memory and rag plugins, in a real browser: a chat becomes a stored
 * conversation under its own address (`#/c/<id>`) and a reload finds it; the sidebar renames,
 * searches, exports and deletes; an edit rewrites the past into a replacement conversation; a
 * document uploaded from the page is cited under the next answer; at phone width the list is a
 * panel. Echo backend (its replies say what it was sent); memory in memory; rag keyword-only
 * (echo embeds nothing), counting characters as the tiny-model stacks do.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { screenshot, watchPageHealth } from '../support/browser.ts';
import { startUiServer, type UiServer } from '../support/ui-server.ts';
import {
  chooseModel,
  isFocused,
  lastReply,
  lastReplyText,
  replies,
  sendMessage,
  waitForHashWithout,
  waitForReplyEnd,
  waitForTextNotStarting,
  withBrowser,
} from './chat-page.ts';

const HANDBOOK = `# Returns

Customers may return any unworn item within thirty days for a full refund to the original card.

# Shipping

Parcels to Norway take four to six working days and are tracked from the warehouse in Tromsø.
`;

const CONVERSATION_ADDRESS = /#\/c\/([0-9a-f-]{8,})$/;

describe('chat page with memory and rag', () => {
  let server: UiServer;
  let browser: Browser;
  let page: Page;
  let health: { readonly problems: string[] };

  const sidebar = () => page.getByRole('complementary', { name: 'Conversations' });
  const conversationId = () => CONVERSATION_ADDRESS.exec(page.url())?.[1];
  const api = (path: string) => fetch(`${server.url}${path}`);

  before(async () => {
    [server, browser] = await withBrowser(
      startUiServer({
        sections: `features:
  memory:
    config:
      tokenizer: chars
  rag:
    config:
      collections: [default]
      tokenizer: chars
      chunk_tokens: 64
      chunk_overlap: 0
`,
      }),
    );
    page = await browser.newPage({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    health = watchPageHealth(page, server.url);
    await page.goto(`${server.url}/#/`);
    await sidebar().waitFor();
    await chooseModel(page, 'echo/echo');
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('a new chat becomes a conversation: its address names it, the list shows it with its title', async () => {
    await sendMessage(page, 'My name is Ada and I like trains');
    assert.equal(await waitForReplyEnd(page), 'done');
    await page.waitForURL(CONVERSATION_ADDRESS);
    const id = conversationId();
    const row = sidebar()
      .getByRole('link')
      .and(sidebar().locator(`a[href="#/c/${id}"]`));
    await row.waitFor();
    assert.equal(await row.getAttribute('aria-current'), 'page', 'the open conversation is marked');
    // The title is made after the reply: the list is read again a few seconds later.
    await waitForTextNotStarting(page, `a[href="#/c/${id}"]`, 'Conversation of ', 15_000);
    await screenshot(page, 'chat-memory-conversation');
  });

  test('a reload finds the conversation in the list and its messages', async () => {
    await sendMessage(page, 'I live in Oslo');
    assert.equal(await waitForReplyEnd(page), 'done');
    const id = conversationId();
    await page.reload();
    await page.locator('.message.user').nth(1).waitFor();
    assert.equal(conversationId(), id, 'the same address');
    const users = await page.locator('.message.user .user-text').allTextContents();
    assert.deepEqual(users, ['My name is Ada and I like trains', 'I live in Oslo']);
    assert.equal(await replies(page).count(), 2);
    assert.equal((await lastReplyText(page)).trim(), 'You said: I live in Oslo');
    assert.equal(await sidebar().locator(`a[href="#/c/${id}"]`).getAttribute('aria-current'), 'page');
    await screenshot(page, 'chat-memory-reloaded');
  });

  test('an edit rewrites the past: a replacement conversation keeps the title, the old one is gone', async () => {
    const oldId = conversationId();
    const title = await sidebar().locator(`a[href="#/c/${oldId}"]`).textContent();
    await page
      .locator('.message.user')
      .first()
      .getByRole('button', { name: 'Edit this message and send it again' })
      .click();
    const editor = page.getByRole('textbox', { name: 'Edit your message' });
    await editor.fill('My name is Grace');
    await page.getByRole('button', { name: 'Save and send' }).click();
    assert.equal(await waitForReplyEnd(page), 'done');
    assert.equal((await lastReplyText(page)).trim(), 'You said: My name is Grace');
    assert.equal(await page.locator('.message').count(), 2, 'what followed the edited message is dropped');
    await waitForHashWithout(page, oldId ?? '');
    const newId = conversationId();
    assert.ok(newId !== undefined && newId !== oldId, 'a new conversation');
    await sidebar()
      .locator(`a[href="#/c/${newId}"]`, { hasText: title ?? '' })
      .waitFor();
    await sidebar().locator(`a[href="#/c/${oldId}"]`).waitFor({ state: 'detached' });
    assert.equal((await api(`/v1/conversations/${oldId}`)).status, 404, 'the old conversation is deleted');
    const stored = (await (await api(`/v1/conversations/${newId}`)).json()) as { messages: { content: string }[] };
    assert.deepEqual(
      stored.messages.map((message) => message.content),
      ['My name is Grace', 'You said: My name is Grace'],
      'the server holds the rewritten conversation',
    );
  });

  test('the sidebar renames, searches, exports and deletes (after asking)', async () => {
    const id = conversationId();
    await sidebar()
      .getByRole('button', { name: /^Actions for / })
      .first()
      .click();
    await sidebar().getByRole('button', { name: 'Rename' }).click();
    const title = sidebar().getByRole('textbox', { name: 'New title' });
    await title.fill('Trip notes');
    await title.press('Enter');
    await sidebar().getByRole('link', { name: 'Trip notes' }).waitFor();

    const search = sidebar().getByRole('searchbox', { name: 'Search conversations' });
    await search.fill('zzzz-nothing');
    await sidebar().getByText('No conversation matches.').waitFor();
    await search.fill('Grace');
    await sidebar().getByRole('link', { name: 'Trip notes' }).waitFor();
    await search.fill('');

    await sidebar().getByRole('button', { name: 'Actions for Trip notes' }).click();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      sidebar().getByRole('button', { name: 'Export Markdown' }).click(),
    ]);
    assert.match(download.suggestedFilename(), /\.md$/);
    const exported = await readFile((await download.path()) ?? '', 'utf8');
    assert.match(exported, /Trip notes/);
    assert.match(exported, /My name is Grace/);

    await sidebar().getByRole('button', { name: 'Actions for Trip notes' }).click();
    await sidebar().getByRole('button', { name: 'Delete' }).click();
    await sidebar().getByText('Delete “Trip notes” and its messages?').waitFor();
    await screenshot(page, 'chat-memory-confirm-delete');
    await sidebar().getByRole('button', { name: 'Delete' }).click();
    await sidebar().getByText('No conversations yet.').waitFor();
    assert.equal((await api(`/v1/conversations/${id}`)).status, 404, 'deleted on the server');
    assert.equal(await page.locator('.message').count(), 0, 'the open chat was the deleted one: a new chat');
    assert.ok(!CONVERSATION_ADDRESS.test(page.url()), 'the address no longer names it');
  });

  test('a document uploaded from the page is cited under the next answer, its excerpt one click away', async () => {
    await page.getByRole('button', { name: 'Documents' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add documents' });
    assert.equal(await dialog.getByLabel('Collection').inputValue(), 'default', 'the collection chats search');
    await dialog.getByLabel('Files').setInputFiles({
      name: 'handbook.md',
      mimeType: 'text/markdown',
      buffer: Buffer.from(HANDBOOK),
    });
    await dialog.getByRole('button', { name: 'Upload' }).click();
    const done = dialog.getByRole('status');
    await done.waitFor();
    assert.match((await done.textContent()) ?? '', /added · \d+ chunks? in default/);
    await screenshot(page, 'chat-rag-uploaded');
    await dialog.getByRole('button', { name: 'Close' }).click();

    await sendMessage(page, 'Within how many days may customers return an unworn item?');
    assert.equal(await waitForReplyEnd(page), 'done');
    const sources = lastReply(page).getByRole('region', { name: 'Sources' });
    const citation = sources.locator('details', { hasText: 'handbook.md' }).first();
    await citation.waitFor();
    const excerpt = citation.locator('.citation-excerpt');
    assert.equal(await excerpt.isVisible(), false, 'the excerpt is closed at first');
    await citation.locator('summary').click();
    assert.match((await excerpt.textContent()) ?? '', /return any unworn item/);
    await screenshot(page, 'chat-rag-citation');
  });

  test("forgetting the API key takes the previous user's conversation off the screen", async () => {
    await sendMessage(page, 'Something private');
    assert.equal(await waitForReplyEnd(page), 'done');
    await page.waitForURL(CONVERSATION_ADDRESS);
    // A first key changes no user: the conversation stays.
    await page.getByRole('button', { name: 'API key', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'API key' });
    await dialog.getByLabel('API key').fill('pb-ui-memory-test-key-0123456789');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('button', { name: 'Forget key' }).waitFor();
    assert.match(page.url(), CONVERSATION_ADDRESS, 'still on the conversation after entering a key');
    assert.ok((await replies(page).count()) > 0, 'its messages are still shown');

    await page.getByRole('button', { name: 'Forget key' }).click();
    await page.locator('.message').first().waitFor({ state: 'detached' });
    assert.ok(!CONVERSATION_ADDRESS.test(page.url()), `the address no longer names it (${page.url()})`);
    assert.equal(await page.locator('.message').count(), 0, 'no message of the previous user is shown');
    await screenshot(page, 'chat-memory-key-forgotten');
  });

  test('at phone width the conversation list is a panel the toolbar opens', async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    await sidebar().waitFor({ state: 'hidden' });
    await screenshot(page, 'chat-memory-phone');
    const toggle = page.getByRole('button', { name: 'Conversations' });
    await toggle.click();
    await sidebar().waitFor({ state: 'visible' });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    assert.ok(await isFocused(sidebar().getByRole('searchbox')), 'the focus moves into the panel');
    await screenshot(page, 'chat-memory-phone-panel');
    await page.keyboard.press('Escape');
    await sidebar().waitFor({ state: 'hidden' });
    assert.ok(await isFocused(toggle), 'the focus returns');
  });

  test('the page reported no errors and loaded nothing from elsewhere', () => {
    assert.deepEqual(health.problems, []);
  });
});
