/**
 * Messages and chat contexts (NFR-6, data integrity): validation naming the bad field,
 * deep freezing, copy-on-write helpers that leave the original untouched, and a pipeline in
 * which no plugin can change what the caller or the other plugins see.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  appendMessages,
  type ChatContext,
  createChatContext,
  createMessage,
  defineFeatureExtension,
  defineMessageProcessor,
  defineMiddleware,
  definePlugin,
  isPlugboardError,
  lastUserMessage,
  type Message,
  type MessageInput,
  type PlugboardError,
  updateContext,
  updateMessage,
  withContent,
} from '../../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../../src/testing/index.ts';

/** Asserts `fn` throws a REQUEST_INVALID PlugboardError whose message names `field`. */
function assertInvalid(fn: () => unknown, field: string): PlugboardError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(isPlugboardError(caught, 'REQUEST_INVALID'), `expected REQUEST_INVALID, got ${String(caught)}`);
  assert.ok(caught.message.includes(field), `"${caught.message}" should name ${field}`);
  assert.equal(caught.status, 400);
  return caught;
}

/** Every object reachable from `value` is frozen. */
function assertDeepFrozen(value: unknown, path = 'value'): void {
  if (typeof value !== 'object' || value === null) return;
  assert.ok(Object.isFrozen(value), `${path} should be frozen`);
  for (const [key, child] of Object.entries(value)) assertDeepFrozen(child, `${path}.${key}`);
}

/** Runs `mutate`; a frozen target makes it throw a TypeError (ESM is strict mode). */
function assertRefusesMutation(mutate: () => void): void {
  assert.throws(mutate, TypeError);
}

describe('createMessage', () => {
  test('returns a validated, deep-frozen message', () => {
    const message = createMessage({
      role: 'assistant',
      content: 'Calling a tool',
      toolCalls: [{ id: 'c1', name: 'weather', arguments: '{"city":"Oslo"}' }],
      images: ['data:image/png;base64,AAAA'],
      metadata: { nested: { level: [1, 2, { deep: true }] } },
    });
    assert.equal(message.role, 'assistant');
    assert.equal(message.content, 'Calling a tool');
    assert.equal(message.toolCalls?.[0]?.name, 'weather');
    assertDeepFrozen(message);
    assertRefusesMutation(() => {
      (message as { content: string }).content = 'changed';
    });
    assertRefusesMutation(() => {
      (message.toolCalls as unknown as unknown[]).push({ id: 'c2', name: 'x', arguments: '{}' });
    });
    assertRefusesMutation(() => {
      ((message.metadata as { nested: { level: unknown[] } }).nested.level[2] as { deep: boolean }).deep = false;
    });
    assert.equal(message.content, 'Calling a tool');
  });

  test('rejects a bad role, naming the field', () => {
    const error = assertInvalid(() => createMessage({ role: 'robot' as 'user', content: 'hi' }), 'role');
    const issues = error.details?.issues as { path: unknown[] }[];
    assert.deepEqual(issues[0]?.path, ['role']);
  });

  test('rejects an unknown (misspelt) key instead of dropping it', () => {
    assertInvalid(() => createMessage({ role: 'user', contents: 'hi' } as unknown as MessageInput), 'contents');
  });

  test('rejects content of the wrong type and a malformed tool call', () => {
    assertInvalid(() => createMessage({ role: 'user', content: 42 as unknown as string }), 'content');
    assertInvalid(
      () => createMessage({ role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: '', arguments: '{}' }] }),
      'toolCalls.0.name',
    );
  });

  test('does not keep a reference to the caller-owned input', () => {
    const input = { role: 'user' as const, content: 'original', images: ['a'] };
    const message = createMessage(input);
    input.content = 'changed by caller';
    input.images.push('b');
    assert.equal(message.content, 'original');
    assert.deepEqual(message.images, ['a']);
  });
});

describe('updateMessage and withContent', () => {
  const original = createMessage({
    role: 'user',
    content: 'hello',
    name: 'alice',
    metadata: { lang: 'en' },
  });

  test('updateMessage returns a new frozen message and leaves the original untouched', () => {
    const updated = updateMessage(original, { content: 'goodbye' });
    assert.notEqual(updated, original);
    assert.equal(updated.content, 'goodbye');
    assert.equal(updated.name, 'alice');
    assert.deepEqual(updated.metadata, { lang: 'en' });
    assert.equal(original.content, 'hello');
    assertDeepFrozen(updated);
  });

  test('updateMessage validates the patch', () => {
    assertInvalid(() => updateMessage(original, { role: 'wizard' as 'user' }), 'role');
    assertInvalid(() => updateMessage(original, { bogus: 1 } as unknown as Partial<Message>), 'bogus');
    assert.equal(original.role, 'user');
  });

  test('withContent returns a new frozen message with only the content changed', () => {
    const changed = withContent(original, 'HELLO');
    assert.notEqual(changed, original);
    assert.equal(changed.content, 'HELLO');
    assert.equal(changed.name, 'alice');
    assert.equal(changed.role, 'user');
    assert.equal(original.content, 'hello');
    assertDeepFrozen(changed);
  });

  test('withContent with the same text returns the very same message', () => {
    assert.equal(withContent(original, 'hello'), original);
  });
});

describe('createChatContext', () => {
  test('completes defaults and deep-freezes', () => {
    const context = createChatContext({
      messages: [{ role: 'user', content: 'hi' }],
      options: { tools: [{ name: 'weather', parameters: { type: 'object' } }], stop: ['\n'] },
    });
    assert.match(context.requestId, /^[0-9a-f-]{36}$/);
    assert.equal(context.stream, false);
    assert.deepEqual(context.metadata, {});
    assert.equal(context.options.tools?.[0]?.name, 'weather');
    assertDeepFrozen(context);
    assertRefusesMutation(() => {
      (context.messages as Message[]).push(createMessage({ role: 'user', content: 'injected' }));
    });
    assertRefusesMutation(() => {
      (context.options.stop as string[])[0] = 'x';
    });
    assertRefusesMutation(() => {
      (context.metadata as Record<string, unknown>).added = true;
    });
    assert.equal(context.messages.length, 1);
  });

  test('two contexts get different request ids; a given one is kept', () => {
    const a = createChatContext({ messages: [] });
    const b = createChatContext({ messages: [] });
    assert.notEqual(a.requestId, b.requestId);
    assert.equal(createChatContext({ messages: [], requestId: 'req-1' }).requestId, 'req-1');
  });

  test('rejects a bad role inside messages, naming the path', () => {
    assertInvalid(
      () =>
        createChatContext({
          messages: [
            { role: 'user', content: 'a' },
            { role: 'bot' as 'user', content: 'b' },
          ],
        }),
      'messages.1.role',
    );
  });

  test('rejects an unknown key, naming it', () => {
    assertInvalid(() => createChatContext({ messages: [], modle: 'llama' } as unknown as { messages: [] }), 'modle');
    assertInvalid(
      () => createChatContext({ messages: [], options: { temprature: 1 } as unknown as { temperature: number } }),
      'temprature',
    );
  });

  test('rejects out-of-range generation options, naming the field', () => {
    assertInvalid(() => createChatContext({ messages: [], options: { temperature: 5 } }), 'options.temperature');
    assertInvalid(() => createChatContext({ messages: [], options: { maxTokens: -1 } }), 'options.maxTokens');
  });

  test('does not keep references to the caller-owned arrays and messages', () => {
    const messages = [{ role: 'user' as const, content: 'original' }];
    const context = createChatContext({ messages });
    messages[0]!.content = 'changed by caller';
    messages.push({ role: 'user', content: 'pushed by caller' });
    assert.equal(context.messages.length, 1);
    assert.equal(context.messages[0]!.content, 'original');
  });
});

describe('updateContext, appendMessages, lastUserMessage', () => {
  const base = createChatContext({
    requestId: 'req-base',
    messages: [
      { role: 'system', content: 'Be nice.' },
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'reply' },
      { role: 'user', content: 'second' },
    ],
    metadata: { tenant: 'a' },
  });

  test('updateContext returns a new validated, frozen context and leaves the original untouched', () => {
    const updated = updateContext(base, { model: 'llama3.2', metadata: { tenant: 'b' } });
    assert.notEqual(updated, base);
    assert.equal(updated.model, 'llama3.2');
    assert.deepEqual(updated.metadata, { tenant: 'b' });
    assert.equal(updated.requestId, 'req-base');
    assert.equal(base.model, undefined);
    assert.deepEqual(base.metadata, { tenant: 'a' });
    assertDeepFrozen(updated);
  });

  test('updateContext validates the patch', () => {
    assertInvalid(() => updateContext(base, { stream: 'yes' as unknown as boolean }), 'stream');
    assertInvalid(() => updateContext(base, { options: { topP: 3 } }), 'options.topP');
  });

  test('appendMessages adds at the end by default and at the start on request, without touching the original', () => {
    const note = createMessage({ role: 'system', content: 'Context: X' });
    const atEnd = appendMessages(base, [note]);
    const atStart = appendMessages(base, [note], { position: 'start' });
    assert.equal(atEnd.messages.length, 5);
    assert.deepEqual(atEnd.messages.at(-1), note);
    assert.deepEqual(atStart.messages[0], note);
    assert.equal(atStart.messages[1]!.content, 'Be nice.');
    assert.equal(base.messages.length, 4);
    assertDeepFrozen(atEnd);
    assertDeepFrozen(atStart);
  });

  test('appendMessages validates what it appends', () => {
    assertInvalid(
      () => appendMessages(base, [{ role: 'nobody', content: 'x' } as unknown as Message]),
      'messages.4.role',
    );
  });

  test('lastUserMessage finds the last user message', () => {
    assert.equal(lastUserMessage(base)?.content, 'second');
    assert.equal(lastUserMessage(createChatContext({ messages: [{ role: 'system', content: 's' }] })), undefined);
  });
});

describe('a plugin cannot corrupt what others see (NFR-6)', () => {
  test('in-place mutations fail inside the offending plugin; the others and the caller see the original', async () => {
    const seen: string[] = [];
    const mutatingProcessor = defineMessageProcessor({
      metadata: { name: 'mutating-processor', version: '1.0.0', priority: 'HIGH' },
      direction: 'input',
      processMessage: (message) => {
        (message as { content: string }).content = 'CORRUPTED';
        return message;
      },
    });
    const observingProcessor = defineMessageProcessor({
      metadata: { name: 'observing-processor', version: '1.0.0', priority: 'LOW' },
      direction: 'input',
      processMessage: (message) => {
        seen.push(`processor:${message.content}`);
        return message;
      },
    });
    const mutatingExtension = defineFeatureExtension({
      metadata: { name: 'mutating-extension', version: '1.0.0' },
      extend: (context) => {
        (context.messages as Message[]).push(createMessage({ role: 'system', content: 'INJECTED' }));
        return context;
      },
    });
    const mutatingHooks = definePlugin({
      metadata: { name: 'mutating-hooks', version: '1.0.0' },
      onMessageReceived: ({ message }) => {
        (message as { content: string }).content = 'CORRUPTED BY HOOK';
      },
      onBeforeModelCall: ({ context }) => {
        (context.metadata as Record<string, unknown>).sneaky = true;
      },
    });
    const backend = createScriptedBackend({ reply: 'fine' });
    const manager = await startManager([
      backend,
      mutatingProcessor,
      observingProcessor,
      mutatingExtension,
      mutatingHooks,
    ]);
    try {
      const request = chatRequest('original text', { metadata: { tenant: 'a' } });
      const response = await manager.chat(request);

      assert.deepEqual(seen, ['processor:original text']);
      const sent = backend.calls[0]!;
      assert.deepEqual(
        sent.messages.map((message) => message.content),
        ['original text'],
      );
      assert.deepEqual(sent.metadata, { tenant: 'a' });
      // The caller's own context is untouched.
      assert.equal(request.messages.length, 1);
      assert.equal(request.messages[0]!.content, 'original text');
      assert.deepEqual(request.metadata, { tenant: 'a' });
      // Every mutation attempt was a failure of that plugin, bypassed and recorded.
      const bypassed = response.steps
        .filter((step) => step.outcome === 'bypassed')
        .map((step) => `${step.plugin}:${step.operation}`);
      assert.deepEqual(bypassed.sort(), [
        'mutating-extension:extend',
        'mutating-hooks:hook:beforeModelCall',
        'mutating-hooks:hook:messageReceived',
        'mutating-processor:processMessage.input',
      ]);
      assert.equal(response.message.content, 'fine');
    } finally {
      await manager.shutdown();
    }
  });

  test('an object a plugin returned is copied or frozen: mutating it later changes nothing', async () => {
    let returned: { metadata: Record<string, unknown> } | undefined;
    let lateMutation: 'threw' | 'ignored' | undefined;
    const middleware = defineMiddleware({
      metadata: { name: 'late-mutator', version: '1.0.0' },
      processRequest: (context) => {
        const next = { ...context, metadata: { tag: 'one', nested: { value: 1 } } };
        returned = next;
        return next as ChatContext;
      },
      processResponse: (response) => {
        try {
          returned!.metadata.tag = 'two';
          (returned!.metadata.nested as { value: number }).value = 2;
          lateMutation = 'ignored';
        } catch {
          lateMutation = 'threw';
        }
        return response;
      },
    });
    const later: unknown[] = [];
    const observer = definePlugin({
      metadata: { name: 'observer', version: '1.0.0' },
      onMessageSent: ({ context }) => {
        later.push(structuredClone(context.metadata));
      },
      onRequestEnd: ({ context }) => {
        later.push(structuredClone(context.metadata));
      },
    });
    const backend = createScriptedBackend();
    const manager = await startManager([backend, middleware, observer]);
    try {
      await manager.chat(chatRequest('hi'));
      assert.ok(lateMutation !== undefined);
      assert.deepEqual(backend.calls[0]!.metadata, { tag: 'one', nested: { value: 1 } });
      assert.deepEqual(later, [
        { tag: 'one', nested: { value: 1 } },
        { tag: 'one', nested: { value: 1 } },
      ]);
    } finally {
      await manager.shutdown();
    }
  });

  test('the response, its message, steps and metadata are frozen, streamed or not', async () => {
    const manager = await startManager([createScriptedBackend({ reply: 'frozen reply' })]);
    try {
      const response = await manager.chat(chatRequest('hi'));
      assertDeepFrozen(response);
      const streamed = await collectStream(manager.stream(chatRequest('hi', { stream: true })));
      assertDeepFrozen(streamed.response);
      assertRefusesMutation(() => {
        (response.message as { content: string }).content = 'x';
      });
      assertRefusesMutation(() => {
        (response.metadata as Record<string, unknown>).x = 1;
      });
    } finally {
      await manager.shutdown();
    }
  });

  test('a processor returning an invalid message is bypassed and the previous message kept', async () => {
    const broken = defineMessageProcessor({
      metadata: { name: 'broken', version: '1.0.0' },
      direction: 'input',
      processMessage: (message) => ({ ...message, role: 'wizard' }) as unknown as Message,
    });
    const backend = createScriptedBackend();
    const manager = await startManager([backend, broken]);
    try {
      const response = await manager.chat(chatRequest('keep me'));
      assert.equal(backend.calls[0]!.messages[0]!.content, 'keep me');
      assert.equal(backend.calls[0]!.messages[0]!.role, 'user');
      const step = response.steps.find((candidate) => candidate.plugin === 'broken');
      assert.equal(step?.outcome, 'bypassed');
      assert.equal(step?.errorCode, 'PLUGIN_INVALID_RESULT');
    } finally {
      await manager.shutdown();
    }
  });
});
