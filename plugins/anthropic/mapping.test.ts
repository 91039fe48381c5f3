/**
 * The anthropic backend's pure mappings, without a server: edge cases of images, the
 * conversation, stop reasons and stream events that the end-to-end tests (anthropic.test.ts,
 * against a fake Anthropic server) do not go through one by one.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import { type ChatChunk, createMessage, isPlugboardError, type MessageInput } from '../../src/index.ts';
import { toImageSource } from './image-source.ts';
import { toFinishReason } from './reply-mapping.ts';
import { mapConversation } from './request-mapping.ts';
import { readMessageStream } from './stream-reader.ts';

const conversation = (messages: MessageInput[]) => mapConversation(messages.map((message) => createMessage(message)));

describe('images', () => {
  test('bare base64 is recognised by its magic bytes; data: URLs keep their type', () => {
    assert.deepEqual(toImageSource('/9j/4AAQSkZJRg=='), {
      type: 'base64',
      media_type: 'image/jpeg',
      data: '/9j/4AAQSkZJRg==',
    });
    assert.deepEqual(toImageSource('R0lGODlhAQAB'), { type: 'base64', media_type: 'image/gif', data: 'R0lGODlhAQAB' });
    assert.deepEqual(toImageSource('data:IMAGE/PNG;base64,iVBORw0KGgo='), {
      type: 'base64',
      media_type: 'image/png',
      data: 'iVBORw0KGgo=',
    });
  });

  test('a data: URL that is not base64, or data of an unknown format, is REQUEST_INVALID', () => {
    assert.throws(
      () => toImageSource('data:image/png,rawbytes'),
      (error) => isPlugboardError(error, 'REQUEST_INVALID'),
    );
    assert.throws(
      () => toImageSource('AAAAAAAA'),
      (error) => isPlugboardError(error, 'REQUEST_INVALID'),
    );
  });
});

describe('the conversation', () => {
  test('only system messages: nothing to answer', () => {
    assert.throws(
      () => conversation([{ role: 'system', content: 'Be brief.' }]),
      (error) => isPlugboardError(error, 'REQUEST_INVALID') && /no user or assistant message/.test(error.message),
    );
  });

  test('empty messages are dropped, and the turns around them merge', () => {
    const mapped = conversation([
      { role: 'user', content: 'One' },
      { role: 'assistant', content: '' },
      { role: 'user', content: 'Two' },
    ]);
    assert.deepEqual(mapped.messages, [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'One' },
          { type: 'text', text: 'Two' },
        ],
      },
    ]);
    assert.equal(mapped.system, undefined);
  });

  test('tool results come first in their user turn; a tool result with images carries them', () => {
    const png = 'iVBORw0KGgoAAAA';
    const mapped = conversation([
      { role: 'user', content: 'Look' },
      { role: 'assistant', content: '', toolCalls: [{ id: 't1', name: 'shot', arguments: '{}' }] },
      { role: 'user', content: 'Also this' },
      { role: 'tool', toolCallId: 't1', content: 'Screenshot', images: [png] },
    ]);
    assert.deepEqual(mapped.messages[2], {
      role: 'user',
      content: [
        {
          type: 'tool_result',
          tool_use_id: 't1',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } },
            { type: 'text', text: 'Screenshot' },
          ],
        },
        { type: 'text', text: 'Also this' },
      ],
    });
  });

  test('images on an assistant message are REQUEST_INVALID', () => {
    assert.throws(
      () =>
        conversation([
          { role: 'user', content: 'x' },
          { role: 'assistant', content: 'y', images: ['https://example.com/a.png'] },
        ]),
      (error) => isPlugboardError(error, 'REQUEST_INVALID'),
    );
  });
});

describe('stop reasons', () => {
  test('none yet is no finish reason; an unknown one (a later API version) is stop', () => {
    assert.equal(toFinishReason(null), undefined);
    assert.equal(toFinishReason('pause_turn'), 'stop');
    assert.equal(toFinishReason('something_new'), 'stop');
  });
});

describe('stream events', () => {
  async function read(events: unknown[]): Promise<ChatChunk[]> {
    async function* source() {
      yield* events as RawMessageStreamEvent[];
    }
    const chunks: ChatChunk[] = [];
    for await (const chunk of readMessageStream(source())) chunks.push(chunk);
    return chunks;
  }
  const start = { type: 'message_start', message: { usage: { input_tokens: 4, output_tokens: 1 } } };
  const end = [
    { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 9 } },
    { type: 'message_stop' },
  ];

  test('a tool_use block whose input came whole in content_block_start; unknown events are passed over', async () => {
    const chunks = await read([
      start,
      { type: 'some_future_event', data: 1 },
      {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'tool_use', id: 't', name: 'f', input: { a: 1 } },
      },
      { type: 'content_block_stop', index: 0 },
      ...end,
    ]);
    assert.deepEqual(chunks, [
      { toolCalls: [{ id: 't', name: 'f', arguments: '{"a":1}' }] },
      { usage: { promptTokens: 4, completionTokens: 9 }, finishReason: 'tool_calls' },
    ]);
  });

  test('streamed tool input that is not JSON fails the stream', async () => {
    await assert.rejects(
      read([
        start,
        { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 't', name: 'f', input: {} } },
        { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"a": 1' } },
        { type: 'content_block_stop', index: 0 },
        ...end,
      ]),
      (error) => isPlugboardError(error, 'BACKEND_FAILED') && /not valid JSON/.test(error.message),
    );
  });
});
