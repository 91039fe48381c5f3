// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` in plain strings is the configuration syntax
/**
 * The admin API's plugin config editor (`GET`/`PUT /admin/plugins/:name/config`) on a server run
 * from a configuration file, as `plugboard serve` runs it: the form's JSON Schema from the
 * plugin's zod schema, the config in effect with secrets redacted; an invalid config refused
 * with each issue's key path and message, the file untouched; a valid one written into the
 * file — comments, `${VAR}` references and the rest of the file kept — reloaded, and in effect
 * (GET /admin/config, and the next chat); a redacted secret sent back keeps the file's value;
 * refusals (read-only file, discovered plugin, unknown plugin, no token) with their reason.
 */
import assert from 'node:assert/strict';
import { chmod, readFile } from 'node:fs/promises';
import { afterEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RunningPlugboard } from '../../src/server/serve.ts';
import { ECHO_BACKEND_SOURCE } from '../support/plugin-sources.ts';
import { RuntimeFixture } from '../support/runtime-fixture.ts';

const SRC = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
const ZOD = fileURLToPath(new URL('../../node_modules/zod/index.js', import.meta.url));
const TOKEN = 'plugin-config-admin-token-0123';
const SECRET = 'sk-live-abcdefghijklmnop-4242';

/** A processor whose schema wants a long key: a `[redacted]` placeholder would not pass it. */
const KEYED_SOURCE = `
import { z } from ${JSON.stringify(ZOD)};
import { defineMessageProcessor } from ${JSON.stringify(SRC)};
export default defineMessageProcessor({
  metadata: {
    name: 'keyed',
    version: '1.0.0',
    configSchema: z.strictObject({ api_key: z.string().min(20), region: z.enum(['eu', 'us']) }),
  },
  direction: 'input',
  processMessage: (message) => message,
});
`;

/** A processor with free text, an address and its key; \`initialize\` refuses the greeting "explode". */
const RELAY_SOURCE = `
import { z } from ${JSON.stringify(ZOD)};
import { defineMessageProcessor } from ${JSON.stringify(SRC)};
export default defineMessageProcessor({
  metadata: {
    name: 'relay',
    version: '1.0.0',
    configSchema: z.strictObject({ greeting: z.string(), base_url: z.string(), api_key: z.string().min(20) }),
  },
  direction: 'input',
  initialize(config) {
    if (config.config.greeting === 'explode') throw new Error('cannot start with that greeting');
  },
  processMessage: (message) => message,
});
`;

/** A plugin file no entry names: discovery loads it with its defaults. */
const EXTRA_SOURCE = `
import { defineMessageProcessor } from ${JSON.stringify(SRC)};
export default defineMessageProcessor({
  metadata: { name: 'extra', version: '1.0.0' },
  direction: 'input',
  processMessage: (message) => message,
});
`;

const CONFIG = `# Test configuration: comments must survive edits.
mode: staging

plugin_manager:
  enable_hot_reload: false
  discover: true   # picks up extra.plugin.ts

server:
  admin_token: "${TOKEN}"

backends:
  echo:
    plugin_file: echo.plugin.ts # the test backend

message_processors:
  # Redacts personal data.
  content_filter:
    config:
      default_region: "\${PHONE_REGION:US}" # phone numbers without +country
      categories:
        email: { action: redact }   # e-mail addresses

  keyed:
    plugin_file: keyed.plugin.ts
    config:
      api_key: "\${KEYED_API_KEY}" # from the environment
      region: us

  relay:
    plugin_file: relay.plugin.ts
    config:
      greeting: hello
      base_url: https://api.example.com/v1
      api_key: "\${KEYED_API_KEY}"

middleware:
  token_counter: {} # counts tokens
`;

class Fixture extends RuntimeFixture {
  running: RunningPlugboard | undefined;

  static async create(): Promise<Fixture> {
    const fixture = new Fixture(await RuntimeFixture.tempDir('plugboard-plugin-config-'));
    await fixture.write('echo.plugin.ts', ECHO_BACKEND_SOURCE);
    await fixture.write('keyed.plugin.ts', KEYED_SOURCE);
    await fixture.write('extra.plugin.ts', EXTRA_SOURCE);
    await fixture.write('relay.plugin.ts', RELAY_SOURCE);
    await fixture.write('config.yaml', CONFIG);
    fixture.running = await fixture.serve({ env: { PHONE_REGION: 'GB', KEYED_API_KEY: SECRET } });
    return fixture;
  }

  /** `token: null` sends no Authorization header. */
  async call(method: 'GET' | 'PUT', path: string, body?: unknown, token: string | null = TOKEN) {
    const response = await fetch(`${this.running!.url}${path}`, {
      method,
      headers: {
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, text, body: JSON.parse(text) as Record<string, unknown> & ErrorBody };
  }

  configFile(): Promise<string> {
    return readFile(this.file, 'utf8');
  }

  override async dispose(): Promise<void> {
    await this.running?.stop();
    await super.dispose();
  }
}

interface ErrorBody {
  error: { code: string; message: string; plugin?: string; issues?: { path: (string | number)[]; message: string }[] };
}

let fixture: Fixture | undefined;
async function setUp(): Promise<Fixture> {
  fixture = await Fixture.create();
  return fixture;
}
afterEach(async () => {
  // A read-only test leaves the file so: make it removable again.
  if (fixture !== undefined) await chmod(fixture.file, 0o644).catch(() => undefined);
  await fixture?.dispose();
  fixture = undefined;
});

/** The text with `from` replaced by `to`, once. */
function replaced(text: string, from: string, to: string): string {
  assert.equal(text.split(from).length, 2, `"${from}" occurs once`);
  return text.replace(from, to);
}

describe('GET /admin/plugins/:name/config', () => {
  test('the schema of a zod plugin, its config in effect (references resolved), the file, writable', async () => {
    const f = await setUp();
    const { status, body } = await f.call('GET', '/admin/plugins/content_filter/config');
    assert.equal(status, 200);
    assert.equal(body.plugin, 'content_filter');
    assert.equal(body.kind, 'message-processor');
    assert.equal(body.section, 'message_processors');
    assert.equal(body.file, f.file);
    assert.equal(body.writable, true);
    assert.equal('reason' in body, false);
    assert.deepEqual(body.config, { default_region: 'GB', categories: { email: { action: 'redact' } } });
    const schema = body.schema as { $schema?: string; type?: string; properties?: Record<string, unknown> };
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(schema.type, 'object');
    assert.ok(schema.properties?.categories, 'the schema describes categories');
    assert.ok(schema.properties?.default_region, 'the schema describes default_region');

    const counter = await f.call('GET', '/admin/plugins/token_counter/config');
    assert.equal(counter.status, 200);
    assert.equal(counter.body.kind, 'middleware');
    assert.deepEqual(counter.body.config, {});
    assert.equal((counter.body.schema as { type?: string }).type, 'object', 'token_counter has a schema too');
  });

  test('secrets are redacted as in GET /admin/config', async () => {
    const f = await setUp();
    const { body, text } = await f.call('GET', '/admin/plugins/keyed/config');
    assert.deepEqual(body.config, { api_key: '[redacted]', region: 'us' });
    assert.ok(!text.includes(SECRET), 'the secret is not shown');
  });
});

describe('PUT /admin/plugins/:name/config', () => {
  test('an invalid config: 400 with each issue’s key path and message; the file is untouched', async () => {
    const f = await setUp();
    const { status, body } = await f.call('PUT', '/admin/plugins/content_filter/config', {
      config: { default_region: 'GB', categories: { email: { action: 'nuke' } }, colour: 'red' },
    });
    assert.equal(status, 400);
    assert.equal(body.error.code, 'PLUGIN_CONFIG_INVALID');
    assert.equal(body.error.plugin, 'content_filter');
    const issues = body.error.issues ?? [];
    const action = issues.find((issue) => issue.path.join('.') === 'categories.email.action');
    assert.ok(action, `an issue at categories.email.action: ${JSON.stringify(issues)}`);
    assert.match(action.message, /redact|mask|block|flag|off/, 'the message says what is expected');
    assert.deepEqual(
      issues.find((issue) => issue.path.join('.') === 'colour'),
      { path: ['colour'], message: 'unknown key "colour"' },
    );
    assert.equal(await f.configFile(), CONFIG);
  });

  test('a valid config: written with comments and references kept, reloaded, in effect', async () => {
    const f = await setUp();
    const before = (await f.call('GET', '/admin/plugins/content_filter/config')).body;
    const chat = (content: string) =>
      fetch(`${f.running!.url}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content }] }),
      });
    assert.equal((await chat('write to ann@example.com')).status, 200, 'an e-mail is only redacted at first');

    const { status, body } = await f.call('PUT', '/admin/plugins/content_filter/config', {
      config: {
        ...(before.config as Record<string, unknown>),
        categories: { email: { action: 'block' }, phone: { action: 'mask' } },
      },
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.plugin, 'content_filter');
    assert.equal(body.changed, true);
    assert.equal(body.outcome, 'applied');
    assert.deepEqual(body.applied, ['content_filter']);
    assert.deepEqual(body.refused, []);
    assert.deepEqual(body.config, {
      default_region: 'GB',
      categories: { email: { action: 'block' }, phone: { action: 'mask' } },
    });
    assert.equal((body.status as { state?: string }).state, 'ACTIVE');

    assert.equal(
      await f.configFile(),
      replaced(
        CONFIG,
        '        email: { action: redact }   # e-mail addresses\n',
        '        email: { action: block }   # e-mail addresses\n        phone:\n          action: mask\n',
      ),
      'only the changed value and the new key differ; `${PHONE_REGION:US}` and every comment stay',
    );
    const effective = (await f.call('GET', '/admin/config')).body.config as {
      plugins: { name: string; config: Record<string, unknown> }[];
    };
    assert.deepEqual(effective.plugins.find((entry) => entry.name === 'content_filter')?.config, body.config);
    assert.equal((await chat('write to ann@example.com')).status, 422, 'the new config is in effect');
  });

  test('the same config again: nothing written, nothing reloaded', async () => {
    const f = await setUp();
    const shown = (await f.call('GET', '/admin/plugins/content_filter/config')).body.config;
    const version = f.running!.runtime.manager.getPluginStatus().snapshotVersion;
    const { status, body } = await f.call('PUT', '/admin/plugins/content_filter/config', { config: shown });
    assert.equal(status, 200);
    assert.equal(body.changed, false);
    assert.equal(body.outcome, 'unchanged');
    assert.equal(body.snapshotVersion, version);
    assert.equal(await f.configFile(), CONFIG);
  });

  test('a secret sent back redacted keeps the file’s reference, and is validated with its real value', async () => {
    const f = await setUp();
    const { status, body, text } = await f.call('PUT', '/admin/plugins/keyed/config', {
      config: { api_key: '[redacted]', region: 'eu' },
    });
    assert.equal(status, 200, text);
    assert.equal(body.outcome, 'applied');
    assert.deepEqual(body.config, { api_key: '[redacted]', region: 'eu' });
    assert.ok(!text.includes(SECRET), 'the answer does not show the secret');
    assert.equal(await f.configFile(), replaced(CONFIG, '      region: us\n', '      region: eu\n'));

    const placeholder = await f.call('PUT', '/admin/plugins/keyed/config', {
      config: { api_key: 'new-[redacted]-key-0000000', region: 'eu' },
    });
    assert.equal(placeholder.status, 400);
    assert.deepEqual(
      placeholder.body.error.issues?.map((issue) => issue.path),
      [['api_key']],
      'a value that still holds the placeholder is refused',
    );
  });

  test('a typed `${…}` is written escaped: read back literally, never from the environment', async () => {
    const f = await setUp();
    const config = {
      greeting: 'Hi ${KEYED_API_KEY}, ${user} and $${x}',
      base_url: 'https://api.example.com/v1',
      api_key: '[redacted]',
    };
    const { status, body, text } = await f.call('PUT', '/admin/plugins/relay/config', { config });
    assert.equal(status, 200, text);
    assert.equal(body.outcome, 'applied');
    assert.ok(!text.includes(SECRET), 'the answer does not show the environment secret');
    const view = await f.call('GET', '/admin/plugins/relay/config');
    assert.equal((view.body.config as { greeting?: string }).greeting, config.greeting, 'read back as typed');
    assert.ok(!view.text.includes(SECRET), 'the next GET does not show the environment secret');
    assert.match(await f.configFile(), /\$\$\{KEYED_API_KEY\}/, 'the file holds the escaped reference');
    assert.match(await f.configFile(), /api_key: "\$\{KEYED_API_KEY\}"/, 'the unchanged secret keeps its reference');
  });

  test('a hidden secret is not kept when the address it is sent to changes', async () => {
    const f = await setUp();
    const { status, body } = await f.call('PUT', '/admin/plugins/relay/config', {
      config: { greeting: 'hello', base_url: 'https://attacker.example', api_key: '[redacted]' },
    });
    assert.equal(status, 400);
    assert.equal(body.error.code, 'PLUGIN_CONFIG_INVALID');
    assert.deepEqual(body.error.issues, [
      { path: ['api_key'], message: 'type the secret again: the address it is sent to changed' },
    ]);
    assert.equal(await f.configFile(), CONFIG);
    const typed = await f.call('PUT', '/admin/plugins/relay/config', {
      config: { greeting: 'hello', base_url: 'https://other.example', api_key: 'a-new-key-typed-0123456789' },
    });
    assert.equal(typed.status, 200, 'with the secret typed again the change is accepted');
  });

  test('a config the reload refuses: 422 with the refusal, the old file put back, the old config in effect', async () => {
    const f = await setUp();
    const { status, body } = await f.call('PUT', '/admin/plugins/relay/config', {
      config: { greeting: 'explode', base_url: 'https://api.example.com/v1', api_key: '[redacted]' },
    });
    assert.equal(status, 422, JSON.stringify(body));
    assert.equal(body.error.code, 'PLUGIN_CONFIG_REFUSED');
    assert.equal(body.error.plugin, 'relay');
    const refused = (body.error as { refused?: { plugin: string; code: string }[] }).refused ?? [];
    assert.equal(refused[0]?.plugin, 'relay', `the refusal is listed: ${JSON.stringify(body.error)}`);
    assert.equal(await f.configFile(), CONFIG, 'the file is as before');
    const view = await f.call('GET', '/admin/plugins/relay/config');
    assert.equal((view.body.config as { greeting?: string }).greeting, 'hello', 'the config in effect is the old one');
    assert.equal(f.running!.runtime.manager.getPluginStatus().plugins.relay?.state, 'ACTIVE');
  });

  test('a read-only file: GET says why, PUT is 409 CONFIG_NOT_EDITABLE with the reason', async () => {
    const f = await setUp();
    await chmod(f.file, 0o444);
    const view = await f.call('GET', '/admin/plugins/content_filter/config');
    assert.equal(view.body.writable, false);
    assert.match(String(view.body.reason), /read-only/);
    const { status, body } = await f.call('PUT', '/admin/plugins/content_filter/config', {
      config: { default_region: 'DE' },
    });
    assert.equal(status, 409);
    assert.equal(body.error.code, 'CONFIG_NOT_EDITABLE');
    assert.match(body.error.message, /read-only/);
    assert.equal(await f.configFile(), CONFIG);
  });

  test('a discovered plugin has no entry to write: 409 saying how to add one', async () => {
    const f = await setUp();
    const view = await f.call('GET', '/admin/plugins/extra/config');
    assert.equal(view.status, 200);
    assert.equal(view.body.writable, false);
    assert.equal(view.body.section, null);
    assert.match(String(view.body.reason), /discovered.*plugin_file: extra\.plugin\.ts/);
    const { status, body } = await f.call('PUT', '/admin/plugins/extra/config', { config: { a: 1 } });
    assert.equal(status, 409);
    assert.equal(body.error.code, 'CONFIG_NOT_EDITABLE');
    assert.equal(await f.configFile(), CONFIG);
  });

  test('an unknown plugin is a 404; a body without { config } a 400', async () => {
    const f = await setUp();
    assert.equal((await f.call('GET', '/admin/plugins/nope/config')).body.error.code, 'PLUGIN_NOT_FOUND');
    const put = await f.call('PUT', '/admin/plugins/nope/config', { config: {} });
    assert.equal(put.status, 404);
    for (const body of [{ settings: {} }, { config: [1] }, { config: {}, extra: true }]) {
      const answer = await f.call('PUT', '/admin/plugins/content_filter/config', body);
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.equal(answer.body.error.code, 'REQUEST_INVALID');
    }
  });

  test('without the admin token: 401, nothing read or written', async () => {
    const f = await setUp();
    assert.equal((await f.call('GET', '/admin/plugins/content_filter/config', undefined, null)).status, 401);
    const put = await f.call('PUT', '/admin/plugins/content_filter/config', { config: {} }, 'wrong-token-0123456789');
    assert.equal(put.status, 401);
    assert.equal(put.body.error.code, 'UNAUTHORIZED');
    assert.equal(await f.configFile(), CONFIG);
  });
});
