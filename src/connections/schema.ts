import path from 'node:path';
import { z } from 'zod';

/*
 * The `connections` section of the configuration file: the Redis servers, PostgreSQL
 * databases and SQLite files that plugins share, each under a name plugins reference.
 * Same conventions as src/config/schema.ts: snake_case keys, every object strict (an unknown
 * key is an error), times in seconds.
 */

/** The kinds of shared connection, in the order the section lists them. */
export const CONNECTION_KINDS = ['redis', 'postgres', 'sqlite'] as const;
export type ConnectionKind = (typeof CONNECTION_KINDS)[number];

const seconds = z.number().positive();

/** Connection names, the keys of `redis`, `postgres` and `sqlite`. Unique across the three. */
export const connectionNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]*$/, 'connection names use lower-case letters, digits, "-" and "_", starting with a letter');

/** A URL string whose scheme is one of `schemes` (e.g. `redis:`); the message never quotes the URL. */
function urlWithScheme(schemes: readonly string[], shape: string) {
  const expected = schemes.map((scheme) => `${scheme}//`).join(' or ');
  return z
    .string()
    .min(1)
    .superRefine((url, issues) => {
      let protocol: string;
      try {
        protocol = new URL(url).protocol;
      } catch {
        issues.addIssue({ code: 'custom', message: `not a valid URL (expected ${shape})` });
        return;
      }
      if (!schemes.includes(protocol.toLowerCase())) {
        issues.addIssue({ code: 'custom', message: `expected a ${expected} URL, found scheme "${protocol}"` });
      }
    });
}

export const redisConnectionSchema = z.strictObject({
  /** `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS. */
  url: urlWithScheme(['redis:', 'rediss:'], 'redis://[user:password@]host[:port][/db]'),
  /** Prepended to every key the client reads or writes (not to SCAN/KEYS patterns). */
  key_prefix: z.string().default('plugboard:'),
  /** Longest wait for the TCP connection, in seconds. */
  connect_timeout: seconds.default(5),
});

export const postgresConnectionSchema = z.strictObject({
  /** `postgres://[user[:password]@]host[:port]/database[?sslmode=…]` (or `postgresql://`). */
  url: urlWithScheme(['postgres:', 'postgresql:'], 'postgres://[user[:password]@]host[:port]/database'),
  /** Most server connections the pool opens at once. */
  pool_size: z.number().int().positive().default(10),
  /** Longest wait for a new server connection, in seconds. */
  connect_timeout: seconds.default(5),
});

export const sqliteConnectionSchema = z.strictObject({
  /** The database file, relative to `data_dir` (and inside it), or `:memory:`. */
  file: z.string().min(1),
  /**
   * `full` (default): a write acknowledged survives a crash or power loss. `normal`: faster; in
   * WAL mode the last transactions may be lost on power loss (never corrupted).
   */
  synchronous: z.enum(['full', 'normal']).default('full'),
});

/** The in-memory SQLite database: nothing on disk, gone when the connection closes. */
export const SQLITE_MEMORY = ':memory:';

/** The default of `data_dir`. */
export const DEFAULT_DATA_DIR = './data';

export const connectionsSchema = z
  .strictObject({
    /** Where SQLite files live; relative to the working directory Plugboard starts in. */
    data_dir: z.string().min(1).default(DEFAULT_DATA_DIR),
    redis: z.record(connectionNameSchema, redisConnectionSchema).default({}),
    postgres: z.record(connectionNameSchema, postgresConnectionSchema).default({}),
    sqlite: z.record(connectionNameSchema, sqliteConnectionSchema).default({}),
  })
  .superRefine((section, issues) => {
    const seen = new Map<string, ConnectionKind>();
    for (const kind of CONNECTION_KINDS) {
      for (const name of Object.keys(section[kind])) {
        const other = seen.get(name);
        if (other === undefined) seen.set(name, kind);
        else {
          issues.addIssue({
            code: 'custom',
            path: [kind, name],
            message: `connection "${name}" is already configured under connections.${other} (names are unique across redis, postgres and sqlite)`,
          });
        }
      }
    }
    for (const [name, entry] of Object.entries(section.sqlite)) {
      const problem = sqliteFileProblem(entry.file, section.data_dir);
      if (problem !== undefined) issues.addIssue({ code: 'custom', path: ['sqlite', name, 'file'], message: problem });
    }
  })
  .prefault({});

/** The `connections` section after validation, defaults filled in. */
export type ConnectionsSettings = z.output<typeof connectionsSchema>;
/** The `connections` section as written (defaults may be left out). */
export type ConnectionsInput = z.input<typeof connectionsSchema>;
export type RedisConnectionSettings = z.output<typeof redisConnectionSchema>;
export type PostgresConnectionSettings = z.output<typeof postgresConnectionSchema>;
export type SqliteConnectionSettings = z.output<typeof sqliteConnectionSchema>;

/**
 * Why `file` cannot be a SQLite file of `dataDir`, judged on the paths alone (the registry
 * checks again on disk, symbolic links resolved, when it opens the file); undefined when it can.
 */
export function sqliteFileProblem(file: string, dataDir: string): string | undefined {
  if (file === SQLITE_MEMORY) return undefined;
  if (file.includes('\0')) return 'the file name contains a NUL character';
  if (file.endsWith('/') || file.endsWith(path.sep)) return `path ${file} names a folder; give a file name`;
  const base = path.resolve(dataDir);
  const relative = path.relative(base, path.resolve(base, file));
  if (relative === '') return `path ${file} is data_dir itself; give a file name inside it, e.g. plugboard.db`;
  if (leavesFolder(relative)) {
    return `path ${file} leaves data_dir (${dataDir}); give a file name relative to data_dir, e.g. plugboard.db`;
  }
  return undefined;
}

/** True when a path relative to a folder points outside that folder. */
export function leavesFolder(relative: string): boolean {
  return relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative);
}
