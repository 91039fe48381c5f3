import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type BetterSqlite3 from 'better-sqlite3';
import type { Redis, RedisStatus } from 'ioredis';
import type pg from 'pg';
import { describeCause, PlugboardError } from '../core/errors/plugboard-error.ts';
import type { Logger } from '../core/logger.ts';
import { closestMatch } from '../core/util/closest-match.ts';
import { redactCredentials, redactUrl, urlSecrets } from '../core/util/redact.ts';
import { connectionErrors } from './connection-errors.ts';
import type { ConnectionName, Connections, SqliteDatabase } from './connections.ts';
import {
  CONNECTION_KINDS,
  type ConnectionKind,
  type ConnectionsSettings,
  leavesFolder,
  type PostgresConnectionSettings,
  type RedisConnectionSettings,
  SQLITE_MEMORY,
  type SqliteConnectionSettings,
} from './schema.ts';

/** How one connection is doing, as the health check reports it. */
export interface ConnectionHealth {
  readonly kind: ConnectionKind;
  /** `unused`: configured, but no plugin asked for it, so it was never opened (nor probed). */
  readonly status: 'up' | 'down' | 'unused';
  /** How long the probe (PING, `SELECT 1`, `select 1`) took, when up. */
  readonly latencyMs?: number;
  /** Why it is down (credentials redacted). */
  readonly error?: string;
}

/** The health of every configured connection. */
export interface ConnectionsHealth {
  /**
   * `healthy` when every connection in use answers (or none is in use), `unhealthy` when none
   * of those in use answers, `degraded` in between.
   */
  readonly status: 'healthy' | 'degraded' | 'unhealthy';
  readonly details: Readonly<Record<string, ConnectionHealth>>;
}

export interface ConnectionRegistryOptions {
  readonly logger: Logger;
  /** The folder a relative `data_dir` is resolved against (default: the process's working directory). */
  readonly cwd?: string;
  /** Bound on each connection's probe in {@link ConnectionRegistry.healthCheck} (default 1000 ms). */
  readonly healthTimeoutMs?: number;
  /** Bound on closing each connection in {@link ConnectionRegistry.close} (default 5000 ms). */
  readonly closeTimeoutMs?: number;
}

/**
 * ioredis: how many reconnection attempts a queued command waits for before it fails
 * (instead of waiting, by default, for 20 of them while Redis is down).
 */
const REDIS_MAX_RETRIES_PER_REQUEST = 1;
/**
 * ioredis: delay before reconnection attempt n, doubling from 100 ms up to 1 s, so that during a
 * long outage a command waits for at most two attempts, about 2 s (plus connect_timeout each
 * when the server does not even refuse), before it fails.
 */
const redisRetryDelay = (attempt: number): number => Math.min(100 * 2 ** Math.max(0, attempt - 1), 1_000);
/** SQLite: how long a write waits for another connection's lock before SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000;

/**
 * The three client libraries load when the first connection of their kind is opened, not with
 * this module: ioredis and pg alone cost ~100 ms of start-up, and most configurations use none
 * of them. `require` keeps the getters synchronous; all three are CommonJS packages, so this is
 * the very instance an `import` of them elsewhere gets.
 */
const requireDriver = createRequire(import.meta.url);
const drivers = {
  redis: () => (requireDriver('ioredis') as typeof import('ioredis')).Redis,
  postgres: () => requireDriver('pg') as typeof pg,
  sqlite: () => requireDriver('better-sqlite3') as typeof BetterSqlite3,
};

/** One configured connection's identity, as used in messages and log lines. */
interface Identity {
  readonly name: string;
  readonly kind: ConnectionKind;
  /** Where it points, without credentials: a redacted URL, or the SQLite file. */
  readonly address: string;
  /** Secrets to scrub from error messages (the URL's password …). */
  readonly secrets: readonly string[];
}

/**
 * The shared connections of the `connections:` section: one ioredis client, pg pool or
 * better-sqlite3 database per configured name, created on first use and then handed to
 * every caller; one health check and one close for all of them.
 *
 * Robustness: the 'error' events of ioredis clients, pg pools and pooled pg clients are always
 * listened to (an outage is logged when it starts and when it ends, not at every retry); a
 * command against an unreachable Redis fails after one reconnection attempt instead of waiting;
 * the health check and close are bounded in time; no message or log line carries a password.
 */
export class ConnectionRegistry implements Connections {
  readonly #settings: ConnectionsSettings;
  readonly #logger: Logger;
  readonly #cwd: string;
  readonly #healthTimeoutMs: number;
  readonly #closeTimeoutMs: number;
  readonly #names: readonly ConnectionName[];
  readonly #redis = new Map<string, Redis>();
  readonly #postgres = new Map<string, pg.Pool>();
  readonly #sqlite = new Map<string, SqliteDatabase>();
  /** The server connections each pool holds (to cut those never released when closing). */
  readonly #postgresClients = new Map<string, Set<pg.PoolClient>>();
  /** Connections currently known to be down (logged once when they went down). */
  readonly #down = new Set<string>();
  /** The last connection error of each Redis client, for the health check. */
  readonly #lastRedisError = new Map<string, string>();
  #closing: Promise<void> | undefined;

  constructor(settings: ConnectionsSettings, options: ConnectionRegistryOptions) {
    this.#settings = settings;
    this.#logger = options.logger;
    this.#cwd = options.cwd ?? process.cwd();
    this.#healthTimeoutMs = options.healthTimeoutMs ?? 1_000;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
    this.#names = Object.freeze(
      CONNECTION_KINDS.flatMap((kind) => Object.keys(settings[kind]).map((name) => Object.freeze({ name, kind }))),
    );
  }

  names(): readonly ConnectionName[] {
    return this.#names;
  }

  redis(name: string): Redis {
    const settings = this.#entry(name, 'redis');
    this.#assertOpen(name, 'redis');
    const existing = this.#redis.get(name);
    if (existing !== undefined) return existing;
    const client = this.#createRedis(this.#redisIdentity(name, settings), settings);
    this.#redis.set(name, client);
    return client;
  }

  postgres(name: string): pg.Pool {
    const settings = this.#entry(name, 'postgres');
    this.#assertOpen(name, 'postgres');
    const existing = this.#postgres.get(name);
    if (existing !== undefined) return existing;
    const pool = this.#createPostgres(this.#postgresIdentity(name, settings), settings);
    this.#postgres.set(name, pool);
    return pool;
  }

  sqlite(name: string): SqliteDatabase {
    const settings = this.#entry(name, 'sqlite');
    this.#assertOpen(name, 'sqlite');
    const existing = this.#sqlite.get(name);
    if (existing !== undefined) return existing;
    const database = this.#openSqlite(name, settings);
    this.#sqlite.set(name, database);
    return database;
  }

  /**
   * Probes every connection in use — Redis `PING`, PostgreSQL `SELECT 1`, SQLite `select 1` —
   * in parallel, each bounded by `healthTimeoutMs`. Never throws; configured connections that
   * nobody asked for are `unused` and not opened.
   */
  async healthCheck(): Promise<ConnectionsHealth> {
    const entries = await Promise.all(
      this.#names.map(async ({ name, kind }) => [name, await this.#check(name, kind)] as const),
    );
    const used = entries.filter(([, health]) => health.status !== 'unused');
    const down = used.filter(([, health]) => health.status === 'down').length;
    const status = down === 0 ? 'healthy' : down === used.length ? 'unhealthy' : 'degraded';
    return { status, details: Object.fromEntries(entries) };
  }

  /**
   * Closes every client created (ioredis `quit`, falling back to `disconnect`; `pool.end()`;
   * `db.close()`), in parallel, each bounded by `closeTimeoutMs`. Idempotent; never throws.
   * Afterwards the getters throw `CONNECTION_FAILED`.
   */
  close(): Promise<void> {
    this.#closing ??= this.#closeAll();
    return this.#closing;
  }

  // ---- lookup and errors ----

  #entry<K extends ConnectionKind>(name: string, kind: K): ConnectionsSettings[K][string] {
    const section = this.#settings[kind];
    if (!Object.hasOwn(section, name)) throw this.#unknown(name, kind);
    return section[name] as ConnectionsSettings[K][string];
  }

  #unknown(name: string, kind: ConnectionKind): PlugboardError {
    const available = Object.keys(this.#settings[kind]);
    const list =
      available.length > 0
        ? `${kind} connections: ${available.join(', ')}`
        : `no ${kind} connection is configured (add one under connections.${kind})`;
    const otherKind = CONNECTION_KINDS.find((other) => other !== kind && Object.hasOwn(this.#settings[other], name));
    let message: string;
    if (otherKind !== undefined) {
      message = `"${name}" is a ${otherKind} connection, not a ${kind} one; ${list}`;
    } else {
      const guess = closestMatch(name, available);
      message = `no ${kind} connection named "${name}"${guess === undefined ? '' : ` (did you mean "${guess}"?)`}; ${list}`;
    }
    return connectionErrors.CONNECTION_UNKNOWN(message, {
      details: { connection: name, kind, available, ...(otherKind === undefined ? {} : { configuredAs: otherKind }) },
    });
  }

  #assertOpen(name: string, kind: ConnectionKind): void {
    if (this.#closing === undefined) return;
    const message = `${kind} connection "${name}" is closed (Plugboard is shutting down)`;
    throw connectionErrors.CONNECTION_FAILED(message, { details: { connection: name, kind } });
  }

  #failed(identity: Identity, doing: string, cause: unknown): PlugboardError {
    const reason = this.#describe(identity, cause);
    return connectionErrors.CONNECTION_FAILED(
      `${identity.kind} connection "${identity.name}" (${identity.address}): ${doing}: ${reason}`,
      // The cause is kept out: its message or stack could quote a secret.
      { details: { connection: identity.name, kind: identity.kind, address: identity.address, reason } },
    );
  }

  /** A cause's message without credentials. */
  #describe(identity: Identity, cause: unknown): string {
    let message = describeCause(cause);
    // Node's AggregateError (every address of a host, e.g. ::1 and 127.0.0.1, refused) has no message.
    if (cause instanceof AggregateError && cause.message === '' && cause.errors.length > 0) {
      message = cause.errors.map(describeCause).join('; ');
    }
    return redactCredentials(message, identity.secrets);
  }

  // ---- outages: logged when they start and when they end ----

  #markDown(identity: Identity, reason: string): void {
    if (this.#closing !== undefined) return;
    const fields = {
      operation: 'connection',
      connection: identity.name,
      kind: identity.kind,
      address: identity.address,
    };
    if (this.#down.has(identity.name)) {
      this.#logger.debug({ ...fields, cause: reason }, `${identity.kind} connection "${identity.name}" still down`);
      return;
    }
    this.#down.add(identity.name);
    this.#logger.warn(
      { ...fields, cause: reason },
      `${identity.kind} connection "${identity.name}" (${identity.address}) is down: ${reason}`,
    );
  }

  #markUp(identity: Identity): void {
    if (!this.#down.delete(identity.name) || this.#closing !== undefined) return;
    this.#logger.info(
      { operation: 'connection', connection: identity.name, kind: identity.kind, address: identity.address },
      `${identity.kind} connection "${identity.name}" (${identity.address}) is back up`,
    );
  }

  // ---- Redis ----

  #redisIdentity(name: string, settings: RedisConnectionSettings): Identity {
    return { name, kind: 'redis', address: redactUrl(settings.url), secrets: urlSecrets(settings.url) };
  }

  #createRedis(identity: Identity, settings: RedisConnectionSettings): Redis {
    let client: Redis;
    try {
      const Redis = drivers.redis();
      client = new Redis(settings.url, {
        connectTimeout: settings.connect_timeout * 1000,
        keyPrefix: settings.key_prefix,
        maxRetriesPerRequest: REDIS_MAX_RETRIES_PER_REQUEST,
        retryStrategy: redisRetryDelay,
      });
    } catch (error) {
      throw this.#failed(identity, 'cannot create the client', error);
    }
    // Without a listener, every failed (re)connection attempt is reported on stderr.
    client.on('error', (error: unknown) => {
      const reason = this.#describe(identity, error);
      this.#lastRedisError.set(identity.name, reason);
      this.#markDown(identity, reason);
    });
    client.on('ready', () => {
      this.#lastRedisError.delete(identity.name);
      this.#markUp(identity);
    });
    return client;
  }

  async #probeRedis(identity: Identity, client: Redis): Promise<void> {
    // Reconnecting: the last attempt failed; its error says more than a queued PING would.
    if (client.status === 'reconnecting' || client.status === 'end' || client.status === 'close') {
      const last = this.#lastRedisError.get(identity.name);
      throw new Error(`not connected (${client.status})${last === undefined ? '' : `: ${last}`}`);
    }
    try {
      await client.ping();
    } catch (error) {
      const last = this.#lastRedisError.get(identity.name);
      if (last === undefined) throw error;
      // "Reached the max retries per request limit" says less than why the connection failed.
      throw new Error(`not connected: ${last}`, { cause: error });
    }
  }

  async #closeRedis(identity: Identity, client: Redis): Promise<void> {
    // A function, so that TypeScript does not narrow the status across the awaits below.
    const status = (): RedisStatus => client.status;
    if (status() === 'end') return;
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    if (status() === 'ready') {
      // QUIT lets pending replies arrive; a server that does not answer is disconnected.
      await withTimeout(client.quit(), this.#closeTimeoutMs / 2, 'QUIT').catch(() => {});
    }
    if (status() !== 'end') client.disconnect();
    if (status() !== 'end') {
      await withTimeout(ended, this.#closeTimeoutMs / 2, 'disconnect').catch((error: unknown) =>
        this.#closeFailed(identity, error),
      );
    }
  }

  // ---- PostgreSQL ----

  #postgresIdentity(name: string, settings: PostgresConnectionSettings): Identity {
    return { name, kind: 'postgres', address: redactUrl(settings.url), secrets: urlSecrets(settings.url) };
  }

  #createPostgres(identity: Identity, settings: PostgresConnectionSettings): pg.Pool {
    let pool: pg.Pool;
    try {
      pool = new (drivers.postgres().Pool)({
        connectionString: settings.url,
        max: settings.pool_size,
        connectionTimeoutMillis: settings.connect_timeout * 1000,
      });
    } catch (error) {
      throw this.#failed(identity, 'cannot create the pool', error);
    }
    // An idle client whose server connection drops: the pool re-emits it, and crashes Node unheard.
    pool.on('error', (error: Error) => this.#markDown(identity, this.#describe(identity, error)));
    const clients = new Set<pg.PoolClient>();
    this.#postgresClients.set(identity.name, clients);
    pool.on('connect', (client: pg.PoolClient) => {
      clients.add(client);
      // A checked-out client (pool.connect()) has no listener of the pool's: keep it from crashing Node.
      client.on('error', (error: Error) => this.#markDown(identity, this.#describe(identity, error)));
      this.#markUp(identity);
    });
    pool.on('remove', (client: pg.PoolClient) => clients.delete(client));
    return pool;
  }

  async #closePostgres(identity: Identity, pool: pg.Pool): Promise<void> {
    if (pool.ended) return;
    try {
      await withTimeout(pool.end(), this.#closeTimeoutMs, 'pool.end()');
    } catch (error) {
      // pool.end() waits for every checked-out client to be released: a plugin that never
      // releases one would keep its socket, and the process, alive. Cut those connections.
      const clients = [...(this.#postgresClients.get(identity.name) ?? [])];
      this.#closeFailed(identity, error, `${clients.length} client(s) never released; disconnecting them`);
      await Promise.all(clients.map((client) => client.end().catch(() => {})));
    }
  }

  // ---- SQLite ----

  #openSqlite(name: string, settings: SqliteConnectionSettings): SqliteDatabase {
    const dataDir = path.resolve(this.#cwd, this.#settings.data_dir);
    const memory = settings.file === SQLITE_MEMORY;
    const identity: Identity = {
      name,
      kind: 'sqlite',
      address: memory ? SQLITE_MEMORY : path.resolve(dataDir, settings.file),
      secrets: [],
    };
    const location = memory ? SQLITE_MEMORY : this.#sqliteLocation(identity, dataDir, settings.file);
    let database: SqliteDatabase | undefined;
    try {
      const Database = drivers.sqlite();
      database = new Database(location, { timeout: SQLITE_BUSY_TIMEOUT_MS });
      database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
      const journal = String(database.pragma('journal_mode = WAL', { simple: true })).toLowerCase();
      if (!memory && journal !== 'wal')
        throw new Error(`WAL journaling is not available here (journal_mode is ${journal})`);
      database.pragma(`synchronous = ${settings.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    } catch (error) {
      database?.close();
      throw this.#failed(identity, 'cannot open the database', error);
    }
    return database;
  }

  /**
   * The file to open: inside data_dir once every symbolic link is resolved (data_dir is created
   * if missing, and so are sub-folders the file names, but never outside data_dir).
   */
  #sqliteLocation(identity: Identity, dataDir: string, file: string): string {
    const outside = (where: string) =>
      this.#failed(
        identity,
        'refused',
        new Error(`${where} is outside data_dir (${dataDir}); files must stay inside it`),
      );
    const relative = path.relative(dataDir, path.resolve(dataDir, file));
    if (relative === '' || leavesFolder(relative)) throw outside(`path ${file}`);
    try {
      fs.mkdirSync(dataDir, { recursive: true });
      const realDir = fs.realpathSync(dataDir);
      const inside = (real: string, allowSelf: boolean) => {
        const within = path.relative(realDir, real);
        if (leavesFolder(within) || (within === '' && !allowSelf)) throw outside(`${file} (resolved: ${real})`);
      };
      const parent = path.dirname(path.join(realDir, relative));
      // Check the deepest folder that exists before creating the missing ones under it.
      let existing = parent;
      while (!fs.existsSync(existing)) existing = path.dirname(existing);
      inside(fs.realpathSync(existing), true);
      fs.mkdirSync(parent, { recursive: true });
      const realParent = fs.realpathSync(parent);
      inside(realParent, true);
      const target = path.join(realParent, path.basename(relative));
      const stat = fs.lstatSync(target, { throwIfNoEntry: false });
      if (stat?.isSymbolicLink()) {
        // A link to a missing file would make SQLite create that file wherever it points.
        if (!fs.existsSync(target)) throw outside(`${file} (a symbolic link to a missing file)`);
        const real = fs.realpathSync(target);
        inside(real, false);
        return real;
      }
      return target;
    } catch (error) {
      if (error instanceof PlugboardError) throw error;
      throw this.#failed(identity, 'cannot prepare data_dir', error);
    }
  }

  // ---- health and close ----

  async #check(name: string, kind: ConnectionKind): Promise<ConnectionHealth> {
    const probe = this.#probe(name, kind);
    if (probe === undefined) return { kind, status: 'unused' };
    const { identity, run } = probe;
    if (this.#closing !== undefined) return { kind, status: 'down', error: 'closed' };
    const started = performance.now();
    try {
      await withTimeout(run(), this.#healthTimeoutMs, 'the health check');
      const latencyMs = Math.round((performance.now() - started) * 100) / 100;
      this.#markUp(identity);
      return { kind, status: 'up', latencyMs };
    } catch (error) {
      const reason = this.#describe(identity, error);
      this.#markDown(identity, reason);
      return { kind, status: 'down', error: reason };
    }
  }

  /** The probe of a connection in use, or undefined when it was never opened. */
  #probe(name: string, kind: ConnectionKind): { identity: Identity; run: () => Promise<unknown> } | undefined {
    if (kind === 'redis') {
      const client = this.#redis.get(name);
      if (client === undefined) return undefined;
      const identity = this.#redisIdentity(name, this.#entry(name, 'redis'));
      return { identity, run: () => this.#probeRedis(identity, client) };
    }
    if (kind === 'postgres') {
      const pool = this.#postgres.get(name);
      if (pool === undefined) return undefined;
      const identity = this.#postgresIdentity(name, this.#entry(name, 'postgres'));
      return { identity, run: () => pool.query('SELECT 1') };
    }
    const database = this.#sqlite.get(name);
    if (database === undefined) return undefined;
    const identity: Identity = { name, kind, address: database.name, secrets: [] };
    return { identity, run: async () => database.prepare('select 1').pluck().get() };
  }

  async #closeAll(): Promise<void> {
    const tasks: Promise<void>[] = [];
    for (const [name, client] of this.#redis) {
      tasks.push(this.#closeRedis(this.#redisIdentity(name, this.#entry(name, 'redis')), client));
    }
    for (const [name, pool] of this.#postgres) {
      tasks.push(this.#closePostgres(this.#postgresIdentity(name, this.#entry(name, 'postgres')), pool));
    }
    for (const [name, database] of this.#sqlite) {
      try {
        if (database.open) database.close();
      } catch (error) {
        this.#closeFailed({ name, kind: 'sqlite', address: database.name, secrets: [] }, error);
      }
    }
    await Promise.all(tasks);
    this.#down.clear();
    this.#logger.debug({ operation: 'connection', closed: tasks.length + this.#sqlite.size }, 'connections closed');
  }

  #closeFailed(identity: Identity, error: unknown, detail?: string): void {
    this.#logger.warn(
      {
        operation: 'connection',
        connection: identity.name,
        kind: identity.kind,
        address: identity.address,
        cause: this.#describe(identity, error),
      },
      `${identity.kind} connection "${identity.name}" did not close cleanly${detail === undefined ? '' : ` (${detail})`}`,
    );
  }
}

/** `promise`, or a rejection once `ms` have passed; the timer never outlives the race. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} got no answer within ${Math.round(ms)} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
