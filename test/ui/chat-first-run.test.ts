/**
 * The chat page's first run, in a real browser, on the shipped configuration's shape: an
 * Ollama backend that is not running (a closed port) and llama.cpp on an empty models folder.
 * The page says no backend answered, with the server's message and hint, and offers both ways
 * out; "Download a small model" asks for the admin token (the shell's dialog), shows the
 * download's progress, can be cancelled and started again (it resumes), then selects the new
 * model, which answers. The "Hub" is a local HTTP server that sends the tiny test model slowly
 * under the default model's name (HF_ENDPOINT): nothing is downloaded from elsewhere.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { RunningPlugboard } from '../../src/server/serve.ts';
import { screenshot, watchPageHealth } from '../support/browser.ts';
import { closedPort } from '../support/closed-port.ts';
import { RuntimeFixture } from '../support/runtime-fixture.ts';
import { tinyGgufFile } from '../support/tiny-gguf.ts';
import { ensureUiBuilt, UI_ADMIN_TOKEN } from '../support/ui-server.ts';
import { composer, lastReply, sendMessage, waitForPositiveValue, waitForReplyEnd, withBrowser } from './chat-page.ts';

const DEFAULT_MODEL = 'llamacpp/qwen2.5-0.5b-instruct-q4_k_m';
const SLICE = 40_000;
const SLICE_DELAY_MS = 150;

/**
 * Serves the tiny model for any path, slowly (a slice every 150 ms), honouring `Range: bytes=N-`.
 * The first download stalls after a few slices until the client goes away: the test's Cancel
 * then always comes before the end, however slow the machine is.
 */
async function startSlowHub(model: Buffer): Promise<Server> {
  let requests = 0;
  const hub = createServer(async (request, response) => {
    const stallAfter = requests++ === 0 ? 3 * SLICE : Number.POSITIVE_INFINITY;
    const from = Number(/^bytes=(\d+)-$/.exec(request.headers.range ?? '')?.[1] ?? 0);
    const body = model.subarray(from);
    response.writeHead(from > 0 ? 206 : 200, {
      'content-type': 'application/octet-stream',
      'content-length': body.length,
      ...(from > 0 ? { 'content-range': `bytes ${from}-${model.length - 1}/${model.length}` } : {}),
    });
    for (let at = 0; at < body.length && !response.destroyed; at += SLICE) {
      if (at >= stallAfter) {
        await new Promise((resolve) => response.once('close', resolve));
        return;
      }
      response.write(body.subarray(at, at + SLICE));
      await new Promise((resolve) => setTimeout(resolve, SLICE_DELAY_MS));
    }
    response.end();
  });
  await new Promise<void>((resolve) => hub.listen(0, '127.0.0.1', resolve));
  return hub;
}

describe('chat page: first run without a model', () => {
  let hub: Server;
  let fixture: RuntimeFixture;
  let running: RunningPlugboard;
  let browser: Browser;
  let page: Page;
  let health: { readonly problems: string[] };

  before(async () => {
    const model = await readFile(await tinyGgufFile());
    hub = await startSlowHub(model);
    fixture = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-ui-first-run-'));
    const models = join(fixture.dir, 'models');
    await fixture.write(
      'config.yaml',
      `mode: production
plugin_manager:
  default_backend: ollama
server:
  admin_token: ${UI_ADMIN_TOKEN}
  models_dir: ${JSON.stringify(models)}
backends:
  ollama:
    config:
      host: http://127.0.0.1:${await closedPort()}
  llamacpp:
    timeout: 60
    config:
      models_dir: ${JSON.stringify(models)}
      threads: 1
      max_tokens: 24
`,
    );
    const { port } = hub.address() as { port: number };
    await ensureUiBuilt();
    [running, browser] = await withBrowser(fixture.serve({ env: { HF_ENDPOINT: `http://127.0.0.1:${port}` } }));
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    health = watchPageHealth(page, running.url);
    await page.goto(`${running.url}/#/`);
  });

  after(async () => {
    await browser?.close();
    await running?.stop();
    await fixture?.dispose();
    await new Promise((resolve) => hub?.close(resolve));
  });

  test("the page says no backend answered, in the server's words, and offers both ways out", async () => {
    const firstRun = page.getByRole('region', { name: 'No model to chat with yet' });
    await firstRun.waitFor();
    const said = firstRun.getByRole('alert');
    assert.match((await said.locator('.chat-error-message').textContent()) ?? '', /ollama.*connection refused/);
    assert.match((await said.locator('.chat-error-hint').textContent()) ?? '', /\S/, 'the hint is shown');
    assert.match((await firstRun.locator('.first-run-commands').textContent()) ?? '', /ollama serve\s+ollama pull/);
    assert.ok(
      await firstRun.getByRole('button', { name: 'Download a small model (~400 MB)' }).isVisible(),
      'the download is offered',
    );
    assert.equal(await composer(page).getAttribute('placeholder'), 'No model to send to yet');
    await screenshot(page, 'chat-first-run');
  });

  test('the download asks for the admin token, shows its progress, and can be cancelled and resumed', async () => {
    await page.getByRole('button', { name: 'Download a small model (~400 MB)' }).click();
    const dialog = page.getByRole('dialog', { name: 'Admin token' });
    await dialog.waitFor();
    await dialog.getByLabel('Admin token').fill(UI_ADMIN_TOKEN);
    await dialog.getByRole('button', { name: 'Save' }).click();
    // The download starts by itself once the token is given.
    const progress = page.locator('.pull-progress progress');
    await waitForPositiveValue(page, '.pull-progress progress');
    assert.match((await page.locator('.pull-progress').textContent()) ?? '', /qwen2\.5-0\.5b-instruct-q4_k_m\.gguf/);
    await screenshot(page, 'chat-first-run-downloading');
    // The panel is gone and back (a reload here): the running download is found and followed again.
    await page.reload();
    await page.getByRole('button', { name: 'Cancel download' }).waitFor();
    await waitForPositiveValue(page, '.pull-progress progress');
    assert.equal(
      await page.getByRole('button', { name: 'Download a small model (~400 MB)' }).count(),
      0,
      'no second download is offered while one runs',
    );
    await page.getByRole('button', { name: 'Cancel download' }).click();
    await page.getByText('Download cancelled').waitFor({ state: 'attached' });
    const stoppedAt = Number(await progress.getAttribute('value'));
    assert.ok(stoppedAt > 0, 'part of the file came before the cancel');

    await page.getByRole('button', { name: 'Download a small model (~400 MB)' }).click();
    // Done: the model list is read again and the new model chosen.
    const picker = page.getByLabel('Model', { exact: true });
    await picker.waitFor({ timeout: 20_000 });
    assert.equal(await picker.inputValue(), DEFAULT_MODEL);
    assert.equal(await page.getByRole('region', { name: 'No model to chat with yet' }).count(), 0);
    await screenshot(page, 'chat-first-run-ready');
  });

  test('the downloaded model answers', async () => {
    await sendMessage(page, 'Hello, new model');
    assert.equal(await waitForReplyEnd(page, 60_000), 'done');
    assert.equal(await lastReply(page).locator('.message-model').textContent(), DEFAULT_MODEL);
    await screenshot(page, 'chat-first-run-answered');
  });

  test('the page reported nothing unexpected and loaded nothing from elsewhere', () => {
    // Expected on purpose: the model list's 503 (no backend answered) and the admin API's 401
    // before the token was given.
    const problems = health.problems.filter((problem) => !/status of (401|503)/.test(problem));
    assert.deepEqual(problems, []);
  });
});
