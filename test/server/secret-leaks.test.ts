// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` in plain strings is the configuration syntax
/**
 * Credentials written into a backend's address (`http://user:key@host`) never reach a client
 * or the log: not in chat error bodies (OpenAI and Ollama APIs, streamed or not), model lists,
 * `/plugins`, `/health`, `/admin/config`, nor any log line. The backends are the built-in
 * openai, ollama and anthropic plugins, configured from a YAML file, pointed at closed ports.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { configCheck } from '../../src/cli/config-commands.ts';
import { serverSchema } from '../../src/config/schema.ts';
import { createSilentLogger } from '../../src/index.ts';
import { type RunningPlugboard, serve } from '../../src/server/serve.ts';
import { serverSettingsFrom } from '../../src/server/settings.ts';
import { closedPort } from '../support/closed-port.ts';
import { RuntimeFixture } from '../support/runtime-fixture.ts';
import { adminCall } from './admin-support.ts';
import { captureLogs, get } from './observability-support.ts';

const SECRET = 's3cretkey';
const TOKEN = 'secret-leaks-admin-token-0123';

let fixture: RuntimeFixture;
let running: RunningPlugboard;
let logs: ReturnType<typeof captureLogs>;

before(async () => {
  fixture = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-secret-leaks-'));
  const [openaiPort, ollamaPort, anthropicPort] = [await closedPort(), await closedPort(), await closedPort()];
  await fixture.write(
    'config.yaml',
    stringify({
      mode: 'development',
      plugin_manager: { enable_hot_reload: false },
      server: { admin_token: TOKEN },
      backends: {
        openai: { config: { base_url: `http://user:${SECRET}@127.0.0.1:${openaiPort}/v1`, list_models: true } },
        ollama: { config: { host: `http://user:${SECRET}@127.0.0.1:${ollamaPort}` } },
        anthropic: {
          config: { base_url: `http://user:${SECRET}@127.0.0.1:${anthropicPort}`, api_key: 'sk-ant-test-0000' },
        },
      },
    }),
  );
  logs = captureLogs();
  running = await serve({
    configFile: fixture.file,
    env: {},
    port: 0,
    host: '127.0.0.1',
    handleSignals: false,
    logger: logs.logger,
  });
});

after(async () => {
  await running?.stop();
  await fixture?.dispose();
});

/** Fails naming where the secret showed up. */
function assertClean(where: string, text: string): void {
  assert.ok(!text.includes(SECRET), `${where} shows the credentials: ${text.slice(0, 2000)}`);
}

async function post(path: string, body: unknown): Promise<{ status: number; text: string }> {
  const response = await fetch(`${running.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

describe('credentials in a backend URL', () => {
  for (const backend of ['openai', 'ollama', 'anthropic']) {
    for (const stream of [false, true]) {
      test(`${backend}: a failed chat (${stream ? 'streamed' : 'whole'}) names the address, not the credentials`, async () => {
        const messages = [{ role: 'user', content: 'hi' }];
        const model = `${backend}/some-model`;
        const openai = await post('/v1/chat/completions', { model, stream, messages });
        assert.ok(openai.status >= 400 || stream, `OpenAI API: ${openai.status} ${openai.text}`);
        assertClean(`OpenAI API chat error (${backend})`, openai.text);
        assert.match(openai.text, /127\.0\.0\.1/, 'the address itself is still shown');
        const ollama = await post('/api/chat', { model, stream, messages });
        assertClean(`Ollama API chat error (${backend})`, ollama.text);
      });
    }
  }

  test('model lists, /plugins and /health', async () => {
    for (const path of ['/v1/models', '/api/tags', '/plugins', '/health', '/health/ready', '/plugins/metrics']) {
      const answer = await get(`${running.url}${path}`);
      assertClean(path, answer.text);
    }
    const health = await get(`${running.url}/health`);
    assert.match(health.text, /user:\*\*\*@127\.0\.0\.1/, 'the address is shown with its password redacted');
  });

  test('/admin/config', async () => {
    const { status, body } = await adminCall(running.url, TOKEN, 'GET', '/admin/config');
    assert.equal(status, 200);
    const text = JSON.stringify(body);
    assertClean('/admin/config', text);
    assert.match(text, /user:\*\*\*@127\.0\.0\.1/);
  });

  test('log lines', () => {
    assert.ok(logs.raw().includes('127.0.0.1'), 'the backends logged their address');
    assertClean('the log', logs.raw());
  });
});

describe('validation errors never echo a secret', () => {
  /** `plugboard config check` on `text`, with `env` set for the while; what it printed. */
  async function check(text: string, env: Record<string, string>): Promise<{ code: number; printed: string }> {
    const dir = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-secret-check-'));
    const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
    Object.assign(process.env, env);
    const printed: string[] = [];
    try {
      await dir.write('config.yaml', text);
      const code = await configCheck(dir.file, false, {
        out: (line) => printed.push(line),
        err: (line) => printed.push(line),
      });
      return { code, printed: printed.join('\n') };
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await dir.dispose();
    }
  }

  test('a short server.admin_token: reported without its value', async () => {
    const { code, printed } = await check('server:\n  admin_token: tok-3x4mple\n', {});
    assert.equal(code, 1);
    assert.match(printed, /server\.admin_token: must be at least 16 characters/);
    assert.ok(!printed.includes('tok-3x4mple'), printed);
  });

  test('values from ${VAR} in invalid places: the variable is named, the value is not shown', async () => {
    const env = {
      PB_TEST_SECRET_PORT: 'sk-live-port-1234',
      PB_TEST_SECRET_LEVEL: 'sk-live-level-1234',
      PB_TEST_SECRET_MODE: 'sk-live-mode-1234',
      PB_TEST_SECRET_BACKEND: 'sk-live-backend-1234',
      PB_TEST_ADMIN_TOKEN: 'short-adm',
    };
    const text = [
      'mode: "${PB_TEST_SECRET_MODE}"',
      'server:',
      '  port: "${PB_TEST_SECRET_PORT}"',
      '  admin_token: "${PB_TEST_ADMIN_TOKEN}"',
      'observability:',
      '  logging:',
      '    level: "${PB_TEST_SECRET_LEVEL}"',
      'plugin_manager:',
      '  default_backend: "${PB_TEST_SECRET_BACKEND}"',
    ].join('\n');
    const { code, printed } = await check(text, env);
    assert.equal(code, 1);
    for (const value of Object.values(env)) assert.ok(!printed.includes(value), `${value} printed:\n${printed}`);
    assert.match(printed, /server\.port: .*\$\{PB_TEST_SECRET_PORT\}/);
    assert.match(printed, /mode: .*\$\{PB_TEST_SECRET_MODE\}/);
  });

  test('an env-substituted secret in a plugin config that fails validation is not shown', async () => {
    const env = { PB_TEST_OPENAI_URL: 'http://user:s3cretkey@127.0.0.1:1/v1', PB_TEST_KEY: 'sk-live-key-5678' };
    const text = [
      'backends:',
      '  openai:',
      '    priority: "${PB_TEST_KEY}"',
      '    config:',
      '      base_url: "${PB_TEST_OPENAI_URL}"',
      '      api_key: "${PB_TEST_KEY}"',
      '      timeout: "${PB_TEST_KEY}"',
    ].join('\n');
    const { code, printed } = await check(text, env);
    assert.equal(code, 1);
    assert.ok(!printed.includes('s3cretkey'), printed);
    assert.ok(!printed.includes('sk-live-key-5678'), printed);
  });

  test('a short admin token at start-up: the error names its source, never the value', () => {
    const section = serverSchema.parse({ host: '127.0.0.1', port: 0 });
    assert.throws(
      () => serverSettingsFrom({ ...section, admin_token: 'tok-3x4mple' }, {}),
      (error: Error) => !error.message.includes('tok-3x4mple') && /server\.admin_token/.test(error.message),
    );
    assert.throws(
      () => serverSettingsFrom(section, { PLUGBOARD_ADMIN_TOKEN: 'env-3x4mple' }),
      (error: Error) => !error.message.includes('env-3x4mple') && /PLUGBOARD_ADMIN_TOKEN/.test(error.message),
    );
  });

  test('a strict configuration with a short admin token fails to start without showing it', async () => {
    const dir = new RuntimeFixture(await RuntimeFixture.tempDir('plugboard-secret-start-'));
    try {
      await dir.write('config.yaml', 'strict: true\nserver:\n  admin_token: "${PB_TOKEN}"\n');
      await assert.rejects(
        serve({
          configFile: dir.file,
          env: { PB_TOKEN: 'tok-3x4mple' },
          port: 0,
          handleSignals: false,
          logger: createSilentLogger(),
        }),
        (error: Error) => {
          assert.match(error.message, /admin_token/);
          assert.ok(!error.message.includes('tok-3x4mple'), error.message);
          return true;
        },
      );
    } finally {
      await dir.dispose();
    }
  });
});
