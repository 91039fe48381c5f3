/**
 * The OpenTelemetry side of the server's tracing: the SDK (provider, exporter, processors) and
 * the spans. Imported by `createTracing` only when tracing is on — the SDK and its exporter cost
 * ~100 ms of start-up and several MB to load, and most servers run without a collector.
 */
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
import { TRACE_ATTRIBUTES, type Tracing } from './tracing.ts';

/** What {@link startOpenTelemetry} needs: the options of `createTracing`, resolved. */
export interface OpenTelemetrySetup {
  /** The OTLP/HTTP traces URL, or undefined when `exporter` is given. */
  readonly url: string | undefined;
  readonly exporter: SpanExporter | undefined;
  readonly processor: 'batch' | 'simple';
  readonly serviceName: string;
  readonly serviceVersion: string | undefined;
  readonly destination: string;
  readonly logger: Logger | undefined;
}

/** The server's tracing, working: what `createTracing` hands its calls to once this module is loaded. */
export type ActiveTracing = Omit<Tracing, 'ready'>;

/**
 * Creates the tracer provider (OTLP/HTTP exporter, batch or simple span processor), registers it
 * globally and returns the server's tracing on it.
 */
export function startOpenTelemetry(setup: OpenTelemetrySetup): ActiveTracing {
  const exporter = reportingFailures(
    setup.exporter ?? new OTLPTraceExporter({ url: setup.url! }),
    setup.logger,
    setup.destination,
  );
  const processor: SpanProcessor =
    setup.processor === 'batch' ? new BatchSpanProcessor(exporter) : new SimpleSpanProcessor(exporter);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: setup.serviceName,
      ...(setup.serviceVersion === undefined ? {} : { [ATTR_SERVICE_VERSION]: setup.serviceVersion }),
    }),
    spanProcessors: [processor],
  });
  // Registers the AsyncLocalStorage context manager and the W3C propagator, and makes this
  // the global provider, so spans that plugins make with @opentelemetry/api join the same
  // traces. In a process that already has a global provider (a second server, an embedder's
  // SDK) the globals stay as they are; Plugboard's own spans use this provider either way.
  provider.register();
  setup.logger?.info(
    { operation: 'tracing', destination: setup.destination },
    `tracing on: spans go to ${setup.destination}`,
  );
  return new ServerTracing(provider, provider.getTracer('plugboard', setup.serviceVersion), setup.destination);
}

/** Operations that call out to a model server: their spans are CLIENT spans. */
const BACKEND_OPERATIONS = new Set(['chat', 'chat:stream', 'embed', 'listModels']);

/** One HTTP request's span and the context plugin spans hang from. */
interface RequestTrace {
  readonly span: Span;
  readonly context: Context;
  readonly requestId: string;
  ended: boolean;
}

class ServerTracing implements ActiveTracing {
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
