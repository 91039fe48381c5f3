/**
 * A forced shutdown (the deadline passed with streams still open) ends every open stream with
 * the API's in-stream error — an SSE `data: {"error": …}` event on /v1, an `{"error": …}` line
 * on /api, both with the code SERVER_SHUTTING_DOWN — and a clean end of the response, before
 * the connections are closed: no client sees a connection reset. A whole reply still waiting
 * gets its 503.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, test } from 'node:test';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer } from '../support/http-server.ts';

/** What a client read of one streamed response: its body, and how the response ended. */
interface StreamRead {
  readonly status: number;
  readonly body: string;
  /** `end` when the whole response arrived, else the error the client saw (ECONNRESET …). */
  readonly ending: string;
}

/**
 * POSTs `body` to `url` with node:http (fetch hides how a body ended) and resolves with the
 * status once the headers arrived, and a promise of the whole read.
 */
function openStream(url: string, body: unknown): Promise<{ status: number; read: Promise<StreamRead> }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (response) => {
      let text = '';
      let status = response.statusCode ?? 0;
      const read = new Promise<StreamRead>((done) => {
        response.setEncoding('utf8');
        response.on('data', (piece: string) => {
          text += piece;
        });
        response.on('end', () => done({ status, body: text, ending: response.complete ? 'end' : 'incomplete' }));
        response.on('aborted', () => done({ status, body: text, ending: 'aborted' }));
        response.on('error', (error: NodeJS.ErrnoException) =>
          done({ status, body: text, ending: error.code ?? error.message }),
        );
      });
      status = response.statusCode ?? 0;
      // The first piece has arrived once a chunk is in: the stream is committed and running.
      response.once('data', () => resolve({ status, read }));
    });
    outgoing.on('error', reject);
    outgoing.end(JSON.stringify(body));
  });
}

describe('forced shutdown of open streams', () => {
  test('each SSE and NDJSON stream gets SERVER_SHUTTING_DOWN in-stream and a clean end, no reset', async () => {
    const backend = createScriptedBackend({
      models: ['forever'],
      reply: 'w '.repeat(100_000),
      chunking: 2,
      chunkDelayMs: 10,
    });
    const never = createScriptedBackend({ name: 'never', models: ['never'], latencyMs: Number.POSITIVE_INFINITY });
    const server = await startTestServer([backend, never], { settings: { shutdownTimeoutMs: 300 } });
    try {
      const messages = [{ role: 'user', content: 'hi' }];
      const sse = await Promise.all(
        Array.from({ length: 4 }, () =>
          openStream(`${server.url}/v1/chat/completions`, { model: 'forever', stream: true, messages }),
        ),
      );
      const ndjson = await Promise.all(
        Array.from({ length: 4 }, () => openStream(`${server.url}/api/chat`, { model: 'forever', messages })),
      );
      for (const opened of [...sse, ...ndjson]) assert.equal(opened.status, 200);
      // A whole (non-streamed) reply still waiting for its backend.
      const whole = fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'never/never', messages }),
      });
      while (never.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));

      const finished = await server.server.close();
      assert.equal(finished, false, 'the deadline cut the streams');

      for (const opened of sse) {
        const read = await opened.read;
        assert.equal(read.ending, 'end', 'the SSE response ended cleanly');
        const events = read.body.trim().split('\n\n');
        const last = JSON.parse(events.at(-1)!.replace(/^data: /, '')) as { error?: { code?: string } };
        assert.equal(last.error?.code, 'server_shutting_down', `last event: ${events.at(-1)}`);
      }
      for (const opened of ndjson) {
        const read = await opened.read;
        assert.equal(read.ending, 'end', 'the NDJSON response ended cleanly');
        const last = JSON.parse(read.body.trim().split('\n').at(-1)!) as { error?: string; code?: string };
        assert.equal(last.code, 'SERVER_SHUTTING_DOWN', `last line: ${JSON.stringify(last)}`);
        assert.match(last.error ?? '', /shut down/);
      }
      const answer = await whole;
      assert.equal(answer.status, 503);
      assert.equal(((await answer.json()) as { error: { code: string } }).error.code, 'server_shutting_down');
    } finally {
      await server.manager.shutdown();
    }
  });
});
