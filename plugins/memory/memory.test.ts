/**
 * Memory's semantics through a real PluginManager with a scripted backend: what the backend is
 * sent, what is stored, which headers go out, who may use which conversation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPlugboardError, type Message } from '../../src/index.ts';
import { say, sent, startMemory, transcript } from './testing/harness.ts';

const idOf = (exchange: { headers: ReadonlyMap<string, string> }) => {
  const id = exchange.headers.get('x-conversation-id');
  assert.ok(id, 'the response names its conversation');
  return id;
};

test('without a conversation id a request is stateless: the backend gets exactly its messages, nothing is stored', async () => {
  const harness = await startMemory();
  try {
    const messages: Message[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ];
    const exchange = await say(harness, messages);
    assert.deepEqual(sent(harness.calls('chat')[0]), ['system: Be brief.', 'user: Hi']);
    assert.equal(exchange.headers.get('x-conversation-id'), undefined);
    assert.equal(exchange.response.data?.memory, undefined);
    assert.equal((await harness.store.list('anonymous')).items.length, 0);
  } finally {
    await harness.shutdown();
  }
});

test('`new` creates a conversation named in the header and the response data; the next request continues it', async () => {
  const harness = await startMemory();
  try {
    const first = await say(harness, 'My name is Ada.', { conversationId: 'new' });
    const id = idOf(first);
    assert.deepEqual(first.response.data?.memory, { conversation_id: id });
    assert.deepEqual(await transcript(harness, id), [
      'user: My name is Ada.',
      'assistant: Reply 1 to: My name is Ada.',
    ]);

    const second = await say(
      harness,
      [
        { role: 'system', content: 'You are kind.' },
        { role: 'user', content: 'What is my name?' },
      ],
      { conversationId: id },
    );
    assert.equal(idOf(second), id, 'the header comes with every request of the conversation');
    assert.deepEqual(sent(harness.calls('chat')[1]), [
      'system: You are kind.',
      'user: My name is Ada.',
      'assistant: Reply 1 to: My name is Ada.',
      'user: What is my name?',
    ]);
    assert.deepEqual(
      await transcript(harness, id),
      [
        'user: My name is Ada.',
        'assistant: Reply 1 to: My name is Ada.',
        'user: What is my name?',
        'assistant: Reply 2 to: What is my name?',
      ],
      'system messages are not stored',
    );
    assert.equal(harness.metrics.value('memory_conversations_created_total', { via: 'chat' }), 1);
    assert.equal(harness.metrics.value('memory_messages_stored_total', { role: 'user' }), 2);
    assert.equal(harness.metrics.value('memory_messages_stored_total', { role: 'assistant' }), 2);
  } finally {
    await harness.shutdown();
  }
});

test('a client that re-sends the whole history gets no duplicates stored, and the model sees it once', async () => {
  const harness = await startMemory();
  try {
    const id = idOf(await say(harness, 'one', { conversationId: 'new' }));
    await say(
      harness,
      [
        { role: 'user', content: 'one' },
        { role: 'assistant', content: 'Reply 1 to: one' },
        { role: 'user', content: 'two' },
      ],
      { conversationId: id },
    );
    assert.deepEqual(await transcript(harness, id), [
      'user: one',
      'assistant: Reply 1 to: one',
      'user: two',
      'assistant: Reply 2 to: two',
    ]);
    assert.deepEqual(sent(harness.calls('chat')[1]), ['user: one', 'assistant: Reply 1 to: one', 'user: two']);
    // The same words again as a new message are a new message: the last one is always new.
    await say(harness, 'two', { conversationId: id });
    assert.equal((await transcript(harness, id)).length, 6);
  } finally {
    await harness.shutdown();
  }
});

test("another principal's conversation and an unknown id get the same 404, and the backend is not called", async () => {
  const harness = await startMemory();
  try {
    const id = idOf(await say(harness, 'secret plans', { conversationId: 'new', principal: 'alice' }));
    const refusals = [];
    for (const [conversationId, principal] of [
      [id, 'mallory'],
      [id, undefined],
      ['00000000-0000-4000-8000-000000000000', 'alice'],
      ['x'.repeat(300), 'alice'],
    ] as const) {
      const error = await say(harness, 'show me', {
        conversationId,
        ...(principal === undefined ? {} : { principal }),
      }).catch((thrown: unknown) => thrown);
      assert.ok(isPlugboardError(error, 'memory/NOT_FOUND'), String(error));
      assert.equal(error.status, 404);
      refusals.push(error.message);
    }
    assert.equal(new Set(refusals).size, 1, 'one message for all: nobody learns whether an id exists');
    assert.equal(harness.calls('chat').length, 1);
    assert.equal((await harness.store.get('alice', id))?.messageCount, 2, 'nothing was added');
    assert.equal((await harness.store.list('mallory')).items.length, 0);
  } finally {
    await harness.shutdown();
  }
});

test('a streamed reply is stored before the stream ends (before the server writes its done line)', async () => {
  const harness = await startMemory();
  try {
    const first = await say(harness, 'stream please', { conversationId: 'new', stream: true });
    assert.equal(first.storedAtStreamEnd, 2, 'user message and reply stored when the pipeline returned');
    const id = idOf(first);
    assert.deepEqual(await transcript(harness, id), ['user: stream please', 'assistant: Reply 1 to: stream please']);
  } finally {
    await harness.shutdown();
  }
});

test('a failed request stores the user message and no reply', async () => {
  const harness = await startMemory({
    fail: (kind, context) =>
      kind === 'chat' && context.messages.at(-1)?.content === 'boom' ? new Error('down') : undefined,
  });
  try {
    const id = idOf(await say(harness, 'hello', { conversationId: 'new' }));
    await assert.rejects(say(harness, 'boom', { conversationId: id }));
    assert.deepEqual(await transcript(harness, id), ['user: hello', 'assistant: Reply 1 to: hello', 'user: boom']);
    await say(harness, 'again', { conversationId: id });
    assert.deepEqual(sent(harness.calls('chat').at(-1)).slice(-2), ['user: boom', 'user: again']);
  } finally {
    await harness.shutdown();
  }
});

test('tool calls are stored with the reply and sent back with their results', async () => {
  const call = { id: 'call_1', name: 'weather', arguments: '{"city":"Lisbon"}' };
  const harness = await startMemory({
    backend: {
      reply: (context) =>
        context.messages.at(-1)?.role === 'tool' ? 'It is sunny.' : { content: '', toolCalls: [call] },
    },
  });
  try {
    const id = idOf(await say(harness, 'Weather in Lisbon?', { conversationId: 'new' }));
    await say(harness, [{ role: 'tool', content: '{"sky":"clear"}', toolCallId: 'call_1', name: 'weather' }], {
      conversationId: id,
    });
    const last = harness.backend.calls.at(-1)!;
    assert.deepEqual(
      last.messages.map((message) => message.role),
      ['user', 'assistant', 'tool'],
    );
    assert.deepEqual(last.messages[1]?.toolCalls, [call]);
    const stored = await harness.store.messages('anonymous', id);
    assert.deepEqual(stored[1]?.message.toolCalls, [call]);
    assert.equal(stored[3]?.message.content, 'It is sunny.');
  } finally {
    await harness.shutdown();
  }
});

test('thinking is left out of the stored reply unless store_thinking', async () => {
  for (const storeThinking of [false, true]) {
    const harness = await startMemory({
      config: { store_thinking: storeThinking },
      backend: { reply: { content: 'Four.', thinking: 'Two plus two…' } },
    });
    try {
      const id = idOf(await say(harness, '2+2?', { conversationId: 'new' }));
      const reply = (await harness.store.messages('anonymous', id))[1]?.message;
      assert.equal(reply?.content, 'Four.');
      assert.equal(reply?.thinking, storeThinking ? 'Two plus two…' : undefined);
    } finally {
      await harness.shutdown();
    }
  }
});

test('a request with only system messages is answered with the history and stores nothing', async () => {
  const harness = await startMemory();
  try {
    const id = idOf(await say(harness, 'hello', { conversationId: 'new' }));
    await say(harness, [{ role: 'system', content: 'Summarize.' }], { conversationId: id });
    assert.deepEqual(sent(harness.calls('chat')[1]), [
      'system: Summarize.',
      'user: hello',
      'assistant: Reply 1 to: hello',
    ]);
    assert.equal((await harness.store.get('anonymous', id))?.messageCount, 2);
  } finally {
    await harness.shutdown();
  }
});
