/**
 * Loaded by name from a YAML configuration (`middleware: { rate_limiter: { config } }`, no
 * plugin_file): it starts, limits, and a bad config keeps it out with a message naming the key.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPlugboardError } from '../../src/index.ts';
import { chatRequest } from '../../src/testing/index.ts';
import { RuntimeFixture } from '../../test/support/runtime-fixture.ts';

async function fixture(config: string): Promise<RuntimeFixture> {
  const made = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-rate-limiter-config-'));
  const testing = new URL('../../src/testing/index.ts', import.meta.url).pathname;
  await made.write(
    'scripted.plugin.ts',
    `import { createScriptedBackend } from ${JSON.stringify(testing)};\nexport default createScriptedBackend();\n`,
  );
  await made.write(
    'config.yaml',
    ['mode: staging', 'backends:', '  scripted: { plugin_file: scripted.plugin.ts }', 'middleware:', config].join('\n'),
  );
  return made;
}

test('middleware: rate_limiter loads by name and limits (numbers may come from a $VAR reference)', async () => {
  const made = await fixture(
    [
      '  rate_limiter:',
      '    config:',
      '      limits:',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: `${VAR}` is the configuration syntax
      '        - { key: global, requests: "${RATE_LIMIT_BENCH_REQUESTS:2}", per_seconds: 60 }',
    ].join('\n'),
  );
  try {
    const runtime = await made.start();
    const status = runtime.manager.getPluginStatus().plugins.rate_limiter;
    assert.equal(status?.state, 'ACTIVE', JSON.stringify(status?.lastError));
    await runtime.manager.chat(chatRequest('one'));
    await runtime.manager.chat(chatRequest('two'));
    const third = await runtime.manager.chat(chatRequest('three')).catch((error: unknown) => error);
    assert.ok(isPlugboardError(third, 'rate_limiter/LIMITED'), String(third));
  } finally {
    await made.dispose();
  }
});

test('a misspelt key keeps it out, naming the key', async () => {
  const made = await fixture(
    ['  rate_limiter:', '    config:', '      limits:', '        - { key: global, request: 2, per_seconds: 60 }'].join(
      '\n',
    ),
  );
  try {
    const runtime = await made.start();
    const status = runtime.manager.getPluginStatus().plugins.rate_limiter;
    assert.equal(status?.state, 'ERROR');
    assert.match(status?.lastError?.message ?? '', /request/);
  } finally {
    await made.dispose();
  }
});

test('store: redis without a connections: section does not start, and says why', async () => {
  const made = await fixture(
    [
      '  rate_limiter:',
      '    config:',
      '      store: { type: redis, connection: cache }',
      '      limits: [{ key: global, requests: 2, per_seconds: 60 }]',
    ].join('\n'),
  );
  try {
    const runtime = await made.start();
    const status = runtime.manager.getPluginStatus().plugins.rate_limiter;
    assert.equal(status?.state, 'ERROR');
    assert.match(status?.lastError?.message ?? '', /no connections: section/);
  } finally {
    await made.dispose();
  }
});
