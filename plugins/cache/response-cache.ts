import {
  type ChatContext,
  type ChatResponse,
  type HealthReport,
  type HookPayload,
  type Logger,
  type Message,
  type PluginCall,
  type RespondDecision,
  respond,
} from '../../src/index.ts';
import { cacheKey, isDeterministic, type KeySettings } from './cache-key.ts';
import type { CacheMetrics, LookupResult, StoreResult } from './cache-metrics.ts';
import { clientDirective } from './client-directives.ts';
import type { CacheConfig } from './config.ts';
import { type CachedReply, entryBytes, entryJson } from './entry.ts';
import type { EntryStore, Found } from './entry-store.ts';

/**
 * Requests the cache follows at once. Each is forgotten at its `requestEnd`, which always
 * fires; the bound guards the heap against a runtime bug that would skip it. Beyond it (that
 * many requests in flight on one instance), the oldest request is forgotten: its reply is
 * answered as usual, and not stored.
 */
export const MAX_TRACKED_REQUESTS = 10_000;

/**
 * Writes to a shared store in flight at once. A store slower than the replies would otherwise
 * pile up writes (and the replies they hold) in memory; beyond this, replies are not stored
 * (`cache_stores_total{result="dropped"}`).
 */
export const MAX_PENDING_WRITES = 256;

/** How long shutdown waits for writes in flight to a shared store. */
const DRAIN_TIMEOUT_MS = 2_000;

/** What the cache knows of one request, from its lookup to its end. */
interface RequestState {
  result: LookupResult;
  /** Set when the reply may be stored (a miss or a refresh). */
  readonly key?: string;
  /** The request as it was looked up: the reply is stored only if the model saw that. */
  readonly context?: ChatContext;
  /** The last model turn, raw (before output processors), and how many there were. */
  last?: HookPayload<'afterModelCall'>;
  turns: number;
  /** Another request came under the same id: neither is stored. */
  collided?: boolean;
}

/** What the cache needs besides its config. */
export interface ResponseCacheOptions {
  readonly config: CacheConfig;
  readonly store: EntryStore;
  readonly metrics: CacheMetrics;
  /** The plugin's logger, for what happens outside a request (a shared store's outage, a failed write). */
  readonly logger: Logger;
  /** Set when `store: shared` runs on the in-memory default (no plugin provides the key-value store). */
  readonly notShared?: string;
}

/**
 * The response cache: looks requests up once they are prepared (`answerRequest`), follows the
 * model's raw turns (`afterModelCall`), and stores the reply when the request completes
 * (`processResponse`). Every store failure is a miss or an unstored reply, logged, never an
 * error for the client.
 *
 * @example
 * ```ts
 * const cache = new ResponseCache({ config, store: memoryStore({ maxBytes, ttlMs }), metrics, logger });
 * answerRequest: (context, call) => cache.lookup(context, call),
 * ```
 */
export class ResponseCache {
  readonly #config: CacheConfig;
  readonly #store: EntryStore;
  readonly #metrics: CacheMetrics;
  readonly #logger: Logger;
  readonly #notShared: string | undefined;
  readonly #keySettings: KeySettings;
  readonly #requests = new Map<string, RequestState>();
  readonly #writes = new Set<Promise<void>>();
  readonly #counts = { hits: 0, misses: 0, stored: 0 };
  /** Why the shared store fails, since when; undefined while it works. */
  #outage: { readonly since: Date; readonly reason: string } | undefined;
  #warnedOverflow = false;

  constructor(options: ResponseCacheOptions) {
    this.#config = options.config;
    this.#store = options.store;
    this.#metrics = options.metrics;
    this.#logger = options.logger;
    this.#notShared = options.notShared;
    this.#keySettings = { perPrincipal: options.config.per_principal, keyMetadata: options.config.key_metadata };
  }

  /**
   * `answerRequest`: the cached reply to the prepared, routed request, or `undefined` to let the
   * model answer. Sets the response header and counts the result.
   */
  lookup(context: ChatContext, call: PluginCall): RespondDecision | undefined | Promise<RespondDecision | undefined> {
    const id = context.requestId;
    const earlier = this.#requests.get(id);
    if (earlier !== undefined) {
      // Two requests under one id at once (a client chooses its x-request-id): state is kept by
      // id, so one could store the other's reply under its own key. Neither is stored.
      earlier.collided = true;
      return this.#report(call, 'skip');
    }
    const config = this.#config;
    const directive = clientDirective(context.client?.headers, config.header, config.honor_cache_control);
    if (directive === 'bypass') {
      this.#track(id, { result: 'bypass', turns: 0 });
      return this.#report(call, 'bypass');
    }
    if (!config.cache_sampled && !isDeterministic(context.options)) {
      this.#track(id, { result: 'skip', turns: 0 });
      return this.#report(call, 'skip');
    }
    const key = cacheKey(context, this.#keySettings);
    const state: RequestState = { result: directive === 'refresh' ? 'refresh' : 'miss', key, context, turns: 0 };
    this.#track(id, state);
    if (directive === 'refresh') return this.#report(call, 'refresh');
    let found: ReturnType<EntryStore['get']>;
    try {
      found = this.#store.get(key);
    } catch (error) {
      found = Promise.reject(error);
    }
    if (found instanceof Promise) {
      return found.then(
        (entry) => {
          this.#recovered();
          return this.#answer(entry, state, call);
        },
        (error: unknown) => {
          this.#failed('get', error);
          return this.#answer(undefined, state, call);
        },
      );
    }
    return this.#answer(found, state, call);
  }

  /** A looked-up entry as the answer (a hit), or a miss. */
  #answer(found: Found | undefined, state: RequestState, call: PluginCall): RespondDecision | undefined {
    if (found === undefined) {
      this.#counts.misses++;
      return this.#report(call, 'miss');
    }
    const entry = found.entry;
    state.result = 'hit';
    this.#counts.hits++;
    this.#report(call, 'hit');
    // RFC 9111's Age: how long ago the reply was made (it is as old as the entry).
    call.setResponseHeader('age', String(Math.max(0, Math.floor((Date.now() - entry.storedAt) / 1000))));
    this.#metrics.servedBytes.inc({}, found.bytes);
    const message: Message = {
      role: 'assistant',
      content: entry.content,
      ...(entry.thinking === undefined ? {} : { thinking: entry.thinking }),
    };
    // The stored usage, so the caller sees what the reply cost when it was made; metadata.cache
    // tells token budgets and metering that no model ran for it.
    return respond(message, {
      ...(entry.usage === undefined ? {} : { usage: entry.usage }),
      finishReason: entry.finishReason,
      metadata: { cache: 'hit' },
    });
  }

  #report(call: PluginCall, result: LookupResult): undefined {
    this.#metrics.requests.inc({ result });
    call.setResponseHeader(this.#config.header, result);
    return undefined;
  }

  #track(id: string, state: RequestState): void {
    if (this.#requests.size >= MAX_TRACKED_REQUESTS) {
      // Forget the oldest rather than grow (see MAX_TRACKED_REQUESTS).
      const oldest = this.#requests.keys().next().value;
      if (oldest !== undefined) this.#requests.delete(oldest);
      if (!this.#warnedOverflow) {
        this.#warnedOverflow = true;
        this.#logger.warn({ tracked: MAX_TRACKED_REQUESTS }, 'cache: more requests in flight than it follows');
      }
    }
    this.#requests.set(id, state);
  }

  /** `afterModelCall`: keeps the raw text of the request's last model turn. */
  turn(payload: HookPayload<'afterModelCall'>): void {
    const state = this.#requests.get(payload.context.requestId);
    if (state?.key === undefined) return;
    state.turns++;
    state.last = payload;
  }

  /**
   * `processResponse`: stores the reply of a miss or a refresh when it may be stored, and notes
   * the cache's result in `metadata.cache` (`hit`, `miss`, `refresh`, `bypass`, `skip`).
   */
  settle(response: ChatResponse): ChatResponse {
    const state = this.#requests.get(response.requestId);
    if (state === undefined) return response;
    if (state.key !== undefined && state.last !== undefined && !state.collided) this.#keep(state, response);
    if (response.metadata.cache !== undefined) return response;
    return { ...response, metadata: { ...response.metadata, cache: state.result } };
  }

  /** Why a reply may not be stored, or undefined when it may. */
  #refusal(state: RequestState, last: HookPayload<'afterModelCall'>, response: ChatResponse): StoreResult | undefined {
    // Tool calls: the reply asks the caller to act, and the turn after depends on what it did.
    if (state.turns > 1) return 'multi_turn';
    if (last.message.toolCalls?.length) return 'tool_calls';
    const finish = last.finishReason ?? response.finishReason ?? 'stop';
    if (finish === 'length') {
      if (!this.#config.cache_truncated) return 'truncated';
    } else if (finish !== 'stop') {
      return 'unfinished';
    }
    // The model must have answered the request that was looked up: not a fallback backend
    // (the key names the backend that failed), nor a context a beforeModelCall hook changed.
    if (last.backend !== state.context?.backend) return 'changed';
    // A plugin bypassed or skipped (a failed retrieval, an open breaker): a degraded reply is not kept for ttl_seconds.
    if (response.steps.some((step) => step.outcome !== 'ok')) return 'degraded';
    if (last.context !== state.context && cacheKey(last.context, this.#keySettings) !== state.key) return 'changed';
    return undefined;
  }

  #keep(state: RequestState, response: ChatResponse): void {
    const last = state.last!;
    const refused = this.#refusal(state, last, response);
    if (refused !== undefined) {
      this.#metrics.stores.inc({ result: refused });
      return;
    }
    const finish = last.finishReason ?? response.finishReason;
    const entry: CachedReply = {
      content: last.message.content,
      ...(last.message.thinking ? { thinking: last.message.thinking } : {}),
      ...(last.usage === undefined ? {} : { usage: last.usage }),
      finishReason: finish === 'length' ? 'length' : 'stop',
      storedAt: Date.now(),
    };
    const json = entryJson(entry);
    const bytes = entryBytes(json);
    if (bytes > this.#config.max_entry_bytes) {
      this.#metrics.stores.inc({ result: 'too_large' });
      return;
    }
    const key = state.key!;
    if (this.#store.kind === 'memory') {
      this.#store.set(key, entry, json, bytes);
      this.#stored(bytes);
      return;
    }
    if (this.#writes.size >= MAX_PENDING_WRITES) {
      this.#metrics.stores.inc({ result: 'dropped' });
      return;
    }
    // Not awaited: the reply is made; a remote write must not hold it (or its stream's end) up.
    const writing = Promise.resolve()
      .then(() => this.#store.set(key, entry, json, bytes))
      .then(
        () => {
          this.#recovered();
          this.#stored(bytes);
        },
        (error: unknown) => {
          this.#metrics.stores.inc({ result: 'failed' });
          this.#failed('set', error);
        },
      )
      .finally(() => this.#writes.delete(writing));
    this.#writes.add(writing);
  }

  #stored(bytes: number): void {
    this.#counts.stored++;
    this.#metrics.stores.inc({ result: 'stored' });
    this.#metrics.storedBytes.inc({}, bytes);
  }

  /** `requestEnd` (always fires, also after an error or an abort): forgets the request; nothing is stored then. */
  end(requestId: string): void {
    this.#requests.delete(requestId);
  }

  /** A store operation failed: counted, and logged once per outage (not per request). */
  #failed(operation: 'get' | 'set', error: unknown): void {
    this.#metrics.storeErrors.inc({ operation });
    if (this.#outage !== undefined) return;
    const reason = error instanceof Error ? error.message : String(error);
    this.#outage = { since: new Date(), reason };
    this.#logger.warn(
      { operation, reason },
      'cache: the shared store fails; requests are answered by the model until it is back',
    );
  }

  #recovered(): void {
    if (this.#outage === undefined) return;
    this.#logger.info({ since: this.#outage.since.toISOString() }, 'cache: the shared store is back');
    this.#outage = undefined;
  }

  /** The plugin's health: degraded while the shared store fails, or when it is not shared at all. */
  health(): HealthReport {
    const stats = this.#store.stats();
    const details = {
      store: this.#store.kind,
      ...this.#counts,
      ...(stats === undefined ? {} : { entries: stats.entries, bytes: stats.bytes }),
      ...(this.#store.kind === 'shared' ? { pendingWrites: this.#writes.size } : {}),
    };
    if (this.#outage !== undefined) {
      const { since, reason } = this.#outage;
      return {
        status: 'degraded',
        message: `the shared store fails since ${since.toISOString()}: ${reason}; requests are answered by the model`,
        details,
      };
    }
    if (this.#notShared !== undefined) return { status: 'degraded', message: this.#notShared, details };
    return { status: 'healthy', details };
  }

  /** Waits (a bounded time) for writes in flight to a shared store: shutdown calls it. */
  async drain(): Promise<void> {
    if (this.#writes.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.#writes),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, DRAIN_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
  }
}
