import { z } from 'zod';

/**
 * The db_query plugin's `config`, checked strictly (a misspelt key is an error), like every
 * first-party plugin's. Each entry of `databases` is one database the model may query, under
 * the name the model uses; it points at a `connections:` entry (SQLite or PostgreSQL) and lists
 * the tables the model may read.
 */

/** A tool-facing database name: what the model writes in `database`. */
const DATABASE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/**
 * An allowed table: `name` or `schema.name`. Unquoted SQL identifiers only, which is what the
 * database reports back in its query plans (PostgreSQL folds unquoted names to lower case).
 */
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/;

/** The most rows one answer may hold: each goes into the model's context. */
export const MAX_ROW_LIMIT = 10_000;

/** The zod schema of one entry of `databases`. */
export const databaseEntrySchema = z.strictObject({
  /** The name of a `connections.sqlite` or `connections.postgres` entry. */
  connection: z.string().min(1, { error: 'give the name of a connections.sqlite or connections.postgres entry' }),
  /** The tables (and views) the model may read; anything else the query would read is refused. */
  tables: z
    .array(z.string().regex(TABLE_NAME, { error: 'expected a table name such as orders or sales.orders' }))
    .min(1, { error: 'list at least one table the model may read' }),
  /** What the database holds, for the model (it reads it in the tool description). */
  description: z.string().max(2000).default(''),
  /** Most rows returned; one more is fetched to say `truncated: true`. */
  row_limit: z.number().int().min(1).max(MAX_ROW_LIMIT).default(100),
  /** Longest a query may run, in ms (PostgreSQL: `statement_timeout`; SQLite: see README). */
  timeout_ms: z.number().int().min(1).max(600_000).default(5000),
  /**
   * PostgreSQL only: the role the queries run as (`SET LOCAL ROLE`), one with SELECT on the
   * listed tables only, so that the database itself refuses everything else (functions too).
   */
  role: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, { error: 'expected a role name' })
    .optional(),
});

/** The zod schema of the plugin's `config`. */
export const dbQueryConfigSchema = z.strictObject({
  databases: z
    .record(
      z.string().regex(DATABASE_NAME, {
        error: 'database names are 1–64 letters, digits, "_" or "-", starting with a letter',
      }),
      databaseEntrySchema,
    )
    .refine((databases) => Object.keys(databases).length > 0, { error: 'configure at least one database' }),
});

/** The plugin's config as validated, defaults applied. */
export type DbQueryConfig = z.output<typeof dbQueryConfigSchema>;
/** One database entry as validated. */
export type DatabaseEntry = z.output<typeof databaseEntrySchema>;
