/**
 * The record is written in the background: the request never waits for it. Shown by order and
 * by counts, never by time — the response arrives while the destination is still blocked, and
 * the record is handed to the destination only after the caller has its response. A failing
 * destination fails no request (fail-open) and shows in the plugin's health; shutdown writes
 * the records still in progress before it closes the file.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { PluginManager } from '../../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../../src/testing/index.ts';
import type { RecordSink } from './destination.ts';
import { createLoggingPlugin } from './logging.plugin.ts';
import { createGatedSink, createRecorder } from './testing/recorder.ts';

let manager: PluginManager | undefined;
afterEach(async () => {
  await manager?.shutdown();
  manager = undefined;
});

const withSink = (sink: RecordSink) => [() => createLoggingPlugin({ sink }), { config: {} }] as const;

test('the response resolves while the destination is still blocked on its record', async () => {
  const gated = createGatedSink();
  manager = await startManager([createScriptedBackend(), withSink(gated.sink)]);
  const response = await manager.chat(chatRequest('hello'));
  const streamed = await collectStream(manager.stream(chatRequest('hello', { stream: true })));
  assert.equal(response.message.content, 'You said: hello');
  assert.equal(streamed.text, 'You said: hello');
  await gated.untilStarted(2);
  assert.equal(gated.finished.length, 0, 'both responses arrived; neither record is written yet');
  await gated.release();
  assert.deepEqual(
    gated.finished.map((record) => record.request_id),
    [response.requestId, streamed.response.requestId],
  );
});

test('the record is built and handed over only after the caller has the response', async () => {
  const events: string[] = [];
  const recorder = createRecorder((record) => events.push(`record ${record.stream ? 'stream' : 'chat'}`));
  manager = await startManager([createScriptedBackend(), withSink(recorder.sink)]);
  await manager.chat(chatRequest('hello'));
  events.push('response chat');
  await collectStream(manager.stream(chatRequest('hello', { stream: true })));
  events.push('response stream');
  await recorder.until(2);
  assert.equal(events[0], 'response chat', 'the first thing to happen is the response, not the record');
  assert.ok(events.indexOf('record chat') > events.indexOf('response chat'));
  assert.ok(events.indexOf('record stream') > events.indexOf('response stream'));
});

test('a destination that throws fails no request, and the health check says so', async () => {
  let writes = 0;
  let twoWritten: () => void = () => undefined;
  const attempted = new Promise<void>((resolve) => {
    twoWritten = resolve;
  });
  const broken: RecordSink = {
    write() {
      if (++writes === 2) twoWritten();
      throw new Error('disk full');
    },
    close: () => Promise.resolve(),
  };
  manager = await startManager([createScriptedBackend(), withSink(broken)]);
  const response = await manager.chat(chatRequest('hello'));
  assert.equal(response.message.content, 'You said: hello');
  const streamed = await collectStream(manager.stream(chatRequest('hello', { stream: true })));
  assert.equal(streamed.text, 'You said: hello');
  await attempted;
  await nextTurn(); // the failures are counted once the write's rejection has been handled
  const health = await manager.getHealth();
  const logging = health.plugins.logging;
  assert.equal(logging?.health?.status, 'degraded');
  assert.match(logging?.health?.message ?? '', /disk full/);
  assert.equal(logging?.health?.custom_metrics?.failed, 2);
});

test('shutdown writes every record still in progress before closing the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'plugboard-logging-'));
  try {
    const file = join(dir, 'nested', 'records.jsonl');
    manager = await startManager([
      createScriptedBackend(),
      [createLoggingPlugin, { config: { destination: 'file', file } }],
    ]);
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) ids.push((await manager.chat(chatRequest(`hello ${index}`))).requestId);
    await manager.shutdown();
    manager = undefined;
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    assert.deepEqual(
      lines.map((line) => (JSON.parse(line) as { request_id: string }).request_id),
      ids,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
