import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions';
import type { FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { CallObserver, ObservedCall, ObservedOutcome } from '../../core/execution/call-observer.ts';
import type { Logger } from '../../core/logger.ts';

/** Span attribute names of Plugboard's own (the rest are OpenTelemetry semantic conventions). */
export const TRACE_ATTRIBUTES = {
  requestId: 'plugboard.request_id',
  plugin: 'plugboard.plugin.name',
  operation: 'plugboard.plugin.operation',
  outcome: 'plugboard.outcome',
} as const;

/** The default `service.name` of exported spans (`OTEL_SERVICE_NAME` overrides it). */
export const DEFAULT_SERVICE_NAME = 'plugboard';

/** Operations that call out to a model server: their spans are CLIENT spans. */
const BACKEND_OPERATIONS = new Set(['chat', 'chat:stream', 'embed', 'listModels']);

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
 * Off, it costs nothing: no provider exists and the manager's call observer stays unset.
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
  const exporter = reportingFailures(
    options.exporter ?? new OTLPTraceExporter({ url: url! }),
    options.logger,
    destination,
  );
  const processor: SpanProcessor =
    (options.processor ?? (options.exporter === undefined ? 'batch' : 'simple')) === 'batch'
      ? new BatchSpanProcessor(exporter)
      : new SimpleSpanProcessor(exporter);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: nonEmpty(env.OTEL_SERVICE_NAME) ?? DEFAULT_SERVICE_NAME,
      ...(options.serviceVersion === undefined ? {} : { [ATTR_SERVICE_VERSION]: options.serviceVersion }),
    }),
    spanProcessors: [processor],
  });
  // Registers the AsyncLocalStorage context manager and the W3C propagator, and makes this
  // the global provider, so spans that plugins make with @opentelemetry/api join the same
  // traces. In a process that already has a global provider (a second server, an embedder's
  // SDK) the globals stay as they are; Plugboard's own spans use this provider either way.
  provider.register();
  options.logger?.info({ operation: 'tracing', destination }, `tracing on: spans go to ${destination}`);
  return new ServerTracing(provider, provider.getTracer('plugboard', options.serviceVersion), destination);
}

/** One HTTP request's span and the context plugin spans hang from. */
interface RequestTrace {
  readonly span: Span;
  readonly context: Context;
  readonly requestId: string;
  ended: boolean;
}

class ServerTracing implements Tracing {
  readonly observer: CallObserver;
  readonly destination: string;
  readonly #provider: NodeTracerProvider;
  readonly #tracer: Tracer;
  readonly #requests = new WeakMap<FastifyRequest, RequestTrace>();
  /**
   * Open request spans by request id: a plugin call names its request by id, and that is
   * how its span finds its parent even where the async context was lost (a stream read in a
   * socket's callback, a hook run from a background queue).
   */
  readonly #byRequestId = new Map<string, RequestTrace>();

  constructor(provider: NodeTracerProvider, tracer: Tracer, destination: string) {
    this.#provider = provider;
    this.#tracer = tracer;
    this.destination = destination;
    this.observer = { start: (plugin, operation, requestId) => this.#startCall(plugin, operation, requestId) };
  }

  startRequest(request: FastifyRequest, reply: FastifyReply): void {
    const route = request.routeOptions.url;
    const path = request.url.split('?')[0] ?? request.url;
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = this.#tracer.startSpan(
      route === undefined ? request.method : `${request.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: request.method,
          [ATTR_URL_PATH]: path,
          [ATTR_URL_SCHEME]: request.protocol,
          [TRACE_ATTRIBUTES.requestId]: request.id,
          ...(route === undefined ? {} : { [ATTR_HTTP_ROUTE]: route }),
        },
      },
      parent,
    );
    const entry: RequestTrace = { span, context: trace.setSpan(parent, span), requestId: request.id, ended: false };
    this.#requests.set(request, entry);
    this.#byRequestId.set(request.id, entry);
    // onResponse does not run for a client that went away before the response was sent.
    reply.raw.once('close', () => this.#end(entry, reply.raw.writableFinished ? reply.statusCode : undefined));
  }

  endRequest(request: FastifyRequest, reply: FastifyReply): void {
    const entry = this.#requests.get(request);
    if (entry !== undefined) this.#end(entry, reply.statusCode);
  }

  bindHandler(handler: RouteHandlerMethod): RouteHandlerMethod {
    const requests = this.#requests;
    return function traced(this: unknown, request, reply) {
      const entry = requests.get(request);
      if (entry === undefined) return handler.call(this as never, request, reply);
      return context.with(entry.context, handler, this as never, request, reply);
    } as RouteHandlerMethod;
  }

  flush(): Promise<void> {
    return this.#provider.forceFlush();
  }

  shutdown(): Promise<void> {
    for (const entry of this.#byRequestId.values()) this.#end(entry, undefined);
    return this.#provider.shutdown();
  }

  /** `status` undefined: the client left before the response was complete. */
  #end(entry: RequestTrace, status: number | undefined): void {
    if (entry.ended) return;
    entry.ended = true;
    if (this.#byRequestId.get(entry.requestId) === entry) this.#byRequestId.delete(entry.requestId);
    const span = entry.span;
    if (status === undefined) {
      span.setAttribute(ATTR_ERROR_TYPE, 'aborted');
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client went away before the response was complete' });
    } else {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      // Semantic conventions: a server span is an error for 5xx only (4xx is the client's).
      if (status >= 500) {
        span.setAttribute(ATTR_ERROR_TYPE, String(status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
    }
    span.end();
  }

  #startCall(plugin: string, operation: string, requestId: string | undefined): ObservedCall {
    const parent =
      (requestId === undefined ? undefined : this.#byRequestId.get(requestId)?.context) ?? context.active();
    const span = this.#tracer.startSpan(
      `${operation} ${plugin}`,
      {
        kind: BACKEND_OPERATIONS.has(operation) ? SpanKind.CLIENT : SpanKind.INTERNAL,
        attributes: {
          [TRACE_ATTRIBUTES.plugin]: plugin,
          [TRACE_ATTRIBUTES.operation]: operation,
          ...(requestId === undefined ? {} : { [TRACE_ATTRIBUTES.requestId]: requestId }),
        },
      },
      parent,
    );
    return {
      end(outcome: ObservedOutcome, errorCode?: string) {
        span.setAttribute(TRACE_ATTRIBUTES.outcome, outcome);
        if (errorCode !== undefined) span.setAttribute(ATTR_ERROR_TYPE, errorCode);
        if (outcome === 'failure' || outcome === 'timeout')
          span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode });
        span.end();
      },
    };
  }
}

/** ExportResultCode.SUCCESS of @opentelemetry/core. */
const EXPORT_SUCCESS = 0;

/** Logs when exporting starts failing (collector down …) and when it works again: not every batch. */
function reportingFailures(exporter: SpanExporter, logger: Logger | undefined, destination: string): SpanExporter {
  if (logger === undefined) return exporter;
  let failing = false;
  return {
    export(spans, done) {
      exporter.export(spans, (result) => {
        const failed = result.code !== EXPORT_SUCCESS;
        if (failed && !failing) {
          logger.warn(
            { operation: 'tracing', destination, cause: String(result.error?.message ?? result.error) },
            'could not export traces (spans are dropped until the collector answers)',
          );
        } else if (!failed && failing) {
          logger.info({ operation: 'tracing', destination }, 'exporting traces again');
        }
        failing = failed;
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
