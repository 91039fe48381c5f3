import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactSecrets } from '../../src/config/redact.ts';

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
