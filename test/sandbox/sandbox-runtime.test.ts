/**
 * Sandboxed plugins through the running server, as an operator configures them (`sandbox: true`
 * on an entry): each kind behind its proxy — processors (whole and streamed), a streaming backend
 * with cancellation, middleware decisions and response effects, the plugin's own config schema,
 * services — and the supervisor: a plugin that exits is restarted, one that blocks past its
 * deadline is killed, one that keeps crashing is given up on. Real child processes, real
 * namespaces and cgroups where this machine has them (GET /plugins says which).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDefaultLogger } from '../../src/index.ts';
import type { RunningPlugboard } from '../../src/server/serve.ts';
import { PLUGBOARD_SRC } from '../support/plugin-sources.ts';
import { RuntimeFixture } from '../support/runtime-fixture.ts';

const api = JSON.stringify(PLUGBOARD_SRC);

const SHOUT = `
import { defineMessageProcessor, withContent } from ${api};
// Upper-cases output; holds back a trailing partial word so a word is never split (window 8).
export default defineMessageProcessor({
  metadata: { name: 'shout', version: '1.0.0' },
  direction: 'output',
  processMessage: (message) => withContent(message, message.content.toUpperCase()),
  streaming: {
    window: 8,
    holdBack: (pending) => { const space = pending.lastIndexOf(' '); return space < 0 ? Math.min(8, pending.length) : Math.min(8, pending.length - space - 1); },
    transform: (text) => text.toUpperCase(),
  },
});
`;

const MOOD = `
import { defineMessageProcessor, withContent, keyValueStoreRef } from ${api};
import { z } from ${JSON.stringify(new URL('../../node_modules/zod/index.js', import.meta.url).pathname)};
// An input processor with a config schema, a service, hooks, a health check and exits on demand.
export default defineMessageProcessor({
  metadata: {
    name: 'mood', version: '1.0.0', consumes: [keyValueStoreRef],
    configSchema: z.strictObject({ suffix: z.string().default('!'), greeting: z.string() }),
  },
  direction: 'input',
  initialize(settings) { this.settings = settings.config; },
  async processMessage(message, context, call) {
    if (message.content === 'exit please') process.exit(3);
    if (message.content === 'spin please') for (;;) {}
    const store = call.services.get(keyValueStoreRef);
    const seen = Number((await store.get('seen')) ?? 0) + 1;
    await store.set('seen', seen);
    call.logger.info({ seen }, 'mood saw a message');
    return withContent(message, message.content + this.settings.suffix + ' #' + seen);
  },
  healthCheck: () => ({ status: 'healthy', message: 'in a good mood' }),
});
`;

const GATE = `
import { defineMiddleware, reject } from ${api};
export default defineMiddleware({
  metadata: { name: 'gate', version: '1.0.0' },
  // A hook, auto-registered from its method name, called in the plugin's process.
  onRequestEnd(payload, call) {
    call.logger.info({ outcome: payload.outcome }, 'gate saw a request end');
  },
  processRequest(context, call) {
    call.setResponseHeader('x-gate', 'passed');
    const last = context.messages.at(-1)?.content ?? '';
    return last.includes('forbidden') ? reject('REQUEST_REJECTED', 'the gate says no', { status: 403 }) : context;
  },
});
`;

const TRICKLE = `
import { defineBackend } from ${api};
import { setTimeout as sleep } from 'node:timers/promises';
// Streams one word every 30 ms until told to stop; logs when its call is aborted.
export default defineBackend({
  metadata: { name: 'trickle', version: '1.0.0' },
  chat(context, call) {
    if (!context.stream) return { message: { role: 'assistant', content: 'one two three' }, finishReason: 'stop' };
    return (async function* () {
      call.signal.addEventListener('abort', () => call.logger.warn({ aborted: true }, 'trickle was aborted'));
      const count = Number.parseInt(context.messages.at(-1)?.content ?? '3', 10);
      for (let index = 0; index < count; index++) {
        await sleep(30, undefined, { signal: call.signal });
        yield { content: (index === 0 ? '' : ' ') + 'w' + index };
      }
      yield { finishReason: 'stop' };
    })();
  },
  listModels: () => [{ id: 'words' }],
});
`;

const CONFIG = `
mode: development
observability:
  logging: { level: INFO, format: json }
plugin_manager:
  default_timeout: 2
backends:
  trickle:
    plugin_file: trickle.plugin.ts
    sandbox: true
message_processors:
  mood:
    plugin_file: mood.plugin.ts
    sandbox: { memory_mb: 256, cpu_percent: 80 }
    timeout: 1
    config: { greeting: hello, suffix: '?' }
  shout:
    plugin_file: shout.plugin.ts
    sandbox: true
middleware:
  gate:
    plugin_file: gate.plugin.ts
    sandbox: true
`;

let fixture: RuntimeFixture;
let running: RunningPlugboard;
const lines: Record<string, unknown>[] = [];

before(async () => {
  fixture = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-sandbox-'));
  await fixture.write('shout.plugin.ts', SHOUT);
  await fixture.write('mood.plugin.ts', MOOD);
  await fixture.write('gate.plugin.ts', GATE);
  await fixture.write('trickle.plugin.ts', TRICKLE);
  await fixture.write('config.yaml', CONFIG);
  const logger = createDefaultLogger('info', 'json', {
    write: (line: string) => {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  running = await fixture.serve({ logger });
});

after(async () => {
  await running?.stop('test');
  await fixture?.dispose();
});

async function chat(content: string, stream = false): Promise<Response> {
  return fetch(`${running.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'trickle/words', stream, messages: [{ role: 'user', content }] }),
  });
}

async function plugins(): Promise<
  Record<string, { state: string; sandbox?: Record<string, unknown>; lastError?: { code: string } }>
> {
  const body = (await (await fetch(`${running.url}/plugins`)).json()) as { plugins: never };
  return body.plugins;
}

/** The streamed text of an OpenAI-style SSE body. */
function sseText(body: string): string {
  return body
    .split('\n')
    .filter((line) => line.startsWith('data: ') && line !== 'data: [DONE]')
    .map(
      (line) =>
        (JSON.parse(line.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? '',
    )
    .join('');
}

describe('sandboxed plugins in the server', () => {
  test('every kind answers through its process; /plugins reports each sandbox and how it is enforced', async () => {
    const response = await chat('3');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-gate'), 'passed', "the middleware's response header crossed the boundary");
    const body = (await response.json()) as { choices: { message: { content: string } }[] };
    assert.equal(
      body.choices[0]!.message.content,
      'ONE TWO THREE',
      'backend reply, upper-cased by the sandboxed processor',
    );

    const report = await plugins();
    for (const name of ['trickle', 'mood', 'shout', 'gate']) {
      assert.equal(report[name]!.state, 'ACTIVE', `${name} is active`);
      const sandbox = report[name]!.sandbox as { sandboxed: boolean; pid: number; enforcement: { filesystem: string } };
      assert.equal(sandbox.sandboxed, true, `${name} reports its sandbox`);
      assert.ok(sandbox.pid > 0 && sandbox.pid !== process.pid, `${name} runs in a process of its own`);
      assert.match(sandbox.enforcement.filesystem, /permission model/);
    }
  });

  test('a streamed reply is transformed chunk by chunk in the sandbox and equals the whole one', async () => {
    const streamed = sseText(await (await chat('12', true)).text());
    assert.equal(streamed, 'W0 W1 W2 W3 W4 W5 W6 W7 W8 W9 W10 W11');
  });

  test('the input processor validated its config, uses a service and logs through the server', async () => {
    const before = lines.length;
    const response = await chat('hi');
    assert.equal(response.status, 200);
    const logged = lines.slice(before).find((line) => line.message === 'mood saw a message');
    assert.ok(logged, "the plugin's log line reached the server's log");
    assert.equal(logged.plugin, 'mood', 'under the plugin name');
    assert.ok(
      typeof logged.seen === 'number' && logged.seen >= 1,
      'with its fields (a count kept in the kv-store service)',
    );
  });

  test("a hook method runs in the plugin's process", async () => {
    const before = lines.length;
    assert.equal((await chat('3')).status, 200);
    let seen: Record<string, unknown> | undefined;
    for (let waited = 0; waited < 3000 && seen === undefined; waited += 50) {
      seen = lines.slice(before).find((line) => line.message === 'gate saw a request end');
      if (seen === undefined) await sleep(50);
    }
    assert.ok(seen, 'onRequestEnd ran and logged through the server');
    assert.equal(seen.outcome, 'completed');
  });

  test("a middleware's reject decision is the client's answer, its status and message kept", async () => {
    const response = await chat('this is forbidden');
    assert.equal(response.status, 403);
    const body = (await response.json()) as { error: { message: string } };
    assert.match(body.error.message, /the gate says no/);
  });

  test('a client that goes away mid-stream aborts the sandboxed backend', async () => {
    const before = lines.length;
    const controller = new AbortController();
    const response = await fetch(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'trickle/words', stream: true, messages: [{ role: 'user', content: '1000' }] }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    for (let waited = 0; waited < 3000; waited += 50) {
      if (lines.slice(before).some((line) => line.message === 'trickle was aborted')) break;
      await sleep(50);
    }
    assert.ok(
      lines.slice(before).some((line) => line.message === 'trickle was aborted'),
      "the backend's AbortSignal fired inside its process",
    );
  });

  test('a plugin that exits is restarted; the request meanwhile goes on without it (fail-open)', async () => {
    const response = await chat('exit please');
    assert.equal(response.status, 200, 'the user still gets an answer');
    let report = await plugins();
    for (let waited = 0; waited < 5000 && (report.mood!.sandbox as { restarts: number }).restarts < 1; waited += 100) {
      await sleep(100);
      report = await plugins();
    }
    const sandbox = report.mood!.sandbox as { restarts: number; lastExit: { kind: string; code: number } };
    assert.equal(sandbox.lastExit.kind, 'exit');
    assert.ok(sandbox.restarts >= 1, 'the supervisor started it again');
    const again = (await (await chat('hello')).json()) as { choices: { message: { content: string } }[] };
    assert.ok(again.choices[0]!.message.content.length > 0, 'answers again');
    const restarted = lines.find((line) => line.message === 'sandboxed plugin restarted');
    assert.ok(restarted, 'the restart is logged');
  });

  test('a call that spins past its deadline is cut off: the process is killed as unresponsive and restarted', async () => {
    const started = Date.now();
    const response = await chat('spin please');
    assert.equal(response.status, 200, 'answered without the stuck processor');
    assert.ok(Date.now() - started < 10_000, 'within its timeout and the yield grace, not forever');
    let sandbox: { lastExit?: { kind: string }; state: string } = { state: '' };
    for (let waited = 0; waited < 5000; waited += 100) {
      sandbox = (await plugins()).mood!.sandbox as typeof sandbox;
      if (sandbox.lastExit?.kind === 'unresponsive' && sandbox.state === 'running') break;
      await sleep(100);
    }
    assert.equal(sandbox.lastExit?.kind, 'unresponsive');
    assert.equal(sandbox.state, 'running', 'and running again');
    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    assert.match(metrics, /sandbox_events_total\{plugin="mood",event="unresponsive"\} [1-9]/);
  });
});
