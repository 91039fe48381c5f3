/*
 * The sandboxed side: loads one plugin and answers the server's calls to it. Runs in the
 * plugin's own process (see child-main.ts), under the permission model the launcher set; all it
 * holds is the plugin and what the plugin's calls are given (a PluginCall whose logger, services
 * and response effects are messages to the server).
 */

import { PlugboardError } from '../../core/errors/plugboard-error.ts';
import type { Logger } from '../../core/logger.ts';
import type { AnyPlugin } from '../../core/plugin/kinds.ts';
import type { InitializeCall, PluginCall } from '../../core/plugin/plugin-call.ts';
import { dependencyOf, type ServiceAccess, type ServiceRef } from '../../core/services/service-ref.ts';
import type { JsonValue } from '../../core/stores/json.ts';
import type { ChildMessage, ConfigCheck, ParentMessage, PluginShape } from '../protocol.ts';
import { decodeAnswer, encodeAnswer, fromWireError, toWireError } from '../wire-values.ts';
import { configJsonSchemaOf } from './config-json-schema.ts';
import { StreamContexts } from './stream-contexts.ts';

/** Sends one message to the server. */
export type Send = (message: ChildMessage) => void;

/** Methods the server may call, and how many arguments each takes before the call object. */
const CALLABLE: Readonly<Record<string, number>> = {
  initialize: 1,
  shutdown: 0,
  healthCheck: 0,
  processMessage: 2,
  chat: 1,
  listModels: 0,
  embed: 1,
  extend: 1,
  continueConversation: 2,
  processRequest: 1,
  answerRequest: 1,
  processResponse: 2,
};

/** The streaming transform's operation: settle `pending` and transform what settled, in one call. */
export const SETTLE = 'streaming.settle';

export class ChildHost {
  #plugin: AnyPlugin | undefined;
  readonly #running = new Map<number, AbortController>();
  readonly #serviceCalls = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #nextServiceCall = 1;
  readonly #contexts = new StreamContexts();
  readonly #logger: Logger;

  constructor(private readonly send: Send) {
    this.#logger = forwardingLogger(send, {});
  }

  /** The plugin, once loaded (for the fetch broker and tests). */
  get plugin(): AnyPlugin | undefined {
    return this.#plugin;
  }

  /** What the server needs to know of the loaded plugin. */
  describe(plugin: AnyPlugin): PluginShape {
    this.#plugin = plugin;
    const metadata = plugin.metadata;
    const methods: string[] = [];
    for (const name of Object.keys(CALLABLE)) if (typeof memberOf(plugin, name) === 'function') methods.push(name);
    for (const name of allMembers(plugin)) {
      if (/^on[A-Z]/.test(name) && typeof memberOf(plugin, name) === 'function') methods.push(name);
    }
    if (typeof memberOf(plugin, 'concerns') === 'function') methods.push('concerns');
    return {
      metadata: {
        name: metadata.name,
        version: metadata.version,
        ...(metadata.description === undefined ? {} : { description: metadata.description }),
        ...(metadata.kinds === undefined ? {} : { kinds: [...metadata.kinds] }),
        ...(metadata.dependencies === undefined ? {} : { dependencies: { ...metadata.dependencies } }),
        ...(metadata.priority === undefined ? {} : { priority: metadata.priority }),
        ...(metadata.failurePolicy === undefined ? {} : { failurePolicy: metadata.failurePolicy }),
        ...(metadata.timeoutMs === undefined ? {} : { timeoutMs: metadata.timeoutMs }),
        ...(metadata.consumes === undefined
          ? {}
          : {
              consumes: metadata.consumes.map((dependency) => {
                const { ref, optional } = dependencyOf(dependency);
                return { id: ref.id, optional, members: [...ref.members] };
              }),
            }),
        ...(metadata.provides === undefined ? {} : { provides: metadata.provides.map((ref) => ref.id) }),
        ...(metadata.errors === undefined ? {} : { errors: JSON.parse(JSON.stringify(metadata.errors)) }),
      },
      methods,
      ...(plugin.direction === undefined ? {} : { direction: plugin.direction }),
      ...(plugin.streaming === undefined ? {} : { streamingWindow: plugin.streaming.window }),
      endpoints: plugin.endpoints?.length ?? 0,
      configJsonSchema: configJsonSchemaOf(metadata.configSchema),
      hasConfigSchema: metadata.configSchema !== undefined,
    };
  }

  /** Validates a config with the plugin's own schema. */
  checkConfig(config: JsonValue): ConfigCheck {
    const schema = this.#plugin?.metadata.configSchema;
    if (schema === undefined) return { ok: true, value: config };
    const outcome = schema['~standard'].validate(config ?? {});
    if (outcome instanceof Promise) {
      return { ok: false, issues: [{ path: [], message: 'asynchronous config schemas are not supported' }] };
    }
    if (outcome.issues === undefined) return { ok: true, value: outcome.value as JsonValue };
    return {
      ok: false,
      issues: outcome.issues.map((issue) => ({
        path: (issue.path ?? []).map((segment) =>
          typeof segment === 'object' ? (segment.key as string | number) : (segment as string | number),
        ),
        message: issue.message,
      })),
    };
  }

  /**
   * The settings `initialize` is given, their `config` checked by the plugin's own schema here
   * (the server could only check the config it loaded with; a changed one is checked now).
   */
  #validatedSettings(settings: unknown): unknown {
    if (typeof settings !== 'object' || settings === null) return settings;
    const check = this.checkConfig(((settings as { config?: unknown }).config ?? {}) as JsonValue);
    if (!check.ok) {
      const issues = check.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
      throw new PlugboardError(
        'PLUGIN_CONFIG_INVALID',
        `Plugin "${this.#plugin?.metadata.name}" has invalid config: ${issues.join('; ')}`,
        {
          details: { issues },
        },
      );
    }
    return Object.freeze({ ...settings, config: check.value });
  }

  /** Handles one message from the server. */
  receive(message: ParentMessage): void {
    switch (message.t) {
      case 'call':
        void this.#call(message.id, message.method, message.args.map(decodeAnswer), message.requestId);
        return;
      case 'cancel':
        this.#running.get(message.id)?.abort(new PlugboardError('REQUEST_ABORTED', 'the call was cancelled'));
        return;
      case 'ping':
        this.send({ t: 'pong', id: message.id });
        return;
      case 'check-config':
        this.send({ t: 'config-checked', id: message.id, check: this.checkConfig(message.config) });
        return;
      case 'service-result': {
        const pending = this.#serviceCalls.get(message.id);
        if (pending === undefined) return;
        this.#serviceCalls.delete(message.id);
        if (message.ok) pending.resolve(decodeAnswer(message.value));
        else pending.reject(fromWireError(message.error ?? { message: 'service call failed' }));
        return;
      }
      default:
        return;
    }
  }

  async #call(id: number, method: string, args: readonly unknown[], requestId: string | undefined): Promise<void> {
    const plugin = this.#plugin;
    const controller = new AbortController();
    this.#running.set(id, controller);
    try {
      if (plugin === undefined) throw new PlugboardError('PLUGIN_SANDBOX_UNAVAILABLE', 'no plugin loaded');
      const call = this.#pluginCall(id, plugin.metadata.name, requestId, controller.signal, method === 'initialize');
      let value: unknown;
      if (method === SETTLE) value = this.#settle(plugin, args);
      else if (method === 'concerns') value = plugin.concerns?.(args[0] as never) ?? true;
      else {
        const arity = CALLABLE[method] ?? (/^on[A-Z]/.test(method) ? 1 : undefined);
        const fn = arity === undefined ? undefined : memberOf(plugin, method);
        if (typeof fn !== 'function')
          throw new PlugboardError('PLUGIN_CALL_FAILED', `the plugin has no method ${method}`);
        const given = method === 'initialize' ? [this.#validatedSettings(args[0])] : args.slice(0, arity);
        value = await (fn as (...a: unknown[]) => unknown).call(plugin, ...given, call);
      }
      if (isAsyncIterable(value)) {
        this.send({ t: 'result', id, ok: true, stream: true });
        await this.#stream(id, value, controller.signal);
        return;
      }
      this.send({ t: 'result', id, ok: true, value: encodeAnswer(value) });
    } catch (error) {
      this.send({ t: 'result', id, ok: false, error: toWireError(error) });
    } finally {
      this.#running.delete(id);
    }
  }

  /** The windowed transform of one chunk: how much to hold back, and the rest transformed. */
  #settle(plugin: AnyPlugin, args: readonly unknown[]): { text: string; held: number } {
    const [pending, contextOrKey, final, key] = args as [string, unknown, boolean, number];
    const streaming = plugin.streaming;
    if (streaming === undefined || 'remote' in streaming)
      throw new PlugboardError('PLUGIN_CALL_FAILED', 'the plugin has no streaming support');
    const context = this.#contexts.resolve(key, contextOrKey, final);
    // Dropped (more streams at once than kept): the server sends it again (see sandboxed-plugin.ts).
    if (context === undefined) throw new PlugboardError('PLUGIN_CALL_FAILED', 'unknown stream context');
    let held = 0;
    if (!final) {
      const window = Math.min(streaming.window, pending.length);
      let asked = window;
      if (streaming.holdBack !== undefined) {
        try {
          const value = streaming.holdBack(pending);
          asked = Number.isInteger(value) ? Math.max(0, Math.min(value, window)) : window;
        } catch {
          asked = window; // a broken holdBack only costs latency, as in process
        }
      }
      held = asked;
    }
    const settled = pending.slice(0, pending.length - held);
    const text = settled === '' ? '' : streaming.transform(settled, context as never, final);
    if (typeof text !== 'string')
      throw new PlugboardError('PLUGIN_INVALID_RESULT', 'streaming.transform must return a string');
    return { text, held };
  }

  async #stream(id: number, stream: AsyncIterable<unknown>, signal: AbortSignal): Promise<void> {
    const iterator = stream[Symbol.asyncIterator]();
    try {
      while (!signal.aborted) {
        const next = await iterator.next();
        if (next.done) break;
        this.send({ t: 'chunk', id, value: encodeAnswer(next.value) });
      }
      this.send({ t: 'end', id });
    } catch (error) {
      this.send({ t: 'stream-error', id, error: toWireError(error) });
    } finally {
      if (signal.aborted) await iterator.return?.().catch(() => undefined);
    }
  }

  #pluginCall(
    id: number,
    plugin: string,
    requestId: string | undefined,
    signal: AbortSignal,
    initializing: boolean,
  ): InitializeCall {
    const send = this.send;
    const host = this;
    let logger: Logger | undefined;
    let services: ServiceAccess | undefined;
    // Logger and services are made on first use: most calls touch neither, and a call's cost is
    // what a sandboxed plugin pays per message on top of the IPC round trip.
    const call: PluginCall = {
      plugin,
      requestId,
      signal,
      get logger() {
        logger ??= requestId === undefined ? host.#logger : host.#logger.child({ request_id: requestId });
        return logger;
      },
      get services() {
        services ??= host.#services(id);
        return services;
      },
      setResponseHeader(name, value) {
        send({ t: 'effect', id, kind: 'header', name, value });
        return true;
      },
      setResponseData(key, value) {
        send({ t: 'effect', id, kind: 'data', name: key, value });
        return true;
      },
    };
    if (!initializing) return call as InitializeCall;
    return {
      plugin,
      requestId,
      signal,
      logger: call.logger,
      services: call.services,
      setResponseHeader: call.setResponseHeader,
      setResponseData: call.setResponseData,
      provide() {
        throw new PlugboardError('PLUGIN_SANDBOX_UNSUPPORTED', 'a sandboxed plugin cannot provide services');
      },
    };
  }

  /** Services as proxies: each method call is a message to the server, answered asynchronously. */
  #services(callId: number): ServiceAccess {
    const proxyOf = (ref: ServiceRef<unknown>): unknown =>
      new Proxy(
        {},
        {
          get: (_target, member) => {
            if (typeof member !== 'string' || member === 'then') return undefined;
            return (...args: unknown[]) =>
              new Promise((resolve, reject) => {
                const id = this.#nextServiceCall++;
                this.#serviceCalls.set(id, { resolve, reject });
                this.send({ t: 'service-call', id, callId, service: ref.id, method: member, args });
              });
          },
        },
      );
    return {
      get: <T>(ref: ServiceRef<T>) => proxyOf(ref as ServiceRef<unknown>) as T,
      find: <T>(ref: ServiceRef<T>) => proxyOf(ref as ServiceRef<unknown>) as T,
    };
  }
}

/** A Logger whose lines go to the server's log, under the plugin's name. */
function forwardingLogger(send: Send, bindings: Record<string, unknown>): Logger {
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (fields: Record<string, unknown>, msg?: string): void => {
      let safe: Record<string, unknown>;
      try {
        safe = JSON.parse(JSON.stringify({ ...bindings, ...fields }, errorsAsData)) as Record<string, unknown>;
      } catch {
        safe = { ...bindings, fields: 'unserializable' };
      }
      send({ t: 'log', level, fields: safe, msg: msg ?? '' });
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => forwardingLogger(send, { ...bindings, ...more }),
  };
}

function errorsAsData(_key: string, value: unknown): unknown {
  return value instanceof Error ? { message: value.message, name: value.name, stack: value.stack } : value;
}

function memberOf(plugin: object, name: string): unknown {
  return (plugin as Record<string, unknown>)[name];
}

/** Own and inherited member names (a class plugin's methods live on its prototype). */
function allMembers(plugin: object): string[] {
  const names = new Set<string>();
  for (
    let object: object | null = plugin;
    object !== null && object !== Object.prototype;
    object = Object.getPrototypeOf(object)
  ) {
    for (const name of Object.getOwnPropertyNames(object)) names.add(name);
  }
  return [...names];
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
