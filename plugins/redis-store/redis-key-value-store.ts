/**
 * The KeyValueStore of the core (src/core/stores/key-value-store.ts) in Redis, through an
 * ioredis client: what lets a response cache or token budgets share their state across every
 * Plugboard instance on that Redis. It passes the same contract suite as the in-memory store.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
// The argument checks every implementation makes, shared with the in-memory store so that both
// refuse exactly the same calls with the same messages.
import {
  assertCounterDelta,
  assertJson,
  assertKeyPrefix,
  assertStoreKey,
  type JsonValue,
  type KeyValueSetOptions,
  type KeyValueStore,
  nextCounterValue,
  PlugboardError,
  redactText,
  ttlFromOptions,
} from '../../src/index.ts';

/**
 * Options of {@link RedisKeyValueStore}.
 *
 * @example
 * ```ts
 * new RedisKeyValueStore({ client: connections.redis('cache'), connection: 'cache', keyPrefix: 'kv:' });
 * ```
 */
export interface RedisKeyValueStoreOptions {
  /**
   * The ioredis client: usually the shared one of a `connections.redis` entry, whose own
   * `keyPrefix` then comes first in every key. The store uses it and never closes it.
   */
  readonly client: Redis;
  /** The connection's name, quoted in every `STORE_FAILED` message and the health check. */
  readonly connection: string;
  /** Put before every key, after the client's own prefix; none by default. */
  readonly keyPrefix?: string;
}

/**
 * The Lua script of `increment`. Why a script: the checks (the key must hold a whole number and
 * stay in JavaScript's safe integer range), the INCRBY and the expiry of a key it creates must
 * happen as one step, or two instances could both see the key absent and both set its ttl, or
 * one could extend a window another opened. Redis runs a script atomically.
 *
 * KEYS[1]: the counter. ARGV[1]: the delta. ARGV[2]: the ttl in ms, or '' for none.
 * Returns {1, new value}, or {0, what the key holds} when it cannot be incremented (the caller
 * words the refusal, with the same helper as the in-memory store).
 */
const INCREMENT_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current then
  -- Only the canonical form INCRBY accepts (and JSON.stringify writes): no "+", "-0", "007", "1.0".
  if current ~= '0' and not string.match(current, '^%-?[1-9]%d*$') then return {0, current} end
  local max = 9007199254740991
  local sum = tonumber(current) + tonumber(ARGV[1])
  if math.abs(tonumber(current)) > max or math.abs(sum) > max then return {0, current} end
  return {1, redis.call('INCRBY', KEYS[1], ARGV[1])}
end
local created = redis.call('INCRBY', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {1, created}
`;
const INCREMENT_SHA = createHash('sha1').update(INCREMENT_SCRIPT).digest('hex');

/** ioredis statuses in which a command cannot reach Redis now. */
const DISCONNECTED = new Set(['reconnecting', 'close', 'end']);

/** Longest key quoted in a message: enough to recognise it, not a wall of text. */
const QUOTED_KEY_LENGTH = 80;

/** JSON.parse reviver that freezes every object and array, as the in-memory store's values are. */
const freeze = (_key: string, value: unknown): unknown =>
  typeof value === 'object' && value !== null ? Object.freeze(value) : value;

/**
 * What every view of one store shares: the client, the connection's name, and the client's last
 * connection error (ioredis says only "Connection is closed." to a command; the 'error' event
 * says why, e.g. "connect ECONNREFUSED 127.0.0.1:6379").
 */
class RedisLink {
  readonly client: Redis;
  readonly connection: string;
  readonly #secrets: readonly string[];
  #lastError: string | undefined;
  #attached = true;

  constructor(client: Redis, connection: string) {
    this.client = client;
    this.connection = connection;
    const password = client.options.password;
    // Same rule as the server's own redaction: shorter secrets are not searched for, they would
    // mangle the text (and Redis never quotes a password back anyway).
    this.#secrets = typeof password === 'string' && password.length >= 4 ? [password] : [];
    client.on('error', this.#onError);
    client.on('ready', this.#onReady);
  }

  readonly #onError = (error: unknown): void => {
    this.#lastError = this.redact(error instanceof Error ? error.message : String(error));
  };

  readonly #onReady = (): void => {
    this.#lastError = undefined;
  };

  /** A text without the password of the client, nor any credential a URL in it carries. */
  redact(text: string): string {
    let result = redactText(text);
    for (const secret of this.#secrets) {
      for (const form of new Set([secret, encodeURIComponent(secret)])) result = result.split(form).join('***');
    }
    return result;
  }

  /** Why the client cannot work now, when it knows: its status and last connection error. */
  get trouble(): string | undefined {
    if (!DISCONNECTED.has(this.client.status)) return undefined;
    return `the connection is ${this.client.status}${this.#lastError === undefined ? '' : `: ${this.#lastError}`}`;
  }

  /** `STORE_FAILED` for a Redis error: names the connection and the operation, never the password. */
  failure(operation: string, key: string | undefined, cause: unknown): PlugboardError {
    const own = this.redact(cause instanceof Error ? cause.message : String(cause));
    const trouble = this.trouble;
    const reason = trouble === undefined || own.includes(trouble) ? own : `${own} (${trouble})`;
    const target = key === undefined ? '' : ` of key ${quoteKey(key)}`;
    return new PlugboardError(
      'STORE_FAILED',
      `Redis connection "${this.connection}": ${operation}${target} failed: ${reason}`,
      {
        // The cause is kept out: its message or stack could quote a secret.
        details: { connection: this.connection, operation, status: this.client.status, reason },
      },
    );
  }

  /** Runs the increment script: EVALSHA, and EVAL once when this Redis has not seen it yet. */
  async increment(fullKey: string, delta: number, ttlMs: number | undefined): Promise<unknown> {
    const args = [fullKey, String(delta), ttlMs === undefined ? '' : String(ttlMs)] as const;
    try {
      return await this.client.evalsha(INCREMENT_SHA, 1, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return await this.client.eval(INCREMENT_SCRIPT, 1, ...args);
    }
  }

  detach(): void {
    if (!this.#attached) return;
    this.#attached = false;
    this.client.off('error', this.#onError);
    this.client.off('ready', this.#onReady);
  }
}

function quoteKey(key: string): string {
  return JSON.stringify(key.length > QUOTED_KEY_LENGTH ? `${key.slice(0, QUOTED_KEY_LENGTH)}…` : key);
}

/**
 * The logic of every view: the shared link plus this view's prefix. Each method is one Redis
 * command (or one script), so `setIfAbsent` and `increment` are atomic across every client of
 * that Redis, not only within this process.
 */
class RedisPrefixView implements KeyValueStore {
  protected readonly link: RedisLink;
  private readonly prefix: string;

  constructor(link: RedisLink, prefix: string) {
    this.link = link;
    this.prefix = prefix;
  }

  async get<T extends JsonValue = JsonValue>(key: string): Promise<T | undefined> {
    assertStoreKey(key);
    const fullKey = this.prefix + key;
    const text = await this.#run('get', fullKey, () => this.link.client.get(fullKey));
    return text === null ? undefined : (this.#parse(fullKey, text) as T);
  }

  async set(key: string, value: JsonValue, options?: KeyValueSetOptions): Promise<void> {
    assertStoreKey(key);
    const ttlMs = ttlFromOptions(options);
    assertJson(value, 'value');
    const fullKey = this.prefix + key;
    const text = JSON.stringify(value);
    // A SET without PX drops any ttl the key had: "without ttlMs the entry never expires".
    await this.#run('set', fullKey, () =>
      ttlMs === undefined ? this.link.client.set(fullKey, text) : this.link.client.set(fullKey, text, 'PX', ttlMs),
    );
  }

  async setIfAbsent(key: string, value: JsonValue, options?: KeyValueSetOptions): Promise<boolean> {
    assertStoreKey(key);
    const ttlMs = ttlFromOptions(options);
    assertJson(value, 'value');
    const fullKey = this.prefix + key;
    const text = JSON.stringify(value);
    // Redis drops an expired key before NX looks at it, so an expired entry counts as absent.
    const reply = await this.#run('setIfAbsent', fullKey, () =>
      ttlMs === undefined
        ? this.link.client.set(fullKey, text, 'NX')
        : this.link.client.set(fullKey, text, 'PX', ttlMs, 'NX'),
    );
    return reply === 'OK';
  }

  async delete(key: string): Promise<boolean> {
    assertStoreKey(key);
    const fullKey = this.prefix + key;
    return (await this.#run('delete', fullKey, () => this.link.client.del(fullKey))) > 0;
  }

  async increment(key: string, delta = 1, options?: KeyValueSetOptions): Promise<number> {
    assertStoreKey(key);
    assertCounterDelta(delta);
    const ttlMs = ttlFromOptions(options);
    const fullKey = this.prefix + key;
    const reply = await this.#run('increment', fullKey, () => this.link.increment(fullKey, delta, ttlMs));
    if (Array.isArray(reply) && reply[0] === 1 && typeof reply[1] === 'number') return reply[1];
    if (Array.isArray(reply) && reply[0] === 0 && typeof reply[1] === 'string') {
      // Throws STORE_INVALID_ARGUMENT with the in-memory store's very words.
      nextCounterValue(key, this.#parse(fullKey, reply[1]), delta);
      // Valid JSON for a whole number, but not in the one form INCRBY takes ("-0", "1.0"):
      // only another program writes those.
      throw new PlugboardError(
        'STORE_INVALID_ARGUMENT',
        `key "${key}" holds ${reply[1]}, a whole number written in a form Redis cannot increment (not by Plugboard?)`,
      );
    }
    throw this.link.failure('increment', fullKey, new Error(`unexpected script reply ${JSON.stringify(reply)}`));
  }

  async ttl(key: string): Promise<number | undefined> {
    assertStoreKey(key);
    const fullKey = this.prefix + key;
    const remaining = await this.#run('ttl', fullKey, () => this.link.client.pttl(fullKey));
    // -2: no such key; -1: a key without expiry.
    return remaining < 0 ? undefined : remaining;
  }

  withPrefix(prefix: string): KeyValueStore {
    assertKeyPrefix(prefix);
    return new RedisPrefixView(this.link, this.prefix + prefix);
  }

  /** One Redis round trip, its failure turned into `STORE_FAILED`. */
  async #run<T>(operation: string, fullKey: string, command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw this.link.failure(operation, fullKey, error);
    }
  }

  #parse(fullKey: string, text: string): JsonValue {
    try {
      return JSON.parse(text, freeze) as JsonValue;
    } catch {
      throw new PlugboardError(
        'STORE_FAILED',
        `Redis connection "${this.link.connection}": key ${quoteKey(fullKey)} holds something that is not JSON (written by another program?)`,
        { details: { connection: this.link.connection } },
      );
    }
  }
}

/**
 * A {@link KeyValueStore} in Redis: JSON values (as JSON text), ttls as Redis expiries (`PX`),
 * `setIfAbsent` as `SET NX`, counters as `INCRBY` in a Lua script that also sets the ttl of
 * the key it creates. Every client of the same Redis (and key prefix) sees the same entries and
 * counters: two Plugboard instances share them. Values read back are frozen, as the in-memory
 * store's are, so code that works on one works on the other.
 *
 * Arguments are checked exactly as the in-memory store checks them (`STORE_INVALID_ARGUMENT`);
 * any Redis failure rejects with `STORE_FAILED`, whose message names the connection and the
 * operation, never the password.
 *
 * @example
 * ```ts
 * const store = new RedisKeyValueStore({ client: new Redis('redis://127.0.0.1:6379'), connection: 'local' });
 * await store.set('greeting', { text: 'hello' }, { ttlMs: 5_000 });
 * await store.increment('hits', 1, { ttlMs: 60_000 }); // 1, in a window of one minute
 * ```
 */
export class RedisKeyValueStore extends RedisPrefixView {
  /**
   * @throws PlugboardError `STORE_INVALID_ARGUMENT` for a `keyPrefix` longer than a key may be.
   */
  constructor(options: RedisKeyValueStoreOptions) {
    const keyPrefix = options.keyPrefix ?? '';
    if (keyPrefix !== '') assertKeyPrefix(keyPrefix);
    super(new RedisLink(options.client, options.connection), keyPrefix);
  }

  /** The name of the connection the store uses. */
  get connection(): string {
    return this.link.connection;
  }

  /**
   * Sends `PING`; resolves with the round trip in milliseconds.
   * @throws PlugboardError `STORE_FAILED` when Redis does not answer.
   */
  async ping(): Promise<number> {
    const started = performance.now();
    try {
      await this.link.client.ping();
    } catch (error) {
      throw this.link.failure('ping', undefined, error);
    }
    return performance.now() - started;
  }

  /**
   * Stops listening to the client's events. The client is not closed: it is shared, and its
   * owner (the connections service) closes it. Idempotent.
   */
  close(): void {
    this.link.detach();
  }
}
