import { defineFirstPartyErrors } from '../core/errors/define-errors.ts';

/**
 * The error codes of shared connections. They live here, not in the core's catalogue (the
 * core knows nothing of Redis or SQL), and join the one catalogue `GET /plugins/errors` lists.
 */
export const connectionErrors = defineFirstPartyErrors('connections', {
  CONNECTION_UNKNOWN: {
    summary: 'No connection of that name and kind is configured',
    hint: 'Add it under `connections:` in the configuration (redis, postgres or sqlite), or fix the name.',
    status: 500,
  },
  CONNECTION_FAILED: {
    summary: 'A shared connection (Redis, PostgreSQL, SQLite) could not be opened or answered with an error',
    hint: 'Check the URL or file in `connections:` and that the server runs; the message names the connection.',
    status: 503,
  },
});
