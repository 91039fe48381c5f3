// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` in plain strings is the configuration syntax
/**
 * A plugin's `config` gets the same `${VAR}` coercion as the rest of the file — also for values
 * inside lists (`limits: [{ requests: "${N:5}" }]`), which used to turn the list into an object
 * and fail the plugin's schema with "expected array".
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RuntimeFixture } from '../support/runtime-fixture.ts';

const SRC = new URL('../../src/index.ts', import.meta.url).pathname;
const ZOD = new URL('../../node_modules/zod/index.js', import.meta.url).pathname;

test('a ${VAR} number or boolean inside a list of a plugin config is coerced, and the list stays a list', async () => {
  const fixture = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-config-coercion-'));
  try {
    await fixture.write(
      'listy.plugin.ts',
      `import { defineMiddleware } from ${JSON.stringify(SRC)};
import { z } from ${JSON.stringify(ZOD)};
export const seen: unknown[] = [];
export default defineMiddleware({
  metadata: {
    name: 'listy',
    version: '1.0.0',
    configSchema: z.strictObject({ limits: z.array(z.strictObject({ n: z.number(), on: z.boolean() })) }),
  },
  initialize(config) { (globalThis as Record<string, unknown>).listySeen = config.config; },
  processRequest: (context) => context,
});
`,
    );
    await fixture.write(
      'config.yaml',
      [
        'mode: staging',
        'middleware:',
        '  listy:',
        '    plugin_file: listy.plugin.ts',
        '    config:',
        '      limits:',
        '        - { n: "${LISTY_N:5}", on: "${LISTY_ON:true}" }',
        '        - { n: 7, on: false }',
      ].join('\n'),
    );
    const runtime = await fixture.start();
    const status = runtime.manager.getPluginStatus().plugins.listy;
    assert.equal(status?.state, 'ACTIVE', JSON.stringify(status?.lastError));
    assert.deepEqual((globalThis as Record<string, unknown>).listySeen, {
      limits: [
        { n: 5, on: true },
        { n: 7, on: false },
      ],
    });
  } finally {
    await fixture.dispose();
  }
});
