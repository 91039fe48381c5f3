import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactSecrets } from '../../src/config/redact.ts';
import { createDefaultLogger, redactLogFields } from '../../src/core/logger.ts';
import { isSecretKey } from '../../src/core/util/redact.ts';

test('secret-looking keys are redacted at any depth; token counts are not secrets', () => {
  const redacted = redactSecrets({
    server: { admin_token: 'a-long-admin-token-value', port: 8080 },
    backends: [
      {
        config: {
          api_key: 'sk-1',
          apiKey: 'sk-2',
          authToken: 't',
          token: 't',
          password: 'p',
          headers: { Authorization: 'Bearer x' },
          max_tokens: 1024,
          thinking_budget_tokens: 2048,
          empty_secret: '',
        },
      },
    ],
  });
  assert.deepEqual(redacted, {
    server: { admin_token: '[redacted]', port: 8080 },
    backends: [
      {
        config: {
          api_key: '[redacted]',
          apiKey: '[redacted]',
          authToken: '[redacted]',
          token: '[redacted]',
          password: '[redacted]',
          headers: { Authorization: '[redacted]' },
          max_tokens: 1024,
          thinking_budget_tokens: 2048,
          empty_secret: '',
        },
      },
    ],
  });
});

const SECRET_KEYS = [
  'key',
  'accessKey',
  'access_key',
  'access_key_id',
  'accessKeyId',
  'AWS_SECRET_ACCESS_KEY',
  'passphrase',
  'auth',
  'basic_auth',
  'proxyAuth',
  'bearer',
  'api_key',
  'apiKey',
  'adminAPIKey',
  'x-api-key',
  'OPENAI_API_KEY',
  'apikey',
  'private_key',
  'privateKey',
  'ssh_key',
  'token',
  'authToken',
  'auth_token',
  'access_token',
  'x-auth-token',
  'admin_token',
  'secret',
  'client_secret',
  'password',
  'dbPassword',
  'sslpassword',
  'passwd',
  'pass',
  'credentials',
  'Authorization',
  'proxy-authorization',
  'cookie',
  'Set-Cookie',
];

const BENIGN_KEYS = [
  'keep_alive',
  'keys',
  'monkey',
  'max_tokens',
  'tokens',
  'prompt_tokens',
  'completion_tokens',
  'total_tokens',
  'promptTokens',
  'token_count',
  'thinking_budget_tokens',
  'max_tokens_field',
  'author',
  'auth_mode',
  'key_prefix',
  'cache_key',
  'prompt_cache_key',
  'pass_extra',
  'keyboard',
  'turkey',
  'base_url',
  'host',
];

test('each secret-looking key name is redacted', () => {
  for (const key of SECRET_KEYS) {
    assert.deepEqual(redactSecrets({ [key]: 'value-1234' }), { [key]: '[redacted]' }, key);
    assert.equal(isSecretKey(key), true, key);
  }
});

test('counts, keep_alive, keys and other ordinary names are not secrets', () => {
  for (const key of BENIGN_KEYS) {
    assert.deepEqual(redactSecrets({ [key]: 'value-1234' }), { [key]: 'value-1234' }, key);
    assert.equal(isSecretKey(key), false, key);
  }
});

test('a secret-named key hides a whole object; empty or missing values stay as they are', () => {
  assert.deepEqual(redactSecrets({ auth: { user: 'u', pass: 'p' }, token: null, key: '' }), {
    auth: '[redacted]',
    token: null,
    key: '',
  });
});

test('list entries written as headers or assignments keep only their name', () => {
  const redacted = redactSecrets({
    headers: [
      'Authorization: Bearer sk-live-0123',
      'X-Api-Key:abcdef',
      'Accept: application/json',
      'OPENAI_API_KEY=sk-env-4567',
      'authorization: abc',
    ],
  });
  assert.deepEqual(redacted, {
    headers: [
      'Authorization: [redacted]',
      'X-Api-Key:[redacted]',
      'Accept: application/json',
      'OPENAI_API_KEY=[redacted]',
      'authorization: [redacted]',
    ],
  });
});

test('Bearer and Basic credentials in any string are hidden; prose about them is not', () => {
  assert.deepEqual(
    redactSecrets({
      header: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig',
      basic: 'Basic dXNlcjpwYXNz',
      note: 'send a Bearer token or use Basic authentication',
      hint: 'Send `Authorization: Bearer <token>` with the admin token',
    }),
    {
      header: 'Bearer [redacted]',
      basic: 'Basic [redacted]',
      note: 'send a Bearer token or use Basic authentication',
      hint: 'Send `Authorization: Bearer <token>` with the admin token',
    },
  );
});

test('URL credentials are redacted in any string, with or without a scheme; the address stays', () => {
  assert.deepEqual(
    redactSecrets({
      base_url: 'http://user:s3cretkey@127.0.0.1:8000/v1',
      hosts: ['https://me:pw-1234@ollama.example.com', 'user:s3cretkey@gpu-box:11434'],
      message: 'cannot reach http://user:s3cretkey@127.0.0.1:9/v1 (connection refused)',
      query: 'http://127.0.0.1/v1?api_key=abc123&model=m',
      plain: 'http://127.0.0.1:8000/v1',
      email: 'ops@example.com',
    }),
    {
      base_url: 'http://user:***@127.0.0.1:8000/v1',
      hosts: ['https://me:***@ollama.example.com', 'user:***@gpu-box:11434'],
      message: 'cannot reach http://user:***@127.0.0.1:9/v1 (connection refused)',
      query: 'http://127.0.0.1/v1?api_key=***&model=m',
      plain: 'http://127.0.0.1:8000/v1',
      email: 'ops@example.com',
    },
  );
});

test('the value given is never changed, and what holds no secret is not copied', () => {
  const config = { server: { admin_token: 'a-long-admin-token-value' }, hooks: { enabled: true } };
  const redacted = redactSecrets(config) as typeof config;
  assert.equal(config.server.admin_token, 'a-long-admin-token-value');
  assert.equal(redacted.hooks, config.hooks);
  const clean = { a: [1, 'two', { three: 3 }] };
  assert.equal(redactSecrets(clean), clean);
});

test('the logger and config print share the rules', () => {
  const line = {
    config: { accessKey: 'AKIA0000', keep_alive: '5m', passphrase: 'open sesame' },
    usage: { prompt_tokens: 3, token_count: 4 },
    headers: ['Authorization: Bearer sk-1234567'],
    base_url: 'http://user:s3cretkey@127.0.0.1:1/v1',
  };
  assert.deepEqual(redactLogFields(line), redactSecrets(line));
  assert.deepEqual(redactLogFields(line), {
    config: { accessKey: '[redacted]', keep_alive: '5m', passphrase: '[redacted]' },
    usage: { prompt_tokens: 3, token_count: 4 },
    headers: ['Authorization: [redacted]'],
    base_url: 'http://user:***@127.0.0.1:1/v1',
  });
});

test('the default logger redacts messages and errors too, not only fields', () => {
  const written: string[] = [];
  const logger = createDefaultLogger('info', 'json', { write: (line: string) => written.push(line) });
  const cause = new TypeError(
    'Request cannot be constructed from a URL that includes credentials: http://u:s3cretkey@h/v1',
  );
  logger.error({ err: cause, prompt_tokens: 3 }, 'chat failed at http://u:s3cretkey@h/v1 with Bearer sk-abcdef123');
  const text = written.join('');
  assert.ok(!text.includes('s3cretkey'), text);
  assert.ok(!text.includes('sk-abcdef123'), text);
  const line = JSON.parse(text) as { message: string; prompt_tokens: number; err: { message: string } };
  assert.equal(line.message, 'chat failed at http://u:***@h/v1 with Bearer [redacted]');
  assert.match(line.err.message, /http:\/\/u:\*\*\*@h\/v1/);
  assert.equal(line.prompt_tokens, 3);
});
