/**
 * Loaded by name from a YAML configuration file, as operators write it: the entry
 * `middleware: { logging: { config: … } }` without `plugin_file` loads this plugin, which
 * writes its records to the file named; a misspelt key keeps it out and is named; a file
 * destination without a file is refused with the reason.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chatRequest } from '../../src/testing/index.ts';
import { RuntimeFixture } from '../../test/support/runtime-fixture.ts';
import { loggingConfigSchema } from './config.ts';

const SRC = fileURLToPath(new URL('../../src/index.ts', import.meta.url));

/** A backend that echoes the message. */
const ECHO_SOURCE = `
import { createMessage, defineBackend, lastUserMessage } from ${JSON.stringify(SRC)};
export default defineBackend({
  metadata: { name: 'echo', version: '1.0.0' },
  chat: (context) => ({ message: createMessage({ role: 'assistant', content: lastUserMessage(context)?.content ?? '' }) }),
  listModels: () => [{ id: 'echo' }],
});
`;

let fixture: RuntimeFixture | undefined;
afterEach(() => fixture?.dispose());

/** Starts a runtime whose `logging` entry is `entry(dir)` (indented lines under `logging:`). */
async function start(entry: (dir: string) => string) {
  fixture = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-logging-yaml-'));
  await fixture.write('echo.plugin.ts', ECHO_SOURCE);
  await fixture.write(
    'config.yaml',
    [
      'mode: staging',
      'backends:',
      '  echo:',
      '    plugin_file: echo.plugin.ts',
      'middleware:',
      '  logging:',
      entry(fixture.dir),
    ].join('\n'),
  );
  return fixture.start();
}

test('`logging` under middleware loads the first-party plugin by name, with its config', async () => {
  const runtime = await start((dir) =>
    [
      '    config:',
      '      destination: file',
      `      file: ${JSON.stringify(join(dir, 'logs', 'requests.jsonl'))}`,
      // A number from a $VAR reference (the configuration loader coerces it).
      // biome-ignore lint/suspicious/noTemplateCurlyInString: `${VAR}` is the configuration syntax
      '      sample_rate: "${LOGGING_SAMPLE_RATE:1}"',
      '      include_bodies: true',
    ].join('\n'),
  );
  const status = runtime.manager.getPluginStatus().plugins.logging;
  assert.equal(status?.state, 'ACTIVE');
  assert.equal(status?.priority, 'MONITORING');
  await runtime.manager.chat(chatRequest('mail me at bob@example.com', { model: 'echo' }));
  await runtime.close(); // flushes the file
  const text = await readFile(join(fixture!.dir, 'logs', 'requests.jsonl'), 'utf8');
  const [line, ...rest] = text.trim().split('\n');
  assert.deepEqual(rest, []);
  const record = JSON.parse(line!) as Record<string, unknown>;
  assert.equal(record.operation, 'chat');
  assert.equal(record.outcome, 'completed');
  assert.equal(record.backend, 'echo');
  assert.equal(record.request_text, 'mail me at [email]');
});

test('a misspelt key keeps it out and names the key', async () => {
  const runtime = await start(() => ['    config:', '      sample_rte: 0.5'].join('\n'));
  assert.notEqual(runtime.manager.getPluginStatus().plugins.logging?.state, 'ACTIVE');
  assert.match(JSON.stringify(runtime.manager.getPluginStatus()), /sample_rte/);
});

test('the schema: a file destination needs a file; sample_rate stays in 0–1; defaults', () => {
  const missing = loggingConfigSchema.safeParse({ destination: 'file' });
  assert.ok(!missing.success);
  assert.match(missing.error.message, /needs a file path/);
  assert.ok(!loggingConfigSchema.safeParse({ sample_rate: 1.5 }).success);
  assert.ok(!loggingConfigSchema.safeParse({ file: 'x.jsonl' }).success, 'file without destination: file');
  assert.deepEqual(loggingConfigSchema.parse({}), {
    destination: 'log',
    sample_rate: 1,
    always_log_errors: true,
    redact_pii: ['email', 'phone', 'card', 'iban', 'ssn', 'ip'],
    default_region: 'US',
    include_bodies: false,
    max_body_chars: 2000,
  });
});
