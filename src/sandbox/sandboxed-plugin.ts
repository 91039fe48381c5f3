import type { StandardJSONSchemaV1, StandardSchemaV1 } from '@standard-schema/spec';
import { PlugboardError } from '../core/errors/plugboard-error.ts';
import type { Logger } from '../core/logger.ts';
import { type MetricsService, metricsRef } from '../core/metrics/metrics-service.ts';
import type { ChatContext } from '../core/model/context.ts';
import type { AnyPlugin, HealthReport, RemoteStreamingSupport } from '../core/plugin/kinds.ts';
import type { PluginMetadata } from '../core/plugin/metadata.ts';
import type { InitializeCall, PluginCall } from '../core/plugin/plugin-call.ts';
import { optionalService, type ServiceDependency } from '../core/services/service-ref.ts';
import type { JsonValue } from '../core/stores/json.ts';
import { SANDBOX_DISPOSE } from './dispose.ts';
import { FetchBroker } from './fetch-broker.ts';
import { describeIsolation, type IsolationReport, SANDBOX_REPORT } from './isolation-report.ts';
import { PluginLog } from './plugin-log.ts';
import type { ConfigCheck, PluginShape } from './protocol.ts';
import type { SandboxOptions } from './sandbox-options.ts';
import type { ExitReason, SandboxProcess } from './sandbox-process.ts';
import { knownRef, ServiceCalls } from './service-calls.ts';
import { type StartedEnvironment, startSandboxProcess } from './start-process.ts';
import { DEFAULT_RESTART_POLICY, Supervisor } from './supervisor.ts';
import { encodeValue } from './wire-values.ts';

/** Response headers and data one call may set (each is a message from the process). */
const MAX_EFFECTS_PER_CALL = 64;
/** What the child answers for a streamed chunk whose context it no longer keeps (see child-host.ts). */
export const UNKNOWN_STREAM_CONTEXT = 'unknown stream context';

/** The one streaming operation of a sandboxed processor (see child-host.ts). */
const SETTLE = 'streaming.settle';

/** Lifecycle and kind methods the proxy forwards as they are. */
const FORWARDED = [
  'processMessage',
  'chat',
  'listModels',
  'embed',
  'extend',
  'continueConversation',
  'processRequest',
  'answerRequest',
  'processResponse',
] as const;

/**
 * A plugin that runs in its own sandboxed process, seen by the runtime as any other plugin: the
 * returned object has the plugin's metadata and exactly its methods, each a call into the process
 * (so timeouts, breakers and failure policies apply unchanged). Loading starts the process,
 * imports the plugin there and validates `config` with the plugin's own schema.
 *
 * @example
 * ```ts
 * const plugin = await loadSandboxedPlugin({ modulePath: '/srv/plugins/shout/shout.plugin.ts',
 *   memoryMb: 256, cpuPercent: 25, allowedImports: [], deniedImports: [], allowHosts: [] }, logger);
 * manager.register(plugin); // a MessageProcessor, if the module holds one
 * ```
 * @throws PlugboardError `PLUGIN_SANDBOX_UNAVAILABLE` (cannot start), `PLUGIN_SANDBOX_UNSUPPORTED`
 *   (endpoints or provided services), or the plugin's own load error.
 */
export async function loadSandboxedPlugin(
  options: SandboxOptions,
  logger: Logger,
  config?: JsonValue,
): Promise<AnyPlugin> {
  const proxy = new SandboxedPlugin(options, logger);
  await proxy.start(config);
  return proxy.plugin;
}

class SandboxedPlugin {
  #logger: Logger;
  #services: InitializeCall['services'] | undefined;
  #metrics: MetricsService | undefined;
  #initConfig: unknown;
  #initialized = false;
  #environment: StartedEnvironment | undefined;
  readonly #inFlightCalls = new Map<number, PluginCall>();
  #shape!: PluginShape;
  #configCheck: { readonly key: string; readonly check: ConfigCheck } | undefined;
  readonly supervisor: Supervisor;
  plugin!: AnyPlugin;
  readonly #contextKeys = new WeakMap<ChatContext, { readonly key: number; readonly process: SandboxProcess }>();
  #nextContextKey = 1;
  readonly #log: PluginLog;
  #serviceCalls: ServiceCalls | undefined;
  readonly #fetchBroker: FetchBroker;

  constructor(
    private readonly options: SandboxOptions,
    logger: Logger,
  ) {
    this.#logger = logger;
    this.#log = new PluginLog(() => this.#logger);
    this.#fetchBroker = new FetchBroker(options.allowHosts, () => this.#logger, { mayLog: () => this.#log.mayLog() });
    this.supervisor = new Supervisor(
      (config) => this.#spawn(config),
      { ...DEFAULT_RESTART_POLICY, ...options.restart },
      {
        onExit: (reason, willRestart) => this.#exited(reason, willRestart),
        onRestart: (attempt) => {
          this.#count('restart');
          this.#logger.info({ sandbox: { restarts: attempt } }, 'sandboxed plugin restarted');
        },
      },
      () => this.#logger,
    );
  }

  async start(config: JsonValue | undefined): Promise<void> {
    const process = await this.supervisor.start(config);
    this.#shape = process.shape;
    this.#serviceCalls = new ServiceCalls(
      process.shape.metadata.consumes ?? [],
      (callId) => this.#inFlightCalls.get(callId)?.services ?? this.#services,
      this.#log,
      () => this.#logger,
    );
    if (config !== undefined && process.configCheck !== undefined) {
      this.#configCheck = { key: JSON.stringify(config), check: process.configCheck };
    }
    const unsupported = [
      process.shape.endpoints > 0 ? 'HTTP endpoints' : undefined,
      (process.shape.metadata.provides ?? []).length > 0 ? 'providing services' : undefined,
    ].filter((what) => what !== undefined);
    if (unsupported.length > 0) {
      await this.dispose();
      throw new PlugboardError(
        'PLUGIN_SANDBOX_UNSUPPORTED',
        `plugin "${process.shape.metadata.name}" uses ${unsupported.join(' and ')}, which a sandboxed plugin cannot; mark it trusted: true to run it in the server's process`,
        { plugin: process.shape.metadata.name },
      );
    }
    this.plugin = this.#build();
    this.supervisor.setInitializer((next) => this.#replayInitialize(next));
  }

  /** Ends the process for good and releases its cgroup (the proxy is dropped, or never started). */
  async dispose(): Promise<void> {
    this.#fetchBroker.close();
    await this.supervisor.stop();
    await this.#environment?.release();
  }

  /** The proxy object the runtime registers. */
  #build(): AnyPlugin {
    const shape = this.#shape;
    const has = new Set(shape.methods);
    const plugin: Record<string | symbol, unknown> = { metadata: this.#metadata() };
    for (const method of FORWARDED) {
      if (has.has(method)) {
        plugin[method] = (...args: unknown[]) => this.#forward(method, args.slice(0, -1), args.at(-1) as PluginCall);
      }
    }
    for (const method of shape.methods) {
      if (/^on[A-Z]/.test(method)) {
        plugin[method] = (payload: unknown, call: PluginCall) => this.#forward(method, [payload], call);
      }
    }
    if (shape.direction !== undefined) plugin.direction = shape.direction;
    if (shape.streamingWindow !== undefined) plugin.streaming = this.#streaming(shape.streamingWindow);
    // A fail-closed plugin's `concerns` must answer at once; the process cannot. Every request
    // concerns it then: stricter, never looser (documented in docs/SANDBOX.md).
    if (has.has('concerns')) plugin.concerns = () => true;
    plugin.initialize = (config: unknown, call: InitializeCall) => this.#initializeFirst(config, call);
    plugin.shutdown = (call: PluginCall) => this.#shutdown(call);
    plugin.healthCheck = (call: PluginCall) => this.#health(call);
    plugin[SANDBOX_REPORT] = (): IsolationReport => this.report();
    plugin[SANDBOX_DISPOSE] = () => this.dispose();
    return plugin as unknown as AnyPlugin;
  }

  /** What `/plugins` shows of the sandbox. */
  report(): IsolationReport {
    return describeIsolation(this.options, this.#environment, this.supervisor);
  }

  #metadata(): PluginMetadata<unknown> {
    const meta = this.#shape.metadata;
    const consumes: ServiceDependency[] = (meta.consumes ?? []).map(({ id, optional, members }) => {
      const ref = knownRef(id, members);
      return optional ? optionalService(ref) : ref;
    });
    // The proxy records the sandbox's events in the server's metrics.
    if (!consumes.some((dependency) => ('ref' in dependency ? dependency.ref : dependency).id === metricsRef.id)) {
      consumes.push(optionalService(metricsRef));
    }
    return {
      name: meta.name,
      version: meta.version,
      ...(meta.description === undefined ? {} : { description: meta.description }),
      ...(meta.kinds === undefined ? {} : { kinds: meta.kinds as never }),
      ...(meta.dependencies === undefined ? {} : { dependencies: meta.dependencies }),
      ...(meta.priority === undefined ? {} : { priority: meta.priority as never }),
      ...(meta.failurePolicy === undefined ? {} : { failurePolicy: meta.failurePolicy as never }),
      ...(meta.timeoutMs === undefined ? {} : { timeoutMs: meta.timeoutMs }),
      ...(meta.errors === undefined ? {} : { errors: meta.errors as never }),
      consumes,
      ...(this.#shape.hasConfigSchema ? { configSchema: this.#configSchema() } : {}),
    };
  }

  /**
   * The plugin's config schema, as seen from the server: validation must answer synchronously,
   * so the config checked while loading is answered from the process's verdict; any other (a
   * config changed since) passes here and is checked by the plugin's own schema in its process
   * when `initialize` runs, where an invalid one fails the start with the same issues.
   */
  #configSchema(): StandardSchemaV1<unknown, unknown> & StandardJSONSchemaV1<unknown, unknown> {
    const jsonSchema = this.#shape.configJsonSchema ?? {};
    return {
      '~standard': {
        version: 1,
        vendor: 'plugboard-sandbox',
        validate: (value: unknown) => {
          const cached = this.#configCheck;
          if (cached === undefined || cached.key !== JSON.stringify(value ?? {})) return { value };
          if (cached.check.ok) return { value: cached.check.value };
          return { issues: cached.check.issues.map((issue) => ({ message: issue.message, path: issue.path })) };
        },
        jsonSchema: { input: () => jsonSchema, output: () => jsonSchema },
      },
    } as StandardSchemaV1<unknown, unknown> & StandardJSONSchemaV1<unknown, unknown>;
  }

  #streaming(window: number): RemoteStreamingSupport {
    return {
      window,
      remote: true,
      settle: async (pending, context, final, signal) => {
        const process = this.supervisor.process ?? (await this.supervisor.current(signal));
        // The context goes with a stream's first chunk to each process (a restarted one has none).
        const known = this.#contextKeys.get(context);
        const key = known?.process === process ? known.key : this.#nextContextKey++;
        const settle = (sent: ChatContext | null) =>
          process.channel.call(SETTLE, [pending, sent, final, key], { signal }) as Promise<{
            text: string;
            held: number;
          }>;
        if (known?.process === process) {
          try {
            return await settle(null);
          } catch (error) {
            // The process dropped it (more streams at once than it keeps): send it again.
            if (!(error instanceof Error && error.message === UNKNOWN_STREAM_CONTEXT)) throw error;
          }
        }
        const settled = await settle(context);
        this.#contextKeys.set(context, { key, process });
        return settled;
      },
    };
  }

  async #initializeFirst(config: unknown, call: InitializeCall): Promise<void> {
    this.#initConfig = config;
    this.#services = call.services;
    this.#logger = call.logger;
    this.#metrics = call.services.find(metricsRef);
    // What this machine cannot enforce is said at start, not found out by an attacker later.
    const report = this.report();
    if (report.gaps.length > 0) {
      this.#logger.warn(
        { sandbox: { gaps: report.gaps } },
        `the sandbox cannot enforce everything here: ${report.gaps.join('; ')}`,
      );
    } else {
      this.#logger.info({ sandbox: { pid: report.pid, enforcement: report.enforcement } }, 'plugin runs sandboxed');
    }
    if (this.#shape.methods.includes('initialize')) {
      try {
        await this.#forward('initialize', [config], call);
      } catch (error) {
        // A plugin that did not start is not shut down by the runtime: its process must not live on.
        await this.dispose();
        throw error;
      }
    }
    this.#initialized = true;
  }

  /** A replacement process starts where the first one did: its plugin initialized with the same config. */
  async #replayInitialize(process: SandboxProcess): Promise<void> {
    if (!this.#initialized || !this.#shape.methods.includes('initialize')) return;
    const signal = AbortSignal.timeout(this.options.startTimeoutMs ?? 30_000);
    await process.channel.call('initialize', [encodeValue(this.#initConfig)], {
      signal,
      effect: () => undefined,
    });
  }

  async #shutdown(call: PluginCall): Promise<void> {
    try {
      const process = this.supervisor.process;
      if (process !== undefined && this.#shape.methods.includes('shutdown')) {
        await process.channel.call('shutdown', [], { signal: call.signal });
      }
    } finally {
      await this.dispose();
    }
  }

  async #health(call: PluginCall): Promise<HealthReport> {
    const state = this.supervisor.state;
    if (state !== 'running') {
      const last = this.supervisor.lastExit;
      return {
        status: 'unhealthy',
        message: `sandboxed process ${state}${last === undefined ? '' : ` after: ${last.detail}`}`,
        details: { sandbox: this.report() as unknown as Record<string, unknown> },
      };
    }
    if (!this.#shape.methods.includes('healthCheck')) return { status: 'healthy' };
    return (await this.#forward('healthCheck', [], call)) as HealthReport;
  }

  /** One call into the process; a call that overran and whose process stopped answering kills it. */
  async #forward(method: string, args: readonly unknown[], call: PluginCall): Promise<unknown> {
    const process = this.supervisor.process ?? (await this.supervisor.current(call.signal));
    const callId = this.#nextContextKey++;
    this.#inFlightCalls.set(callId, call);
    const onAbort = () => void this.#checkYields(process);
    let effects = 0;
    call.signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await process.channel.call(method, args.map(encodeValue), {
        ...(call.requestId === undefined ? {} : { requestId: call.requestId }),
        signal: call.signal,
        effect: (kind, name, value) => {
          if (++effects > MAX_EFFECTS_PER_CALL) return;
          if (kind === 'header') call.setResponseHeader(name, String(value));
          else call.setResponseData(name, value as JsonValue);
        },
        mayStream: method === 'chat',
      });
    } finally {
      call.signal.removeEventListener('abort', onAbort);
      this.#inFlightCalls.delete(callId);
    }
  }

  /** After a cancelled call: a process whose event loop does not answer within the grace is killed. */
  async #checkYields(process: SandboxProcess): Promise<void> {
    // A process held to a small CPU share by stop/continue cycles may be paused for a while: allow for it.
    const grace = this.options.yieldGraceMs ?? Math.max(1000, Math.ceil(25_000 / this.options.cpuPercent) + 250);
    if (!process.running || (await process.channel.ping(grace))) return;
    process.kill('unresponsive', `a call overran its deadline and the process did not yield within ${grace} ms`);
  }

  async #spawn(config: JsonValue | undefined): Promise<SandboxProcess> {
    // Answers go to the process that asked (during a restart, the supervisor has none "running" yet).
    let spawned: SandboxProcess | undefined;
    const started = await startSandboxProcess(
      this.options,
      config,
      {
        log: (message) => this.#log.line(message),
        serviceCall: (message) => void this.#serviceCalls?.serve(message, (reply) => spawned?.channel.send(reply)),
        fetch: (message) => void this.#fetchBroker.handle(message, (reply) => spawned?.channel.send(reply)),
        stderr: (line) => {
          if (this.#log.mayLog()) this.#logger.warn({ sandbox: { stderr: line } }, 'sandboxed plugin wrote to stderr');
        },
      },
      this.#environment,
    );
    spawned = started.process;
    this.#environment = started.environment;
    return started.process;
  }

  #exited(reason: ExitReason, willRestart: boolean): void {
    this.#count(reason.kind);
    const fields = { sandbox: { exit: reason.kind, code: reason.code, signal: reason.signal, restart: willRestart } };
    const message = `sandboxed plugin's process ended: ${reason.detail}${willRestart ? '; restarting' : '; not restarting (too many crashes): the plugin is down until reloaded'}`;
    if (willRestart) this.#logger.warn(fields, message);
    else this.#logger.error(fields, message);
  }

  #count(event: string): void {
    this.#metrics
      ?.counter<'plugin' | 'event'>({
        name: 'sandbox_events_total',
        help: 'Events of sandboxed plugin processes: exit, crash, memory, cpu, unresponsive, restart',
        labelNames: ['plugin', 'event'],
      })
      .inc({ plugin: this.#shape?.metadata.name ?? 'unknown', event });
  }
}

export { loadOwnServiceRefs } from './service-calls.ts';
