/**
 * The conversation API's handlers, called directly on a running memory plugin (as the server
 * calls them once middleware admitted the request): list with search and paging, create, get,
 * rename, delete, export as JSON and Markdown; validation answers 400 naming the field; a
 * principal sees only its own conversations.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createChatContext,
  type EndpointReply,
  type EndpointRequest,
  isPlugboardError,
  type JsonValue,
  type PluginCall,
} from '../../src/index.ts';
import { type MemoryHarness, say, startMemory } from './testing/harness.ts';

interface Call {
  readonly params?: Record<string, string>;
  readonly query?: Record<string, string>;
  readonly body?: JsonValue | Uint8Array;
  readonly principal?: string;
}

/** Calls the plugin's handler of `method path` as the server would. */
async function call(harness: MemoryHarness, method: string, path: string, input: Call = {}): Promise<EndpointReply> {
  const endpoint = harness.plugin.endpoints?.find((entry) => entry.method === method && entry.path === path);
  assert.ok(endpoint, `${method} ${path} is an endpoint`);
  assert.equal(endpoint.scope, 'chat');
  const request: EndpointRequest = {
    method: endpoint.method,
    route: endpoint.path,
    params: input.params ?? {},
    query: input.query ?? {},
    headers: {},
    body: input.body,
    contentType:
      input.body === undefined ? undefined : input.body instanceof Uint8Array ? 'text/plain' : 'application/json',
    principal: input.principal === undefined ? undefined : { id: input.principal },
    context: createChatContext({ messages: [], operation: 'chat' }),
  };
  const result = await endpoint.handle(request, {} as PluginCall);
  return result as EndpointReply;
}

/** The JSON body of a reply. */
function json(reply: EndpointReply): Record<string, unknown> {
  assert.ok('body' in reply, 'a JSON reply');
  return reply.body as Record<string, unknown>;
}

async function refusal(promise: Promise<unknown>, code: string, field?: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  assert.ok(isPlugboardError(error, code), `expected ${code}, got ${String(error)}`);
  if (field !== undefined) assert.match(error.message, field);
}

test('create, get, rename and delete one conversation; JSON in snake_case with ISO dates', async () => {
  const harness = await startMemory();
  try {
    const created = await call(harness, 'POST', '/v1/conversations', {
      body: { title: 'Trip planning', metadata: { client: 'test', tags: ['a'] } },
      principal: 'alice',
    });
    assert.equal('status' in created ? created.status : undefined, 201);
    const conversation = json(created);
    assert.equal(conversation.title, 'Trip planning');
    assert.equal(conversation.object, 'conversation');
    assert.equal(conversation.message_count, 0);
    assert.deepEqual(conversation.metadata, { client: 'test', tags: ['a'] });
    assert.equal(conversation.summary, null);
    assert.equal(new Date(conversation.created_at as string).toISOString(), conversation.created_at);
    assert.equal(harness.metrics.value('memory_conversations_created_total', { via: 'api' }), 1);
    const id = conversation.id as string;

    await say(harness, 'Lisbon in May?', { conversationId: id, principal: 'alice' });
    const whole = json(await call(harness, 'GET', '/v1/conversations/:id', { params: { id }, principal: 'alice' }));
    assert.equal(whole.message_count, 2);
    const messages = whole.messages as Record<string, unknown>[];
    assert.deepEqual(
      messages.map((message) => [message.sequence, message.role, message.content]),
      [
        [1, 'user', 'Lisbon in May?'],
        [2, 'assistant', 'Reply 1 to: Lisbon in May?'],
      ],
    );
    assert.equal(typeof messages[0]?.created_at, 'string');

    const renamed = json(
      await call(harness, 'PATCH', '/v1/conversations/:id', {
        params: { id },
        body: { title: 'Lisbon' },
        principal: 'alice',
      }),
    );
    assert.equal(renamed.title, 'Lisbon');

    const deleted = await call(harness, 'DELETE', '/v1/conversations/:id', { params: { id }, principal: 'alice' });
    assert.deepEqual(deleted, { status: 204 });
    await refusal(
      call(harness, 'GET', '/v1/conversations/:id', { params: { id }, principal: 'alice' }),
      'memory/NOT_FOUND',
    );
    await refusal(
      call(harness, 'DELETE', '/v1/conversations/:id', { params: { id }, principal: 'alice' }),
      'memory/NOT_FOUND',
    );
  } finally {
    await harness.shutdown();
  }
});

test("a principal cannot read, rename, delete, export or list another's conversation", async () => {
  const harness = await startMemory();
  try {
    const id = json(
      await call(harness, 'POST', '/v1/conversations', { body: { title: 'Private' }, principal: 'alice' }),
    ).id as string;
    for (const [method, path, body] of [
      ['GET', '/v1/conversations/:id', undefined],
      ['PATCH', '/v1/conversations/:id', { title: 'Mine now' }],
      ['DELETE', '/v1/conversations/:id', undefined],
      ['GET', '/v1/conversations/:id/export', undefined],
    ] as const) {
      await refusal(
        call(harness, method, path, { params: { id }, principal: 'mallory', ...(body ? { body } : {}) }),
        'memory/NOT_FOUND',
      );
    }
    await refusal(call(harness, 'GET', '/v1/conversations/:id', { params: { id } }), 'memory/NOT_FOUND');
    assert.deepEqual(json(await call(harness, 'GET', '/v1/conversations', { principal: 'mallory' })).data, []);
    assert.equal((await harness.store.get('alice', id))?.title, 'Private', 'untouched');
  } finally {
    await harness.shutdown();
  }
});

test('list: most recent first, paged with limit and next_cursor, searched in titles and messages', async () => {
  const harness = await startMemory();
  try {
    const ids: string[] = [];
    for (const title of ['Alpha', 'Beta', 'Gamma', 'Delta', 'Epsilon']) {
      ids.push(json(await call(harness, 'POST', '/v1/conversations', { body: { title } })).id as string);
    }
    await say(harness, 'Tell me about zebras', { conversationId: ids[1]! });
    const seen: { title: string; id: string; updated_at: string }[] = [];
    let cursor: string | undefined;
    do {
      const page = json(
        await call(harness, 'GET', '/v1/conversations', { query: { limit: '2', ...(cursor ? { cursor } : {}) } }),
      );
      assert.ok((page.data as unknown[]).length <= 2);
      seen.push(...(page.data as typeof seen));
      cursor = (page.next_cursor as string | null) ?? undefined;
    } while (cursor !== undefined);
    assert.deepEqual(
      seen.map((conversation) => conversation.title).sort(),
      ['Alpha', 'Beta', 'Delta', 'Epsilon', 'Gamma'],
      'each once',
    );
    // Most recently updated first; conversations updated in the same millisecond by id, greater first.
    const ordered = [...seen].sort((a, b) => b.updated_at.localeCompare(a.updated_at) || b.id.localeCompare(a.id));
    assert.deepEqual(seen, ordered);
    assert.equal(
      seen[0]?.updated_at,
      [...seen]
        .map((conversation) => conversation.updated_at)
        .sort()
        .at(-1),
    );
    assert.ok(seen[0]?.title === 'Beta' || seen[0]?.updated_at === seen[1]?.updated_at, 'the one chatted in leads');

    const byTitle = json(await call(harness, 'GET', '/v1/conversations', { query: { search: 'gAMm' } }));
    assert.deepEqual(
      (byTitle.data as { id: string }[]).map((conversation) => conversation.id),
      [ids[2]],
    );
    const byMessage = json(await call(harness, 'GET', '/v1/conversations', { query: { search: 'zebras' } }));
    assert.deepEqual(
      (byMessage.data as { id: string }[]).map((conversation) => conversation.id),
      [ids[1]],
    );
    assert.equal(byMessage.next_cursor, null);
  } finally {
    await harness.shutdown();
  }
});

test('invalid input is a 400 that names the field', async () => {
  const harness = await startMemory();
  try {
    const id = json(await call(harness, 'POST', '/v1/conversations', {})).id as string;
    const cases: [string, string, Call, RegExp][] = [
      ['GET', '/v1/conversations', { query: { limit: '0' } }, /query\.limit/],
      ['GET', '/v1/conversations', { query: { limit: 'ten' } }, /query\.limit/],
      ['GET', '/v1/conversations', { query: { limit: '101' } }, /query\.limit/],
      ['GET', '/v1/conversations', { query: { cursor: 'not-a-cursor' } }, /query\.cursor/],
      ['GET', '/v1/conversations', { query: { search: 'x'.repeat(501) } }, /query\.search/],
      ['POST', '/v1/conversations', { body: { title: '   ' } }, /body\.title/],
      ['POST', '/v1/conversations', { body: { title: 7 } }, /body\.title/],
      ['POST', '/v1/conversations', { body: { name: 'x' } }, /body: .*name/],
      ['POST', '/v1/conversations', { body: [] }, /body/],
      ['POST', '/v1/conversations', { body: new TextEncoder().encode('title=x') }, /body: expected application\/json/],
      ['PATCH', '/v1/conversations/:id', { params: { id }, body: {} }, /body\.title/],
      ['PATCH', '/v1/conversations/:id', { params: { id } }, /body/],
      ['GET', '/v1/conversations/:id/export', { params: { id }, query: { format: 'pdf' } }, /query\.format/],
    ];
    for (const [method, path, input, field] of cases) {
      const error = await call(harness, method, path, input).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      assert.ok(
        isPlugboardError(error, 'memory/INVALID_REQUEST'),
        `${method} ${JSON.stringify(input)}: ${String(error)}`,
      );
      assert.equal(error.status, 400);
      assert.match(error.message, field, `${method} ${JSON.stringify(input)}`);
    }
  } finally {
    await harness.shutdown();
  }
});

test('export as JSON (the GET body) and as Markdown, each a download named after the conversation', async () => {
  const harness = await startMemory({
    backend: {
      reply: (context) =>
        context.messages.at(-1)?.role === 'tool'
          ? 'Sunny, 24 °C.'
          : { content: 'Let me look.', toolCalls: [{ id: 'call_1', name: 'weather', arguments: '{"city":"Lisbon"}' }] },
    },
  });
  try {
    const id = (await say(harness, 'Weather in Lisbon?', { conversationId: 'new' })).headers.get('x-conversation-id')!;
    await say(harness, [{ role: 'tool', content: '{"sky":"clear"}', toolCallId: 'call_1', name: 'weather' }], {
      conversationId: id,
    });
    await call(harness, 'PATCH', '/v1/conversations/:id', { params: { id }, body: { title: 'Lisbon weather' } });

    const asJson = await call(harness, 'GET', '/v1/conversations/:id/export', {
      params: { id },
      query: { format: 'json' },
    });
    assert.ok('text' in asJson, 'a text download');
    assert.equal(asJson.contentType, 'application/json');
    assert.equal(asJson.filename, `conversation-${id}.json`);
    const whole = json(await call(harness, 'GET', '/v1/conversations/:id', { params: { id } }));
    assert.deepEqual(JSON.parse(asJson.text), whole);
    const messages = whole.messages as Record<string, unknown>[];
    assert.deepEqual(messages[1]?.tool_calls, [
      { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Lisbon"}' } },
    ]);
    assert.equal(messages[2]?.tool_call_id, 'call_1');

    const asMarkdown = await call(harness, 'GET', '/v1/conversations/:id/export', {
      params: { id },
      query: { format: 'markdown' },
    });
    assert.ok('text' in asMarkdown, 'a text download');
    assert.equal(asMarkdown.contentType, 'text/markdown');
    assert.equal(asMarkdown.filename, `conversation-${id}.md`);
    const markdown = asMarkdown.text;
    assert.match(markdown, /^# Lisbon weather\n/);
    assert.match(markdown, /## User\n\n<sub>#1 · [^<]+<\/sub>\n\nWeather in Lisbon\?/);
    assert.match(
      markdown,
      /## Assistant\n\n<sub>#2[^\n]+\n\nLet me look\.\n\nTool call `weather` \(`call_1`\):\n\n```json\n\{"city":"Lisbon"\}\n```/,
    );
    assert.match(markdown, /## Tool \(weather\)\n\n<sub>#3[^\n]+\n\n\{"sky":"clear"\}/);
    assert.match(markdown, /## Assistant\n\n<sub>#4[^\n]+\n\nSunny, 24 °C\.\n$/);

    const byDefault = await call(harness, 'GET', '/v1/conversations/:id/export', { params: { id } });
    assert.ok('contentType' in byDefault && byDefault.contentType === 'application/json', 'JSON by default');
  } finally {
    await harness.shutdown();
  }
});
