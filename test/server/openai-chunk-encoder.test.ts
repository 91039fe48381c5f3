/**
 * The SSE encoder serializes the constant part of a chunk once per stream; its text must be
 * exactly what serializing each whole `chat.completion.chunk` gives.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChatResponse } from '../../src/index.ts';
import { CompletionChunkEncoder } from '../../src/server/openai/completion-chunks.ts';

const identity = { id: 'chatcmpl-r1', created: 1_700_000_000, model: 'echo/"quoted"' };

function events(text: string): string[] {
  assert.ok(text.endsWith('\n\n'), 'events end with a blank line');
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((event) => {
      assert.ok(event.startsWith('data: '), event);
      return event.slice('data: '.length);
    });
}

function expected(delta: object, finishReason: string | null, usage: boolean): string {
  return JSON.stringify({
    id: identity.id,
    object: 'chat.completion.chunk',
    created: identity.created,
    model: identity.model,
    system_fingerprint: null,
    choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
    ...(usage ? { usage: null } : {}),
  });
}

describe('CompletionChunkEncoder', () => {
  for (const includeUsage of [false, true]) {
    test(`chunks are byte-for-byte JSON.stringify of the whole chunk (include_usage ${includeUsage})`, () => {
      const encoder = new CompletionChunkEncoder(identity, { includeUsage }, 'r1');
      assert.deepEqual(events(encoder.chunk({ content: 'He said "hi"\n' })), [
        expected({ role: 'assistant', content: 'He said "hi"\n' }, null, includeUsage),
      ]);
      assert.deepEqual(events(encoder.chunk({ content: 'more', thinking: 'hmm' })), [
        expected({ content: 'more', reasoning_content: 'hmm' }, null, includeUsage),
      ]);
      assert.equal(encoder.chunk({}), '', 'an empty chunk sends nothing');
      const response = {
        finishReason: 'stop',
        usage: { promptTokens: 3, completionTokens: 2 },
        steps: [],
      } as unknown as ChatResponse;
      const closing = events(encoder.end(response));
      assert.equal(closing[0], expected({}, 'stop', includeUsage));
      assert.equal(closing.at(-1), '[DONE]');
      if (includeUsage) {
        assert.deepEqual(JSON.parse(closing[1]!), {
          id: identity.id,
          object: 'chat.completion.chunk',
          created: identity.created,
          model: identity.model,
          system_fingerprint: null,
          choices: [],
          usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
        });
      } else {
        assert.equal(closing.length, 2);
      }
    });
  }

  test('tool calls are numbered deltas and make the finish reason tool_calls', () => {
    const encoder = new CompletionChunkEncoder(identity, { includeUsage: false }, 'r1');
    const text = encoder.chunk({ toolCalls: [{ id: 'c1', name: 'f', arguments: '{"a":1}' }] });
    const [first, call] = events(text).map((event) => JSON.parse(event));
    assert.deepEqual(first.choices[0].delta, { role: 'assistant', content: null });
    assert.deepEqual(call.choices[0].delta.tool_calls, [
      { index: 0, id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
    ]);
    const end = JSON.parse(events(encoder.end({ steps: [] } as unknown as ChatResponse))[0]!);
    assert.equal(end.choices[0].finish_reason, 'tool_calls');
  });
});
