/**
 * The chat page in a real browser (headless Chromium), on a real Plugboard without memory or
 * rag: the echo backend ("You said: <message>", a word every 20 ms), llama.cpp on the tiny
 * random model, and a scripted backend (chat-scripted-backend.plugin.ts) for thinking, tool
 * calls and a stream that fails midway. Streaming, Stop and Esc, regenerate and edit,
 * switching models, Markdown with highlighted code, a reply that tries to run script, refusals
 * with the server's message and hint, the phone width. Each step saves a screenshot in
 * .cache/ui-screenshots/.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { screenshot, watchPageHealth } from '../support/browser.ts';
import { startUiServer, type UiServer } from '../support/ui-server.ts';
import {
  chooseModel,
  composer,
  inPage,
  isFocused,
  lastReply,
  lastReplyText,
  replies,
  sendMessage,
  TINY_PNG,
  waitForReplyEnd,
  waitForText,
  withBrowser,
} from './chat-page.ts';

/**
 * Script that a reply must not run, sent as one message (the echo backend sends it back): each
 * would set `window.__xss` if it ran.
 */
const XSS_PAYLOADS = [
  '<img src=x onerror="window.__xss=1">',
  '<script>window.__xss=2</script>',
  '[lower](javascript:window.__xss=3) [mixed](JaVaScRiPt:window.__xss=3) [entity](jav&#x61;script:window.__xss=3) [numeric](&#106;avascript:window.__xss=3)',
  '[by reference][r]',
  '',
  '[r]: javascript:window.__xss=4',
  '',
  '[data](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9NTwvc2NyaXB0Pg==) [vb](vbscript:window.__xss=5)',
  '![remote](https://example.com/x.png) [safe](https://example.com/)',
  '<a href="https://example.com/" title="\\"onmouseover=window.__xss=6">raw anchor</a>',
  '[titled](https://example.com/t "\\" onmouseover=window.__xss=7 x=\\"")',
  '',
  '```"><img src=x onerror=window.__xss=8>',
  'code in a fence',
  '```',
];

const WORDS = (count: number, last: string) =>
  `${Array.from({ length: count - 1 }, (_, index) => `word${index + 1}`).join(' ')} ${last}`;

describe('chat page (no memory, no rag)', () => {
  let server: UiServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let health: { readonly problems: string[] };
  /** Where the scripted backend writes a line for each reply aborted before its end. */
  let abortFile: string;

  before(async () => {
    const scripted = fileURLToPath(new URL('./chat-scripted-backend.plugin.ts', import.meta.url));
    // One more backend: ui-server's `sections` go right after its `backends:` entries.
    abortFile = join(await mkdtemp(join(tmpdir(), 'plugboard-ui-aborts-')), 'aborts.log');
    const sections = `  scripted:\n    plugin_file: ${JSON.stringify(scripted)}\n    config:\n      abort_file: ${JSON.stringify(abortFile)}\n`;
    [server, browser] = await withBrowser(startUiServer({ sections, pluginDirectories: [dirname(scripted)] }));
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    page = await context.newPage();
    health = watchPageHealth(page, server.url);
    await page.goto(`${server.url}/#/`);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (abortFile !== undefined) await rm(dirname(abortFile), { recursive: true, force: true });
  });

  test('the page offers the models grouped by backend, and no conversation list without memory', async () => {
    const picker = page.getByLabel('Model', { exact: true });
    await picker.waitFor();
    const groups = await picker.locator('optgroup').evaluateAll((nodes) =>
      nodes.map((node) => ({
        label: node.getAttribute('label'),
        models: [...node.querySelectorAll('option')].map((option) => option.value),
      })),
    );
    assert.deepEqual(
      groups.sort((a, b) => String(a.label).localeCompare(String(b.label))),
      [
        { label: 'echo', models: ['echo/echo'] },
        { label: 'llamacpp', models: ['llamacpp/tiny'] },
        { label: 'scripted', models: ['scripted/scripted'] },
      ],
      'one group per backend',
    );
    assert.equal(await page.getByRole('complementary', { name: 'Conversations' }).count(), 0, 'no sidebar');
    assert.equal(await page.getByRole('button', { name: 'Documents' }).count(), 0, 'no upload without rag');
    await screenshot(page, 'chat-empty');
  });

  test('a reply streams in: its first words show before the whole', async () => {
    await chooseModel(page, 'echo/echo');
    // Shift+Enter is a new line, not a send.
    await composer(page).fill('line one');
    await composer(page).press('Shift+Enter');
    await composer(page).pressSequentially('line two');
    assert.equal(await composer(page).inputValue(), 'line one\nline two');
    assert.equal(await replies(page).count(), 0, 'nothing was sent');
    const message = WORDS(40, 'omega');
    await sendMessage(page, message);
    assert.equal(await composer(page).inputValue(), '', 'the composer is emptied on send');
    // Partial: the reply has begun and its last word has not come yet.
    await waitForText(page, '.message.assistant.streaming .markdown', 'You said', { excludes: 'omega' });
    assert.ok(
      await page.getByRole('button', { name: 'Stop', exact: true }).isVisible(),
      'Stop is offered while streaming',
    );
    await screenshot(page, 'chat-streaming');
    assert.equal(await waitForReplyEnd(page), 'done');
    assert.equal((await lastReplyText(page)).trim(), `You said: ${message}`);
    assert.ok(
      await page.getByRole('button', { name: 'Send', exact: true }).isVisible(),
      'Send is back after the reply',
    );
    await screenshot(page, 'chat-streamed');
  });

  test('Stop and Esc end a stream midway: the backend sees the abort, the reply stays partial', async () => {
    // The scripted backend streams slowly and counts the aborts that reach it.
    await chooseModel(page, 'scripted/scripted');
    for (const [round, how] of (['button', 'escape'] as const).entries()) {
      await sendMessage(page, 'slow please');
      await waitForText(page, '.message.assistant.streaming .markdown', 'word5 ');
      if (how === 'button') await page.getByRole('button', { name: 'Stop', exact: true }).click();
      else await page.keyboard.press('Escape');
      assert.equal(await waitForReplyEnd(page), 'stopped', `stopped by ${how}`);
      const partial = await lastReplyText(page);
      assert.ok(
        !partial.includes('finale') && partial.includes('word5'),
        `partial after ${how}: ${partial.slice(-60)}`,
      );
      assert.ok(await lastReply(page).getByText('Stopped.').isVisible(), 'the reply says it was stopped');
      assert.ok(await page.getByRole('button', { name: 'Send', exact: true }).isVisible(), 'Send is back');
      assert.ok(await isFocused(composer(page)), 'the composer has the focus back');
      assert.equal(await abortsSeen(abortFile, round + 1), round + 1, `the backend saw the abort (${how})`);
    }
    await screenshot(page, 'chat-stopped');
    await chooseModel(page, 'echo/echo');
    await sendMessage(page, 'again');
    assert.equal(await waitForReplyEnd(page), 'done', 'a message after a stop is answered');
    assert.equal((await lastReplyText(page)).trim(), 'You said: again');
  });

  test('regenerate answers the last message again; edit resends it and drops what followed', async () => {
    const before = await replies(page).count();
    await page.getByRole('button', { name: 'Regenerate this reply' }).click();
    assert.equal(await waitForReplyEnd(page), 'done');
    assert.equal(await replies(page).count(), before, 'the reply was replaced, not added');
    assert.equal((await lastReplyText(page)).trim(), 'You said: again');

    const userMessages = page.locator('.message.user');
    const users = await userMessages.count();
    await userMessages.nth(1).getByRole('button', { name: 'Edit this message and send it again' }).click();
    const editor = page.getByRole('textbox', { name: 'Edit your message' });
    assert.ok(await isFocused(editor), 'the editor takes the focus');
    await editor.fill('an edited second message');
    await screenshot(page, 'chat-editing');
    await editor.press('Enter');
    assert.equal(await waitForReplyEnd(page), 'done');
    assert.equal(await userMessages.count(), 2, `the messages after the edited one are gone (were ${users})`);
    assert.equal(await replies(page).count(), 2);
    assert.equal((await lastReplyText(page)).trim(), 'You said: an edited second message');
  });

  test('switching to llamacpp/tiny: it answers, and the choice is remembered', async () => {
    await page.getByRole('button', { name: 'Start a new chat' }).click();
    assert.equal(await replies(page).count(), 0, 'a new chat is empty');
    await chooseModel(page, 'llamacpp/tiny');
    await sendMessage(page, 'Hello tiny model');
    assert.equal(await waitForReplyEnd(page, 60_000), 'done');
    assert.equal(await lastReply(page).locator('.message-model').textContent(), 'llamacpp/tiny');
    assert.notEqual((await lastReplyText(page)).trim(), '', 'the tiny model wrote something (gibberish)');
    await screenshot(page, 'chat-tiny-model');

    await page.reload();
    const picker = page.getByLabel('Model', { exact: true });
    await picker.locator('option').first().waitFor({ state: 'attached' });
    assert.equal(await picker.inputValue(), 'llamacpp/tiny', 'the model chosen is remembered');
    await chooseModel(page, 'echo/echo');
  });

  test('Markdown: code is highlighted once the reply is complete, and each block has a Copy button', async () => {
    const code = 'const answer = 42;\nconsole.log(answer);';
    await sendMessage(page, `Here is **bold** text:\n\n\`\`\`js\n${code}\n\`\`\``);
    assert.equal(await waitForReplyEnd(page), 'done');
    const block = lastReply(page).locator('.code-block');
    await block.locator('code.highlighted').waitFor();
    assert.equal(await block.locator('.code-language').textContent(), 'js');
    assert.equal(await lastReply(page).locator('strong').textContent(), 'bold');
    const colours = await block
      .locator('code.highlighted span[style]')
      .evaluateAll(
        (spans) => new Set(spans.map((span) => span.ownerDocument.defaultView?.getComputedStyle(span).color)).size,
      );
    assert.ok(colours >= 3, `tokens in several colours (${colours})`);
    await block.getByRole('button', { name: 'Copy js code' }).click();
    await block.getByRole('button', { name: 'Copy js code' }).getByText('Copied').waitFor();
    assert.equal(await inPage(page, 'navigator.clipboard.readText()'), code);
    await screenshot(page, 'chat-code-block');
    const firstToken = block.locator('code.highlighted span[style]').first();
    const colourOf = () => firstToken.evaluate((span) => span.ownerDocument.defaultView?.getComputedStyle(span).color);
    const light = await colourOf();
    await page.emulateMedia({ colorScheme: 'dark' });
    assert.notEqual(await colourOf(), light, 'the code follows the dark theme without highlighting again');
    await screenshot(page, 'chat-code-block-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  test('a reply cannot run script: a fixed list of payloads stays inert', async () => {
    await sendMessage(page, XSS_PAYLOADS.join('\n'));
    assert.equal(await waitForReplyEnd(page), 'done');
    const reply = lastReply(page);
    await reply.locator('.code-block').waitFor();
    assert.match(await lastReplyText(page), /<img src=x onerror="window.__xss=1">/, 'raw HTML is shown as text');
    const found = await inPage<{
      handlers: string[];
      unsafeUrls: string[];
      remoteImages: string[];
      images: number;
      links: { href: string; target: string | null; rel: string | null }[];
    }>(
      page,
      `(() => {
        const all = [...document.querySelectorAll('*')];
        const reply = [...document.querySelectorAll('.message.assistant')].pop();
        return {
          handlers: all.flatMap((element) =>
            [...element.attributes].filter((attribute) => /^on/i.test(attribute.name)).map((attribute) => element.tagName + ' ' + attribute.name)),
          unsafeUrls: all.flatMap((element) =>
            ['href', 'src', 'xlink:href', 'action', 'formaction'].map((name) => element.getAttribute(name) ?? '')
              .filter((value) => /^\\s*(javascript|vbscript|data:text)/i.test(value))),
          remoteImages: [...reply.querySelectorAll('img')].map((image) => image.getAttribute('src')).filter((src) => src !== null && !/^(data:image\\/|blob:)/.test(src)),
          images: reply.querySelectorAll('img').length,
          links: [...reply.querySelectorAll('a[href]')].map((link) => ({ href: link.getAttribute('href'), target: link.getAttribute('target'), rel: link.getAttribute('rel') })),
        };
      })()`,
    );
    assert.deepEqual(found.handlers, [], 'no element anywhere has an event-handler attribute');
    assert.deepEqual(found.unsafeUrls, [], 'no javascript:, vbscript: or data:text URL');
    assert.ok(found.images >= 1, 'the remote image is there (as an image without a source)');
    assert.deepEqual(found.remoteImages, [], 'remote images have no src');
    assert.ok(found.links.length >= 2, `the safe links stay links (${found.links.length})`);
    for (const link of found.links) {
      assert.equal(link.target, '_blank', `${link.href} opens in a new tab`);
      assert.match(link.rel ?? '', /\bnoopener\b/, `${link.href} gets no opener`);
    }

    // Hover and click every anchor (a link to elsewhere opens a tab whose request is refused here).
    await context.route(/^https?:\/\/(?!127\.0\.0\.1)/, (route) => route.abort());
    const anchors = reply.locator('.markdown a');
    for (let index = 0; index < (await anchors.count()); index++) {
      await anchors.nth(index).hover();
      await anchors.nth(index).click();
    }
    await page.waitForTimeout(200);
    assert.equal(await inPage(page, 'typeof window.__xss'), 'undefined', 'no payload ran');
    for (const opened of context.pages().filter((other) => other !== page)) await opened.close();
    await context.unroute(/^https?:\/\/(?!127\.0\.0\.1)/);
    await screenshot(page, 'chat-inert-html');
  });

  test("a refusal shows the server's message and hint (an image sent to a text-only model)", async () => {
    await chooseModel(page, 'llamacpp/tiny');
    await page.getByLabel('Attach images').setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: TINY_PNG });
    await page.getByRole('img', { name: 'Attachment 1, not sent yet' }).waitFor();
    // A pasted image is attached too.
    await inPage(
      page,
      `(() => {
        const data = new DataTransfer();
        data.items.add(new File([Uint8Array.from(atob('${TINY_PNG.toString('base64')}'), (c) => c.charCodeAt(0))], 'pasted.png', { type: 'image/png' }));
        document.querySelector('textarea[aria-label="Message"]').dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
      })()`,
    );
    await page.getByRole('img', { name: 'Attachment 2, not sent yet' }).waitFor();
    await sendMessage(page, 'What is in this picture?');
    assert.equal(await waitForReplyEnd(page), 'failed');
    const banner = lastReply(page).getByRole('alert');
    assert.match((await banner.locator('.chat-error-message').textContent()) ?? '', /does not read images/);
    assert.match((await banner.locator('.chat-error-hint').textContent()) ?? '', /\S/, 'the hint is shown');
    assert.ok(await banner.getByRole('button', { name: 'Try again' }).isVisible(), 'a way to try again');
    assert.equal(
      await page
        .locator('.message.user')
        .last()
        .getByRole('img', { name: /^Attachment \d$/ })
        .count(),
      2,
      'the sent message shows its images',
    );
    await screenshot(page, 'chat-error-banner');
    await chooseModel(page, 'echo/echo');
  });

  test('thinking shows collapsed, whether reported apart or written as <think> tags', async () => {
    await page.getByRole('button', { name: 'Start a new chat' }).click();
    await chooseModel(page, 'scripted/scripted');
    for (const [message, thought, answer] of [
      ['think: what is two and two?', 'Two and two make four.', 'The answer is 4.'],
      ['tagged please', 'Inline reasoning here', 'Tagged answer.'],
    ] as const) {
      await sendMessage(page, message);
      assert.equal(await waitForReplyEnd(page), 'done');
      const thinking = lastReply(page).locator('details.thinking');
      assert.equal(await thinking.getAttribute('open'), null, 'collapsed');
      assert.equal((await lastReplyText(page)).trim(), answer, 'the answer without the thinking');
      await thinking.locator('summary').click();
      assert.equal((await thinking.locator('.thinking-text').textContent())?.trim(), thought);
    }
    await screenshot(page, 'chat-thinking');
  });

  test("the model's tool calls are shown with their arguments", async () => {
    await sendMessage(page, 'tool please');
    assert.equal(await waitForReplyEnd(page), 'done');
    const call = lastReply(page).locator('details.tool-call');
    assert.match((await call.locator('summary').textContent()) ?? '', /Tool call get_weather/);
    await call.locator('summary').click();
    assert.deepEqual(JSON.parse((await call.locator('pre').textContent()) ?? ''), { city: 'Oslo', unit: 'celsius' });
    await screenshot(page, 'chat-tool-call');
  });

  test("a stream that fails midway keeps what came and shows the server's message and hint", async () => {
    await sendMessage(page, 'fail now');
    assert.equal(await waitForReplyEnd(page), 'failed');
    assert.equal((await lastReplyText(page)).trim(), 'Some words before');
    const banner = lastReply(page).getByRole('alert');
    assert.match((await banner.locator('.chat-error-message').textContent()) ?? '', /scripted/);
    assert.match((await banner.locator('.chat-error-hint').textContent()) ?? '', /\S/, 'the hint is shown');
    assert.ok(
      !((await banner.textContent()) ?? '').includes('scripted failure in the middle'),
      "the plugin's exception text does not reach the page",
    );
    await screenshot(page, 'chat-stream-error');
    await chooseModel(page, 'echo/echo');
  });

  test('at phone width (375×740) the page fits, and the dark theme follows the system', async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    await page.getByRole('button', { name: 'Start a new chat' }).click();
    await sendMessage(page, 'A short question from a phone, with `inline code`.');
    assert.equal(await waitForReplyEnd(page), 'done');
    const overflow = await inPage<number>(page, 'document.documentElement.scrollWidth - window.innerWidth');
    assert.ok(overflow <= 0, `no sideways scrolling (${overflow}px too wide)`);
    const box = await composer(page).boundingBox();
    assert.ok(box !== null && box.y + box.height <= 740 && box.x >= 0, 'the composer is on screen');
    await screenshot(page, 'chat-phone');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, 'chat-phone-dark');
    const background = await inPage(page, 'getComputedStyle(document.body).backgroundColor');
    assert.equal(background, 'rgb(15, 17, 21)', 'the dark tokens apply');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  test('the page reported no errors and loaded nothing from elsewhere', () => {
    // The image refusal's 400 is the one failed request the steps above caused on purpose.
    const problems = health.problems.filter((problem) => !/status of 400/.test(problem));
    assert.deepEqual(problems, []);
  });
});

/**
 * How many aborts the scripted backend recorded, once `expected` are there or 10 s have gone
 * by (the abort travels from the browser through the server to the backend on its own time).
 */
async function abortsSeen(file: string, expected: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const lines = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
    if (lines >= expected || Date.now() > deadline) return lines;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
