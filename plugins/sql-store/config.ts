import { z } from 'zod';

/** The SQLite file the plugin opens itself when no `connection` is named (relative to the working directory). */
export const DEFAULT_SQLITE_FILE = './data/plugboard.db';

/** What the plugin can provide; both by default. */
export const PROVIDABLE = ['conversations', 'search'] as const;
export type Providable = (typeof PROVIDABLE)[number];

/**
 * The sql_store plugin's `config`, checked strictly (a misspelt key is an error), like every
 * first-party plugin's.
 */
export const sqlStoreConfigSchema = z
  .strictObject({
    /** Which database: the embedded SQLite (default, zero set-up) or a shared PostgreSQL. */
    driver: z.enum(['sqlite', 'postgres']).default('sqlite'),
    /**
     * The name of a `connections.sqlite` or `connections.postgres` entry (of the kind `driver`
     * names). Required for PostgreSQL; for SQLite, without it the plugin opens `file` itself.
     */
    connection: z.string().min(1, { error: 'give the name of a connections entry' }).optional(),
    /**
     * The SQLite file the plugin opens itself when no `connection` is named, relative to the
     * working directory; its folder is created. Default {@link DEFAULT_SQLITE_FILE}.
     */
    file: z.string().min(1).optional(),
    /**
     * Put before every table name, so several applications (or several Plugboard setups) can
     * share one database. Letters, digits and `_`, starting with a letter; may be empty.
     */
    table_prefix: z
      .string()
      .regex(/^([a-z][a-z0-9_]{0,29})?$/, {
        error: 'use at most 30 lower-case letters, digits and "_", starting with a letter (or "")',
      })
      .default('plugboard_'),
    /** Which services to provide: an operator may take only one of the two. */
    provide: z
      .array(z.enum(PROVIDABLE))
      .min(1, { error: 'provide at least one of conversations, search (or remove the plugin)' })
      .default([...PROVIDABLE]),
  })
  .superRefine((config, issues) => {
    if (config.driver === 'postgres' && config.connection === undefined) {
      issues.addIssue({
        code: 'custom',
        path: ['connection'],
        message: 'the postgres driver needs the name of a connections.postgres entry',
      });
    }
    if (config.file !== undefined && (config.driver !== 'sqlite' || config.connection !== undefined)) {
      issues.addIssue({
        code: 'custom',
        path: ['file'],
        message: 'file is only for the SQLite database the plugin opens itself (driver sqlite, no connection)',
      });
    }
  });

/** The plugin's config as validated, defaults applied. */
export type SqlStoreConfig = z.output<typeof sqlStoreConfigSchema>;
