/**
 * The context under a token budget, through a real PluginManager: what the backend is sent
 * (system prompt, summary, recent turns, new turn) stays within the budget; older turns are
 * dropped, then summarized after the reply and the summary sent instead; summaries are
 * refreshed after `summary_refresh_messages`, and a failing one never fails a chat.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatContext } from '../../src/index.ts';
import { type MemoryHarness, say, sent, startMemory } from './testing/harness.ts';
import { charsEstimate, messageTokens, REPLY_PRIMING } from './token-count.ts';

/** The prompt's tokens as memory counts them with `tokenizer: chars`. */
const tokensOf = (context: ChatContext) =>
  REPLY_PRIMING + context.messages.reduce((sum, message) => sum + messageTokens(charsEstimate, message), 0);

/** Sends `count` numbered questions of ~40 characters to conversation `id`, each with the system prompt if given. */
async function converse(
  harness: MemoryHarness,
  id: string,
  from: number,
  count: number,
  system?: string,
): Promise<void> {
  for (let n = from; n < from + count; n++) {
    const question = `Question number ${n} about the weather?`;
    await say(
      harness,
      system === undefined
        ? question
        : [
            { role: 'system', content: system },
            { role: 'user', content: question },
          ],
      { conversationId: id },
    );
  }
}

async function newConversation(harness: MemoryHarness, system?: string): Promise<string> {
  const first = await say(
    harness,
    system === undefined
      ? 'Question number 0 about the weather?'
      : [
          { role: 'system', content: system },
          { role: 'user', content: 'Question number 0 about the weather?' },
        ],
    { conversationId: 'new' },
  );
  return first.headers.get('x-conversation-id')!;
}

test('the most recent turns that fit max_context_tokens are sent, the oldest dropped (summaries off)', async () => {
  const budget = 150;
  const harness = await startMemory({ config: { max_context_tokens: budget, summarize: false } });
  try {
    const id = await newConversation(harness);
    await converse(harness, id, 1, 9);
    const last = harness.calls('chat').at(-1)!;
    assert.ok(tokensOf(last) <= budget, `${tokensOf(last)} tokens in a budget of ${budget}`);
    const lines = sent(last);
    assert.equal(lines.at(-1), 'user: Question number 9 about the weather?', 'the new message is last');
    assert.equal(lines.at(-2), 'assistant: Reply 9 to: Question number 8 about the weather?');
    assert.ok(!lines.some((line) => line.includes('number 0 ')), 'the oldest turn was dropped');
    // Contiguous and as long as fits: the stored message just before the window would not fit.
    const stored = await harness.store.messages('anonymous', id);
    const firstSent = stored.findIndex(({ message }) => `${message.role}: ${message.content}` === lines[0]);
    assert.ok(firstSent > 0, 'the window starts after the first stored message');
    assert.deepEqual(
      stored.slice(firstSent, firstSent + lines.length).map(({ message }) => `${message.role}: ${message.content}`),
      lines,
    );
    assert.ok(
      tokensOf(last) + messageTokens(charsEstimate, stored[firstSent - 1]!.message) > budget,
      'one more would not fit',
    );
    assert.equal(harness.calls('summary').length, 0);
  } finally {
    await harness.shutdown();
  }
});

test("without max_context_tokens the budget is the model's context length less reserve_tokens", async () => {
  const harness = await startMemory({ contextLength: 300, config: { reserve_tokens: 180, summarize: false } });
  try {
    const id = await newConversation(harness);
    await converse(harness, id, 1, 8);
    const last = harness.calls('chat').at(-1)!;
    assert.ok(tokensOf(last) <= 120, `${tokensOf(last)} tokens in a budget of 300 - 180`);
    assert.ok(tokensOf(last) > 120 - 30, 'the budget was used, not a smaller default');
  } finally {
    await harness.shutdown();
  }
});

test('turns that fell out are summarized after the reply; the model then gets system prompt, summary, recent turns, new message', async () => {
  const budget = 160;
  const harness = await startMemory({ config: { max_context_tokens: budget, summary_refresh_messages: 4 } });
  try {
    const id = await newConversation(harness, 'Be brief.');
    await converse(harness, id, 1, 2, 'Be brief.');
    assert.equal(harness.calls('summary').length, 0, 'no summary while everything fits');
    await converse(harness, id, 3, 4, 'Be brief.');
    const summaries = harness.calls('summary');
    assert.ok(summaries.length >= 1, 'a summary was made once turns fell out');
    const firstRequest = summaries[0]!.messages[1]!.content;
    assert.match(firstRequest, /There is no summary yet/);
    assert.match(firstRequest, /User: Question number 0 about the weather\?/);
    const conversation = await harness.store.get('anonymous', id);
    assert.ok(conversation?.summary, 'stored with setSummary');
    assert.match(conversation.summary.text, /^SUMMARY \d+:/);

    await converse(harness, id, 7, 1, 'Be brief.');
    const last = harness.calls('chat').at(-1)!;
    const lines = sent(last);
    assert.equal(lines[0], 'system: Be brief.', 'the system prompt first');
    assert.equal(lines[1], `system: Summary of the earlier part of this conversation:\n${conversation.summary.text}`);
    assert.equal(lines.at(-1), 'user: Question number 7 about the weather?');
    assert.ok(tokensOf(last) <= budget, `${tokensOf(last)} tokens in a budget of ${budget}`);
    const recent = lines.slice(2, -1);
    assert.ok(recent.length >= 2, 'recent turns besides the summary');
    assert.ok(!recent.some((line) => line.includes('number 0 ')), 'summarized turns are not resent');
  } finally {
    await harness.shutdown();
  }
});

test('a summary is refreshed only after summary_refresh_messages more messages fell out, from the previous one', async () => {
  const harness = await startMemory({ config: { max_context_tokens: 160, summary_refresh_messages: 6 } });
  try {
    const id = await newConversation(harness);
    let summaries = 0;
    let throughs: number[] = [];
    for (let n = 1; n < 16; n++) {
      await converse(harness, id, n, 1);
      const now = harness.calls('summary').length;
      if (now > summaries) {
        summaries = now;
        throughs = [...throughs, (await harness.store.get('anonymous', id))!.summary!.throughSequence];
      }
    }
    assert.ok(throughs.length >= 2, `refreshed at least once (${throughs.join(', ')})`);
    for (let index = 1; index < throughs.length; index++) {
      assert.ok(throughs[index]! - throughs[index - 1]! >= 6, `refreshed after 6 more: ${throughs.join(', ')}`);
    }
    const refresh = harness.calls('summary').at(-1)!.messages[1]!.content;
    assert.match(refresh, /The summary so far:\nSUMMARY \d+:/, 'a refresh rewrites the previous summary');
  } finally {
    await harness.shutdown();
  }
});

test('a failing summary is logged and counted, never fails the chat, and is made after a later reply', async () => {
  let failSummaries = true;
  const harness = await startMemory({
    config: { max_context_tokens: 140 },
    fail: (kind) => (kind === 'summary' && failSummaries ? new Error('summary backend down') : undefined),
  });
  try {
    const id = await newConversation(harness);
    await converse(harness, id, 1, 5);
    assert.ok(harness.metrics.value('memory_summaries_total', { result: 'failed' }) >= 1, 'counted');
    assert.equal((await harness.store.get('anonymous', id))?.summary, undefined);
    assert.equal(harness.calls('chat').length, 6, 'every chat was answered');
    failSummaries = false;
    await converse(harness, id, 6, 1);
    assert.ok((await harness.store.get('anonymous', id))?.summary, 'made on the next reply');
    assert.ok(harness.metrics.value('memory_summaries_total', { result: 'made' }) >= 1);
  } finally {
    await harness.shutdown();
  }
});

test('summary_model sends summaries to another model', async () => {
  const harness = await startMemory({
    config: { max_context_tokens: 120, summary_model: 'scripted/summarizer' },
  });
  try {
    const id = await newConversation(harness);
    await converse(harness, id, 1, 4);
    const summary = harness.calls('summary')[0];
    assert.ok(summary, 'a summary request');
    assert.equal(summary.model, 'summarizer');
  } finally {
    await harness.shutdown();
  }
});
