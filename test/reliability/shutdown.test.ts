/**
 * Reliability: stopping the server with streams open. Streams that finish within the
 * shutdown deadline finish; those the deadline cuts end with the documented in-stream error
 * (an SSE error event, an NDJSON error line) — never a connection reset. Writes the
 * `shutdown` section of bench/results/reliability.json.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { EXIT_CODES } from '../../src/server/serve.ts';
import { type ProbeResult, probe, ROOT, startServer, tally, writeSection } from './probe.ts';

const INDEX = pathToFileURL(join(ROOT, 'src/index.ts')).href;

/** Streams the user's words back, one every 40 ms, after `long` as many extra words when asked. */
const SLOW_BACKEND = `
import { setTimeout as sleep } from 'node:timers/promises';
import { createMessage, defineBackend, lastUserMessage } from '${INDEX}';
export default defineBackend({
  metadata: { name: 'primary', version: '1.0.0' },
  chat(context, call) {
    const text = lastUserMessage(context)?.content ?? '';
    const words = [...text.split(' '), ...(text.includes('long') ? Array(200).fill('more') : [])];
    if (!context.stream) return sleep(text.includes('long') ? 5000 : 50, undefined, { signal: call.signal })
      .then(() => ({ message: createMessage({ role: 'assistant', content: words.join(' ') }) }));
    return (async function* () {
      for (const [index, word] of words.entries()) {
        await sleep(40, undefined, { signal: call.signal });
        yield { content: index === 0 ? word : ' ' + word };
      }
      yield { finishReason: 'stop' };
    })();
  },
  listModels: () => [{ id: 'primary' }],
});
`;

const CONFIG = `
mode: development
server: { host: 127.0.0.1, port: 0, shutdown_timeout: 1 }
observability:
  logging: { level: ERROR, format: json }
backends:
  primary: { plugin_file: ./primary.plugin.ts, timeout: 10 }
`;

describe('reliability: shutdown with open streams', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plugboard-shutdown-'));
    await writeFile(join(dir, 'primary.plugin.ts'), SLOW_BACKEND);
    await writeFile(join(dir, 'config.yaml'), CONFIG);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('streams the deadline cuts end with their error event; short ones finish; nothing is reset', async () => {
    const server = await startServer(join(dir, 'config.yaml'));
    const requests: Promise<ProbeResult & { kind: string }>[] = [];
    for (let index = 0; index < 8; index++) {
      for (const api of ['openai', 'ollama'] as const) {
        // Long streams: cut by the 1 s deadline. Short ones (three words): finish in time.
        const long = probe(server.url, api, true, `stream ${index} long`, { expect: 'never all of it' });
        const short = probe(server.url, api, true, `short ${index} ${api}`);
        requests.push(long.then((result) => ({ ...result, kind: `${api} long stream` })));
        requests.push(short.then((result) => ({ ...result, kind: `${api} short stream` })));
      }
    }
    requests.push(
      probe(server.url, 'openai', false, 'one long wait', { expect: 'x' }).then((result) => ({
        ...result,
        kind: 'openai long non-streamed',
      })),
    );
    await sleep(300); // every stream has started
    server.child.kill('SIGTERM');
    const results = await Promise.all(requests);
    const code = await server.exit;
    const byKind: Record<string, ReturnType<typeof tally>> = {};
    for (const result of results) {
      byKind[result.kind] ??= { ok: 0, 'clean-error': 0, lost: 0, hung: 0 };
      byKind[result.kind]![result.outcome]++;
    }
    await writeSection('shutdown', {
      shutdownTimeoutSeconds: 1,
      exitCode: code,
      requests: results.length,
      outcomes: tally(results),
      byKind,
      examples: results.filter((result) => result.outcome === 'lost' || result.outcome === 'hung').slice(0, 5),
    });
    assert.deepEqual(byKind['openai long stream'], { ok: 0, 'clean-error': 8, lost: 0, hung: 0 });
    assert.deepEqual(byKind['ollama long stream'], { ok: 0, 'clean-error': 8, lost: 0, hung: 0 });
    assert.deepEqual(byKind['openai short stream'], { ok: 8, 'clean-error': 0, lost: 0, hung: 0 });
    assert.deepEqual(byKind['ollama short stream'], { ok: 8, 'clean-error': 0, lost: 0, hung: 0 });
    assert.deepEqual(byKind['openai long non-streamed'], { ok: 0, 'clean-error': 1, lost: 0, hung: 0 });
    assert.equal(code, EXIT_CODES.forced, 'the deadline cut requests short: exit code 3');
  });
});
