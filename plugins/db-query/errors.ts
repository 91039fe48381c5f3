import { defineErrors } from '../../src/index.ts';

/**
 * The db_query plugin's error codes. Every refusal is a 4xx whose message the tool loop gives
 * the model, so that it can correct its query: they name the rule broken, the table refused and
 * the tables allowed, never a connection's address or credentials.
 */
export const dbQueryErrors = defineErrors('db_query', {
  UNKNOWN_DATABASE: {
    summary: 'The query names a database that is not configured for db_query',
    hint: 'Use one of the database names the tool description lists.',
    status: 400,
  },
  WRITE_REFUSED: {
    summary: 'The statement would change the database; db_query runs read-only queries only',
    hint: 'Send a single SELECT (or WITH … SELECT) statement.',
    status: 403,
  },
  TABLE_NOT_ALLOWED: {
    summary: 'The query reads a table (or catalogue, or function-backed table) outside the allowed list',
    hint: 'Query only the tables the tool description lists; the message names the table refused.',
    status: 403,
  },
  MULTIPLE_STATEMENTS: {
    summary: 'The SQL holds more than one statement',
    hint: 'Send one statement per call, without a second one after a semicolon.',
    status: 400,
  },
  TIMEOUT: {
    summary: 'The query ran longer than the configured timeout_ms',
    hint: 'Make the query cheaper: filter on indexed columns, add a LIMIT, aggregate less.',
    status: 408,
  },
  QUERY_FAILED: {
    summary:
      "The database refused the query (syntax, unknown column, wrong parameter type …); the message is the database's",
    hint: 'Fix the query as the message says; db_schema lists the columns.',
    status: 400,
  },
  UNAVAILABLE: {
    summary: 'The database could not be reached or failed while running the query',
    hint: 'Check the connection in connections: and GET /health; the log has the cause.',
    status: 503,
  },
  CONFIG_INVALID: {
    summary:
      'A databases entry names a connection that is not a configured SQLite or PostgreSQL connection, or one db_query cannot use',
    hint: 'Name a connections.sqlite or connections.postgres entry (an on-disk SQLite file, not :memory:).',
    status: 500,
  },
});
