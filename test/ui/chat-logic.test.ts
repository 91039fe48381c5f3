/**
 * The chat page's logic that needs no browser: thinking split from the content, a stream's
 * chunks folded into a reply (content, reasoning, tool calls in pieces, the plugboard object),
 * and the UI's messages as an OpenAI request sends them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChatMessage } from '../../ui/src/chat/chat-types.ts';
import { ReplyAccumulator } from '../../ui/src/chat/reply-accumulator.ts';
import { toOpenAiMessages } from '../../ui/src/chat/request-messages.ts';
import { splitThinking } from '../../ui/src/chat/think-split.ts';

describe('splitThinking', () => {
  test('a closed <think> block at the start is thinking; the rest is the answer', () => {
    assert.deepEqual(splitThinking('  <think>Let me see.</think>\n\nParis.'), {
      thinking: 'Let me see.',
      answer: 'Paris.',
      open: false,
    });
  });

  test('an unclosed block is thinking still going on, with no answer yet', () => {
    assert.deepEqual(splitThinking('<think>Let me'), { thinking: 'Let me', answer: '', open: true });
  });

  test('a tag in the middle of the text is text', () => {
    const content = 'Use the <think> tag like this: <think>…</think>';
    assert.deepEqual(splitThinking(content), { thinking: '', answer: content, open: false });
  });
});

describe('ReplyAccumulator', () => {
  test('appends content and reasoning, and puts tool calls sent in pieces together by index', () => {
    const reply = new ReplyAccumulator();
    reply.add({ model: 'm', choices: [{ index: 0, delta: { role: 'assistant', reasoning_content: 'Hm, ' } }] });
    reply.add({ choices: [{ index: 0, delta: { reasoning: 'weather.' } }] });
    reply.add({
      choices: [
        {
          index: 0,
          delta: { tool_calls: [{ index: 0, id: 'call_1', function: { name: 'get_', arguments: '{"ci' } }] },
        },
      ],
    });
    reply.add({
      choices: [
        { index: 0, delta: { tool_calls: [{ index: 0, function: { name: 'weather', arguments: 'ty":"Oslo"}' } }] } },
      ],
    });
    reply.add({ choices: [{ index: 0, delta: { content: 'It is ' } }] });
    reply.add({ choices: [{ index: 0, delta: { content: 'sunny.' }, finish_reason: 'stop' }] });
    const snapshot = reply.snapshot();
    assert.equal(snapshot.content, 'It is sunny.');
    assert.equal(snapshot.thinking, 'Hm, weather.');
    assert.deepEqual(snapshot.toolCalls, [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' }]);
    assert.equal(snapshot.model, 'm');
  });

  test("reads the last chunk's plugboard object: citations, the tools that ran, the conversation, degraded plugins", () => {
    const reply = new ReplyAccumulator();
    reply.add({
      choices: [],
      plugboard: {
        citations: [
          { source: 1, name: 'handbook.md', excerpt: 'Thirty days.', chunk: 0 },
          { source: 'two', name: 'bad' },
        ],
        tools: [{ round: 1, name: 'calc__add', ok: true, output: '42' }, 'not a run'],
        memory: { conversation_id: 'c-1' },
        degraded: ['rag', 7],
      },
    });
    const snapshot = reply.snapshot();
    assert.deepEqual(snapshot.citations, [{ source: 1, name: 'handbook.md', excerpt: 'Thirty days.', chunk: 0 }]);
    assert.deepEqual(snapshot.toolRuns, [{ round: 1, name: 'calc__add', ok: true, output: '42' }]);
    assert.equal(snapshot.conversationId, 'c-1');
    assert.deepEqual(snapshot.degraded, ['rag']);
  });
});

describe('toOpenAiMessages', () => {
  test('images become image_url parts; answers go back without thinking; failed and empty replies stay out', () => {
    const messages: ChatMessage[] = [
      { id: '1', role: 'user', content: 'What is this?', images: ['data:image/png;base64,AAAA'] },
      { id: '2', role: 'assistant', content: '<think>A cat?</think>A cat.', status: 'done' },
      { id: '3', role: 'user', content: 'Sure?' },
      { id: '4', role: 'assistant', content: 'Part', status: 'failed', error: { message: 'x' } },
      { id: '5', role: 'assistant', content: '', status: 'done', toolCalls: [{ name: 'f', arguments: '{}' }] },
      { id: '6', role: 'user', content: 'Well?' },
    ];
    assert.deepEqual(toOpenAiMessages(messages), [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
        ],
      },
      { role: 'assistant', content: 'A cat.' },
      { role: 'user', content: 'Sure?' },
      { role: 'user', content: 'Well?' },
    ]);
  });

  test('a stopped reply goes back with what it said', () => {
    const messages: ChatMessage[] = [
      { id: '1', role: 'user', content: 'Count' },
      { id: '2', role: 'assistant', content: 'One, two', status: 'stopped' },
    ];
    assert.deepEqual(toOpenAiMessages(messages)[1], { role: 'assistant', content: 'One, two' });
  });
});
