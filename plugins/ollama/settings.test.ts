/**
 * The ollama backend's configuration and request mapping, as pure functions: the host read as
 * Ollama's clients read `OLLAMA_HOST`, the config schema, images and options.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chatRequest, startManager } from '../../src/testing/index.ts';
import createOllamaBackend from './ollama.plugin.ts';
import { imageData, toOllamaOptions } from './request-mapping.ts';
import { DEFAULT_HOST, normalizeHost, ollamaConfigSchema, resolveSettings } from './settings.ts';

describe('host', () => {
  test('read as Ollama reads OLLAMA_HOST', () => {
    const cases: [string, string][] = [
      ['gpu-box', 'http://gpu-box:11434'],
      ['gpu-box:8080', 'http://gpu-box:8080'],
      [':9000', 'http://127.0.0.1:9000'],
      ['127.0.0.1:11434', 'http://127.0.0.1:11434'],
      ['0.0.0.0:11434', 'http://127.0.0.1:11434'],
      ['http://gpu-box', 'http://gpu-box:80'],
      ['https://ollama.example.com/', 'https://ollama.example.com:443'],
      ['http://proxy.example.com:8000/ollama/', 'http://proxy.example.com:8000/ollama'],
      [' http://user:pw@gpu-box:1234 ', 'http://user:pw@gpu-box:1234'],
    ];
    for (const [given, expected] of cases) assert.equal(normalizeHost(given), expected, given);
    assert.throws(() => normalizeHost('ftp://gpu-box'));
    assert.throws(() => normalizeHost('http://'));
  });

  test('config host, else OLLAMA_HOST, else the default; credentials never shown', () => {
    const config = ollamaConfigSchema.parse({});
    assert.equal(resolveSettings(config, {}).host, DEFAULT_HOST);
    assert.equal(resolveSettings(config, { OLLAMA_HOST: '  ' }).host, DEFAULT_HOST);
    assert.equal(resolveSettings(config, { OLLAMA_HOST: 'gpu-box' }).host, 'http://gpu-box:11434');
    const configured = ollamaConfigSchema.parse({ host: 'https://me:secret@ollama.example.com' });
    const settings = resolveSettings(configured, { OLLAMA_HOST: 'gpu-box' });
    assert.equal(settings.host, 'https://me:secret@ollama.example.com:443');
    assert.equal(settings.address, 'https://me:***@ollama.example.com:443');
    assert.throws(() => resolveSettings(config, { OLLAMA_HOST: 'ftp://nowhere' }), /OLLAMA_HOST="ftp:\/\/nowhere"/);
  });
});

describe('config schema', () => {
  test('defaults, and numbers given as text (from environment references)', () => {
    assert.deepEqual(ollamaConfigSchema.parse({}), { headers: {}, health_timeout_ms: 2000 });
    const parsed = ollamaConfigSchema.parse({ health_timeout_ms: '500', keep_alive: '300', default_model: 'llama3.2' });
    assert.equal(parsed.health_timeout_ms, 500);
    assert.equal(parsed.keep_alive, 300);
    assert.equal(ollamaConfigSchema.parse({ keep_alive: '1h30m' }).keep_alive, '1h30m');
    assert.equal(ollamaConfigSchema.parse({ keep_alive: -1 }).keep_alive, -1);
  });

  test('mistakes are reported by key', () => {
    const issues = (config: unknown) =>
      (ollamaConfigSchema.safeParse(config).error?.issues ?? []).map((issue) => issue.path.join('.') || issue.message);
    assert.deepEqual(issues({ keep_alive: 'soon' }), ['keep_alive']);
    assert.deepEqual(issues({ host: 'ftp://gpu-box' }), ['host']);
    assert.deepEqual(issues({ health_timeout_ms: 0 }), ['health_timeout_ms']);
    assert.equal(issues({ base_url: 'http://x' }).length, 1, 'unknown keys are errors');
  });

  test('an invalid config keeps the plugin out of service with PLUGIN_CONFIG_INVALID', async () => {
    const manager = await startManager([[createOllamaBackend, { config: { base_url: 'http://gpu-box:11434' } }]]);
    try {
      const status = manager.getPluginStatus().plugins.ollama;
      assert.equal(status?.state, 'ERROR');
      assert.equal(status?.lastError?.code, 'PLUGIN_CONFIG_INVALID');
      assert.match(status?.lastError?.message ?? '', /base_url/);
    } finally {
      await manager.shutdown();
    }
  });
});

describe('request mapping', () => {
  test('images: base64 as it is (whitespace dropped), data: URLs stripped, anything else refused', () => {
    assert.equal(imageData('aGVs\nbG8='), 'aGVsbG8=');
    assert.equal(imageData('data:image/jpeg;base64,/9j/4AAQ'), '/9j/4AAQ');
    assert.throws(() => imageData('data:image/svg+xml,<svg/>'), /must be base64-encoded/);
    assert.throws(() => imageData('http://example.com/a.png'), /image URLs are not supported/);
    assert.throws(() => imageData('./cat.png'), /neither base64 data nor a data: URL/);
  });

  test('options: typed ones in Ollama names, extra passed through, typed winning over extra', () => {
    const context = chatRequest('hi', {
      options: { maxTokens: 10, topP: 0.5, stop: [], extra: { num_predict: 99, num_ctx: 4096 } },
    });
    assert.deepEqual(toOllamaOptions(context), { num_predict: 10, top_p: 0.5, num_ctx: 4096 });
  });
});
