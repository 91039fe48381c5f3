/**
 * A local stand-in for the Hugging Face Hub, for tests that must not use the network. It serves
 * files in the Hub's URL layout, `/owner/repo/resolve/<branch>/<file>`, the way the Hub does:
 * the resolve URL answers 302 to the file's storage (`/cdn/…`), with the file's SHA-256 in
 * `x-linked-etag` (quoted) and its size in `x-linked-size`; the storage serves the bytes, with
 * HTTP Range and an ETag of the bytes (a Range with an `If-Range` naming another ETag gets the
 * whole file, 200). Faults on demand: cut the connection part-way once, stall part-way, ignore Range,
 * serve other bytes than the advertised checksum.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Deferred, deferred } from '../support/deferred.ts';

/** A file the fake Hub serves. */
export interface HubFile {
  /** The bytes sent. */
  readonly bytes: Buffer;
  /** The SHA-256 advertised in `x-linked-etag` (default: of `bytes`; null: none, as for a non-Hub server). */
  readonly sha256?: string | null;
  /** Answer the path directly with the bytes, no redirect (a plain web server). */
  readonly direct?: boolean;
  /** The first full download is cut (the socket destroyed) after this many bytes. */
  readonly cutOnceAt?: number;
  /** Downloads stall after this many bytes, until the client goes away. */
  readonly stallAt?: number;
  /** Range requests get the whole file with 200, as a server without Range support answers. */
  readonly ignoreRange?: boolean;
}

/** The strong ETag the fake Hub gives `bytes`. */
export function etagOf(bytes: Buffer): string {
  return `"${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}"`;
}

/** A request the fake Hub saw. */
export interface HubRequest {
  readonly method: string;
  readonly path: string;
  readonly range: string | undefined;
  readonly ifRange: string | undefined;
}

export class FakeHub {
  readonly requests: HubRequest[] = [];
  /** Resolves each time a download stalls (see {@link HubFile.stallAt}); renewed after it does. */
  stalled: Deferred<void> = deferred();
  readonly #files = new Map<string, HubFile>();
  readonly #cut = new Set<string>();
  readonly #server: Server;
  #url = '';

  private constructor() {
    this.#server = createServer((request, response) => this.#answer(request, response));
  }

  static async start(): Promise<FakeHub> {
    const hub = new FakeHub();
    await new Promise<void>((resolve) => hub.#server.listen(0, '127.0.0.1', resolve));
    hub.#url = `http://127.0.0.1:${(hub.#server.address() as AddressInfo).port}/`;
    return hub;
  }

  /** The endpoint, with a trailing slash: what HF_ENDPOINT is set to. */
  get url(): string {
    return this.#url;
  }

  /** Serves `file` at `path` (`owner/repo/resolve/main/model.gguf`, or any path). */
  serve(path: string, file: HubFile): void {
    this.#files.set(`/${path.replace(/^\//, '')}`, file);
  }

  /** The requests that asked for a byte range. */
  rangeRequests(): HubRequest[] {
    return this.requests.filter((request) => request.range !== undefined);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #answer(request: IncomingMessage, response: ServerResponse): void {
    const path = decodeURIComponent(new URL(request.url ?? '/', this.#url).pathname);
    const ifRange = request.headers['if-range']?.toString();
    // If-Range naming another version of the file: the Range is ignored, the whole file sent.
    const range = ifRange !== undefined && ifRange !== this.#etagAt(path) ? undefined : request.headers.range;
    this.requests.push({ method: request.method ?? 'GET', path, range: request.headers.range, ifRange });
    if (path.startsWith('/cdn/')) {
      const original = path.slice('/cdn'.length);
      const file = this.#files.get(original);
      if (file === undefined) this.#notFound(response);
      else this.#sendBytes(original, file, range, response);
      return;
    }
    const file = this.#files.get(path);
    if (file === undefined || file.direct) {
      if (file === undefined) this.#notFound(response);
      else this.#sendBytes(path, file, range, response);
      return;
    }
    const sha256 = file.sha256 === undefined ? createHash('sha256').update(file.bytes).digest('hex') : file.sha256;
    response.writeHead(302, {
      location: `/cdn${path}`,
      ...(sha256 === null ? {} : { 'x-linked-etag': `"${sha256}"` }),
      'x-linked-size': String(file.bytes.length),
    });
    response.end();
  }

  #etagAt(path: string): string | undefined {
    const file = this.#files.get(path.startsWith('/cdn/') ? path.slice('/cdn'.length) : path);
    return file === undefined ? undefined : etagOf(file.bytes);
  }

  #sendBytes(key: string, file: HubFile, range: string | undefined, response: ServerResponse): void {
    const size = file.bytes.length;
    const match = range === undefined || file.ignoreRange ? null : /^bytes=(\d+)-$/.exec(range);
    const start = match === null ? 0 : Number(match[1]);
    if (start >= size && match !== null) {
      response.writeHead(416, { 'content-range': `bytes */${size}` });
      response.end();
      return;
    }
    const body = file.bytes.subarray(start);
    response.writeHead(match === null ? 200 : 206, {
      'content-type': 'application/octet-stream',
      'content-length': String(body.length),
      'accept-ranges': file.ignoreRange ? 'none' : 'bytes',
      etag: etagOf(file.bytes),
      ...(match === null ? {} : { 'content-range': `bytes ${start}-${size - 1}/${size}` }),
    });
    if (file.cutOnceAt !== undefined && start === 0 && !this.#cut.has(key)) {
      this.#cut.add(key);
      response.write(body.subarray(0, file.cutOnceAt), () => response.destroy());
      return;
    }
    if (file.stallAt !== undefined) {
      const stalled = this.stalled;
      response.write(body.subarray(0, Math.max(0, file.stallAt - start)), () => {
        this.stalled = deferred();
        stalled.resolve();
      });
      return;
    }
    response.end(body);
  }

  #notFound(response: ServerResponse): void {
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('Entry not found');
  }
}
