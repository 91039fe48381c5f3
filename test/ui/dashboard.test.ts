/**
 * The plugin dashboard in a real browser (headless Chromium) against a real Plugboard: the
 * plugin list, live metrics and charts, the admin actions (reload, disable/enable, breaker
 * reset) and their effect on the next reply, the configuration form generated from a plugin's
 * JSON Schema (applied to the YAML file, comments kept; the server's error next to its field),
 * the token prompt, and the page at 375 px in dark mode. Each step saves a screenshot to
 * .cache/ui-screenshots/dashboard-*.png.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchBrowser, screenshot, watchPageHealth } from '../support/browser.ts';
import { startUiServer, type UiServer } from '../support/ui-server.ts';

const SECTIONS = `message_processors:
  # Redacts e-mail addresses: the dashboard test switches it off and on.
  content_filter: {}
middleware:
  token_counter: {}
  logging: {}
hooks:
  circuit_breaker:
    failure_threshold: 2
    timeout_seconds: 600
`;

// A processor that fails every call: its circuit breaker opens after two (failure_threshold).
const FLAKY_PLUGIN = `export default {
  metadata: { name: 'flaky', version: '1.0.0', description: 'Fails every call, for the dashboard test' },
  processMessage() {
    throw new Error('flaky by design');
  },
};
`;

const WIDE = { width: 1280, height: 2200 };

let server: UiServer;
let browser: Browser;
let page: Page;
let health: { readonly problems: string[] };
/** Problems before this index were expected (the 401s of the no-token step). */
let expectedProblems = 0;

/** Sends a chat to the echo backend (it answers "You said: <message>") and returns the reply. */
async function chat(text: string): Promise<string> {
  const response = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: text }] }),
  });
  assert.equal(response.status, 200, `chat answered ${response.status}: ${await response.clone().text()}`);
  const body = (await response.json()) as { choices: { message: { content: string } }[] };
  return body.choices[0]?.message.content ?? '';
}

/** Polls `check` until it returns true (the dashboard polls every 2 s), or fails with `what`. */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`timed out waiting for: ${what}`);
}

const row = (plugin: string): Locator => page.locator(`tr.plugin-row[data-plugin="${plugin}"]`);
const cell = (plugin: string, column: string): Locator => row(plugin).locator(`[data-label="${column}"]`);
const text = async (locator: Locator): Promise<string> => (await locator.textContent()) ?? '';

describe('the plugin dashboard', { timeout: 120_000 }, () => {
  before(async () => {
    server = await startUiServer({ sections: SECTIONS });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: WIDE, colorScheme: 'light' });
    health = watchPageHealth(page, server.url);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('without the admin token, an admin button leads to the token prompt; with it, the reload shows its report', async () => {
    await page.goto(`${server.url}/#/dashboard`);
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await row('content_filter').waitFor();

    const dialog = page.getByRole('dialog', { name: 'Admin token' });
    await page.getByRole('button', { name: 'Disable content_filter' }).click();
    await dialog.waitFor();
    assert.match(
      await text(cell('content_filter', 'Actions')),
      /Authorization: Bearer/,
      "the row shows the server's words",
    );
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.match(await text(cell('content_filter', 'State')), /^ACTIVE/, 'nothing was disabled');

    await page.getByRole('button', { name: 'Reload configuration' }).click();
    await dialog.waitFor();
    assert.match(await text(dialog), /needs an Authorization: Bearer/, 'the prompt says why');
    assert.match(await text(page.locator('.config-panel .outcome-error')), /Authorization: Bearer/);
    await screenshot(page, 'dashboard-01-token-prompt');

    await dialog.getByLabel('Admin token', { exact: true }).fill(server.adminToken);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expectedProblems = health.problems.length;
    assert.ok(
      health.problems.every((problem) => /status of 401/.test(problem)),
      `only the expected 401s so far: ${health.problems.join('\n')}`,
    );

    await page.getByRole('button', { name: 'Reload configuration' }).click();
    const report = page.locator('.config-panel .reload-report');
    await report.waitFor();
    // What it applied depends on what changed on disk since the start (nothing, usually).
    assert.match(
      await text(report),
      /^Configuration reloaded — snapshot \d+ from .*config\.yamlApplied: /,
      'the report',
    );
    await page.getByRole('button', { name: 'Admin token ✓' }).click();
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
  });

  it('lists every plugin with its kind, state, priority, failure policy, breaker and health', async () => {
    for (const plugin of ['llamacpp', 'echo', 'content_filter', 'token_counter']) await row(plugin).waitFor();
    for (const column of ['Plugin', 'Kind', 'State', 'Breaker', 'Health', 'Calls', 'Actions'])
      assert.equal(
        await page.getByRole('columnheader', { name: column, exact: true }).count(),
        1,
        `a ${column} header`,
      );
    assert.match(await text(cell('content_filter', 'Kind')), /^message processor/);
    assert.equal(await text(cell('echo', 'Kind')), 'backend provider');
    assert.equal(await text(cell('token_counter', 'Kind')), 'middleware');
    assert.match(await text(cell('content_filter', 'State')), /^ACTIVE/);
    assert.match(await text(cell('content_filter', 'Priority')), /^HIGHon failure: refuse \(closed\)/);
    assert.match(await text(cell('content_filter', 'Breaker')), /closed/);
    await eventually(async () => (await text(cell('echo', 'Health'))) === 'healthy', 'echo healthy');
    const system = page.locator('.health-summary');
    assert.match(await text(system), /Health(healthy|degraded)/, 'the system health');
    assert.match(await text(system), /Uptime\d+ s/, 'the uptime');
    await screenshot(page, 'dashboard-02-plugins');
  });

  it('updates the figures live after requests, with a sparkline and rate charts drawn', async () => {
    const callsBefore = Number((await text(cell('content_filter', 'Calls'))).replace(/,/g, ''));
    for (let sent = 0; sent < 4; sent++) await chat(`hello ${sent}`);
    await eventually(
      async () => Number((await text(cell('content_filter', 'Calls'))).replace(/,/g, '')) >= callsBefore + 8,
      'content_filter counted the 4 chats (input and output of each)',
    );
    await eventually(
      async () => (await row('content_filter').locator('.sparkline polyline.sparkline-line').count()) === 1,
      'a sparkline in the content_filter row',
    );
    const requests = page.getByRole('figure').filter({ hasText: 'Requests by status' });
    await eventually(
      async () => (await requests.locator('polyline.chart-line').count()) >= 1,
      'the request chart drawn',
    );
    const points = (await requests.locator('polyline.chart-line').first().getAttribute('points')) ?? '';
    assert.ok(points.split(' ').length >= 2, `the line has points: ${points}`);
    assert.ok(
      points.split(' ').some((point) => Number(point.split(',')[1]) < 89),
      `the request line rises above the axis after the chats: ${points}`,
    );
    const tokens = page.getByRole('figure').filter({ hasText: 'Tokens' });
    assert.match(await text(tokens), /Counted by token_counter/, 'token_counter_tokens_total read from /metrics');
    assert.equal(await tokens.locator('polyline.chart-line').count(), 2, 'prompt and completion lines');
    await screenshot(page, 'dashboard-03-metrics');
  });

  it('stops polling while the tab is hidden, and polls at once when it shows again', async () => {
    let polls = 0;
    const countPolls = (request: { url(): string }) => {
      if (new URL(request.url()).pathname === '/plugins') polls++;
    };
    page.on('request', countPolls);
    const setHidden = (hidden: boolean) =>
      page.evaluate(
        `Object.defineProperty(document, 'hidden', { configurable: true, get: () => ${hidden} });
         document.dispatchEvent(new Event('visibilitychange'));`,
      );
    await setHidden(true);
    await eventually(
      async () => /paused \(tab hidden\)/.test(await text(page.locator('.health-summary'))),
      'says paused',
    );
    // A poll already under way may still end; none may start after it (the page polls every 2 s).
    await new Promise((resolve) => setTimeout(resolve, 500));
    polls = 0;
    await new Promise((resolve) => setTimeout(resolve, 4500));
    assert.equal(polls, 0, 'no poll while hidden');
    await setHidden(false);
    await eventually(async () => polls > 0, 'a poll as soon as the tab shows', 1500);
    page.off('request', countPolls);
  });

  it('disables and enables a plugin (the next reply shows the effect, the change is logged), reloads one', async () => {
    assert.equal(await chat('mail a@b.example'), 'You said: mail [email]', 'content_filter redacts the address');

    await page.getByRole('button', { name: 'Disable content_filter' }).click();
    await eventually(async () => /^PAUSED/.test(await text(cell('content_filter', 'State'))), 'content_filter PAUSED');
    assert.match(await text(cell('content_filter', 'Actions')), /content_filter disabled \(now PAUSED\)/);
    const log = page.getByRole('log');
    await eventually(async () => /content_filter: ACTIVE → PAUSED/.test(await text(log)), 'the change in the live log');
    assert.equal(await chat('mail a@b.example'), 'You said: mail a@b.example', 'disabled: the address passes raw');
    await screenshot(page, 'dashboard-04-disabled');

    await page.getByRole('button', { name: 'Enable content_filter' }).click();
    await eventually(async () => /^ACTIVE/.test(await text(cell('content_filter', 'State'))), 'content_filter ACTIVE');
    assert.equal(await chat('mail a@b.example'), 'You said: mail [email]', 'enabled again: redacted again');

    await page.getByRole('button', { name: 'Reload echo' }).click();
    await eventually(
      async () => /echo reloaded \(now ACTIVE, snapshot \d+\)/.test(await text(cell('echo', 'Actions'))),
      'the plugin reload outcome',
    );
    assert.equal(await chat('still there?'), 'You said: still there?', 'the reloaded backend answers');
  });

  it('reloads the configuration with a new plugin, shows its open breaker and resets it', async () => {
    await server.fixture.write('flaky.plugin.ts', FLAKY_PLUGIN);
    const yaml = await readFile(server.fixture.file, 'utf8');
    await server.fixture.write(
      'config.yaml',
      yaml.replace('message_processors:\n', 'message_processors:\n  flaky:\n    plugin_file: flaky.plugin.ts\n'),
    );
    await page.getByRole('button', { name: 'Reload configuration' }).click();
    await eventually(
      async () => /Applied:\s*flaky/.test(await text(page.locator('.config-panel .reload-report'))),
      'the reload report names flaky',
    );
    await row('flaky').waitFor();

    await chat('one');
    await chat('two');
    await eventually(async () => /open/.test(await text(cell('flaky', 'Breaker'))), "flaky's breaker open");
    assert.match(await text(cell('flaky', 'State')), /last error: PLUGIN_CALL_FAILED/, 'its last error');
    await eventually(async () => /degraded/.test(await text(page.locator('.health-summary'))), 'the system degraded');
    await screenshot(page, 'dashboard-05-breaker-open');

    await page.getByRole('button', { name: 'Reset the circuit breaker of flaky' }).click();
    await eventually(
      async () => /flaky: circuit breaker reset \(now closed\)/.test(await text(cell('flaky', 'Actions'))),
      'the reset outcome',
    );
    await eventually(async () => /closed/.test(await text(cell('flaky', 'Breaker'))), "flaky's breaker closed");
    assert.equal(await page.getByRole('button', { name: 'Reset the circuit breaker of flaky' }).count(), 0);
  });

  it("edits a plugin's configuration through its schema form: applied, written with comments kept", async () => {
    await page.getByRole('button', { name: 'Details of content_filter' }).click();
    await page.getByRole('button', { name: 'Edit the configuration of content_filter' }).click();
    const form = page.getByRole('form', { name: /content_filter configuration/ });
    await form.waitFor();

    const window = form.getByLabel('window', { exact: true });
    assert.equal(await window.getAttribute('min'), '16', 'bounds from the schema');
    await window.fill('5');
    const windowField = form.locator('.config-field', { has: page.getByLabel('window', { exact: true }) });
    await eventually(async () => /must be at least 16/.test(await text(windowField)), 'the client check at the field');
    assert.equal(await window.getAttribute('aria-invalid'), 'true');
    await window.fill('128');
    const email = form.getByRole('group', { name: 'email', exact: true });
    await email.getByLabel('action', { exact: true }).selectOption('mask');
    await form.getByRole('button', { name: 'Apply' }).click();
    await eventually(
      async () => /content_filter: configuration saved to .* and applied/.test(await text(form)),
      'the form says it was applied',
    );
    await screenshot(page, 'dashboard-06-config-applied');

    const view = await fetch(`${server.url}/admin/config`, {
      headers: { authorization: `Bearer ${server.adminToken}` },
    });
    const { config } = (await view.json()) as {
      config: { plugins: { name: string; config: Record<string, unknown> }[] };
    };
    const filter = config.plugins.find((entry) => entry.name === 'content_filter');
    assert.deepEqual(
      [filter?.config.window, (filter?.config.categories as { email?: { action?: string } })?.email?.action],
      [128, 'mask'],
      'GET /admin/config shows the new values',
    );
    const yaml = await readFile(join(server.fixture.dir, 'config.yaml'), 'utf8');
    assert.match(yaml, /window: 128/, `the file has the new value:\n${yaml}`);
    assert.match(yaml, /# Redacts e-mail addresses: the dashboard test switches it off and on\./, 'comments kept');
    assert.equal(await chat('mail a@b.example'), 'You said: mail ***********', 'the next reply masks the address');
  });

  it("shows the server's message next to the field it names when a value is invalid", async () => {
    const form = page.getByRole('form', { name: /content_filter configuration/ });
    const region = form.getByLabel('default region', { exact: true });
    await region.fill('USA');
    await form.getByRole('button', { name: 'Apply' }).click();
    const regionField = form.locator('.config-field', { has: page.getByLabel('default region', { exact: true }) });
    await eventually(
      async () => /expected a two-letter region code/.test(await text(regionField.locator('.field-errors'))),
      "the server's message at the default_region field",
    );
    assert.equal(await region.getAttribute('aria-invalid'), 'true', 'the field is marked invalid');
    const since = health.problems.slice(expectedProblems);
    assert.ok(
      since.length === 1 && /status of 400/.test(since[0] ?? ''),
      `only the expected 400 of the refused PUT: ${since.join('\n')}`,
    );
    expectedProblems = health.problems.length;
    assert.match(await text(form.getByRole('alert')), /is not valid/, "the server's summary above the fields");
    const yaml = await readFile(join(server.fixture.dir, 'config.yaml'), 'utf8');
    assert.doesNotMatch(yaml, /USA/, 'nothing invalid was written');
    await regionField.scrollIntoViewIfNeeded();
    await screenshot(page, 'dashboard-07-config-invalid');
  });

  it('edits a list of choices (add, remove) and a checkbox, and writes them', async () => {
    await page.getByRole('button', { name: 'Details of logging' }).click();
    await page.getByRole('button', { name: 'Edit the configuration of logging' }).click();
    const form = page.getByRole('form', { name: /logging configuration/ });
    await form.waitFor();
    const list = form.getByRole('group', { name: 'redact pii' });
    assert.match(await text(list), /Not set: the default \["email","phone","card","iban","ssn","ip"\] applies/);
    await list.getByRole('button', { name: 'Add an item to redact pii' }).click();
    assert.equal(await list.getByRole('combobox').count(), 7, 'the default list and a new item');
    await list.getByRole('button', { name: 'Remove redact pii, item 7' }).click();
    await list.getByRole('button', { name: 'Remove redact pii, item 6' }).click();
    await list.getByRole('combobox', { name: 'redact pii, item 1' }).selectOption('card');
    await form.getByRole('checkbox', { name: /include bodies/ }).check();
    await form.getByRole('button', { name: 'Apply' }).click();
    await eventually(async () => /logging: configuration saved to .* and applied/.test(await text(form)), 'applied');
    await list.scrollIntoViewIfNeeded();
    await screenshot(page, 'dashboard-08-config-list');

    const view = await fetch(`${server.url}/admin/config`, {
      headers: { authorization: `Bearer ${server.adminToken}` },
    });
    const { config } = (await view.json()) as {
      config: { plugins: { name: string; config: Record<string, unknown> }[] };
    };
    const logging = config.plugins.find((entry) => entry.name === 'logging')?.config;
    assert.deepEqual(
      [logging?.redact_pii, logging?.include_bodies],
      [['card', 'phone', 'card', 'iban', 'ssn'], true],
      'GET /admin/config shows the list and the flag',
    );
  });

  it('fits a 375 px screen in dark mode, and the page reported no error and loaded nothing from elsewhere', async () => {
    await page.setViewportSize({ width: 375, height: 2600 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.getByRole('heading', { name: 'Plugins' }).scrollIntoViewIfNeeded();
    const overflow = (await page.evaluate(
      'document.querySelector(".app-main").scrollWidth - document.querySelector(".app-main").clientWidth',
    )) as number;
    assert.ok(overflow <= 0, `no sideways scrolling at 375 px (${overflow} px too wide)`);
    const tablesOverflow = (await page.evaluate(
      'Math.max(...[...document.querySelectorAll(".table-scroll")].map((box) => box.scrollWidth - box.clientWidth))',
    )) as number;
    assert.ok(tablesOverflow <= 0, `the plugin cards and the state history fit (${tablesOverflow} px too wide)`);
    const background = (await page.evaluate('getComputedStyle(document.body).backgroundColor')) as string;
    assert.equal(background, 'rgb(15, 17, 21)', 'the dark theme follows the system');
    await page.evaluate('document.querySelector(".app-main").scrollTo(0, 0)');
    await screenshot(page, 'dashboard-09-narrow-dark');
    await page.getByRole('form', { name: /content_filter configuration/ }).scrollIntoViewIfNeeded();
    await screenshot(page, 'dashboard-10-narrow-dark-form');
    const unexpected = health.problems.slice(expectedProblems);
    assert.deepEqual(unexpected, [], 'no page errors, console errors or requests to other origins');
  });
});
