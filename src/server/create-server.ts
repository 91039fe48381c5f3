import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import { createDefaultLogger, type Logger } from '../core/logger.ts';
import type { PluginManager } from '../core/manager/plugin-manager.ts';
import type { AdminControl } from './admin/admin-control.ts';
import { registerAdminRoutes } from './admin/admin-routes.ts';
import { installBodyReading, requestReceiveBackstopMs } from './body-reading.ts';
import { ChatRunner } from './chat-runner.ts';
import { ConnectionTracker } from './connection-tracker.ts';
import { degradedOf } from './degraded.ts';
import { answerFrameworkError, installErrorFormat } from './error-format.ts';
import { toFastifyLogger } from './fastify-logger.ts';
import { plugboardErrorBody } from './http-errors.ts';
import { InFlightRequests } from './in-flight-requests.ts';
import { acceptJsonOfAnyContentType } from './json-body.ts';
import { observabilityApi } from './observability/observability-routes.ts';
import { createServerMetrics } from './observability/server-metrics.ts';
import { createTracing, type TracingOptions } from './observability/tracing.ts';
import { ollamaApi } from './ollama/ollama-routes.ts';
import { openAiApi } from './openai/openai-routes.ts';
import { ENDPOINT_DISPATCHER } from './plugin-endpoints.ts';
import { installRequestLimits } from './request-limits.ts';
import { RouteTable } from './route-table.ts';
import type { ServerContext } from './server-context.ts';
import { serverErrors } from './server-errors.ts';
import { DEFAULT_SERVER_SETTINGS, type ServerSettings } from './settings.ts';
import { registerUiRoutes } from './ui/ui-routes.ts';
import { createWebUi, type WebUiOptions } from './ui/web-ui.ts';
import { PLUGBOARD_VERSION } from './version.ts';

export type { ServerContext } from './server-context.ts';

/** Settings of {@link createServer}. Only `manager` is required. */
export interface ServerOptions {
  /** A running plugin manager. The server does not start or stop it. */
  readonly manager: PluginManager;
  readonly settings?: Partial<ServerSettings>;
  readonly logger?: Logger;
  /** Reload and configuration access for the admin API (see `AdminControl`). */
  readonly admin?: AdminControl;
  /**
   * OpenTelemetry tracing. By default it follows the environment: on when
   * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set (see
   * `createTracing`); give an `exporter` to trace into it (tests), or `false` for no tracing.
   * When on, the server sets the manager's call observer and removes it when it closes.
   */
  readonly tracing?: TracingOptions | false;
  /**
   * The web UI: its page at `GET /` for browsers and its files under `/ui/`, from
   * `ui.folder` (default: this package's dist/ui). `false`: no UI, `GET /` is text only.
   */
  readonly ui?: WebUiOptions | false;
}

/** A Plugboard HTTP server. */
export interface PlugboardServer {
  readonly app: FastifyInstance;
  readonly context: ServerContext;
  /** Starts listening; resolves with the base URL (`http://127.0.0.1:8080`). */
  listen(): Promise<string>;
  /**
   * Graceful stop: refuse new requests, let in-flight requests and open streams finish up
   * to `shutdownTimeoutMs`, then abort what is left. Resolves `true` when everything
   * finished in time. The plugin manager is left running (its owner shuts it down).
   */
  close(): Promise<boolean>;
}

/**
 * Builds the HTTP server: the OpenAI- and Ollama-compatible chat APIs, observability
 * (`/plugins`, `/health`, `/metrics`), the web UI (`/` for browsers, `/ui/`) and, with an
 * admin token, the admin API — all on one plugin manager.
 *
 * @example
 * ```ts
 * const manager = await startManager([createScriptedBackend()]);
 * const server = await createServer({ manager, settings: { port: 0 } });
 * const url = await server.listen();
 * // … POST `${url}/v1/chat/completions` …
 * await server.close();
 * await manager.shutdown();
 * ```
 */
export async function createServer(options: ServerOptions): Promise<PlugboardServer> {
  const settings: ServerSettings = { ...DEFAULT_SERVER_SETTINGS, ...options.settings };
  const logger = options.logger ?? createDefaultLogger();
  const inFlight = new InFlightRequests(settings.requestTimeoutMs);
  let shuttingDown = false;
  const metrics = createServerMetrics(options.manager, PLUGBOARD_VERSION);
  const tracing =
    options.tracing === false
      ? undefined
      : createTracing({ serviceVersion: PLUGBOARD_VERSION, logger, ...options.tracing });
  if (tracing !== undefined) {
    await tracing.ready;
    options.manager.setCallObserver(tracing.observer);
  }
  const routes = new RouteTable();
  const context: ServerContext = {
    manager: options.manager,
    chat: new ChatRunner(options.manager, metrics, inFlight),
    routes,
    metrics,
    settings,
    logger,
    admin: options.admin,
    inFlight,
    shuttingDown: () => shuttingDown,
    version: PLUGBOARD_VERSION,
    startedAt: new Date(),
    tracing,
    ...(options.ui === false ? {} : { ui: createWebUi(options.ui ?? {}, logger) }),
  };

  const requestIds = new RequestIds();
  const app = Fastify({
    loggerInstance: toFastifyLogger(logger),
    // One line per request, written in onResponse below in the shape of the spec's §11.2.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    bodyLimit: settings.bodyLimitBytes,
    requestIdHeader: false,
    genReqId: requestIds.next,
    // Keep-alive connections with no request in flight close at once on shutdown.
    forceCloseConnections: 'idle',
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true },
    // Router errors (an over-long path parameter, bad percent-encoding) in the API's own format.
    frameworkErrors: answerFrameworkError,
    // Bodies are timed by installBodyReading; Node's whole-request timer is only a backstop.
    requestTimeout: requestReceiveBackstopMs(settings),
    schemaController: { compilersFactory: SCHEMA_COMPILERS_ON_DEMAND },
  });
  const connections = new ConnectionTracker(app.server);
  app.addHook('onRoute', (route) => {
    // The plugins' endpoint dispatcher takes every method: its own lookup says which apply.
    if (!(route.config as Record<symbol, unknown> | undefined)?.[ENDPOINT_DISPATCHER])
      routes.add(route.method, route.url);
    // Handlers run with their request's span active (spans plugins make join the trace).
    if (tracing !== undefined) route.handler = tracing.bindHandler(route.handler);
  });

  acceptJsonOfAnyContentType(app);
  installBodyReading(app, settings);
  installRequestLimits(app, settings);

  // Callback-style hooks: an async hook costs a promise per request on every request.
  app.addHook('onRequest', (request, reply, done) => {
    tracing?.startRequest(request, reply);
    reply.header('x-request-id', request.id);
    requestIds.releaseWhenDone(request.id, reply.raw);
    if (shuttingDown) {
      reply.header('connection', 'close');
      done(serverErrors.SERVER_SHUTTING_DOWN('The server is shutting down and takes no new requests'));
      return;
    }
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const durationMs = reply.elapsedTime;
    const status = reply.statusCode;
    metrics.httpRequest(request.method, route, status, durationMs / 1000);
    tracing?.endRequest(request, reply);
    const level = status >= 500 ? 'warn' : 'info';
    if (isLevelEnabled(request.log, level)) {
      request.log[level](
        {
          operation: 'http',
          method: request.method,
          route,
          status,
          duration_ms: Math.round(durationMs * 100) / 100,
          success: status < 400,
          ...degradedField(request),
        },
        status >= 500 ? 'request failed' : 'request completed',
      );
    }
    done();
  });

  // Each API is an encapsulated plugin with its own prefix and error format; anything else
  // (unknown paths outside them) answers in Plugboard's own format.
  installErrorFormat(app, plugboardErrorBody, routes);
  await app.register(openAiApi, { prefix: '/v1', context });
  await app.register(ollamaApi, { context });
  await app.register(observabilityApi, { context });
  if (context.ui !== undefined) await registerUiRoutes(app, context.ui, routes);
  registerAdminRoutes(app, context, settings.adminToken);
  await app.ready();

  let listening: string | undefined;
  return {
    app,
    context,
    async listen() {
      listening = await app.listen({ host: settings.host, port: settings.port });
      logger.info({ operation: 'listen', url: listening }, `Plugboard listening on ${listening}`);
      return listening;
    },
    async close() {
      shuttingDown = true;
      const closing = app.close();
      // close() drops the connections idle at that moment; a connection whose in-flight
      // response ends later would linger as keep-alive until its timeout. Sweep them.
      connections.closeIdle();
      const sweeper = setInterval(() => connections.closeIdle(), 25);
      let timer: NodeJS.Timeout | undefined;
      const finished = await Promise.race([
        closing.then(() => true),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), settings.shutdownTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      clearInterval(sweeper);
      inFlight.close();
      if (!finished) {
        logger.warn(
          { operation: 'shutdown', timeout_ms: settings.shutdownTimeoutMs },
          'shutdown deadline reached: aborting the requests still running',
        );
        // Each aborted stream writes its in-stream error and ends; a reply not yet started gets
        // its 503. Only then (or after a short grace) are the connections closed: closing them
        // at once would reset every stream before its error reached the client.
        await inFlight.abortAll(
          serverErrors.SERVER_SHUTTING_DOWN('The server shut down before the response was complete'),
        );
        app.server.closeAllConnections();
        await closing;
      }
      if (tracing !== undefined) {
        if (options.manager.callObserver === tracing.observer) options.manager.setCallObserver(undefined);
        // Sends the spans still buffered: the last requests' traces are not lost.
        await tracing.shutdown().catch((error: unknown) => {
          logger.warn({ operation: 'shutdown', cause: String(error) }, 'could not export the last traces');
        });
      }
      return finished;
    },
  };
}

/**
 * Fastify's JSON-schema compilers (Ajv, fast-json-stringify), loaded only if a route ever has a
 * schema. Plugboard's routes validate with zod and have none, yet Fastify would load both when
 * the server is created: ~90 ms of start-up. Required from Fastify's folder, as Fastify does.
 */
const SCHEMA_COMPILERS_ON_DEMAND = {
  buildValidator: (schemas: unknown, options: unknown) => fromFastify('@fastify/ajv-compiler')()(schemas, options),
  buildSerializer: (schemas: unknown, options: unknown) =>
    fromFastify('@fastify/fast-json-stringify-compiler')()(schemas, options),
} as NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

/** A compilers package as Fastify requires it: a factory of the builder Fastify calls. */
function fromFastify(name: string): () => (schemas: unknown, options: unknown) => unknown {
  return createRequire(createRequire(import.meta.url).resolve('fastify'))(name);
}

/** pino's `isLevelEnabled`, where the logger has it (a silent logger skips building the line). */
function isLevelEnabled(log: FastifyBaseLogger, level: 'info' | 'warn'): boolean {
  const check = (log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
  return check === undefined || check.call(log, level);
}

/** The plugins a response went without, for its log line (see degraded.ts). */
function degradedField(request: FastifyRequest): { degraded?: readonly string[] } {
  const degraded = degradedOf(request);
  return degraded === undefined ? {} : { degraded };
}

/**
 * Request ids: a client's `x-request-id` when it is a sane token and no request in flight has
 * it, else a new UUID. Plugins key per-request state by `context.requestId` (a cache's pending
 * entry, a counter's estimate): two concurrent requests sharing one, by accident or on purpose,
 * must not read each other's. The client learns the id used from the response's `x-request-id`.
 */
class RequestIds {
  readonly #inFlight = new Set<string>();

  readonly next = (request: IncomingMessage): string => {
    const given = request.headers['x-request-id'];
    const id =
      typeof given === 'string' && /^[\w.:@/+=-]{1,128}$/.test(given) && !this.#inFlight.has(given)
        ? given
        : randomUUID();
    // Requests Fastify answers before any hook (a malformed URL) never release theirs: the cap
    // keeps a flood of them from growing the set. Clearing forgets the ids in flight, so for a
    // while one of them could be adopted twice: the price of bounded memory, paid only then.
    if (this.#inFlight.size >= MAX_TRACKED_REQUEST_IDS) this.#inFlight.clear();
    this.#inFlight.add(id);
    return id;
  };

  /** Frees the id once its response is over: ended, or its connection closed. */
  releaseWhenDone(id: string, response: ServerResponse): void {
    response.once('close', () => this.#inFlight.delete(id));
  }
}

/** Far above the requests one server has in flight (server.limits bound them much lower). */
const MAX_TRACKED_REQUEST_IDS = 100_000;
