/**
 * Each action (redact, mask, flag, block) in each direction, through a real manager: what the
 * backend sees, what the client gets, the 4xx of a blocked message (naming the category,
 * never the value), findings in message metadata and in the log (never the text), the
 * history a client sends again, embeddings, and the config errors.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createChatContext, createDefaultLogger, isPlugboardError, lastUserMessage } from '../../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../../src/testing/index.ts';
import contentFilter from './content-filter.plugin.ts';

const CARD = '4111 1111 1111 1111';
const KEY = 'ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';

/** A manager whose backend echoes the user's message (`You said: …`) and answers `reply` when set. */
async function setUp(config: Record<string, unknown>, reply?: string) {
  const lines: string[] = [];
  const logger = createDefaultLogger('info', 'json', { write: (line: string) => lines.push(line) });
  const backend = createScriptedBackend(reply === undefined ? {} : { reply });
  const manager = await startManager([backend, [contentFilter, { config }]], { logger });
  return { backend, manager, lines, [Symbol.asyncDispose]: () => manager.shutdown() };
}

describe('actions and directions', () => {
  test('redact (the default) in both directions: the backend never sees the value, the client neither', async () => {
    await using env = await setUp({}, `Your card ${CARD} and key ${KEY}`);
    const response = await env.manager.chat(chatRequest(`pay with ${CARD} please`));
    assert.equal(lastUserMessage(env.backend.calls[0]!)?.content, 'pay with [card] please');
    assert.equal(response.message.content, 'Your card [card] and key [secret]');
    assert.deepEqual(response.message.metadata?.content_filter, { findings: { card: 1, secret: 1 } });
  });

  test('mask keeps the last 4 characters of long values, all of short ones', async () => {
    await using env = await setUp({ categories: { card: { action: 'mask' }, profanity: { action: 'mask' } } });
    const response = await env.manager.chat(chatRequest(`card ${CARD}, damn, what the fuck`));
    assert.equal(response.message.content, 'You said: card ***************1111, damn, what the ****');
  });

  test('direction input: filtered before the backend, not in the reply', async () => {
    await using env = await setUp({ categories: { email: { direction: 'input' } } }, 'mail bob@example.org');
    const response = await env.manager.chat(chatRequest('I am alice@example.com'));
    assert.equal(lastUserMessage(env.backend.calls[0]!)?.content, 'I am [email]');
    assert.equal(response.message.content, 'mail bob@example.org');
  });

  test('direction output: the backend sees the value, the client does not', async () => {
    await using env = await setUp({ categories: { email: { direction: 'output' } } });
    const response = await env.manager.chat(chatRequest('I am alice@example.com'));
    assert.equal(lastUserMessage(env.backend.calls[0]!)?.content, 'I am alice@example.com');
    assert.equal(response.message.content, 'You said: I am [email]');
  });

  test('flag leaves the text, puts categories and counts in metadata and in a log line, never the value', async () => {
    await using env = await setUp({ categories: { ip: { action: 'flag' } } }, 'from 10.1.2.3');
    const response = await env.manager.chat(chatRequest('ping 192.168.7.7 and 192.168.7.8'));
    assert.equal(lastUserMessage(env.backend.calls[0]!)?.content, 'ping 192.168.7.7 and 192.168.7.8');
    assert.deepEqual(lastUserMessage(env.backend.calls[0]!)?.metadata?.content_filter, { findings: { ip: 2 } });
    assert.equal(response.message.content, 'from 10.1.2.3');
    assert.deepEqual(response.message.metadata?.content_filter, { findings: { ip: 1 } });
    const flagged = env.lines.map((line) => JSON.parse(line)).filter((line) => line.flagged !== undefined);
    assert.deepEqual(
      flagged.map((line) => [line.direction, line.flagged]),
      [
        ['input', { ip: 2 }],
        ['output', { ip: 1 }],
      ],
    );
    assert.ok(!env.lines.join('\n').includes('192.168.7'), 'the log never has the value');
  });

  test('flag on a streamed reply: the log line, the text unchanged', async () => {
    await using env = await setUp({}, 'connect to 10.1.2.3 now');
    const streamed = await collectStream(env.manager.stream(chatRequest('hi', { stream: true })));
    assert.equal(streamed.text, 'connect to 10.1.2.3 now');
    assert.ok(env.lines.some((line) => line.includes('"flagged":{"ip":1}')));
  });

  test('block on input: content_filter/BLOCKED (422) naming the category, not the value; the backend is not called', async () => {
    await using env = await setUp({ categories: { card: { action: 'block' } } });
    const error = await env.manager.chat(chatRequest(`my card is ${CARD}`)).catch((thrown: unknown) => thrown);
    assert.ok(isPlugboardError(error, 'content_filter/BLOCKED'), String(error));
    assert.equal(error.status, 422);
    assert.match(error.message, /contains card/);
    assert.ok(!error.message.includes('4111') && !JSON.stringify(error.details ?? {}).includes('4111'));
    assert.equal(env.backend.calls.length, 0);
    // A message without a card passes.
    await env.manager.chat(chatRequest('no card here'));
    assert.equal(env.backend.calls.length, 1);
  });

  test('block on output: the reply is withheld with content_filter/BLOCKED (422), the value never reaches the client, no breaker opens', async () => {
    await using env = await setUp({ categories: { secret: { action: 'block', direction: 'output' } } }, `key ${KEY}`);
    // More blocked replies in a row than a breaker's threshold: a refusal is not a failure.
    for (let attempt = 0; attempt < 6; attempt++) {
      const error = await env.manager.chat(chatRequest('hi')).catch((thrown: unknown) => thrown);
      assert.ok(isPlugboardError(error, 'content_filter/BLOCKED'), String(error));
      assert.equal(error.status, 422);
      assert.match(error.message, /withheld by the content filter: it contained secret/);
      assert.ok(!error.message.includes(KEY));
    }
    const chunks: string[] = [];
    const failure = await (async () => {
      for await (const chunk of env.manager.stream(chatRequest('hi', { stream: true })))
        chunks.push(chunk.content ?? '');
    })().catch((thrown: unknown) => thrown);
    assert.ok(isPlugboardError(failure, 'content_filter/BLOCKED'), String(failure));
    assert.ok(!chunks.join('').includes('ghp_'), 'no byte of the key was streamed');
    const status = env.manager.getPluginStatus().plugins.content_filter;
    assert.equal(status?.breaker.state, 'closed', 'blocked replies are refusals, not failures');
  });

  test('history the client sends again is filtered too, and blocks too', async () => {
    await using env = await setUp({ categories: { ssn: { action: 'block' } } });
    const history = [
      { role: 'user' as const, content: `card ${CARD}` },
      { role: 'assistant' as const, content: 'noted' },
      { role: 'user' as const, content: 'and now?' },
    ];
    await env.manager.chat(chatRequest(history));
    assert.deepEqual(
      env.backend.calls[0]!.messages.map((message) => message.content),
      ['card [card]', 'noted', 'and now?'],
    );
    const error = await env.manager
      .chat(chatRequest([{ role: 'user', content: 'SSN 123-45-6789' }, ...history]))
      .catch((thrown: unknown) => thrown);
    assert.ok(isPlugboardError(error, 'content_filter/BLOCKED'));
  });

  test('embedding inputs are filtered before the backend embeds them', async () => {
    await using env = await setUp({});
    const context = createChatContext({
      operation: 'embeddings',
      model: 'scripted-model',
      messages: [{ role: 'user', content: `mail alice@example.com` }],
    });
    const seen: string[] = [];
    const original = env.backend.embed!.bind(env.backend);
    Object.assign(env.backend, {
      embed: (request: Parameters<typeof original>[0], call: Parameters<typeof original>[1]) => {
        seen.push(...request.input);
        return original(request, call);
      },
    });
    await env.manager.embed(context);
    assert.deepEqual(seen, ['mail [email]']);
  });

  test('custom patterns and word lists with their own actions', async () => {
    await using env = await setUp({
      custom: [{ name: 'ticket', pattern: 'TICKET-\\d{4,}', action: 'mask' }],
      words: [{ name: 'codename', list: ['Project Falcon'], action: 'block', direction: 'input' }],
    });
    const response = await env.manager.chat(chatRequest('see TICKET-123456'));
    assert.equal(response.message.content, 'You said: see *********3456');
    const error = await env.manager.chat(chatRequest('about project falcon')).catch((thrown: unknown) => thrown);
    assert.ok(isPlugboardError(error, 'content_filter/BLOCKED'));
    assert.match(error.message, /contains codename/);
  });

  test('fail-closed by default; a bad config keeps the plugin out, naming the key', async () => {
    assert.equal(contentFilter().metadata.failurePolicy, 'closed');
    for (const [config, key] of [
      [{ categories: { emial: {} } }, /emial/],
      [{ custom: [{ name: 'x', pattern: '(' }] }, /pattern/],
      [{ custom: [{ name: 'x', pattern: 'a*' }] }, /empty string/],
      [{ custom: [{ name: 'email', pattern: 'x' }] }, /built-in/],
      [{ window: 4 }, /window/],
    ] as const) {
      const manager = await startManager([createScriptedBackend(), [contentFilter, { config }]]);
      try {
        const status = manager.getPluginStatus().plugins.content_filter!;
        assert.equal(status.state, 'ERROR', JSON.stringify(config));
        assert.equal(status.lastError?.code, 'PLUGIN_CONFIG_INVALID');
        assert.match(status.lastError?.message ?? '', key);
      } finally {
        await manager.shutdown();
      }
    }
  });
});
