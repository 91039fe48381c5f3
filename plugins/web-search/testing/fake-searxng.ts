import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/**
 * A stand-in for a SearXNG instance on 127.0.0.1 (a random port): there is no internet here,
 * and no SearXNG to run, so tests talk to this. It answers `GET /…/search` as `respond` says,
 * and keeps every request it got.
 *
 * @example
 * ```ts
 * const fake = await startFakeSearxng();
 * fake.respond = (_request, response) => response.end(JSON.stringify({ results: [] }));
 * ```
 */
export interface FakeSearxng {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly requests: IncomingMessage[];
  respond: (request: IncomingMessage, response: ServerResponse) => void;
  close(): Promise<void>;
}

/** A SearXNG JSON answer with these results. */
export function searxngJson(results: readonly Record<string, unknown>[]): string {
  return JSON.stringify({ query: 'q', number_of_results: results.length, results, answers: [], suggestions: [] });
}

export async function startFakeSearxng(): Promise<FakeSearxng> {
  const requests: IncomingMessage[] = [];
  const fake: FakeSearxng = {
    url: '',
    requests,
    respond: (_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(searxngJson([]));
    },
    close: async () => {
      server.closeAllConnections(); // a response held back on purpose (the timeout test) ends here
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server = createServer((request, response) => {
    requests.push(request);
    fake.respond(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  (fake as { url: string }).url = `http://127.0.0.1:${port}`;
  return fake;
}
