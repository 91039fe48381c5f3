/**
 * Streaming (FR-8.4) through the output processor chain: a streamed reply equals the
 * non-streamed one for any reply and any chunking (property test), windowed processors emit
 * as the text arrives while a processor without `streaming` makes the runtime buffer, the
 * streamChunk hook sees every emitted chunk in order, and the final chunk carries finishReason
 * and usage.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type ChatChunk,
  type ChatResponse,
  createPatternRewriter,
  defineBackend,
  defineMessageProcessor,
  definePlugin,
  isPlugboardError,
  type Message,
  type PlugboardError,
  type PluginManager,
  type Priority,
  type StreamingSupport,
  withContent,
} from '../../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../../src/testing/index.ts';

// ——— processors used throughout ———

const redaction = createPatternRewriter({
  window: 40,
  rules: [
    { pattern: /[\w.+-]+@[\w-]+\.[\w.]+/g, replace: '[email]' },
    { pattern: /\d{3}-\d{4}/g, replace: '[phone]' },
  ],
});

/** Windowed PII redaction (emails, phone numbers). */
function redactor(priority: Priority = 'NORMAL', window = redaction.streaming.window) {
  return defineMessageProcessor({
    metadata: { name: 'redact', version: '1.0.0', priority },
    direction: 'output',
    processMessage: (message) => withContent(message, redaction.rewrite(message.content)),
    streaming: { ...redaction.streaming, window },
  });
}

/** Windowed upper-casing (window 0: every character settles at once). */
function upper(priority: Priority = 'NORMAL', counters?: { transforms: number; processMessage: number }) {
  return defineMessageProcessor({
    metadata: { name: 'upper', version: '1.0.0', priority },
    direction: 'output',
    processMessage: (message) => {
      if (counters) counters.processMessage++;
      return withContent(message, message.content.toUpperCase());
    },
    streaming: {
      window: 0,
      transform: (text) => {
        if (counters) counters.transforms++;
        return text.toUpperCase();
      },
    },
  });
}

/** An output processor without `streaming`: forces the runtime to buffer. */
function wrapper(priority: Priority = 'NORMAL') {
  return defineMessageProcessor({
    metadata: { name: 'wrap', version: '1.0.0', priority },
    direction: 'output',
    processMessage: (message) => withContent(message, `«${message.content}»`),
  });
}

/** Records every streamChunk dispatch, per request. */
function chunkRecorder() {
  const seen = new Map<string, { chunk: ChatChunk; index: number }[]>();
  const plugin = definePlugin({
    metadata: { name: 'chunk-recorder', version: '1.0.0' },
    onStreamChunk: ({ chunk, index, context }) => {
      const list = seen.get(context.requestId) ?? [];
      list.push({ chunk, index });
      seen.set(context.requestId, list);
    },
  });
  return { plugin, seen };
}

/**
 * Checks the shape of a finished stream: the hook saw exactly the emitted chunks, in order,
 * with indices 0…n-1; only the last chunk carries finishReason, and it carries the usage.
 */
function assertStreamShape(
  chunks: readonly ChatChunk[],
  hookSaw: readonly { chunk: ChatChunk; index: number }[] | undefined,
  response: ChatResponse,
): void {
  assert.ok(hookSaw, 'the streamChunk hook fired');
  assert.equal(hookSaw.length, chunks.length, 'once per emitted chunk');
  hookSaw.forEach(({ chunk, index }, position) => {
    assert.equal(index, position);
    assert.equal(chunk, chunks[position], 'the hook saw the chunk the consumer got');
  });
  const final = chunks.at(-1)!;
  assert.equal(final.finishReason, 'stop');
  assert.deepEqual(final.usage, response.usage);
  assert.equal(final.content, undefined);
  assert.ok(
    chunks.slice(0, -1).every((chunk) => chunk.finishReason === undefined && chunk.usage === undefined),
    'only the last chunk ends the stream',
  );
  assert.ok(
    chunks.slice(0, -1).every((chunk) => chunk.content !== ''),
    'no empty content chunks',
  );
}

// ——— arbitraries ———

const word = fc.stringMatching(/^[a-z]{1,8}$/);
const email = fc
  .tuple(fc.stringMatching(/^[a-z][a-z0-9.]{0,8}$/), fc.stringMatching(/^[a-z]{1,8}$/), fc.constantFrom('com', 'org'))
  .map(([user, host, tld]) => `${user}@${host}.${tld}`);
const phone = fc
  .tuple(fc.integer({ min: 100, max: 999 }), fc.integer({ min: 1000, max: 9999 }))
  .map(([a, b]) => `${a}-${b}`);
const noise = fc.string({ unit: 'grapheme-ascii', maxLength: 12 });
const separator = fc.constantFrom(' ', ', ', '\n', ' (', ') ');
const replyText = fc
  .array(
    fc.tuple(
      fc.oneof(
        { weight: 4, arbitrary: word },
        { weight: 2, arbitrary: email },
        { weight: 2, arbitrary: phone },
        { weight: 1, arbitrary: noise },
      ),
      separator,
    ),
    { maxLength: 25 },
  )
  .map((parts) => parts.map(([token, sep]) => token + sep).join(''));

/** A reply text plus a random chunking of it (some chunks may be empty strings). */
const replyAndChunks = replyText.chain((text) =>
  fc.array(fc.nat({ max: text.length }), { maxLength: 30 }).map((cuts) => {
    const sorted = [...cuts].sort((a, b) => a - b);
    const pieces: string[] = [];
    let start = 0;
    for (const cut of sorted) {
      pieces.push(text.slice(start, cut));
      start = cut;
    }
    pieces.push(text.slice(start));
    return { text, pieces };
  }),
);

// ——— tests ———

describe('streaming equals non-streaming (property)', () => {
  const pipelines: { name: string; plugins: () => unknown[]; expected: (text: string) => string }[] = [
    {
      name: 'redact → upper → wrap (buffering last)',
      plugins: () => [redactor('CRITICAL'), upper('HIGH'), wrapper('NORMAL')],
      expected: (text) => `«${redaction.rewrite(text).toUpperCase()}»`,
    },
    {
      name: 'wrap → redact → upper (buffering first)',
      plugins: () => [wrapper('CRITICAL'), redactor('HIGH'), upper('NORMAL')],
      expected: (text) => redaction.rewrite(`«${text}»`).toUpperCase(),
    },
    {
      name: 'upper → wrap → redact (buffering between windowed stages)',
      plugins: () => [upper('CRITICAL'), wrapper('HIGH'), redactor('NORMAL')],
      expected: (text) => redaction.rewrite(`«${text.toUpperCase()}»`),
    },
    {
      name: 'redact → upper (windowed only)',
      plugins: () => [redactor('HIGH'), upper('NORMAL')],
      expected: (text) => redaction.rewrite(text).toUpperCase(),
    },
  ];

  for (const pipeline of pipelines) {
    test(`${pipeline.name}: stream text === chat content === expected, for any reply and chunking`, async () => {
      let current = { text: '', pieces: [''] };
      const backend = createScriptedBackend({
        reply: () => current.text,
        chunking: (text) => {
          assert.equal(text, current.text);
          return current.pieces;
        },
      });
      const recorder = chunkRecorder();
      const manager = await startManager([backend, recorder.plugin, ...pipeline.plugins()]);
      try {
        await fc.assert(
          fc.asyncProperty(replyAndChunks, async (scenario) => {
            current = scenario;
            const expected = pipeline.expected(scenario.text);

            const request = chatRequest('hi', { stream: true });
            const streamed = await collectStream(manager.stream(request));
            const whole = await manager.chat(chatRequest('hi'));

            assert.equal(streamed.text, expected);
            assert.equal(whole.message.content, expected);
            assert.equal(streamed.response.message.content, expected);
            assert.deepEqual(streamed.response.usage, whole.usage);
            assertStreamShape(streamed.chunks, recorder.seen.get(request.requestId), streamed.response);
            recorder.seen.clear();
          }),
          { numRuns: 120 },
        );
      } finally {
        await manager.shutdown();
      }
    });
  }

  test('an email and a phone number split across chunk boundaries are redacted in the stream', async () => {
    const backend = createScriptedBackend({
      reply: 'Mail jane.doe@example.org or call 555-0199 today.',
      chunking: () => ['Mail jane.d', 'oe@exam', 'ple.org or call 55', '5-01', '99 today.'],
    });
    const manager = await startManager([backend, redactor()]);
    try {
      const { text } = await collectStream(manager.stream(chatRequest('contact?', { stream: true })));
      assert.equal(text, 'Mail [email] or call [phone] today.');
    } finally {
      await manager.shutdown();
    }
  });
});

/**
 * A backend that streams `pieces` and records how far it got, so a test can tell whether a
 * chunk reached the consumer before the backend finished.
 */
function progressBackend(pieces: readonly string[]) {
  const progress = { yielded: 0, finished: false };
  const backend = defineBackend({
    metadata: { name: 'progress', version: '1.0.0' },
    chat: () =>
      (async function* () {
        for (const piece of pieces) {
          progress.yielded++;
          yield { content: piece };
        }
        progress.finished = true;
        yield { finishReason: 'stop' as const, usage: { promptTokens: 1, completionTokens: pieces.length } };
      })(),
    listModels: () => [{ id: 'progress' }],
  });
  return { backend, progress };
}

describe('incremental output', () => {
  const pieces = Array.from({ length: 30 }, (_, index) => `word${index} `);
  const whole = pieces.join('');

  /** Streams, noting for each content chunk whether the backend and afterModelCall were done. */
  async function observe(plugins: unknown[]) {
    const { backend, progress } = progressBackend(pieces);
    let afterModelCall = false;
    const hooks = definePlugin({
      metadata: { name: 'after-spy', version: '1.0.0' },
      onAfterModelCall: () => {
        afterModelCall = true;
      },
    });
    const manager = await startManager([backend, hooks, ...plugins]);
    try {
      const contentChunks: { text: string; backendFinished: boolean; afterModelCall: boolean }[] = [];
      const stream = manager.stream(chatRequest('go', { stream: true }));
      for await (const chunk of stream) {
        if (chunk.content !== undefined) {
          contentChunks.push({ text: chunk.content, backendFinished: progress.finished, afterModelCall });
        }
      }
      return { contentChunks, response: await stream.response };
    } finally {
      await manager.shutdown();
    }
  }

  test('with windowed processors only, text is emitted while the backend is still streaming', async () => {
    const { contentChunks, response } = await observe([redactor('HIGH', 20), upper('NORMAL')]);
    assert.ok(contentChunks.length >= 10, `several content chunks, got ${contentChunks.length}`);
    assert.equal(contentChunks[0]!.backendFinished, false, 'the first chunk came before the backend finished');
    assert.equal(contentChunks[0]!.afterModelCall, false);
    assert.equal(contentChunks.map((chunk) => chunk.text).join(''), whole.toUpperCase());
    assert.equal(response.message.content, whole.toUpperCase());
  });

  test('with no output processors, chunks pass through as the backend sent them', async () => {
    const { contentChunks } = await observe([]);
    assert.deepEqual(
      contentChunks.map((chunk) => chunk.text),
      pieces,
    );
    assert.ok(contentChunks.slice(0, -1).every((chunk) => !chunk.backendFinished));
  });

  test('a processor without streaming support makes the output one chunk at the end', async () => {
    const { contentChunks, response } = await observe([redactor('HIGH', 20), upper('NORMAL'), wrapper('LOW')]);
    assert.equal(contentChunks.length, 1);
    assert.equal(contentChunks[0]!.backendFinished, true);
    assert.equal(contentChunks[0]!.afterModelCall, true, 'buffered output is emitted after the model call ended');
    assert.equal(contentChunks[0]!.text, `«${whole.toUpperCase()}»`);
    assert.equal(response.message.content, `«${whole.toUpperCase()}»`);
  });

  test('the streaming transform is used only when streaming; a non-streamed reply uses processMessage', async () => {
    const counters = { transforms: 0, processMessage: 0 };
    const manager = await startManager([
      createScriptedBackend({ reply: 'some text here', chunking: 3 }),
      upper('NORMAL', counters),
    ]);
    try {
      const response = await manager.chat(chatRequest('hi'));
      assert.equal(response.message.content, 'SOME TEXT HERE');
      assert.deepEqual(counters, { transforms: 0, processMessage: 1 });
      const { text } = await collectStream(manager.stream(chatRequest('hi', { stream: true })));
      assert.equal(text, 'SOME TEXT HERE');
      assert.equal(counters.processMessage, 1, 'processMessage is not called again when streaming');
      assert.ok(counters.transforms >= 5, 'transform ran per chunk');
    } finally {
      await manager.shutdown();
    }
  });

  test('thinking is streamed as its own chunks and kept out of the content', async () => {
    const manager = await startManager([
      createScriptedBackend({ reply: () => ({ content: 'answer', thinking: 'pondering' }) }),
      upper('NORMAL'),
    ]);
    try {
      const { chunks, text, response } = await collectStream(manager.stream(chatRequest('hi', { stream: true })));
      assert.deepEqual(chunks[0], { thinking: 'pondering' });
      assert.equal(text, 'ANSWER');
      assert.equal(response.message.thinking, 'pondering');
      const whole = await manager.chat(chatRequest('hi'));
      assert.equal(whole.message.thinking, 'pondering');
      assert.equal(whole.message.content, 'ANSWER');
    } finally {
      await manager.shutdown();
    }
  });

  test('an empty reply streams just the final chunk', async () => {
    const recorder = chunkRecorder();
    const manager = await startManager([createScriptedBackend({ reply: '' }), recorder.plugin, redactor(), upper()]);
    try {
      const request = chatRequest('hi', { stream: true });
      const { chunks, response } = await collectStream(manager.stream(request));
      assert.equal(chunks.length, 1);
      assertStreamShape(chunks, recorder.seen.get(request.requestId), response);
      assert.equal(response.message.content, '');
    } finally {
      await manager.shutdown();
    }
  });
});

describe('windowed processors that misbehave', () => {
  function flaky(options: { failurePolicy?: 'open' | 'closed'; holdBack?: StreamingSupport['holdBack'] } = {}) {
    return defineMessageProcessor({
      metadata: {
        name: 'flaky',
        version: '1.0.0',
        ...(options.failurePolicy ? { failurePolicy: options.failurePolicy } : {}),
      },
      direction: 'output',
      processMessage: (message: Message) => withContent(message, message.content.toUpperCase()),
      streaming: {
        window: 4,
        ...(options.holdBack ? { holdBack: options.holdBack } : {}),
        transform: (text: string) => {
          if (text.includes('!')) throw new Error('cannot handle bangs');
          return text.toUpperCase();
        },
      },
    });
  }

  test('a failing transform is bypassed for the rest of the stream: no text is lost', async () => {
    const errors: PlugboardError[] = [];
    const observer = definePlugin({
      metadata: { name: 'errors', version: '1.0.0' },
      onError: ({ error }) => {
        errors.push(error);
      },
    });
    const reply = 'alpha beta gamma! delta epsilon zeta eta theta';
    const manager = await startManager([createScriptedBackend({ reply, chunking: 3 }), flaky(), observer]);
    try {
      const { text, response } = await collectStream(manager.stream(chatRequest('hi', { stream: true })));
      assert.equal(text.length, reply.length);
      assert.equal(text.toLowerCase(), reply.toLowerCase(), 'every character arrived');
      assert.ok(text.startsWith('ALPHA'), 'text before the failure was transformed');
      assert.ok(text.endsWith('theta'), 'text after the failure passed untransformed');
      assert.equal(response.message.content, text);
      const step = response.steps.find((candidate) => candidate.operation === 'streaming.transform');
      assert.equal(step?.outcome, 'bypassed');
      assert.ok(errors.some((error) => error.plugin === 'flaky'));
    } finally {
      await manager.shutdown();
    }
  });

  test('a failing fail-closed transform ends the stream with PLUGIN_FAILED_CLOSED', async () => {
    const reply = 'alpha beta gamma! delta epsilon';
    const manager = await startManager([
      createScriptedBackend({ reply, chunking: 3 }),
      flaky({ failurePolicy: 'closed' }),
    ]);
    try {
      const stream = manager.stream(chatRequest('hi', { stream: true }));
      const received: string[] = [];
      let caught: unknown;
      try {
        for await (const chunk of stream) if (chunk.content) received.push(chunk.content);
      } catch (error) {
        caught = error;
      }
      assert.ok(isPlugboardError(caught, 'PLUGIN_FAILED_CLOSED'));
      assert.equal(caught.plugin, 'flaky');
      assert.ok(!received.join('').includes('!'), 'the text it could not check was not sent');
    } finally {
      await manager.shutdown();
    }
  });

  for (const [label, holdBack] of [
    ['negative', () => -5],
    ['too large', () => 1000],
    ['not an integer', () => Number.NaN],
    [
      'throwing',
      () => {
        throw new Error('holdBack broke');
      },
    ],
  ] as const) {
    test(`a holdBack that is ${label} is clamped to the window: output stays correct`, async () => {
      const reply = 'one two three four five six seven';
      const manager = await startManager([
        createScriptedBackend({ reply, chunking: 2 }),
        defineMessageProcessor({
          metadata: { name: 'clamped', version: '1.0.0' },
          direction: 'output',
          processMessage: (message) => withContent(message, message.content.toUpperCase()),
          streaming: { window: 3, holdBack, transform: (text) => text.toUpperCase() },
        }),
      ]);
      try {
        const { text, chunks } = await collectStream(manager.stream(chatRequest('hi', { stream: true })));
        assert.equal(text, reply.toUpperCase());
        assert.ok(chunks.length > 3, 'still emitted incrementally');
      } finally {
        await manager.shutdown();
      }
    });
  }
});

describe('ChatStream', () => {
  test('can be iterated only once; response settles with the final response', async () => {
    const manager: PluginManager = await startManager([createScriptedBackend({ reply: 'once' })]);
    try {
      const stream = manager.stream(chatRequest('hi', { stream: true }));
      const first = await collectStream(stream);
      assert.equal(first.text, 'once');
      assert.equal((await stream.response).message.content, 'once');
      await assert.rejects(async () => {
        for await (const _ of stream) assert.fail('no second iteration');
      }, /only once/);
    } finally {
      await manager.shutdown();
    }
  });
});
