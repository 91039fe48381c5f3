import { type BulkheadPolicy, bulkhead } from 'cockatiel';
import type { PlugboardError } from '../errors/plugboard-error.ts';
import { PlugboardError as CodedError } from '../errors/plugboard-error.ts';
import type { CallStats } from '../execution/call-metrics.ts';
import type { DeadlineScheduler } from '../execution/deadline-scheduler.ts';
import { invokePlugin, type ResultValidator } from '../execution/invoke.ts';
import type { RequestScope } from '../execution/request-scope.ts';
import type { Logger } from '../logger.ts';
import type { PluginStep } from '../model/reply.ts';
import type { HookHandler } from '../plugin/kinds.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import { type Priority, priorityRank } from '../plugin/priority.ts';
import type { PluginResult } from '../result.ts';
import { HOOK_KINDS, HOOK_NAMES, type HookName, type HookPayload, WATERFALL_SUBJECT } from './hook-map.ts';

/** One registered hook handler. */
export interface HookRegistration<H extends HookName = HookName> {
  readonly hook: H;
  readonly record: PluginRecord;
  readonly handler: HookHandler<H>;
  readonly priority: Priority;
  /** Registration sequence number: keeps order stable within a priority. */
  readonly sequence: number;
  /** True when registered from an `on<Hook>` method (removed with the plugin). */
  readonly automatic: boolean;
}

/** The handlers of every hook, sorted for execution. Immutable: changes build a new table. */
export type HookTable = { readonly [H in HookName]: readonly HookRegistration<H>[] };

/** The result of one handler in a dispatch. */
export interface HandlerOutcome {
  readonly plugin: string;
  readonly result: PluginResult<unknown>;
}

/** What a hook dispatch produced. */
export interface HookDispatch<H extends HookName> {
  /** One entry per handler that ran (background MONITORING handlers are not included). */
  readonly results: readonly HandlerOutcome[];
  /** For waterfall hooks: the subject after every handler had its turn. */
  readonly payload: HookPayload<H>;
  /** Set when a fail-closed plugin's handler failed: the caller must reject the request. */
  readonly rejection?: PlugboardError;
}

/** Options of a dispatch. */
export interface DispatchOptions {
  /** Stop at the first failure (FR-7.2 `fail_fast`). */
  readonly failFast?: boolean;
  /** The request the dispatch belongs to (cancellation, request id). */
  readonly scope?: RequestScope;
  /** A table captured earlier (requests run on the snapshot taken when they started). */
  readonly table?: HookTable;
  /** Where to record each handler's step, for `ChatResponse.steps`. */
  readonly steps?: PluginStep[];
  /** Validates a waterfall handler's replacement subject. */
  readonly validateSubject?: ResultValidator<unknown>;
}

/** Settings of the hook system. */
export interface HookManagerOptions {
  /** Most handlers of one parallel dispatch running at once, and most background MONITORING handlers. */
  readonly maxConcurrentHooks: number;
  /** Background MONITORING handlers that may wait for a slot before new ones are dropped. */
  readonly monitoringQueue: number;
}

const EMPTY_TABLE = Object.freeze(
  Object.fromEntries(HOOK_NAMES.map((hook) => [hook, Object.freeze([])])),
) as unknown as HookTable;

/**
 * Registers hook handlers and runs them (FR-4, FR-5) in priority order, each through the
 * owning plugin's fault isolation (breaker, timeout, metrics). How handlers of a hook run
 * follows its kind in the hook map; MONITORING handlers always run in the background.
 */
export class HookManager {
  #table: HookTable = EMPTY_TABLE;
  #sequence = 0;
  readonly #dispatches = new Map<HookName, number>();
  #droppedMonitoring = 0;
  readonly #background: BulkheadPolicy;

  constructor(
    private readonly deadlines: DeadlineScheduler,
    private readonly options: HookManagerOptions,
    private readonly logger: Logger,
  ) {
    this.#background = bulkhead(options.maxConcurrentHooks, options.monitoringQueue);
  }

  /** The current table (capture it to run a request on a consistent set of handlers). */
  get table(): HookTable {
    return this.#table;
  }

  /**
   * Registers `handler` for `hook` on behalf of a loaded plugin (FR-4.5).
   *
   * @example
   * ```ts
   * manager.hooks.registerHook('requestEnd', ({ durationMs }) => console.log(durationMs), 'MONITORING', record);
   * ```
   */
  registerHook<H extends HookName>(
    hook: H,
    handler: HookHandler<H>,
    priority: Priority,
    record: PluginRecord,
    automatic = false,
  ): void {
    if (!(hook in HOOK_KINDS)) {
      throw new CodedError('HOOK_UNKNOWN', `There is no hook "${String(hook)}"; hooks are ${HOOK_NAMES.join(', ')}`);
    }
    const registration: HookRegistration<H> = {
      hook,
      record,
      handler,
      priority,
      sequence: this.#sequence++,
      automatic,
    };
    const list = [...this.#table[hook], registration].sort(
      (a, b) => priorityRank(a.priority) - priorityRank(b.priority) || a.sequence - b.sequence,
    );
    this.#table = Object.freeze({ ...this.#table, [hook]: Object.freeze(list) });
  }

  /** Removes a plugin's handlers for `hook`, or for every hook when `hook` is omitted. */
  unregisterHook(hook: HookName | undefined, plugin: string): number {
    let removed = 0;
    const next: Record<string, readonly unknown[]> = { ...this.#table };
    for (const name of hook === undefined ? HOOK_NAMES : [hook]) {
      const current: readonly { record: PluginRecord }[] = this.#table[name];
      const kept = current.filter((registration) => registration.record.name !== plugin);
      removed += current.length - kept.length;
      next[name] = Object.freeze(kept);
    }
    this.#table = Object.freeze(next) as unknown as HookTable;
    return removed;
  }

  /** True when some active handler is registered for `hook` in `table`. */
  has(hook: HookName, table: HookTable = this.#table): boolean {
    return table[hook].length > 0;
  }

  /**
   * Runs the handlers of `hook` (FR-5). Never throws: failures are isolated, recorded, and
   * reported in the returned results; a fail-closed plugin's failure sets `rejection`.
   */
  async execute<H extends HookName>(
    hook: H,
    payload: HookPayload<H>,
    options: DispatchOptions = {},
  ): Promise<HookDispatch<H>> {
    const registrations = (options.table ?? this.#table)[hook] as readonly HookRegistration<H>[];
    if (registrations.length === 0) return { results: [], payload };
    this.#dispatches.set(hook, (this.#dispatches.get(hook) ?? 0) + 1);
    // Handlers share the payload: freeze it so none can change what the next one sees.
    const frozen: HookPayload<H> = Object.isFrozen(payload)
      ? payload
      : (Object.freeze({ ...payload }) as HookPayload<H>);
    const foreground: HookRegistration<H>[] = [];
    for (const registration of registrations) {
      if (registration.record.state !== 'ACTIVE') continue;
      if (registration.priority === 'MONITORING') this.#runInBackground(registration, frozen, options);
      else foreground.push(registration);
    }
    if (foreground.length === 0) return { results: [], payload };
    return HOOK_KINDS[hook] === 'parallel'
      ? this.#runParallel(hook, foreground, frozen, options)
      : this.#runInOrder(hook, foreground, frozen, options);
  }

  async #runInOrder<H extends HookName>(
    hook: H,
    registrations: readonly HookRegistration<H>[],
    initial: HookPayload<H>,
    options: DispatchOptions,
  ): Promise<HookDispatch<H>> {
    const subject =
      HOOK_KINDS[hook] === 'waterfall' ? WATERFALL_SUBJECT[hook as keyof typeof WATERFALL_SUBJECT] : undefined;
    const validate = subject !== undefined && options.validateSubject ? options.validateSubject : acceptAnything;
    const results: HandlerOutcome[] = [];
    let payload = initial;
    for (const registration of registrations) {
      const current = payload;
      const result = await this.#invoke(registration, current, validate, options);
      results.push({ plugin: registration.record.name, result });
      if (!result.ok) {
        if (registration.record.config.failurePolicy === 'closed') return { results, payload, rejection: result.error };
        if (options.failFast) break;
      } else if (subject !== undefined && result.value !== undefined) {
        payload = Object.freeze({ ...payload, [subject]: result.value }) as HookPayload<H>;
      }
    }
    return { results, payload };
  }

  async #runParallel<H extends HookName>(
    _hook: H,
    registrations: readonly HookRegistration<H>[],
    payload: HookPayload<H>,
    options: DispatchOptions,
  ): Promise<HookDispatch<H>> {
    const results: HandlerOutcome[] = new Array(registrations.length);
    let next = 0;
    let stop = false;
    const worker = async () => {
      while (!stop && next < registrations.length) {
        const index = next++;
        const registration = registrations[index]!;
        const result = await this.#invoke(registration, payload, acceptAnything, options);
        results[index] = { plugin: registration.record.name, result };
        if (!result.ok && options.failFast) stop = true;
      }
    };
    const workers = Math.min(this.options.maxConcurrentHooks, registrations.length);
    await Promise.all(Array.from({ length: workers }, worker));
    const ran = results.filter((outcome) => outcome !== undefined);
    const rejection = ran.find(
      (outcome, index) => !outcome.result.ok && registrations[index]?.record.config.failurePolicy === 'closed',
    );
    return rejection && !rejection.result.ok
      ? { results: ran, payload, rejection: rejection.result.error }
      : { results: ran, payload };
  }

  #invoke<H extends HookName>(
    registration: HookRegistration<H>,
    payload: HookPayload<H>,
    validate: ResultValidator<unknown>,
    options: DispatchOptions,
  ): Promise<PluginResult<unknown>> {
    const operation = `hook:${registration.hook}`;
    return invokePlugin(
      this.deadlines,
      registration.record,
      operation,
      (call) => registration.handler.call(registration.record.plugin, payload, call),
      validate,
      { scope: options.scope },
    ).then((result) => {
      options.steps?.push(stepOf(registration.record.name, operation, result));
      return result;
    });
  }

  /** MONITORING handlers observe only: run later, bounded, never awaited by the request. */
  #runInBackground<H extends HookName>(
    registration: HookRegistration<H>,
    payload: HookPayload<H>,
    options: DispatchOptions,
  ): void {
    // Detach from the request's cancellation: an observer should see the end of an aborted request too.
    const detached = { ...options, scope: undefined, steps: undefined };
    this.#background
      .execute(() => this.#invoke(registration, payload, acceptAnything, detached))
      .catch(() => {
        this.#droppedMonitoring++;
        this.logger.warn(
          { plugin: registration.record.name, operation: `hook:${registration.hook}` },
          'monitoring hook dropped: too many running in the background',
        );
      });
  }

  /** Per plugin and hook: invocations, successes, failures, timeouts, latency (FR-5.4). */
  getMetrics(plugin?: string): {
    readonly dispatches: Readonly<Partial<Record<HookName, number>>>;
    readonly droppedMonitoring: number;
    readonly plugins: Readonly<Record<string, Readonly<Record<string, CallStats>>>>;
  } {
    const plugins: Record<string, Record<string, CallStats>> = {};
    for (const registration of HOOK_NAMES.flatMap((hook): readonly { record: PluginRecord }[] => this.#table[hook])) {
      const name = registration.record.name;
      if (plugin !== undefined && name !== plugin) continue;
      const operations = registration.record.metrics.operations();
      plugins[name] = Object.fromEntries(
        Object.entries(operations)
          .filter(([operation]) => operation.startsWith('hook:'))
          .map(([operation, stats]) => [operation.slice('hook:'.length), stats]),
      );
    }
    return { dispatches: Object.fromEntries(this.#dispatches), droppedMonitoring: this.#droppedMonitoring, plugins };
  }

  /** Registered handlers per hook: plugin, priority, whether auto-registered. */
  getHookInfo(): Record<
    HookName,
    { kind: string; handlers: { plugin: string; priority: Priority; automatic: boolean }[] }
  > {
    return Object.fromEntries(
      HOOK_NAMES.map((hook) => [
        hook,
        {
          kind: HOOK_KINDS[hook],
          handlers: this.#table[hook].map((registration) => ({
            plugin: registration.record.name,
            priority: registration.priority,
            automatic: registration.automatic,
          })),
        },
      ]),
    ) as Record<HookName, { kind: string; handlers: { plugin: string; priority: Priority; automatic: boolean }[] }>;
  }
}

/** Turns a call result into the step recorded for `ChatResponse.steps`. */
export function stepOf(plugin: string, operation: string, result: PluginResult<unknown>): PluginStep {
  if (result.ok) return { plugin, operation, outcome: 'ok', durationMs: result.durationMs };
  return {
    plugin,
    operation,
    outcome: result.error.code === 'PLUGIN_CIRCUIT_OPEN' ? 'skipped' : 'bypassed',
    durationMs: result.durationMs,
    errorCode: result.error.code,
  };
}

function acceptAnything(value: unknown): unknown {
  return value;
}
