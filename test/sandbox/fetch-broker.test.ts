/**
 * The fetch broker against a real HTTP server on the loopback interface: what the allow-list
 * lets through (an IP literal or `localhost` written by the operator), what it refuses (a name
 * or a wildcard that resolves to a non-public address, the bare domain of a wildcard), body
 * caps both ways, redirects handed back, and the in-flight limits per plugin and for the server.
 * Names other than `localhost` are resolved by an injected resolver where the test needs a name
 * to point somewhere (`x.vendor.test` at 127.0.0.1); the connection itself is always real.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Logger } from '../../src/core/logger.ts';
import {
  FetchBroker,
  type FetchBrokerOptions,
  forbiddenAddressKind,
  hostAllowed,
  MAX_FETCH_BODY,
  type ResolvedAddress,
} from '../../src/sandbox/fetch-broker.ts';
import type { ParentMessage, WireRequest } from '../../src/sandbox/protocol.ts';

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

interface TestServer {
  readonly port: number;
  readonly received: Received[];
}

type FetchResult = Extract<ParentMessage, { t: 'fetch-result' }>;

const servers: Server[] = [];
after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
});

/** A server that records each request (after its body) and lets `respond` answer it. */
async function startServer(
  respond: (request: IncomingMessage, response: ServerResponse) => void,
  host = '127.0.0.1',
): Promise<TestServer> {
  const received: Received[] = [];
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    received.push({
      method: request.method ?? '',
      url: request.url ?? '',
      headers: request.headers,
      body: Buffer.concat(chunks),
    });
    respond(request, response);
  });
  servers.push(server);
  server.listen(0, host);
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    received,
  };
}

/** A logger that keeps its warnings. */
function recordingLogger(): Logger & { readonly warnings: string[] } {
  const warnings: string[] = [];
  const logger = {
    warnings,
    debug: () => {},
    info: () => {},
    warn: (_fields: Record<string, unknown>, message?: string) => void warnings.push(message ?? ''),
    error: () => {},
    child: () => logger,
  };
  return logger;
}

let nextId = 1;
/** Asks `broker` for `request` and waits for its answer. */
function fetchThrough(broker: FetchBroker, request: Partial<WireRequest> & { url: string }): Promise<FetchResult> {
  return new Promise((resolve) => {
    void broker.handle({ t: 'fetch', id: nextId++, request: { method: 'GET', headers: [], ...request } }, (reply) =>
      resolve(reply as FetchResult),
    );
  });
}

function broker(allowHosts: string[], options: FetchBrokerOptions = {}): FetchBroker {
  return new FetchBroker(allowHosts, recordingLogger(), options);
}

/** A resolver answering `answers` for every name (and counting its calls). */
function resolverOf(...answers: string[]) {
  const resolve = async (_name: string): Promise<ResolvedAddress[]> => {
    resolve.calls++;
    return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  resolve.calls = 0;
  return resolve;
}

const bodyOf = (result: FetchResult) => Buffer.from(result.value?.body ?? '', 'base64').toString();

describe('fetch broker: who may be reached', () => {
  test('a literal 127.0.0.1:<port> entry reaches the server with the method, headers and body', async () => {
    const server = await startServer((_request, response) => {
      response.setHeader('x-answer', 'yes');
      response.end('created');
    });
    const result = await fetchThrough(broker([`127.0.0.1:${server.port}`]), {
      url: `http://127.0.0.1:${server.port}/items?x=1`,
      method: 'POST',
      headers: [
        ['content-type', 'application/json'],
        ['x-plugin', 'weather'],
      ],
      body: Buffer.from('{"a":1}').toString('base64'),
    });
    assert.equal(result.ok, true, `the fetch succeeds: ${JSON.stringify(result.error)}`);
    assert.equal(result.value?.status, 200);
    assert.equal(bodyOf(result), 'created');
    assert.ok(
      result.value?.headers.some(([name, value]) => name === 'x-answer' && value === 'yes'),
      'headers come back',
    );
    const [arrived] = server.received;
    assert.equal(arrived?.method, 'POST');
    assert.equal(arrived?.url, '/items?x=1');
    assert.equal(arrived?.headers['x-plugin'], 'weather');
    assert.equal(arrived?.headers['content-type'], 'application/json');
    assert.equal(arrived?.body.toString(), '{"a":1}');
  });

  test('a literal `localhost:<port>` entry is the operator allowing loopback', async () => {
    const server = await startServer((_request, response) => response.end('local'));
    const result = await fetchThrough(broker([`localhost:${server.port}`]), {
      url: `http://localhost:${server.port}/`,
    });
    assert.equal(result.ok, true, `localhost is allowed: ${JSON.stringify(result.error)}`);
    assert.equal(bodyOf(result), 'local');
  });

  test('a wildcard whose name resolves to loopback is refused as a private address, and nothing is sent', async () => {
    const server = await startServer((_request, response) => response.end('should not be reached'));
    const logger = recordingLogger();
    // The logger as a getter: the owner may replace its logger after the broker is made.
    const plugin = new FetchBroker(['*.vendor.test'], () => logger, { resolve: resolverOf('127.0.0.1') });
    const result = await fetchThrough(plugin, { url: `http://x.vendor.test:${server.port}/admin` });
    assert.equal(result.ok, false, 'the fetch is refused');
    assert.match(result.error?.message ?? '', /loopback address \(a private address\)/);
    assert.equal(server.received.length, 0, 'no request reached the server');
    assert.equal(logger.warnings.length, 1, 'the refusal is logged');
  });

  test('a name other than localhost, listed exactly, may not reach loopback either (system resolver)', async (t) => {
    const name = hostname().toLowerCase();
    const loopback = await import('node:dns/promises')
      .then(({ lookup }) => lookup(name, { all: true }))
      .then((answers) => answers.length > 0 && answers.every((a) => forbiddenAddressKind(a.address) === 'loopback'))
      .catch(() => false);
    if (name === 'localhost' || !loopback) return t.skip(`this machine's name (${name}) does not resolve to loopback`);
    const server = await startServer((_request, response) => response.end('should not be reached'));
    const result = await fetchThrough(broker([`${name}:${server.port}`]), { url: `http://${name}:${server.port}/` });
    assert.equal(result.ok, false, `${name} resolves to loopback and is refused`);
    assert.match(result.error?.message ?? '', /loopback/);
    assert.equal(server.received.length, 0, 'no request reached the server');
  });

  test('every non-public kind of address is refused behind a name, and one bad answer among good ones is enough', async () => {
    const bad = ['10.1.2.3', '172.16.5.4', '192.168.1.1', '169.254.169.254', '0.0.0.0', '::1'];
    const more = ['fd00::1', 'fe80::1', '::ffff:7f00:1', '224.0.0.1', '100.100.100.200'];
    for (const address of [...bad, ...more]) {
      const plugin = broker(['*.vendor.test'], { resolve: resolverOf('93.184.215.14', address) });
      const result = await fetchThrough(plugin, { url: 'http://api.vendor.test/' });
      assert.equal(result.ok, false, `${address} is refused`);
      assert.match(result.error?.message ?? '', /private address/, `${address}: the message says why`);
    }
    assert.equal(forbiddenAddressKind('169.254.169.254'), 'link-local');
    assert.equal(forbiddenAddressKind('::ffff:10.0.0.1'), 'private');
    assert.equal(forbiddenAddressKind('93.184.215.14'), undefined);
    assert.equal(forbiddenAddressKind('2606:4700::1111'), undefined);
  });

  test('the connection goes to the checked address, not to a second lookup', async () => {
    // The system resolves localhost to 127.0.0.1, where nothing listens on this port: only the
    // checked answer (127.0.0.2) reaches the server.
    const server = await startServer((request, response) => response.end(request.socket.localAddress), '127.0.0.2');
    const resolve = resolverOf('127.0.0.2');
    const result = await fetchThrough(broker([`localhost:${server.port}`], { resolve }), {
      url: `http://localhost:${server.port}/`,
    });
    assert.equal(result.ok, true, `the pinned address answers: ${JSON.stringify(result.error)}`);
    assert.equal(bodyOf(result), '127.0.0.2');
    assert.equal(resolve.calls, 1, 'the name was resolved once');
  });

  test('a localhost entry allows loopback only, and a wildcard never allows an IP literal it happens to match', async () => {
    const localhost = await fetchThrough(broker(['localhost'], { resolve: resolverOf('10.0.0.5') }), {
      url: 'http://localhost/',
    });
    assert.match(localhost.error?.message ?? '', /private address/, 'localhost pointing at 10/8 is refused');
    const wildcard = await fetchThrough(broker(['*.0.0.1']), { url: 'http://127.0.0.1/' });
    assert.match(wildcard.error?.message ?? '', /loopback/, 'the wildcard matched 127.0.0.1 but may not reach it');
  });

  test('a wildcard never matches the bare domain', async () => {
    assert.equal(hostAllowed(new URL('https://vendor.io/'), ['*.vendor.io']), false);
    assert.equal(hostAllowed(new URL('https://evilvendor.io/'), ['*.vendor.io']), false);
    assert.equal(hostAllowed(new URL('https://api.vendor.io/'), ['*.vendor.io']), true);
    assert.equal(hostAllowed(new URL('http://localhost:8080/'), ['localhost:8080']), true);
    assert.equal(hostAllowed(new URL('http://localhost:8081/'), ['localhost:8080']), false);
    const resolve = resolverOf('93.184.215.14');
    const result = await fetchThrough(broker(['*.vendor.io'], { resolve }), { url: 'https://vendor.io/' });
    assert.match(result.error?.message ?? '', /not in this plugin's sandbox\.network\.allow_hosts/);
    assert.equal(resolve.calls, 0, 'a host not allowed is not even resolved');
  });

  test('only http and https', async () => {
    const result = await fetchThrough(broker(['127.0.0.1']), { url: 'file:///etc/passwd' });
    assert.match(result.error?.message ?? '', /only http and https/);
  });

  test('a denied fetch is logged only while the log budget allows', async () => {
    const logger = recordingLogger();
    let allowed = true;
    const plugin = new FetchBroker([], logger, { mayLog: () => allowed });
    await fetchThrough(plugin, { url: 'http://example.com/' });
    allowed = false;
    await fetchThrough(plugin, { url: 'http://example.com/' });
    await fetchThrough(plugin, { url: 'http://example.com/' });
    assert.deepEqual(logger.warnings, ['sandboxed plugin tried to reach a host it is not allowed']);
  });
});

describe('fetch broker: bodies and redirects', () => {
  test('a declared content-length over 16 MiB is refused before reading', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-length': String(MAX_FETCH_BODY + 1) });
      response.write('x'); // and never the rest: the broker must not wait for it
    });
    const result = await fetchThrough(broker([`127.0.0.1:${server.port}`]), {
      url: `http://127.0.0.1:${server.port}/`,
    });
    assert.match(result.error?.message ?? '', /response over 16777216 bytes/);
  });

  test('a chunked answer past 16 MiB is cut off while it streams', async () => {
    let serverSawClose = false;
    let written = 0;
    const server = await startServer((_request, response) => {
      const chunk = Buffer.alloc(64 * 1024, 'a');
      // Endless: the test only ends if the broker stops reading.
      const pump = () => {
        let more = true;
        while (more && !response.destroyed) {
          written += chunk.length;
          more = response.write(chunk);
        }
        if (!response.destroyed) response.once('drain', pump);
      };
      response.on('close', () => {
        serverSawClose = true;
      });
      pump();
    });
    const result = await fetchThrough(broker([`127.0.0.1:${server.port}`]), {
      url: `http://127.0.0.1:${server.port}/`,
    });
    assert.match(result.error?.message ?? '', /response over 16777216 bytes/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(serverSawClose, 'the connection was closed by the broker');
    // Socket buffers hold a few MiB more than was read; far from a body read to its end.
    assert.ok(written < 2 * MAX_FETCH_BODY, `the broker stopped reading at the cap (${written} bytes written)`);
  });

  test('the cap holds on the decoded body (a gzip bomb is refused)', async () => {
    const bomb = gzipSync(Buffer.alloc(2 * 1024 * 1024));
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(bomb.length) });
      response.end(bomb);
    });
    const url = `http://127.0.0.1:${server.port}/`;
    const small = await fetchThrough(broker([`127.0.0.1:${server.port}`], { maxBodyBytes: 1024 * 1024 }), { url });
    assert.match(small.error?.message ?? '', /response over 1048576 bytes/);
    const roomy = await fetchThrough(broker([`127.0.0.1:${server.port}`]), { url });
    assert.equal(roomy.ok, true, 'under the cap the body is decoded');
    assert.equal(Buffer.from(roomy.value?.body ?? '', 'base64').length, 2 * 1024 * 1024);
    assert.ok(!roomy.value?.headers.some(([name]) => name === 'content-encoding'), 'no stale content-encoding');
  });

  test('a request body over 16 MiB is refused and nothing is sent', async () => {
    const server = await startServer((_request, response) => response.end());
    const result = await fetchThrough(broker([`127.0.0.1:${server.port}`]), {
      url: `http://127.0.0.1:${server.port}/`,
      method: 'POST',
      body: Buffer.alloc(MAX_FETCH_BODY + 1).toString('base64'),
    });
    assert.match(result.error?.message ?? '', /request body over 16777216 bytes/);
    assert.equal(server.received.length, 0, 'no request reached the server');
  });

  test('a 3xx comes back to the plugin, not followed', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
      response.end();
    });
    const result = await fetchThrough(broker([`127.0.0.1:${server.port}`]), {
      url: `http://127.0.0.1:${server.port}/`,
    });
    assert.equal(result.value?.status, 302);
    assert.ok(
      result.value?.headers.some(([name, value]) => name === 'location' && value.startsWith('http://169.254')),
      'the location is handed back',
    );
    assert.equal(server.received.length, 1, 'one request only');
  });

  test('a fetch with no complete answer in time fails with a timeout', async () => {
    const server = await startServer(() => {}); // never answers
    const result = await fetchThrough(broker([`127.0.0.1:${server.port}`], { timeoutMs: 150 }), {
      url: `http://127.0.0.1:${server.port}/`,
    });
    assert.match(result.error?.message ?? '', /no complete answer within 150 ms/);
  });
});

describe('fetch broker: limits', () => {
  /** A server holding every answer until `release()`. */
  async function holdingServer() {
    const held: ServerResponse[] = [];
    const server = await startServer((_request, response) => void held.push(response));
    const waitHeld = async (count: number) => {
      while (held.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    const release = () => {
      for (const response of held.splice(0)) response.end('done');
    };
    return { server, waitHeld, release };
  }

  test('a plugin may have 8 fetches in flight; the 9th is refused while another plugin still fetches', async () => {
    const { server, waitHeld, release } = await holdingServer();
    const url = `http://127.0.0.1:${server.port}/`;
    const busy = broker([`127.0.0.1:${server.port}`]);
    const first8 = Array.from({ length: 8 }, () => fetchThrough(busy, { url }));
    await waitHeld(8);
    assert.equal(busy.inFlight, 8);
    const ninth = await fetchThrough(busy, { url });
    assert.match(ninth.error?.message ?? '', /more than 8 fetches at once from this plugin/);
    const other = fetchThrough(broker([`127.0.0.1:${server.port}`]), { url });
    await waitHeld(9);
    release();
    const answers = await Promise.all([...first8, other]);
    assert.ok(
      answers.every((answer) => answer.ok),
      'the 8 held fetches and the other plugin’s fetch succeed',
    );
    assert.equal(busy.inFlight, 0, 'the slots are given back');
  });

  test('all plugins together have 32 fetches in flight', async () => {
    const { server, waitHeld, release } = await holdingServer();
    const url = `http://127.0.0.1:${server.port}/`;
    const running = Array.from({ length: 4 }, () => broker([`127.0.0.1:${server.port}`])).flatMap((plugin) =>
      Array.from({ length: 8 }, () => fetchThrough(plugin, { url })),
    );
    await waitHeld(32);
    const fifth = await fetchThrough(broker([`127.0.0.1:${server.port}`]), { url });
    assert.match(fifth.error?.message ?? '', /more than 32 fetches at once from sandboxed plugins/);
    release();
    assert.ok(
      (await Promise.all(running)).every((answer) => answer.ok),
      'the 32 held fetches succeed',
    );
  });

  test('close() ends the fetches running now, not later ones', async () => {
    const { server, waitHeld, release } = await holdingServer();
    const plugin = broker([`127.0.0.1:${server.port}`]);
    const running = fetchThrough(plugin, { url: `http://127.0.0.1:${server.port}/` });
    await waitHeld(1);
    plugin.close();
    const result = await running;
    assert.match(result.error?.message ?? '', /the sandboxed plugin stopped/);
    release();
    const later = fetchThrough(plugin, { url: `http://127.0.0.1:${server.port}/` });
    await waitHeld(1);
    release();
    assert.equal((await later).ok, true, 'a fetch after close() runs as usual');
  });
});
