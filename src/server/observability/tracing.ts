import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { CallObserver, ObservedCall } from '../../core/execution/call-observer.ts';
import type { Logger } from '../../core/logger.ts';
import type { ActiveTracing, OpenTelemetrySetup } from './tracing-sdk.ts';

/** Span attribute names of Plugboard's own (the rest are OpenTelemetry semantic conventions). */
export const TRACE_ATTRIBUTES = {
  requestId: 'plugboard.request_id',
  plugin: 'plugboard.plugin.name',
  operation: 'plugboard.plugin.operation',
  outcome: 'plugboard.outcome',
} as const;

/** The default `service.name` of exported spans (`OTEL_SERVICE_NAME` overrides it). */
export const DEFAULT_SERVICE_NAME = 'plugboard';

/** Settings of {@link createTracing}. */
export interface TracingOptions {
  /**
   * Where spans go instead of OTLP, e.g. an `InMemorySpanExporter` in tests. Given, tracing
   * is on whatever the environment says.
   */
  readonly exporter?: SpanExporter;
  /**
   * `batch` (the default for OTLP: spans are sent in the background, in batches) or `simple`
   * (each span is exported as it ends: the default for an `exporter` given here).
   */
  readonly processor?: 'batch' | 'simple';
  /** Where the `OTEL_*` variables are read (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** `service.version` of the spans. */
  readonly serviceVersion?: string;
  /** Told when tracing starts and when exporting fails. */
  readonly logger?: Logger;
}

/** The HTTP server's tracing: one span per request, one child span per plugin call. */
export interface Tracing {
  /**
   * Settles once the OpenTelemetry SDK is loaded and the tracer provider registered (the SDK is
   * imported only when tracing is on); rejects when it cannot be. `createServer` awaits it
   * before it takes requests. Until then requests and calls are not traced.
   */
  readonly ready: Promise<void>;
  /** Where every plugin call is reported; set on the manager with `setCallObserver`. */
  readonly observer: CallObserver;
  /** Where spans are sent (`http://…/v1/traces`), or `exporter` when one was given. */
  readonly destination: string;
  /** Opens the SERVER span of an HTTP request (continuing a W3C `traceparent` the client sent). */
  startRequest(request: FastifyRequest, reply: FastifyReply): void;
  /** Closes it with the response's status. Idempotent. */
  endRequest(request: FastifyRequest, reply: FastifyReply): void;
  /** A route handler that runs with its request's span active (for spans made by plugins themselves). */
  bindHandler(handler: RouteHandlerMethod): RouteHandlerMethod;
  /** Exports every ended span now. */
  flush(): Promise<void>;
  /** Exports what is left and stops (the server calls it when it closes). */
  shutdown(): Promise<void>;
}

/** The OTLP/HTTP traces endpoint configured in `env`, if any. */
export function otlpTracesEndpoint(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const traces = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  if (traces !== undefined) return traces;
  const base = nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  return base === undefined ? undefined : `${base.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * OpenTelemetry tracing of the HTTP server, or `undefined` when it is off. It is on when an
 * `exporter` is given, or when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set — unless `OTEL_SDK_DISABLED=true` or
 * `OTEL_TRACES_EXPORTER=none`. Spans are exported over OTLP/HTTP with JSON bodies (a collector's
 * port 4318), with `service.name` from `OTEL_SERVICE_NAME` (default `plugboard`).
 *
 * Off, it costs nothing: the OpenTelemetry SDK is not even imported, no provider exists and the
 * manager's call observer stays unset. On, the SDK is imported in the background: await `ready`
 * before using it (`createServer` does).
 *
 * @example
 * ```ts
 * const exporter = new InMemorySpanExporter();
 * const server = await createServer({ manager, tracing: { exporter } });
 * ```
 */
export function createTracing(options: TracingOptions = {}): Tracing | undefined {
  const env = options.env ?? process.env;
  if (options.exporter === undefined) {
    if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
    if (env.OTEL_TRACES_EXPORTER?.split(',').some((name) => name.trim() === 'none')) return undefined;
  }
  const url = options.exporter === undefined ? otlpTracesEndpoint(env) : undefined;
  if (options.exporter === undefined && url === undefined) return undefined;
  const protocol = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) ?? nonEmpty(env.OTEL_EXPORTER_OTLP_PROTOCOL);
  if (url !== undefined && protocol !== undefined && protocol !== 'http/json') {
    options.logger?.warn(
      { operation: 'tracing', protocol },
      `OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported: traces are sent as OTLP/HTTP JSON (collector port 4318)`,
    );
  }
  const destination = url ?? 'exporter';
  return new DeferredTracing(destination, {
    url,
    exporter: options.exporter,
    processor: options.processor ?? (options.exporter === undefined ? 'batch' : 'simple'),
    serviceName: nonEmpty(env.OTEL_SERVICE_NAME) ?? DEFAULT_SERVICE_NAME,
    serviceVersion: options.serviceVersion,
    destination,
    logger: options.logger,
  });
}

/**
 * The tracing `createTracing` returns: it imports the OpenTelemetry side (tracing-sdk.ts) and
 * hands every call to it once loaded. Before that nothing is traced (`createServer` waits for
 * `ready`, so a server never takes a request before).
 */
class DeferredTracing implements Tracing {
  readonly destination: string;
  readonly ready: Promise<void>;
  #active: ActiveTracing | undefined;
  /** Stands in for the observer until the SDK is loaded: observes nothing. */
  readonly #idleObserver: CallObserver = { start: (): ObservedCall | undefined => undefined };

  constructor(destination: string, setup: OpenTelemetrySetup) {
    this.destination = destination;
    this.ready = import('./tracing-sdk.ts').then(({ startOpenTelemetry }) => {
      this.#active = startOpenTelemetry(setup);
    });
    // Whoever creates the tracing awaits `ready` (createServer does); a failure is theirs to see,
    // not an unhandled rejection besides.
    this.ready.catch(() => {});
  }

  get observer(): CallObserver {
    return this.#active?.observer ?? this.#idleObserver;
  }

  startRequest(request: FastifyRequest, reply: FastifyReply): void {
    this.#active?.startRequest(request, reply);
  }

  endRequest(request: FastifyRequest, reply: FastifyReply): void {
    this.#active?.endRequest(request, reply);
  }

  bindHandler(handler: RouteHandlerMethod): RouteHandlerMethod {
    if (this.#active !== undefined) return this.#active.bindHandler(handler);
    const deferred = this;
    return function traced(this: unknown, request, reply) {
      const active = deferred.#active;
      if (active === undefined) return handler.call(this as never, request, reply);
      return active.bindHandler(handler).call(this as never, request, reply);
    } as RouteHandlerMethod;
  }

  async flush(): Promise<void> {
    await this.ready;
    await this.#active?.flush();
  }

  async shutdown(): Promise<void> {
    await this.ready;
    await this.#active?.shutdown();
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
