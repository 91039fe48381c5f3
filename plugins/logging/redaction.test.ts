/**
 * Secrets never reach a record, whatever the config: an API key sent in `Authorization` or
 * `x-api-key`, pasted into the message, echoed in the reply or quoted in a rejection is absent
 * from everything written — searched for in the whole output of the `log` destination (a real
 * pino logger) and of the `file` destination. Personal data in the bodies is redacted by
 * default, kept when `redact_pii: []` (secrets still go).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { createDefaultLogger, defineMiddleware, type PluginManager, reject } from '../../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../../src/testing/index.ts';
import { generateKey } from '../auth/key-hash.ts';
import { createLoggingPlugin } from './logging.plugin.ts';
import { createRedactor } from './redaction.ts';
import { createRecorder } from './testing/recorder.ts';

const OPENAI_KEY = 'sk-proj-Q3x9T7kLmN2pR8vW4yZ6aB1cD5eF0gH';
const PLUGBOARD_KEY = generateKey();
const PII = 'write to alice@example.com or pay with 4111 1111 1111 1111';

describe('the redactor', () => {
  test('secrets always; the configured personal data', () => {
    const all = createRedactor(['email', 'phone', 'card', 'iban', 'ssn', 'ip'], 'US');
    assert.equal(all.text(`${PII}, key ${OPENAI_KEY}`), 'write to [email] or pay with [card], key [secret]');
    assert.equal(all.text(`mine is ${PLUGBOARD_KEY}.`), 'mine is [secret].');
    assert.equal(all.text('Authorization: Bearer abcDEF123456789'), 'Authorization: Bearer [redacted]');
    assert.equal(all.text('from 192.168.10.20, SSN 123-45-6789'), 'from [ip], SSN [ssn]');
    const none = createRedactor([], 'US');
    assert.equal(none.text(`${PII}, key ${OPENAI_KEY}`), `${PII}, key [secret]`);
    const emailOnly = createRedactor(['email'], 'US');
    assert.equal(emailOnly.text(PII), 'write to [email] or pay with 4111 1111 1111 1111');
  });

  test('a whole record: secret-named fields are hidden', () => {
    const redactor = createRedactor([], 'US');
    assert.deepEqual(redactor.record({ api_key: 'x', tokens: { prompt: 1 } }), {
      api_key: '[redacted]',
      tokens: { prompt: 1 },
    });
  });
});

/** Refuses a request, quoting the credential it was sent (as a careless plugin might). */
const careless = defineMiddleware({
  metadata: { name: 'careless', version: '1.0.0' },
  processRequest: (context) =>
    context.messages.at(-1)?.content.startsWith('refuse')
      ? reject('REQUEST_REJECTED', `key ${context.client?.headers?.authorization} is not allowed`, { status: 403 })
      : context,
});

let manager: PluginManager | undefined;
let dir: string | undefined;
afterEach(async () => {
  await manager?.shutdown();
  manager = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Runs a few requests carrying secrets in every place; returns everything the destination wrote. */
async function exercise(config: Record<string, unknown>, read: () => Promise<string>): Promise<string> {
  const backend = createScriptedBackend(); // echoes the message: the secret is in the reply too
  manager = await startManager([backend, careless, [createLoggingPlugin, { config }]], { logger: logger() });
  const client = {
    address: '198.51.100.4',
    headers: { authorization: `Bearer ${OPENAI_KEY}`, 'x-api-key': PLUGBOARD_KEY, 'user-agent': 'test' },
  };
  await manager.chat(chatRequest(`my key is ${OPENAI_KEY} and ${PLUGBOARD_KEY}. ${PII}`, { client }));
  await collectStream(manager.stream(chatRequest(`again: ${OPENAI_KEY}`, { client, stream: true })));
  await assert.rejects(manager.chat(chatRequest('refuse me', { client })));
  await manager.shutdown(); // writes every record in progress, then closes the destination
  manager = undefined;
  return read();
}

let captured: string[] = [];
function logger() {
  captured = [];
  return createDefaultLogger('info', 'json', { write: (line: string) => captured.push(line) });
}

/** The records the logging plugin wrote through the logger (its other lines, "plugin loaded" …, left out). */
const loggedRecords = async () =>
  captured
    .filter((line) => {
      const fields = JSON.parse(line) as { plugin?: string; request_id?: string };
      return fields.plugin === 'logging' && fields.request_id !== undefined;
    })
    .join('');

describe('no secret in any record', () => {
  for (const destination of ['log', 'file'] as const) {
    test(`destination ${destination}: headers, message, reply and error message`, async () => {
      dir = await mkdtemp(join(tmpdir(), 'plugboard-logging-'));
      const file = join(dir, 'records.jsonl');
      const config = { destination, include_bodies: true, ...(destination === 'file' ? { file } : {}) };
      const output = await exercise(config, destination === 'file' ? () => readFile(file, 'utf8') : loggedRecords);
      const lines = output.trim().split('\n');
      assert.equal(lines.length, 3, output);
      assert.ok(!output.includes(OPENAI_KEY), output);
      assert.ok(!output.includes(PLUGBOARD_KEY), output);
      assert.ok(!output.includes(OPENAI_KEY.slice(8)), 'not even part of it');
      assert.doesNotMatch(output, /authorization|x-api-key/i, 'no header is logged');
      assert.match(output, /\[secret\]/);
      assert.match(output, /write to \[email\] or pay with \[card\]/, 'PII is redacted by default');
      const rejected = JSON.parse(lines[2]!) as { error: { message: string } };
      assert.equal(rejected.error.message, 'key Bearer [secret] is not allowed');
    });
  }

  test('redact_pii: [] keeps personal data for an operator who wants it, never secrets', async () => {
    const recorder = createRecorder();
    manager = await startManager([
      createScriptedBackend(),
      [() => createLoggingPlugin({ sink: recorder.sink }), { config: { include_bodies: true, redact_pii: [] } }],
    ]);
    await manager.chat(chatRequest(`${PII}, key ${OPENAI_KEY}`));
    const [record] = await recorder.until(1);
    assert.equal(record!.request_text, `${PII}, key [secret]`);
    assert.equal(record!.reply_text, `You said: ${PII}, key [secret]`);
  });

  test('a secret across the max_body_chars cut leaves no part of itself', async () => {
    const recorder = createRecorder();
    manager = await startManager([
      createScriptedBackend(),
      [() => createLoggingPlugin({ sink: recorder.sink }), { config: { include_bodies: true, max_body_chars: 20 } }],
    ]);
    await manager.chat(chatRequest(`my key: ${OPENAI_KEY} thanks`));
    const [record] = await recorder.until(1);
    const text = `my key: ${OPENAI_KEY} thanks`;
    assert.equal(record!.request_text, `my key: [secret] tha…[truncated, ${text.length} chars]`);
    assert.ok(!JSON.stringify(record).includes(OPENAI_KEY.slice(0, 12)));
  });
});
