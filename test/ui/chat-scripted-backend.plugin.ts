/**
 * A backend for the chat page's browser tests whose replies are scripted by the message's
 * first word: `think` streams reasoning apart (`reasoning_content`) then the answer; `tagged`
 * writes its reasoning inline as `<think>…</think>`; `tool` calls a tool; `fail` sends a few
 * words then fails (an error inside the stream); `slow` streams `word1 … word149 finale`, a
 * word every 20 ms, and — when its config names an `abort_file` — appends a line to that file
 * each time a reply is aborted before its end (the browser's Stop reached the backend).
 * Anything else: "ok".
 */
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineBackend, lastUserMessage } from '../../src/index.ts';

const configSchema = z.strictObject({ abort_file: z.string().optional() });

let abortFile: string | undefined;

export default defineBackend<z.output<typeof configSchema>>({
  metadata: { name: 'scripted', version: '1.0.0', description: 'Scripted replies for the chat UI tests', configSchema },
  initialize(config) {
    abortFile = config.config.abort_file;
  },
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
      } else if (word === 'slow') {
        let ended = false;
        const file = abortFile;
        if (file !== undefined)
          call.signal.addEventListener('abort', () => {
            if (!ended) appendFileSync(file, 'aborted\n');
          });
        for (let index = 1; index < 150; index++) {
          await sleep(20, undefined, { signal: call.signal });
          yield { content: `word${index} ` };
        }
        ended = true;
        yield { content: 'finale' };
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
