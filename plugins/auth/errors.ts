import { defineErrors } from '../../src/index.ts';

/**
 * The auth plugin's error codes. The messages written with them never echo the credential
 * that was sent, and a 403 never lists what the caller *would* be allowed to do (models,
 * scopes): a refused caller learns only what it lacks.
 */
export const authErrors = defineErrors('auth', {
  UNAUTHENTICATED: {
    summary: 'The request carries no valid credential',
    hint: 'Send `Authorization: Bearer <key>` (or the configured API-key header, `x-api-key` by default) with a key made by `plugboard keys create`, or a JWT from the configured issuer.',
    status: 401,
  },
  EXPIRED: {
    summary: 'The API key or token has expired',
    hint: 'Create a new key (`plugboard keys create`) or fetch a fresh token from the issuer.',
    status: 401,
  },
  FORBIDDEN: {
    summary: 'The credential is valid but does not allow this request',
    hint: 'Use a key with the scope the message names (chat, embeddings, models, documents, admin) and, for a key limited to some models, one of its models; `plugboard keys list` shows each key’s scopes.',
    status: 403,
  },
  KEYS_INVALID: {
    summary: 'The auth plugin’s keys (config, keys file or JWT settings) cannot be used',
    hint: 'Fix the file or setting the message names; `plugboard keys list --file <path>` reads a keys file the way the plugin does.',
    status: 500,
  },
});
