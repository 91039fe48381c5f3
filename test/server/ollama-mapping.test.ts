/**
 * The pure pieces of the Ollama API, without a server: `keep_alive` durations, tool-call
 * conversion and pairing, generation options, the running-models estimate, `dimensions`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { shorten } from '../../src/server/ollama/embed-routes.ts';
import { mapGeneration } from '../../src/server/ollama/generation-options.ts';
import { DEFAULT_KEEP_ALIVE_MS, keepAliveMs } from '../../src/server/ollama/keep-alive.ts';
import { expiresAtText, RunningModels } from '../../src/server/ollama/running-models.ts';
import { chatMessages } from '../../src/server/ollama/to-chat-context.ts';
import { toOllamaToolCalls } from '../../src/server/ollama/tool-calls.ts';

describe('keep_alive', () => {
  test('Go durations, seconds, forever and invalid values', () => {
    assert.equal(keepAliveMs(undefined), DEFAULT_KEEP_ALIVE_MS);
    assert.equal(keepAliveMs(null), DEFAULT_KEEP_ALIVE_MS);
    assert.equal(keepAliveMs('5m'), 300_000);
    assert.equal(keepAliveMs('1h30m'), 5_400_000);
    assert.equal(keepAliveMs('1.5h'), 5_400_000);
    assert.equal(keepAliveMs('300ms'), 300);
    assert.equal(keepAliveMs(30), 30_000);
    assert.equal(keepAliveMs('30'), 30_000);
    assert.equal(keepAliveMs(0), 0);
    assert.equal(keepAliveMs('0'), 0);
    assert.equal(keepAliveMs(-1), Number.POSITIVE_INFINITY);
    assert.equal(keepAliveMs('-1'), Number.POSITIVE_INFINITY);
    assert.equal(keepAliveMs('-5m'), Number.POSITIVE_INFINITY);
    for (const invalid of ['soon', '5 minutes', '5M', 'm', '', '1d']) {
      assert.equal(keepAliveMs(invalid), undefined, invalid);
    }
  });
});

describe('tool calls', () => {
  test('results pair with calls by id, then by tool name, then by order', () => {
    const messages = chatMessages([
      { role: 'user', content: 'go' },
      {
        role: 'assistant',
        content: '',
        tool_calls: [
          { function: { name: 'a', arguments: {} } },
          { id: 'given', function: { name: 'b', arguments: '{"x":1}' } },
          { function: { name: 'c', arguments: { y: [1, 2] } } },
        ],
      },
      { role: 'tool', content: 'B', tool_call_id: 'given' },
      { role: 'tool', content: 'C', tool_name: 'c' },
      { role: 'tool', content: 'A' },
      { role: 'tool', content: 'orphan' },
    ]);
    assert.deepEqual(messages[1]?.toolCalls, [
      { id: 'call_1_0', name: 'a', arguments: '{}' },
      { id: 'given', name: 'b', arguments: '{"x":1}' },
      { id: 'call_1_2', name: 'c', arguments: '{"y":[1,2]}' },
    ]);
    assert.deepEqual(
      messages.slice(2).map((message) => [message.content, message.toolCallId, message.name]),
      [
        ['B', 'given', 'b'],
        ['C', 'call_1_2', 'c'],
        ['A', 'call_1_0', 'a'],
        ['orphan', undefined, undefined],
      ],
    );
  });

  test('arguments back to objects: empty is {}, non-objects are wrapped and reported', () => {
    const reported: string[] = [];
    const calls = toOllamaToolCalls(
      [
        { id: '1', name: 'none', arguments: '' },
        { id: '2', name: 'list', arguments: '[1,2]' },
        { id: '3', name: 'broken', arguments: '{"a":' },
        { id: '4', name: 'fine', arguments: '{"a":{"b":true}}' },
      ],
      (call) => reported.push(call.name),
    );
    assert.deepEqual(
      calls.map((call) => call.function.arguments),
      [{}, { _raw_arguments: '[1,2]' }, { _raw_arguments: '{"a":' }, { a: { b: true } }],
    );
    assert.deepEqual(
      calls.map((call) => call.function.index),
      [0, 1, 2, 3],
    );
    assert.deepEqual(reported, ['list', 'broken']);
  });
});

describe('generation options', () => {
  test('a single stop string, null options and "" format set nothing unexpected', () => {
    assert.deepEqual(mapGeneration({ options: { stop: 'END', temperature: null, num_ctx: null }, format: '' }), {
      options: { stop: ['END'] },
      metadata: {},
    });
    assert.deepEqual(mapGeneration({ think: 'low', keep_alive: 0 }), {
      options: { think: true, keepAlive: 0 },
      metadata: { thinkLevel: 'low' },
    });
  });
});

describe('running models', () => {
  test('listed until keep_alive runs out; 0 unloads; negative keeps them', () => {
    const running = new RunningModels();
    running.touch({ backend: 'b', model: 'short' }, '1m', 0);
    running.touch({ backend: 'b', model: 'long' }, '1h', 0);
    running.touch({ backend: 'b', model: 'forever' }, -1, 0);
    assert.deepEqual(
      running.list(30_000).map((model) => model.qualifiedId),
      ['b/forever', 'b/long', 'b/short'],
    );
    assert.deepEqual(
      running.list(61_000).map((model) => model.qualifiedId),
      ['b/forever', 'b/long'],
    );
    running.touch({ backend: 'b', model: 'long:latest' }, 0, 62_000);
    assert.deepEqual(
      running.list(62_000).map((model) => model.qualifiedId),
      ['b/forever'],
    );
    const forever = new Date(expiresAtText(Number.POSITIVE_INFINITY, 0));
    assert.ok(forever.getUTCFullYear() > 2200 && forever.getUTCFullYear() < 9999, 'a year Go clients can parse');
  });
});

describe('dimensions', () => {
  test('shortened vectors are scaled to unit length; short enough ones are kept', () => {
    assert.deepEqual(shorten([3, 4, 12], 2), [0.6, 0.8]);
    assert.deepEqual(shorten([1, 2], 5), [1, 2]);
    assert.deepEqual(shorten([0, 0, 1], 2), [0, 0]);
  });
});
