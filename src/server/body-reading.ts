import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PlugboardError } from '../core/errors/plugboard-error.ts';
import { ACCEPTED_ENCODINGS, contentCodings, decoderFor, invalidEncoding } from './body-decoding.ts';
import { serverErrors } from './server-errors.ts';
import type { ServerSettings } from './settings.ts';

/**
 * How request bodies are received (issue #10): every body with content is read through one
 * stream that Fastify's JSON parser consumes (a `preParsing` hook), which
 *
 * - **decodes** its `Content-Encoding` (gzip, deflate, br) as it arrives, and counts the
 *   decoded bytes: past `bodyLimitBytes` the decoder is destroyed and the answer is 413, so a
 *   zip bomb costs at most the limit. An unknown coding is a 415 naming it;
 * - **times it**: the body must be in within `bodyTimeoutMs` of the headers, plus a second
 *   per `bodyMinRateBytes` received (mod_reqtimeout's rule: a body that keeps the minimum
 *   rate is never cut, a trickle is). Past that, 408 in the route's error format and the
 *   connection is closed. Only the body is timed: the response may take as long as it takes;
 * - **caps how many are received at once** (`maxPendingBodies`): when full, the slowest
 *   upload that has run a second and is below the minimum rate is cut (408) to make room;
 *   if none is, the newcomer is taken *on probation*: its body must be in within
 *   {@link PROBATION_MS}, or it gets 503 with `Retry-After`. So a flood of trickling uploads
 *   cannot hold the slots against clients that send their bodies at a normal pace — a
 *   normal body is in within milliseconds, also while trickling uploads fill every slot.
 *
 * Any response sent while the client is still sending its body (an early error, a 401, a
 * body on a GET) carries `Connection: close`, so that the rest is not read — at whatever
 * pace the client likes — to keep the connection alive.
 *
 * Cheap on the common path (a body that arrives with its headers): no timer per request (one
 * sweep for all pending bodies, like `InFlightRequests`), and a plain body is handed on by a
 * bare Readable, not a Transform and a pipe.
 */
export function installBodyReading(app: FastifyInstance, settings: ServerSettings): void {
  const pending = new PendingBodies(settings);
  app.addHook('preParsing', (request, reply, payload, done) => {
    const raw = request.raw;
    if (!hasBody(raw)) {
      done(null, payload);
      return;
    }
    let codings: string[];
    try {
      codings = contentCodings(raw.headers['content-encoding']);
    } catch (error) {
      reply.header('accept-encoding', ACCEPTED_ENCODINGS);
      reply.header('connection', 'close');
      done(error as PlugboardError);
      return;
    }
    const now = performance.now();
    const admitted = pending.makeRoom(now) ? 'slot' : pending.canProbate() ? 'probation' : undefined;
    if (admitted === undefined) {
      reply.header('retry-after', String(pending.retryAfterSeconds(now)));
      reply.header('connection', 'close');
      done(
        serverErrors.TOO_MANY_UPLOADS(
          `The server is receiving ${pending.size} request bodies, as many as it takes at once; retry shortly`,
        ),
      );
      return;
    }
    done(null, receive(raw, reply, codings, settings, pending, now, admitted === 'probation'));
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    closeIfBodyUnread(request, reply);
    done(null, payload);
  });
  app.addHook('onClose', (_instance, done) => {
    pending.close();
    done();
  });
}

/**
 * Marks a response `Connection: close` when the client is still sending a body nobody will
 * read: Node would otherwise read the rest, however slowly it comes, to keep the connection.
 */
export function closeIfBodyUnread(request: FastifyRequest, reply: FastifyReply): void {
  if (!request.raw.complete && declaresBody(request.raw)) reply.header('connection', 'close');
}

/**
 * Node's own `requestTimeout` (the whole request, until it is received) as a backstop for a
 * body nobody reads: longer than any body {@link installBodyReading} lets through, plus a
 * minute. It never cuts a response: Node stops timing a request once it is received.
 */
export function requestReceiveBackstopMs(settings: ServerSettings): number {
  const rate = settings.bodyMinRateBytes;
  const longest = settings.bodyTimeoutMs + (rate > 0 ? (settings.bodyLimitBytes / rate) * 1000 : 0);
  return Math.ceil(longest) + 60_000;
}

/** A body being received: when it started, how many (encoded) bytes are in, and how to cut it. */
interface Upload {
  readonly startedAt: number;
  /** Taken while every slot was full: must be complete within PROBATION_MS. */
  readonly probation: boolean;
  received: number;
  cut(error: PlugboardError): void;
}

/** How long an upload runs before its rate is judged (when the slots are full). */
const RATE_GRACE_MS = 1000;

/** How long a body taken while every slot is full has to arrive (a normal one takes milliseconds). */
export const PROBATION_MS = 500;

/** Uploads on probation at once, per slot: beyond, a newcomer is refused at once. */
const PROBATION_PER_SLOT = 4;

/**
 * The bodies being received, and one sweep (every ¼ of `bodyTimeoutMs`, at most 1 s) that
 * cuts those past their deadline: a body is cut at most one sweep late.
 */
class PendingBodies {
  private readonly uploads = new Set<Upload>();
  private probations = 0;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly settings: ServerSettings) {}

  /** Uploads holding a slot. */
  get size(): number {
    return this.uploads.size - this.probations;
  }

  add(upload: Upload): void {
    this.uploads.add(upload);
    if (upload.probation) this.probations++;
    this.sweeper ??= setInterval(
      () => this.sweep(),
      Math.max(10, Math.min(PROBATION_MS / 2, this.settings.bodyTimeoutMs / 4)),
    ).unref();
  }

  delete(upload: Upload): void {
    if (this.uploads.delete(upload) && upload.probation) this.probations--;
  }

  /** True while another upload may be taken on probation. */
  canProbate(): boolean {
    return this.probations < this.settings.maxPendingBodies * PROBATION_PER_SLOT;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** When an upload must be complete: the base timeout plus a second per minimum rate received. */
  deadlineOf(upload: Upload): number {
    const { bodyTimeoutMs, bodyMinRateBytes: rate } = this.settings;
    return upload.startedAt + bodyTimeoutMs + (rate > 0 ? (upload.received / rate) * 1000 : 0);
  }

  /**
   * True when there is a free slot, or one was freed: when every slot is taken, the slowest
   * upload that has run at least a second below the minimum rate is cut to make room.
   */
  makeRoom(now: number): boolean {
    if (this.size < this.settings.maxPendingBodies) return true;
    const minRate = this.settings.bodyMinRateBytes;
    if (minRate <= 0) return false;
    let slowest: Upload | undefined;
    let slowestRate = Number.POSITIVE_INFINITY;
    for (const upload of this.uploads) {
      if (upload.probation) continue;
      const elapsed = now - upload.startedAt;
      if (elapsed < RATE_GRACE_MS) continue;
      const rate = (upload.received * 1000) / elapsed;
      if (rate < minRate && rate < slowestRate) {
        slowest = upload;
        slowestRate = rate;
      }
    }
    if (slowest === undefined) return false;
    slowest.cut(
      serverErrors.REQUEST_BODY_TIMEOUT(
        `The request body arrived at ${Math.round(slowestRate)} bytes/s, below the minimum of ${minRate} bytes/s, while the server was full; it was cut to make room for other requests`,
      ),
    );
    return true;
  }

  /** Seconds until the first pending upload must be done (cut or complete): at least 1. */
  retryAfterSeconds(now: number): number {
    let first = Number.POSITIVE_INFINITY;
    for (const upload of this.uploads) first = Math.min(first, this.deadlineOf(upload));
    return Math.max(1, Math.ceil((first - now) / 1000));
  }

  private sweep(): void {
    const now = performance.now();
    for (const upload of this.uploads) {
      if (upload.probation && now >= upload.startedAt + PROBATION_MS) {
        upload.cut(
          serverErrors.TOO_MANY_UPLOADS(
            `The server is receiving ${this.size} request bodies, as many as it takes at once, and this one did not arrive within ${PROBATION_MS} ms; retry shortly`,
          ),
        );
        continue;
      }
      if (now < this.deadlineOf(upload)) continue;
      const seconds = Math.round((now - upload.startedAt) / 100) / 10;
      upload.cut(
        serverErrors.REQUEST_BODY_TIMEOUT(
          `The request body did not arrive in time: ${upload.received} bytes in ${seconds} s (server.body_timeout is ${this.settings.bodyTimeoutMs / 1000} s, extended while ${this.settings.bodyMinRateBytes} bytes/s arrive)`,
        ),
      );
    }
  }
}

/** Fastify reads (and times) a body only for methods other than these, and only when there is one. */
function hasBody(raw: IncomingMessage): boolean {
  const method = raw.method;
  return method !== 'GET' && method !== 'HEAD' && method !== 'TRACE' && declaresBody(raw);
}

/** Whether the headers announce a body (whatever the method). */
function declaresBody(raw: IncomingMessage): boolean {
  const headers = raw.headers;
  return headers['transfer-encoding'] !== undefined || (headers['content-length'] ?? '0') !== '0';
}

/**
 * The stream Fastify reads a body from: what `source` (the request, or its last decoder)
 * yields, with backpressure. `receivedEncodedLength` is what Fastify checks against
 * `Content-Length` (the bytes on the wire, not the decoded ones).
 */
class BodyStream extends Readable {
  receivedEncodedLength = 0;

  constructor(private readonly source: Readable) {
    super();
  }

  override _read(): void {
    this.source.resume();
  }
}

function receive(
  raw: IncomingMessage,
  reply: FastifyReply,
  codings: readonly string[],
  settings: ServerSettings,
  pending: PendingBodies,
  startedAt: number,
  probation: boolean,
): BodyStream {
  const limit = settings.bodyLimitBytes;
  const decoders = codings.map((coding) => {
    const decoder = decoderFor(coding);
    decoder.on('error', (error) => cut(invalidEncoding(coding, error)));
    return decoder;
  });
  const source: Readable = decoders.at(-1) ?? raw;
  const out = new BodyStream(source);
  // Fastify listens for errors only while it reads; a cut before or after must not crash.
  out.on('error', () => {});
  const upload: Upload = { startedAt, probation, received: 0, cut };
  pending.add(upload);
  let decoded = 0;
  let released = false;
  let failed = false;

  function onRaw(chunk: Buffer): void {
    upload.received += chunk.length;
    out.receivedEncodedLength = upload.received;
    if (upload.received > limit) cut(tooLarge());
  }
  function onData(chunk: Buffer): void {
    if (source === raw) onRaw(chunk);
    decoded += chunk.length;
    if (decoded > limit) {
      cut(tooLarge());
      return;
    }
    if (!failed && !out.push(chunk)) source.pause();
  }
  function onEnd(): void {
    if (!failed) out.push(null);
  }
  function onClose(): void {
    if (!raw.complete) cut(new PlugboardError('REQUEST_ABORTED', 'The client closed the connection mid-body'));
    release();
  }
  function release(): void {
    if (released) return;
    released = true;
    pending.delete(upload);
    if (source !== raw) raw.off('data', onRaw);
    raw.off('end', release);
    raw.off('close', onClose);
  }
  function cut(error: PlugboardError): void {
    if (failed) return;
    failed = true;
    release();
    source.off('data', onData);
    source.off('end', onEnd);
    raw.unpipe();
    for (const decoder of decoders) decoder.destroy();
    if (!raw.complete) {
      // The rest of the body is never read: the connection cannot carry another request.
      raw.pause();
      reply.header('connection', 'close');
    }
    if (error.code === 'TOO_MANY_UPLOADS')
      reply.header('retry-after', String(pending.retryAfterSeconds(performance.now())));
    out.destroy(error);
  }
  function tooLarge(): PlugboardError {
    return serverErrors.REQUEST_TOO_LARGE(
      decoders.length > 0 && upload.received <= limit
        ? `The request body decodes to more than the server accepts (${limit} bytes)`
        : 'The request body is larger than the server accepts',
    );
  }

  // raw → decoders (the last coding first) → out, which Fastify reads.
  if (source !== raw) {
    raw.on('data', onRaw);
    let tail: Readable = raw;
    for (const decoder of decoders) tail = tail.pipe(decoder);
  }
  source.on('data', onData);
  source.once('end', onEnd);
  raw.once('end', release);
  raw.once('close', onClose);
  return out;
}
