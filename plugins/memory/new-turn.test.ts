import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message, StoredMessage } from '../../src/index.ts';
import { resentHistoryLength, sameMessage, splitRequest } from './new-turn.ts';

const user = (content: string): Message => ({ role: 'user', content });
const assistant = (content: string): Message => ({ role: 'assistant', content });
const stored = (messages: readonly Message[], first = 1): StoredMessage[] =>
  messages.map((message, index) => ({ conversationId: 'c', sequence: first + index, createdAt: new Date(0), message }));

test('system messages are the system prompt wherever they are; the rest is the turn, in order', () => {
  const parts = splitRequest([user('a'), { role: 'system', content: 's' }, assistant('b')]);
  assert.deepEqual(
    parts.system.map((message) => message.content),
    ['s'],
  );
  assert.deepEqual(
    parts.turn.map((message) => message.content),
    ['a', 'b'],
  );
});

test('a re-sent history equal to the stored tail is recognised; the last message is always new', () => {
  const history = stored([user('u1'), assistant('a1')]);
  assert.equal(resentHistoryLength([user('u1'), assistant('a1'), user('u2')], history, 2), 2);
  assert.equal(resentHistoryLength([user('u2')], history, 2), 0, 'a client that sends only the new message');
  assert.equal(resentHistoryLength([assistant('a1')], history, 2), 0, 'never the whole request');
  assert.equal(resentHistoryLength([user('x'), assistant('a1'), user('u2')], history, 2), 0, 'a different history');
  assert.equal(resentHistoryLength([assistant('a1'), user('u2')], history, 2), 1, 'the tail of the history');
  assert.equal(resentHistoryLength([user('u1'), user('u2')], [], 0), 0, 'nothing stored: all new');
});

test('a history longer than the loaded messages is matched on what was loaded', () => {
  // Stored: 10 messages, the last 2 loaded.
  const loaded = stored([user('u5'), assistant('a5')], 9);
  const resent = [
    ...Array.from({ length: 8 }, (_, index) => user(`old ${index}`)),
    user('u5'),
    assistant('a5'),
    user('u6'),
  ];
  assert.equal(resentHistoryLength(resent, loaded, 10), 10);
  assert.equal(resentHistoryLength(resent, loaded, 9), 0, 'longer than the conversation: not a re-send');
});

test('messages compare by role, content, tool call id and tool calls (arguments as JSON), not reasoning', () => {
  const call = { id: 'c1', name: 'f', arguments: '{"a": 1}' };
  assert.ok(
    sameMessage(
      { role: 'assistant', content: '', toolCalls: [{ ...call, arguments: '{"a":1}' }] },
      { role: 'assistant', content: '', toolCalls: [call], thinking: 'hmm' },
    ),
    'same call, other spacing',
  );
  assert.ok(!sameMessage({ role: 'assistant', content: '', toolCalls: [call] }, { role: 'assistant', content: '' }));
  assert.ok(
    !sameMessage({ role: 'tool', content: '1', toolCallId: 'x' }, { role: 'tool', content: '1', toolCallId: 'y' }),
  );
  assert.ok(!sameMessage(user('a'), assistant('a')));
});
