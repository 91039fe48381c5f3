/**
 * A backend for the chat page's browser tests whose replies are scripted by the message's
 * first word: `think` streams reasoning apart (`reasoning_content`) then the answer; `tagged`
 * writes its reasoning inline as `<think>…</think>`; `tool` calls a tool; `fail` sends a few
 * words then fails (an error inside the stream). Anything else: "ok".
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { defineBackend, lastUserMessage } from '../../src/index.ts';

export default defineBackend({
  metadata: { name: 'scripted', version: '1.0.0', description: 'Scripted replies for the chat UI tests' },
  chat(context, call) {
    const word = (lastUserMessage(context)?.content ?? '')
      .trim()
      .split(/\s+/)[0]
      ?.toLowerCase()
      .replace(/[^a-z]/g, '');
    const pause = () => sleep(15, undefined, { signal: call.signal });
    return (async function* () {
      if (word === 'think') {
        for (const part of ['Two ', 'and ', 'two ', 'make ', 'four.']) {
          await pause();
          yield { thinking: part };
        }
        yield { content: 'The answer is **4**.' };
      } else if (word === 'tagged') {
        for (const part of ['<think>Inline ', 'reasoning here', '</think>', 'Tagged ', 'answer.']) {
          await pause();
          yield { content: part };
        }
      } else if (word === 'tool') {
        await pause();
        yield { toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo","unit":"celsius"}' }] };
        yield { finishReason: 'tool_calls' as const };
        return;
      } else if (word === 'fail') {
        for (const part of ['Some ', 'words ', 'before ']) {
          await pause();
          yield { content: part };
        }
        throw new Error('scripted failure in the middle of the stream');
      } else {
        yield { content: 'ok' };
      }
      yield { finishReason: 'stop' as const };
    })();
  },
  listModels: () => [{ id: 'scripted' }],
});
