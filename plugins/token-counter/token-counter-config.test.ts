/**
 * Loaded by name from a YAML configuration (`middleware: { token_counter: { config } }`, no
 * plugin_file), as the plugin loader loads it (its tokenizers imported lazily from there too):
 * it starts, estimates with gpt-tokenizer or the tokenizer.json it is pointed at, enforces a
 * budget whose numbers come from a `${VAR}` reference, and a bad config or a missing
 * tokenizer_file keeps it out with a message naming the key or the file.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { isPlugboardError } from '../../src/index.ts';
import { chatRequest } from '../../src/testing/index.ts';
import { RuntimeFixture } from '../../test/support/runtime-fixture.ts';
import { tinyBpeTokenizer } from './testing/tokenizer-files.ts';
import { tokensOf } from './token-counter.plugin.ts';

/** A runtime whose backend reports no counts (so the plugin estimates), with `config` under middleware:. */
async function fixture(config: readonly string[]): Promise<RuntimeFixture> {
  const made = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-token-counter-config-'));
  const testing = new URL('../../src/testing/index.ts', import.meta.url).pathname;
  await made.write(
    'scripted.plugin.ts',
    `import { createScriptedBackend } from ${JSON.stringify(testing)};\n` +
      "export default createScriptedBackend({ usage: false, reply: 'lower newest' });\n",
  );
  await made.write(
    'config.yaml',
    ['mode: staging', 'backends:', '  scripted: { plugin_file: scripted.plugin.ts }', 'middleware:', ...config].join(
      '\n',
    ),
  );
  return made;
}

test('middleware: token_counter loads by name, estimates with gpt-tokenizer, and budgets (numbers from $VAR)', async () => {
  const made = await fixture([
    '  token_counter:',
    '    config:',
    '      budgets:',
    '        per_principal:',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: `${VAR}` is the configuration syntax
    '          - { tokens: "${TOKEN_BUDGET:20}", per_seconds: 3600 }',
  ]);
  try {
    const runtime = await made.start();
    const status = runtime.manager.getPluginStatus().plugins.token_counter;
    assert.equal(status?.state, 'ACTIVE', JSON.stringify(status?.lastError));
    const response = await runtime.manager.chat(chatRequest('Hello there, how are you today?'));
    const tokens = tokensOf(response);
    assert.equal(tokens?.source, 'estimate');
    assert.equal(tokens?.tokenizer, 'gpt-tokenizer:o200k_base');
    assert.equal(tokens?.completion, 2);
    // The charge lands after the response: ask until it shows (a handful of event-loop turns).
    let refused: unknown;
    for (let attempt = 0; attempt < 100 && refused === undefined; attempt++) {
      refused = await runtime.manager.chat(chatRequest('again')).then(
        () => undefined,
        (error: unknown) => error,
      );
    }
    assert.ok(isPlugboardError(refused, 'token_counter/BUDGET_EXCEEDED'), String(refused));
    assert.match(refused.message, /of 20 tokens used/);
  } finally {
    await made.dispose();
  }
});

test('tokenizer_file: the estimate uses that tokenizer.json', async () => {
  const made = await fixture([]);
  const file = join(made.dir, 'tokenizer.json');
  await made.write('tokenizer.json', JSON.stringify(tinyBpeTokenizer()));
  await made.write(
    'config.yaml',
    [
      'mode: staging',
      'backends:',
      '  scripted: { plugin_file: scripted.plugin.ts }',
      'middleware:',
      '  token_counter:',
      `    config: { tokenizer_file: ${JSON.stringify(file)} }`,
    ].join('\n'),
  );
  try {
    const runtime = await made.start();
    const response = await runtime.manager.chat(chatRequest('lower'));
    assert.deepEqual(tokensOf(response), {
      prompt: 3 + 3 + 1, // reply priming + one message's overhead + "lower"
      completion: 2, // "lower newest"
      source: 'estimate',
      tokenizer: 'huggingface:tokenizer.json',
    });
  } finally {
    await made.dispose();
  }
});

test('a misspelt key, or a tokenizer_file that is not there, keeps it out, saying which', async () => {
  for (const [config, expected] of [
    ['    config: { budgets: { per_principal: [{ token: 5, per_seconds: 60 }] } }', /token/],
    ['    config: { tokenizer_file: /nonexistent/tokenizer.json }', /\/nonexistent\/tokenizer\.json cannot be read/],
  ] as const) {
    const made = await fixture(['  token_counter:', config]);
    try {
      const runtime = await made.start();
      const status = runtime.manager.getPluginStatus().plugins.token_counter;
      assert.equal(status?.state, 'ERROR');
      assert.match(status?.lastError?.message ?? '', expected);
    } finally {
      await made.dispose();
    }
  }
});
