/**
 * The servers `npm run bench:http` loads, each run in a child process of its own so that its
 * CPU time and memory can be measured apart from the load generator's:
 *
 * - `bare`: a node:http server answering POST /v1/chat/completions with the same chat
 *   completion JSON, or SSE stream of 20 chunks, that Plugboard sends for the scripted
 *   backend — the practical ceiling of a Node.js server; also the fast fake OpenAI upstream
 *   of the proxy case;
 * - `plugboard`: Plugboard's server with 10 no-op plugins of mixed kinds and the scripted
 *   backend;
 * - `bare-proxy` / `plugboard-proxy <upstream>`: a minimal node:http proxy, and Plugboard
 *   with the `openai` backend, in front of a `bare` upstream (the Portkey gateway, the third
 *   target of that case, is started by bench/portkey/start.mjs);
 * - `ollama-upstream`: a fast fake Ollama server (`/api/chat` as JSON or an NDJSON stream of
 *   20 chunks plus the final line, `/api/tags`, `/api/version`);
 * - `bare-ollama-proxy` / `plugboard-ollama-proxy <upstream>`: the same minimal proxy, and
 *   Plugboard with the `ollama` backend, in front of an `ollama-upstream`;
 * - the cost ladder between `bare-proxy` and `plugboard-proxy`, each one layer more:
 *   `fastify-proxy` (the bare proxy on Fastify), `wire-proxy` (on node:http, with the openai
 *   backend's wire client for the upstream call) and `plugboard-proxy-no-plugins`.
 *
 * Started with the target name (and upstream URL) as arguments; sends `{ port }` over IPC once
 * listening and answers `cpu` messages with `{ cpu, rss, maxRss }`: user+system CPU time in
 * µs, resident set size and its peak in bytes.
 */
import {
  Agent,
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { CHUNK_CHARS, MODEL, REPLY } from './http-shared.ts';

async function startBare(): Promise<number> {
  const server = createHttpServer((request, response) => {
    if (request.method !== 'POST' || request.url !== '/v1/chat/completions') {
      response.writeHead(404).end();
      return;
    }
    readJson(request)
      .then((body) => answer(body as { stream?: boolean; model?: string }, response))
      .catch(() => response.writeHead(400).end());
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  for await (const part of request) parts.push(part as Buffer);
  return JSON.parse(Buffer.concat(parts).toString('utf8'));
}

function answer(body: { stream?: boolean; model?: string }, response: ServerResponse): void {
  const id = `chatcmpl-${Math.random().toString(36).slice(2)}`;
  const created = Math.floor(Date.now() / 1000);
  const model = body.model ?? MODEL;
  if (!body.stream) {
    const payload = JSON.stringify({
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: REPLY, refusal: null },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: 1, completion_tokens: 16, total_tokens: 17 },
    });
    response.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(payload),
    });
    response.end(payload);
    return;
  }
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (let index = 0; index < REPLY.length; index += CHUNK_CHARS) {
    const delta =
      index === 0
        ? { role: 'assistant', content: REPLY.slice(index, index + CHUNK_CHARS) }
        : { content: REPLY.slice(index, index + CHUNK_CHARS) };
    response.write(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: null, logprobs: null }] })}\n\n`,
    );
  }
  response.write(
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta: {}, finish_reason: 'stop', logprobs: null }] })}\n\n`,
  );
  response.end('data: [DONE]\n\n');
}

/**
 * Plugboard's server on 127.0.0.1 with `backend` (a plugin, or a `[plugin, settings]` entry)
 * and the 10 no-op plugins of the pipeline benchmark (or `pluginCount` of them), logger silent. Plugboard's modules are
 * imported here, not at the top of the file, so that the bare servers and proxies load none of
 * them: their RSS is that of a bare Node process.
 */
async function startPlugboardWith(backend: unknown, pluginCount = 10): Promise<number> {
  const [{ createSilentLogger }, { createServer }, { startManager }, { pluginAt }] = await Promise.all([
    import('../src/index.ts'),
    import('../src/server/create-server.ts'),
    import('../src/testing/index.ts'),
    import('./pipeline.bench.ts'),
  ]);
  const logger = createSilentLogger();
  const plugins = [backend, ...Array.from({ length: pluginCount }, (_, index) => pluginAt(index))];
  const manager = await startManager(plugins, { logger });
  const server = await createServer({ manager, logger, settings: { host: '127.0.0.1', port: 0 } });
  const url = await server.listen();
  return Number(new URL(url).port);
}

/** Plugboard with the scripted backend (80 characters in 20 chunks). */
async function startPlugboard(): Promise<number> {
  const { createScriptedBackend } = await import('../src/testing/index.ts');
  return startPlugboardWith(
    createScriptedBackend({
      name: 'scripted',
      models: [MODEL],
      reply: REPLY,
      chunking: CHUNK_CHARS,
      recordCalls: false,
    }),
  );
}

/**
 * The proxy cases' ceiling: a minimal node:http proxy of `path` to the upstream (a `bare` or an
 * `ollama-upstream` target) that parses and re-serializes the request JSON, re-serializes a
 * JSON answer, and pipes a stream (SSE or NDJSON), over a keep-alive agent.
 */
async function startBareProxy(upstream: string, path: string): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const target = new URL(path, upstream);
  const server = createHttpServer((request, response) => {
    if (request.method !== 'POST' || request.url !== path) {
      response.writeHead(404).end();
      return;
    }
    readJson(request)
      .then((body) => {
        const payload = JSON.stringify(body);
        const outgoing = httpRequest(
          target,
          {
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
          },
          (upstreamResponse) => {
            const type = upstreamResponse.headers['content-type'] ?? 'application/json';
            if (type.startsWith('text/event-stream') || type.startsWith('application/x-ndjson')) {
              response.writeHead(upstreamResponse.statusCode ?? 200, {
                'content-type': type,
                'cache-control': 'no-cache',
              });
              upstreamResponse.pipe(response);
              return;
            }
            readJson(upstreamResponse)
              .then((answer) => {
                const text = JSON.stringify(answer);
                response.writeHead(upstreamResponse.statusCode ?? 200, {
                  'content-type': 'application/json; charset=utf-8',
                  'content-length': Buffer.byteLength(text),
                });
                response.end(text);
              })
              .catch(() => response.writeHead(502).end());
          },
        );
        outgoing.on('error', () => response.writeHead(502).end());
        outgoing.end(payload);
      })
      .catch(() => response.writeHead(400).end());
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/**
 * The cost ladder between the bare proxy and Plugboard (`BENCH_CASES=ladder`): the same proxy on
 * Fastify (the server framework Plugboard runs on), and on node:http with the openai backend's
 * wire client in place of the bare `http.request` — each adds one layer of Plugboard's path.
 */
async function startFastifyProxy(upstream: string): Promise<number> {
  const { default: Fastify } = await import('fastify');
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const target = new URL('/v1/chat/completions', upstream);
  const app = Fastify({ logger: false });
  app.post('/v1/chat/completions', (request, reply) => {
    const payload = JSON.stringify(request.body);
    const outgoing = httpRequest(target, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    });
    outgoing.on('response', (upstreamResponse) => {
      const type = upstreamResponse.headers['content-type'] ?? 'application/json';
      if (type.startsWith('text/event-stream')) {
        reply.header('content-type', type).header('cache-control', 'no-cache').send(upstreamResponse);
        return;
      }
      readJson(upstreamResponse).then(
        (answer) => reply.send(answer),
        () => reply.code(502).send(),
      );
    });
    outgoing.on('error', () => reply.code(502).send());
    outgoing.end(payload);
  });
  return Number(new URL(await app.listen({ host: '127.0.0.1', port: 0 })).port);
}

/**
 * A node:http proxy whose upstream call is the openai backend's ChatWire: JSON re-serialized,
 * a stream's parsed chunks re-serialized as SSE events.
 */
async function startWireProxy(upstream: string): Promise<number> {
  const { ChatWire } = await import('../plugins/openai/chat-wire.ts');
  const wire = new ChatWire({ baseUrl: `${upstream}/v1`, headers: {}, maxRetries: 0 });
  const server = createHttpServer((request, response) => {
    const controller = new AbortController();
    readJson(request)
      .then(async (body) => {
        if ((body as { stream?: boolean }).stream) {
          const chunks = await wire.stream(body as object, controller.signal);
          response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
          for await (const chunk of chunks) response.write(`data: ${JSON.stringify(chunk)}\n\n`);
          response.end('data: [DONE]\n\n');
          return;
        }
        const text = JSON.stringify(await wire.complete(body as object, controller.signal));
        response.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(text),
        });
        response.end(text);
      })
      .catch(() => (response.headersSent ? response.destroy() : response.writeHead(502).end()));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Plugboard in front of the upstream: the openai backend pointed at it, with `plugins` no-op plugins. */
async function startPlugboardProxy(upstream: string, plugins = 10): Promise<number> {
  const { createOpenAiBackend } = await import('../plugins/openai/openai.plugin.ts');
  return startPlugboardWith(
    [createOpenAiBackend(), { config: { base_url: `${upstream}/v1`, api_key: 'bench', list_models: [MODEL] } }],
    plugins,
  );
}

/**
 * A fast fake Ollama server: `POST /api/chat` answered with Ollama's JSON (`stream: false`) or,
 * by default as in Ollama, an NDJSON stream of the reply in 20 chunks plus the final line with
 * `done`, `done_reason` and the counts; `GET /api/tags` lists the one model, `GET /api/version`
 * answers a version (health checks).
 */
async function startFakeOllama(): Promise<number> {
  const tags = JSON.stringify({
    models: [
      {
        name: MODEL,
        model: MODEL,
        modified_at: '2025-01-01T00:00:00.000000000Z',
        size: 1_000_000,
        digest: 'f'.repeat(64),
        details: {
          parent_model: '',
          format: 'gguf',
          family: 'llama',
          families: ['llama'],
          parameter_size: '1B',
          quantization_level: 'Q4_0',
        },
      },
    ],
  });
  const version = JSON.stringify({ version: '0.12.0' });
  const server = createHttpServer((request, response) => {
    if (request.method === 'GET' && (request.url === '/api/tags' || request.url === '/api/version')) {
      const text = request.url === '/api/tags' ? tags : version;
      response.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(text),
      });
      response.end(text);
      return;
    }
    if (request.method !== 'POST' || request.url !== '/api/chat') {
      response.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end('{"error":"not found"}');
      return;
    }
    readJson(request)
      .then((body) => answerOllama(body as { stream?: boolean; model?: string }, response))
      .catch(() => response.writeHead(400).end());
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function answerOllama(body: { stream?: boolean; model?: string }, response: ServerResponse): void {
  const model = body.model ?? MODEL;
  const createdAt = new Date().toISOString();
  const final = {
    done: true,
    done_reason: 'stop',
    total_duration: 1_000_000,
    load_duration: 10_000,
    prompt_eval_count: 1,
    prompt_eval_duration: 100_000,
    eval_count: 16,
    eval_duration: 800_000,
  };
  if (body.stream === false) {
    const payload = JSON.stringify({
      model,
      created_at: createdAt,
      message: { role: 'assistant', content: REPLY },
      ...final,
    });
    response.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(payload),
    });
    response.end(payload);
    return;
  }
  response.writeHead(200, { 'content-type': 'application/x-ndjson' });
  for (let index = 0; index < REPLY.length; index += CHUNK_CHARS) {
    const content = REPLY.slice(index, index + CHUNK_CHARS);
    response.write(
      `${JSON.stringify({ model, created_at: createdAt, message: { role: 'assistant', content }, done: false })}\n`,
    );
  }
  response.end(
    `${JSON.stringify({ model, created_at: createdAt, message: { role: 'assistant', content: '' }, ...final })}\n`,
  );
}

/** Plugboard in front of a fake Ollama: the ollama backend pointed at it. */
async function startPlugboardOllamaProxy(upstream: string): Promise<number> {
  const { createOllamaBackend } = await import('../plugins/ollama/ollama.plugin.ts');
  return startPlugboardWith([createOllamaBackend(), { config: { host: upstream } }]);
}

async function start(name: string | undefined, upstream: string | undefined): Promise<number> {
  if (name === 'bare') return startBare();
  if (name === 'plugboard') return startPlugboard();
  if (name === 'ollama-upstream') return startFakeOllama();
  if (upstream) {
    if (name === 'bare-proxy') return startBareProxy(upstream, '/v1/chat/completions');
    if (name === 'plugboard-proxy') return startPlugboardProxy(upstream);
    if (name === 'plugboard-proxy-no-plugins') return startPlugboardProxy(upstream, 0);
    if (name === 'fastify-proxy') return startFastifyProxy(upstream);
    if (name === 'wire-proxy') return startWireProxy(upstream);
    if (name === 'bare-ollama-proxy') return startBareProxy(upstream, '/api/chat');
    if (name === 'plugboard-ollama-proxy') return startPlugboardOllamaProxy(upstream);
  }
  throw new Error(
    `unknown target ${name}; use bare, plugboard, ollama-upstream, or bare-proxy / plugboard-proxy / bare-ollama-proxy / plugboard-ollama-proxy <upstream url>`,
  );
}

const port = await start(process.argv[2], process.argv[3]);
process.on('message', (message) => {
  if (message === 'cpu') {
    const usage = process.cpuUsage();
    process.send?.({
      cpu: usage.user + usage.system,
      rss: process.memoryUsage.rss(),
      maxRss: process.resourceUsage().maxRSS * 1024,
    });
  }
});
// The benchmark went away (ended, or interrupted): do not outlive it.
process.on('disconnect', () => process.exit(0));
process.send?.({ port });
