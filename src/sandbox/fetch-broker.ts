/*
 * The network of a sandboxed plugin: its process has none (its own namespace), so each `fetch` is
 * a message to the server, which makes the request only to the plugin's allowed hosts. The host
 * name alone is not enough: the server resolves it from its own network, where a name under an
 * allowed `*.vendor.io` may point at 127.0.0.1 or 169.254.169.254 (the server's admin API, its
 * Redis, the cloud's metadata). So the name is resolved here, every address is checked, and the
 * connection goes to the checked addresses (no second lookup, no DNS-rebinding window).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { PlugboardError } from '../core/errors/plugboard-error.ts';
import type { Logger } from '../core/logger.ts';
import { exactRuleMatches, forbiddenAddressKind, hostAllowed } from './fetch-allow-list.ts';
import type { ChildMessage, ParentMessage, WireRequest, WireResponse } from './protocol.ts';
import { toWireError } from './wire-values.ts';

/** Largest request or response body (bytes) a sandboxed plugin's fetch may carry. */
export const MAX_FETCH_BODY = 16 * 1024 * 1024;
const TIMEOUT_MS = 30_000;
/** Fetches one plugin may have running at once. */
const PER_PLUGIN_IN_FLIGHT = 8;
/** Fetches all sandboxed plugins together may have running at once. */
const GLOBAL_IN_FLIGHT = 32;

/** One address a host name resolves to. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

/** What a {@link FetchBroker} may be given besides its allow-list. */
export interface FetchBrokerOptions {
  /** Asked before each warning (a denied fetch): false drops the line (the plugin's log budget). */
  readonly mayLog?: () => boolean;
  /** Fetches this plugin may have running at once (default 8). */
  readonly maxInFlight?: number;
  /** Slots shared with the other plugins (default: one pool of 32 for the whole server). */
  readonly sharedSlots?: InFlightSlots;
  /** Largest request and response body, bytes (default 16 MiB). */
  readonly maxBodyBytes?: number;
  /** Time for a whole fetch, lookup to last byte (default 30 s). */
  readonly timeoutMs?: number;
  /** Name resolution (default: the system's, as `dns.lookup` with `all`); all answers are checked. */
  readonly resolve?: (hostname: string) => Promise<readonly ResolvedAddress[]>;
}

/** A counter of things running at once, refusing past its maximum. */
export class InFlightSlots {
  #used = 0;

  constructor(readonly max: number) {}

  /** Slots taken now. */
  get used(): number {
    return this.#used;
  }

  /** Takes a slot; false (and nothing taken) when all are in use. */
  tryTake(): boolean {
    if (this.#used >= this.max) return false;
    this.#used++;
    return true;
  }

  release(): void {
    this.#used = Math.max(0, this.#used - 1);
  }
}

/** The server-wide pool: one plugin can hold at most its own share of it. */
const serverSlots = new InFlightSlots(GLOBAL_IN_FLIGHT);

/** Request headers the broker sets itself (framing, the connection) or that could misroute the request. */
const DROPPED_REQUEST_HEADERS = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'content-length',
  'te',
  'trailer',
  'upgrade',
  'expect',
]);
const REFUSED_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

// Dedicated pools: every socket in them was opened to an address checked here, so reusing one
// cannot reach an unchecked address (the global agent's sockets may come from other code).
const httpAgent = new HttpAgent({ keepAlive: true });
const httpsAgent = new HttpsAgent({ keepAlive: true });

/**
 * Makes a sandboxed plugin's `fetch` requests for it (one broker per plugin): only http and
 * https, only to hosts on its allow-list (see {@link hostAllowed}), and only to public addresses
 * unless the operator listed the address itself: an IP literal entry (`127.0.0.1:8080`) allows
 * that address, a `localhost` entry allows loopback addresses; a wildcard or any other name never
 * allows a loopback, private, link-local, unspecified, multicast or reserved address. Redirects are
 * not followed (a 3xx goes back to the plugin, whose next fetch is checked again). Bodies are capped
 * both ways, and the plugin may have 8 fetches running (the server 32 for all plugins).
 *
 * @example
 * ```ts
 * const broker = new FetchBroker(['api.example.com'], () => logger, { mayLog: () => budget.take() });
 * void broker.handle(message, (reply) => channel.send(reply));
 * ```
 */
export class FetchBroker {
  readonly #mayLog: () => boolean;
  readonly #slots: InFlightSlots;
  readonly #sharedSlots: InFlightSlots;
  readonly #maxBody: number;
  readonly #timeoutMs: number;
  readonly #resolve: (hostname: string) => Promise<readonly ResolvedAddress[]>;
  readonly #logger: () => Logger;
  #stopping = new AbortController();

  constructor(
    private readonly allowHosts: readonly string[],
    logger: Logger | (() => Logger),
    options: FetchBrokerOptions = {},
  ) {
    // A function when the owner's logger changes (a plugin's logger is replaced at initialize).
    this.#logger = typeof logger === 'function' ? logger : () => logger;
    this.#mayLog = options.mayLog ?? (() => true);
    this.#slots = new InFlightSlots(options.maxInFlight ?? PER_PLUGIN_IN_FLIGHT);
    this.#sharedSlots = options.sharedSlots ?? serverSlots;
    this.#maxBody = options.maxBodyBytes ?? MAX_FETCH_BODY;
    this.#timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
    this.#resolve = options.resolve ?? ((hostname) => dnsLookup(hostname, { all: true }));
  }

  /** This plugin's fetches running now. */
  get inFlight(): number {
    return this.#slots.used;
  }

  /** Makes the request `message` asks for and sends its `fetch-result` with `reply`. Never rejects. */
  async handle(message: Extract<ChildMessage, { t: 'fetch' }>, reply: (message: ParentMessage) => void): Promise<void> {
    if (!this.#slots.tryTake()) {
      reply(failure(message.id, refusal(`more than ${this.#slots.max} fetches at once from this plugin`)));
      return;
    }
    if (!this.#sharedSlots.tryTake()) {
      this.#slots.release();
      reply(failure(message.id, refusal(`more than ${this.#sharedSlots.max} fetches at once from sandboxed plugins`)));
      return;
    }
    try {
      const value = await this.#fetch(message.request);
      reply({ t: 'fetch-result', id: message.id, ok: true, value });
    } catch (error) {
      reply(failure(message.id, error));
    } finally {
      this.#sharedSlots.release();
      this.#slots.release();
    }
  }

  /**
   * Aborts the fetches running now (the plugin's process stopped or died): they answer with an
   * error. Later fetches run as usual (a restarted process uses the same broker).
   */
  close(): void {
    const stopping = this.#stopping;
    this.#stopping = new AbortController();
    stopping.abort(refusal('the sandboxed plugin stopped'));
  }

  async #fetch(request: WireRequest): Promise<WireResponse> {
    const url = new URL(request.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw refusal(`fetch ${url.protocol}: only http and https`);
    }
    if (!hostAllowed(url, this.allowHosts)) {
      this.#warn({ denied: 'network', host: url.host }, 'sandboxed plugin tried to reach a host it is not allowed');
      throw refusal(
        `fetch ${url.host}: not in this plugin's sandbox.network.allow_hosts (${this.allowHosts.join(', ') || 'none'})`,
      );
    }
    const method = request.method.toUpperCase();
    if (REFUSED_METHODS.has(method)) throw refusal(`fetch ${url.host}: method ${method} is not allowed`);
    if (request.body !== undefined && Buffer.byteLength(request.body, 'base64') > this.#maxBody) {
      throw refusal(`fetch ${url.host}: request body over ${this.#maxBody} bytes`);
    }
    // One controller per fetch (not AbortSignal.any on the broker's long-lived signal, which
    // would keep a reference per fetch), aborted with the error the plugin should see.
    const abort = new AbortController();
    const timer = setTimeout(
      () => abort.abort(refusal(`fetch ${url.host}: no complete answer within ${this.#timeoutMs} ms`)),
      this.#timeoutMs,
    );
    const stopping = this.#stopping.signal;
    const onClose = () => abort.abort(stopping.reason);
    stopping.addEventListener('abort', onClose, { once: true });
    try {
      const addresses = await abortable(this.#checkedAddresses(url), abort.signal);
      const body = request.body === undefined ? undefined : Buffer.from(request.body, 'base64');
      return await exchange(url, method, request.headers, body, addresses, abort.signal, this.#maxBody);
    } catch (error) {
      // An aborted request fails with a bare AbortError: say which abort it was.
      throw abort.signal.aborted ? abort.signal.reason : error;
    } finally {
      clearTimeout(timer);
      stopping.removeEventListener('abort', onClose);
    }
  }

  /** The addresses to connect to for `url`, each one checked; throws when one may not be reached. */
  async #checkedAddresses(url: URL): Promise<readonly ResolvedAddress[]> {
    const host = bareHostname(url);
    const literal = exactRuleMatches(url, this.allowHosts);
    const family = isIP(host);
    if (family !== 0) {
      // Written by the operator as this very address: whatever it is, it is their choice.
      const kind = literal ? undefined : forbiddenAddressKind(host);
      if (kind !== undefined) this.#refuseAddress(url, host, kind);
      return [{ address: host, family }];
    }
    const addresses = await this.#resolve(host);
    if (addresses.length === 0) throw refusal(`fetch ${url.host}: the name does not resolve`);
    for (const { address } of addresses) {
      const kind = forbiddenAddressKind(address);
      // A `localhost` entry means the server's own machine: loopback, and only loopback.
      const operatorsChoice = literal && host === 'localhost' && kind === 'loopback';
      if (kind !== undefined && !operatorsChoice) this.#refuseAddress(url, address, kind);
    }
    return addresses;
  }

  #refuseAddress(url: URL, address: string, kind: string): never {
    this.#warn(
      { denied: 'network', host: url.host, address, kind },
      'sandboxed plugin tried to reach a non-public address',
    );
    throw refusal(
      `fetch ${url.host}: the host resolves to a ${kind} address (a private address), which a sandboxed plugin may not reach; list that IP address itself in sandbox.network.allow_hosts to allow it`,
    );
  }

  #warn(sandbox: Record<string, unknown>, message: string): void {
    if (this.#mayLog()) this.#logger().warn({ sandbox }, message);
  }
}

/**
 * Sends the request to the checked `addresses` (the lookup the connection makes answers with
 * them) and reads the answer up to `maxBody` bytes (after decoding, so a small compressed body
 * cannot unfold past the cap); a redirect is answered as it is.
 */
function exchange(
  url: URL,
  method: string,
  headers: readonly (readonly [string, string])[],
  body: Buffer | undefined,
  addresses: readonly ResolvedAddress[],
  signal: AbortSignal,
  maxBody: number,
): Promise<WireResponse> {
  const tooLarge = () => refusal(`fetch ${url.host}: response over ${maxBody} bytes`);
  return new Promise<WireResponse>((resolve, reject) => {
    // An object, not a raw array: with a raw array node would send no Host header.
    const outgoing: Record<string, string[]> = {};
    for (const [name, value] of headers) {
      const key = name.toLowerCase();
      if (!DROPPED_REQUEST_HEADERS.has(key)) outgoing[key] = [...(outgoing[key] ?? []), value];
    }
    if (body !== undefined) outgoing['content-length'] = [String(body.length)];
    const https = url.protocol === 'https:';
    const request = (https ? httpsRequest : httpRequest)({
      host: bareHostname(url),
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method,
      headers: outgoing,
      agent: https ? httpsAgent : httpAgent,
      lookup: pinnedLookup(addresses),
      signal,
    });
    const fail = (error: unknown) => {
      reject(error);
      request.destroy();
    };
    request.on('error', fail);
    request.on('response', (response: IncomingMessage) => {
      // A HEAD answer declares the length of a body it does not send.
      if (method !== 'HEAD' && Number(response.headers['content-length']) > maxBody) return fail(tooLarge());
      const decoder = decoderFor(response.headers['content-encoding']);
      const source = decoder === undefined ? response : response.pipe(decoder);
      if (decoder !== undefined) response.on('error', (error) => decoder.destroy(error));
      const chunks: Buffer[] = [];
      let size = 0;
      source.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBody) return fail(tooLarge());
        chunks.push(chunk);
      });
      source.on('error', fail);
      response.on('aborted', () => fail(new Error(`fetch ${url.host}: the connection closed mid-answer`)));
      source.on('end', () => {
        const answered: [string, string][] = [];
        for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) {
          const name = (response.rawHeaders[i] ?? '').toLowerCase();
          // A decoded body no longer has the sender's encoding or length.
          if (decoder !== undefined && (name === 'content-encoding' || name === 'content-length')) continue;
          answered.push([name, response.rawHeaders[i + 1] ?? '']);
        }
        resolve({
          status: response.statusCode ?? 502,
          statusText: response.statusMessage ?? '',
          headers: answered,
          body: Buffer.concat(chunks).toString('base64'),
        });
      });
    });
    request.end(body);
  });
}

/** The body's decoder, as `fetch` decodes (gzip, deflate, br); undefined: handed on as sent. */
function decoderFor(encoding: string | undefined): Transform | undefined {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return undefined;
  }
}

/** A `lookup` answering with addresses already checked: the connection cannot resolve anew. */
function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const wanted = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family ?? 0);
    const usable = addresses.filter(({ family }) => wanted === 0 || wanted === family);
    const first = usable[0];
    if (first === undefined) {
      callback(Object.assign(new Error('no checked address of the asked family'), { code: 'ENOTFOUND' }), []);
    } else if (options.all)
      callback(
        null,
        usable.map(({ address, family }) => ({ address, family })),
      );
    else callback(null, first.address, first.family);
  };
}

/** The URL's host name as a socket wants it (an IPv6 literal without its brackets). */
function bareHostname(url: URL): string {
  const host = url.hostname.toLowerCase();
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** `work`, or the signal's reason if it aborts first (a lookup cannot be cancelled, only left). */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function refusal(message: string): PlugboardError {
  return new PlugboardError('PLUGIN_SANDBOX_UNSUPPORTED', message);
}

function failure(id: number, error: unknown): ParentMessage {
  return { t: 'fetch-result', id, ok: false, error: toWireError(error) };
}

export { forbiddenAddressKind, hostAllowed } from './fetch-allow-list.ts';
