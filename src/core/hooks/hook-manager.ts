import type { PlugboardError } from '../errors/plugboard-error.ts';
import { PlugboardError as CodedError } from '../errors/plugboard-error.ts';
import type { CallStats } from '../execution/call-metrics.ts';
import type { DeadlineScheduler } from '../execution/deadline-scheduler.ts';
import { invokeGuarded, type ResultValidator } from '../execution/invoke.ts';
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

/** What every registration has, whatever its hook (for filtering across hooks). */
type RegistrationFacts = Pick<HookRegistration, 'record' | 'automatic'>;

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
  /** The request id of a dispatch without a scope (hooks that run after the request, see InvokeOptions). */
  readonly requestId?: string | undefined;
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
  /** Dispatches per hook (a plain object: a Map's get and set cost more, on every chunk). */
  readonly #dispatches = Object.fromEntries(HOOK_NAMES.map((hook) => [hook, 0])) as Record<HookName, number>;
  #droppedMonitoring = 0;
  readonly #background: BackgroundLimiter;

  constructor(
    private readonly deadlines: DeadlineScheduler,
    private readonly options: HookManagerOptions,
    private readonly logger: Logger,
  ) {
    this.#background = new BackgroundLimiter(options.maxConcurrentHooks, options.monitoringQueue);
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
    if (!Object.hasOwn(HOOK_KINDS, hook)) {
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
    return this.#remove(hook, (registration) => registration.record.name === plugin);
  }

  /**
   * Removes the handlers of one plugin instance (all hooks, or only the automatic ones).
   * By instance, not name: while a plugin is replaced, old and new instances share a name.
   */
  unregisterRecord(record: PluginRecord, onlyAutomatic = false): number {
    return this.#remove(
      undefined,
      (registration) => registration.record === record && (!onlyAutomatic || registration.automatic),
    );
  }

  #remove(hook: HookName | undefined, matches: (registration: RegistrationFacts) => boolean): number {
    let removed = 0;
    const next: Record<string, readonly unknown[]> = { ...this.#table };
    for (const name of hook === undefined ? HOOK_NAMES : [hook]) {
      const current: readonly RegistrationFacts[] = this.#table[name];
      const kept = current.filter((registration) => !matches(registration));
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
  execute<H extends HookName>(
    hook: H,
    payload: HookPayload<H>,
    options: DispatchOptions = NO_DISPATCH_OPTIONS,
  ): Promise<HookDispatch<H>> {
    const dispatch = this.dispatch(hook, payload, options);
    return dispatch instanceof Promise ? dispatch : Promise.resolve(dispatch);
  }

  /**
   * {@link execute} for the request path: the same dispatch, but finished synchronously when
   * every foreground handler answered synchronously (no promise, no microtask), which is
   * what most observers and cheap handlers do.
   */
  dispatch<H extends HookName>(
    hook: H,
    payload: HookPayload<H>,
    options: DispatchOptions = NO_DISPATCH_OPTIONS,
  ): HookDispatch<H> | Promise<HookDispatch<H>> {
    const registrations = (options.table ?? this.#table)[hook] as readonly HookRegistration<H>[];
    if (registrations.length === 0) return { results: [], payload };
    this.#dispatches[hook]++;
    // Handlers share the payload: freeze it so none can change what the next one sees.
    const frozen: HookPayload<H> = Object.isFrozen(payload)
      ? payload
      : (Object.freeze({ ...payload }) as HookPayload<H>);
    const { foreground, monitoring } = splitActive(registrations);
    if (foreground.length === 0) {
      this.#observe(monitoring, frozen);
      return { results: [], payload };
    }
    const dispatch =
      HOOK_KINDS[hook] === 'parallel'
        ? this.#runParallel(foreground, frozen, options)
        : new InOrderDispatch(this.deadlines, hook, foreground, frozen, options).run(0);
    // Observers come last (after LOW), see what the others produced, and are never awaited.
    if (dispatch instanceof Promise) {
      return monitoring.length === 0
        ? dispatch
        : dispatch.then((done) => {
            this.#observe(monitoring, done.payload);
            return done;
          });
    }
    this.#observe(monitoring, dispatch.payload);
    return dispatch;
  }

  #runParallel<H extends HookName>(
    registrations: readonly HookRegistration<H>[],
    payload: HookPayload<H>,
    options: DispatchOptions,
  ): HookDispatch<H> | Promise<HookDispatch<H>> {
    const count = registrations.length;
    if (count > this.options.maxConcurrentHooks) return this.#runPooled(registrations, payload, options);
    // Room for all: every handler starts now (as many workers as handlers would do); those
    // that answered synchronously are done already.
    const results: HandlerOutcome[] = new Array(count);
    let pending: Promise<void>[] | undefined;
    for (let index = 0; index < count; index++) {
      const registration = registrations[index]!;
      const result = invokeHandler(this.deadlines, registration, payload, acceptAnything, options);
      if (result instanceof Promise) {
        pending ??= [];
        pending.push(
          result.then((settled) => {
            results[index] = stepped(registration, settled, options);
          }),
        );
      } else {
        results[index] = stepped(registration, result, options);
      }
    }
    if (pending === undefined) return parallelOutcome(registrations, results, payload);
    const all = pending.length === 1 ? pending[0]! : Promise.all(pending);
    return all.then(() => parallelOutcome(registrations, results, payload));
  }

  /** More handlers than `maxConcurrentHooks`: that many workers take them in order. */
  async #runPooled<H extends HookName>(
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
        const pending = invokeHandler(this.deadlines, registration, payload, acceptAnything, options);
        const result = pending instanceof Promise ? await pending : pending;
        results[index] = stepped(registration, result, options);
        if (!result.ok && options.failFast) stop = true;
      }
    };
    await Promise.all(Array.from({ length: this.options.maxConcurrentHooks }, worker));
    return parallelOutcome(registrations, results, payload);
  }

  #observe<H extends HookName>(monitoring: readonly HookRegistration<H>[], payload: HookPayload<H>): void {
    for (const registration of monitoring) this.#runInBackground(registration, payload);
  }

  /** MONITORING handlers observe only: run later, bounded, never awaited by the request. */
  #runInBackground<H extends HookName>(registration: HookRegistration<H>, payload: HookPayload<H>): void {
    // Detached from the request's cancellation (no scope): an observer should see the end of
    // an aborted request too; and from its steps, which may be final by the time it runs.
    const admitted = this.#background.submit(() =>
      invokeHandler(this.deadlines, registration, payload, acceptAnything, NO_DISPATCH_OPTIONS),
    );
    if (!admitted) {
      this.#droppedMonitoring++;
      this.logger.warn(
        { plugin: registration.record.name, operation: HOOK_OPERATIONS[registration.hook] },
        'monitoring hook dropped: too many running in the background',
      );
    }
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
    const dispatches = Object.fromEntries(Object.entries(this.#dispatches).filter(([, count]) => count > 0));
    return { dispatches, droppedMonitoring: this.#droppedMonitoring, plugins };
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

/**
 * Turns a call result into the step recorded for `ChatResponse.steps`. Frozen here, where it
 * is cheap, so that freezing the response does not walk every step again.
 */
export function stepOf(plugin: string, operation: string, result: PluginResult<unknown>): PluginStep {
  if (result.ok) return Object.freeze({ plugin, operation, outcome: 'ok', durationMs: result.durationMs });
  return Object.freeze({
    plugin,
    operation,
    outcome: result.error.code === 'PLUGIN_CIRCUIT_OPEN' ? 'skipped' : 'bypassed',
    durationMs: result.durationMs,
    errorCode: result.error.code,
  });
}

const NO_DISPATCH_OPTIONS: DispatchOptions = Object.freeze({});

/**
 * One handler through its plugin's guard; synchronous when the handler answered
 * synchronously. The caller records the step (see {@link stepped}): chaining it here would
 * cost every asynchronous handler one more promise.
 */
function invokeHandler<H extends HookName>(
  deadlines: DeadlineScheduler,
  registration: HookRegistration<H>,
  payload: HookPayload<H>,
  validate: ResultValidator<unknown>,
  options: DispatchOptions,
): PluginResult<unknown> | Promise<PluginResult<unknown>> {
  const record = registration.record;
  const handler = registration.handler;
  const operation = HOOK_OPERATIONS[registration.hook];
  return invokeGuarded(
    deadlines,
    record,
    operation,
    (call) => handler.call(record.plugin, payload, call),
    validate,
    // Only `scope` and `requestId` of the dispatch options mean something to the guard: no copy per call.
    options,
  );
}

/** Records a handler's step in `options.steps`, if the dispatch keeps steps; returns its outcome. */
function stepped<H extends HookName>(
  registration: HookRegistration<H>,
  result: PluginResult<unknown>,
  options: DispatchOptions,
): HandlerOutcome {
  const plugin = registration.record.name;
  options.steps?.push(stepOf(plugin, HOOK_OPERATIONS[registration.hook], result));
  return { plugin, result };
}

/**
 * A sequential or waterfall dispatch: handlers one after another, each seeing the subject
 * the previous ones produced. Runs synchronously until a handler returns a promise, and
 * continues when it settles.
 */
class InOrderDispatch<H extends HookName> {
  readonly #results: HandlerOutcome[] = [];
  #payload: HookPayload<H>;
  readonly #subject: string | undefined;
  readonly #validate: ResultValidator<unknown>;

  constructor(
    private readonly deadlines: DeadlineScheduler,
    hook: H,
    private readonly registrations: readonly HookRegistration<H>[],
    initial: HookPayload<H>,
    private readonly options: DispatchOptions,
  ) {
    this.#payload = initial;
    this.#subject =
      HOOK_KINDS[hook] === 'waterfall' ? WATERFALL_SUBJECT[hook as keyof typeof WATERFALL_SUBJECT] : undefined;
    const check = options.validateSubject;
    // `undefined` means "no change": it must not reach a validator built for the initial subject,
    // which would answer with that initial subject and undo earlier handlers' replacements.
    this.#validate =
      this.#subject !== undefined && check
        ? (value: unknown) => (value === undefined ? undefined : check(value))
        : acceptAnything;
  }

  /** Runs the handlers from `from` on. */
  run(from: number): HookDispatch<H> | Promise<HookDispatch<H>> {
    const registrations = this.registrations;
    for (let index = from; index < registrations.length; index++) {
      const registration = registrations[index]!;
      const pending = invokeHandler(this.deadlines, registration, this.#payload, this.#validate, this.options);
      if (pending instanceof Promise) {
        return pending.then((result) => this.#settle(registration, result) ?? this.run(index + 1));
      }
      const end = this.#settle(registration, pending);
      if (end !== undefined) return end;
    }
    return { results: this.#results, payload: this.#payload };
  }

  /** Takes one handler's outcome; returns the dispatch's end when it stops here. */
  #settle(registration: HookRegistration<H>, result: PluginResult<unknown>): HookDispatch<H> | undefined {
    this.#results.push(stepped(registration, result, this.options));
    if (!result.ok) {
      if (registration.record.config.failurePolicy === 'closed') {
        return { results: this.#results, payload: this.#payload, rejection: result.error };
      }
      if (this.options.failFast) return { results: this.#results, payload: this.#payload };
    } else if (this.#subject !== undefined && result.value !== undefined) {
      const payload = this.#payload as Record<string, unknown>;
      // A handler that returns the subject it was given changed nothing: keep the payload.
      if (payload[this.#subject] !== result.value) {
        this.#payload = Object.freeze({ ...payload, [this.#subject]: result.value }) as HookPayload<H>;
      }
    }
    return undefined;
  }
}

/** The result of a parallel dispatch: the handlers that ran, and a fail-closed one's failure. */
function parallelOutcome<H extends HookName>(
  registrations: readonly HookRegistration<H>[],
  results: readonly (HandlerOutcome | undefined)[],
  payload: HookPayload<H>,
): HookDispatch<H> {
  // Holes are handlers a fail-fast pool never started.
  const ran = (
    results.includes(undefined) ? results.filter((outcome) => outcome !== undefined) : results
  ) as readonly HandlerOutcome[];
  const rejection = ran.find(
    (outcome, index) => !outcome.result.ok && registrations[index]?.record.config.failurePolicy === 'closed',
  );
  return rejection && !rejection.result.ok
    ? { results: ran, payload, rejection: rejection.result.error }
    : { results: ran, payload };
}

/** `hook:<name>`, the operation name of each hook in metrics and steps, built once. */
const HOOK_OPERATIONS = Object.freeze(
  Object.fromEntries(HOOK_NAMES.map((hook) => [hook, `hook:${hook}`])) as Record<HookName, string>,
);

interface ActiveSplit<H extends HookName> {
  readonly foreground: readonly HookRegistration<H>[];
  readonly monitoring: readonly HookRegistration<H>[];
}

/** The split of each (immutable) handler list when all its plugins are ACTIVE, the usual case. */
const splits = new WeakMap<object, unknown>();

/** The ACTIVE handlers of a dispatch: the foreground ones in order, and the MONITORING ones. */
function splitActive<H extends HookName>(registrations: readonly HookRegistration<H>[]): ActiveSplit<H> {
  let allActive = true;
  for (const registration of registrations) {
    if (registration.record.state !== 'ACTIVE') {
      allActive = false;
      break;
    }
  }
  if (allActive) {
    const cached = splits.get(registrations) as ActiveSplit<H> | undefined;
    if (cached !== undefined) return cached;
  }
  const foreground: HookRegistration<H>[] = [];
  const monitoring: HookRegistration<H>[] = [];
  for (const registration of registrations) {
    if (registration.record.state !== 'ACTIVE') continue;
    (registration.priority === 'MONITORING' ? monitoring : foreground).push(registration);
  }
  const split = { foreground, monitoring };
  if (allActive && Object.isFrozen(registrations)) splits.set(registrations, split);
  return split;
}

/**
 * Runs background work with at most `capacity` tasks at once and at most `queueLimit`
 * waiting; more is refused. (cockatiel's bulkhead does the same at several times the cost
 * per task, and MONITORING handlers can run on every streamed chunk.)
 */
class BackgroundLimiter {
  #active = 0;
  readonly #queue: (() => unknown)[] = [];

  constructor(
    private readonly capacity: number,
    private readonly queueLimit: number,
  ) {}

  /** Starts `task` now, or queues it; false when it was refused. `task` must not throw. */
  submit(task: () => unknown): boolean {
    if (this.#active < this.capacity) {
      this.#start(task);
      return true;
    }
    if (this.#queue.length < this.queueLimit) {
      this.#queue.push(task);
      return true;
    }
    return false;
  }

  #start(task: () => unknown): void {
    this.#active++;
    const pending = task();
    if (pending instanceof Promise) pending.then(this.#finish, this.#finish);
    else this.#finish();
  }

  readonly #finish = (): void => {
    this.#active--;
    if (this.#queue.length > 0) queueMicrotask(this.#pump);
  };

  readonly #pump = (): void => {
    while (this.#active < this.capacity && this.#queue.length > 0) this.#start(this.#queue.shift()!);
  };
}

function acceptAnything(value: unknown): unknown {
  return value;
}
