import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message, StoredMessage } from '../../src/index.ts';
import { chooseWindow } from './context-window.ts';
import { MESSAGE_OVERHEAD, REPLY_PRIMING } from './token-count.ts';

/** One token per character: easy sums. */
const count = (text: string) => text.length;
const cost = (content: string) => MESSAGE_OVERHEAD + content.length;
const stored = (messages: readonly Message[]): StoredMessage[] =>
  messages.map((message, index) => ({ conversationId: 'c', sequence: index + 1, createdAt: new Date(0), message }));
const call = { id: 'c1', name: 'f', arguments: '' };

test('the newest messages that fit, contiguously; what was left out is reported by sequence', () => {
  const history = stored(['aaaa', 'bbbb', 'cccc', 'dddd'].map((content) => ({ role: 'user', content })));
  const turn: Message[] = [{ role: 'user', content: 'new' }];
  const budget = REPLY_PRIMING + cost('new') + 2 * cost('aaaa');
  const window = chooseWindow({ fixed: [], history, turn, budget, count });
  assert.deepEqual(
    window.included.map((message) => message.sequence),
    [3, 4],
  );
  assert.equal(window.droppedThrough, 2);
  assert.equal(window.tokens, budget);
  const all = chooseWindow({ fixed: [], history, turn, budget: 1000, count });
  assert.equal(all.included.length, 4);
  assert.equal(all.droppedThrough, 0);
});

test('the system prompt and the new turn are sent even over the budget; history then is not', () => {
  const history = stored([{ role: 'user', content: 'old' }]);
  const window = chooseWindow({
    fixed: [{ role: 'system', content: 'x'.repeat(100) }],
    history,
    turn: [{ role: 'user', content: 'new' }],
    budget: 10,
    count,
  });
  assert.equal(window.included.length, 0);
  assert.equal(window.droppedThrough, 1);
});

test('an assistant tool call is never split from its results: the group goes whole or not at all', () => {
  const history = stored([
    { role: 'user', content: 'q' },
    { role: 'assistant', content: '', toolCalls: [call, { ...call, id: 'c2' }] },
    { role: 'tool', content: 'r1', toolCallId: 'c1' },
    { role: 'tool', content: 'r2', toolCallId: 'c2' },
    { role: 'assistant', content: 'answer' },
  ]);
  const turn: Message[] = [{ role: 'user', content: 'next' }];
  const base = REPLY_PRIMING + cost('next') + cost('answer');
  // Room for 'answer' and the two results, not for the call: the results must not go alone.
  const window = chooseWindow({ fixed: [], history, turn, budget: base + cost('r1') + cost('r2') + 1, count });
  assert.deepEqual(
    window.included.map((message) => message.sequence),
    [5],
  );
  assert.equal(window.droppedThrough, 4);
});

test('tool results that open the new turn bring their call along, whatever it costs', () => {
  const history = stored([
    { role: 'user', content: 'q' },
    { role: 'assistant', content: 'x'.repeat(50), toolCalls: [call] },
  ]);
  const window = chooseWindow({
    fixed: [],
    history,
    turn: [{ role: 'tool', content: 'r', toolCallId: 'c1' }],
    budget: 5,
    count,
  });
  assert.deepEqual(
    window.included.map((message) => message.sequence),
    [2],
  );
});

test('tool results whose call was summarized away are not sent', () => {
  const history = stored([
    { role: 'tool', content: 'r1', toolCallId: 'c1' },
    { role: 'assistant', content: 'done' },
  ]);
  const window = chooseWindow({ fixed: [], history, turn: [{ role: 'user', content: 'u' }], budget: 1000, count });
  assert.deepEqual(
    window.included.map((message) => message.sequence),
    [2],
  );
  assert.equal(window.droppedThrough, 1);
});
