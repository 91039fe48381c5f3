import { PlugboardError } from '../../core/errors/plugboard-error.ts';
import type { ChildMessage, WireResponse } from '../protocol.ts';
import { fromWireError } from '../wire-values.ts';

/**
 * `fetch` for a sandboxed plugin that may reach some hosts: the process itself has no network
 * (its own network namespace), so each request is a message to the server, which makes it only
 * when the URL's host is on the plugin's allow-list (see sandbox/fetch-broker.ts). Bodies are
 * buffered both ways (no streaming), which suits the API calls plugins make.
 */
export class BrokeredFetch {
  readonly #pending = new Map<number, { resolve: (response: Response) => void; reject: (error: Error) => void }>();
  #next = 1;

  constructor(private readonly send: (message: ChildMessage) => void) {}

  /** The `fetch` function to install as `globalThis.fetch`. */
  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const body = request.body === null ? undefined : Buffer.from(await request.arrayBuffer()).toString('base64');
    const id = this.#next++;
    return new Promise<Response>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (request.signal.aborted) this.#fail(id, new PlugboardError('REQUEST_ABORTED', 'the request was aborted'));
      request.signal.addEventListener(
        'abort',
        () => this.#fail(id, new PlugboardError('REQUEST_ABORTED', 'the request was aborted')),
        { once: true },
      );
      this.send({
        t: 'fetch',
        id,
        request: {
          url: request.url,
          method: request.method,
          headers: [...request.headers],
          ...(body === undefined ? {} : { body }),
        },
      });
    });
  };

  /** The server's answer to request `id`. */
  settle(
    id: number,
    ok: boolean,
    value: WireResponse | undefined,
    error: Parameters<typeof fromWireError>[0] | undefined,
  ): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    if (!ok || value === undefined) {
      pending.reject(fromWireError(error ?? { message: 'fetch failed' }));
      return;
    }
    const nullBody = value.status === 204 || value.status === 304 || value.status < 200;
    pending.resolve(
      new Response(nullBody ? null : Buffer.from(value.body, 'base64'), {
        status: value.status,
        statusText: value.statusText,
        headers: value.headers as [string, string][],
      }),
    );
  }

  #fail(id: number, error: Error): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    pending.reject(error);
  }
}
