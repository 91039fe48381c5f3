/**
 * The servers `npm run bench:http` loads, each run in a child process of its own so that its
 * CPU time can be measured apart from the load generator's:
 *
 * - `bare`: a node:http server answering POST /v1/chat/completions with the same chat
 *   completion JSON, or SSE stream of 20 chunks, that Plugboard sends for the scripted
 *   backend — the practical ceiling of a Node.js server;
 * - `plugboard`: Plugboard's server with 10 no-op plugins of mixed kinds and the scripted
 *   backend.
 *
 * Started with the target name as argument; sends `{ port }` over IPC once listening and
 * answers `cpu` messages with its CPU time in µs.
 */
import {
  Agent,
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOpenAiBackend } from '../plugins/openai/openai.plugin.ts';
import { createSilentLogger } from '../src/index.ts';
import { createServer } from '../src/server/create-server.ts';
import { createScriptedBackend, startManager } from '../src/testing/index.ts';
import { CHUNK_CHARS, MODEL, REPLY } from './http-shared.ts';
import { pluginAt } from './pipeline.bench.ts';

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

async function startPlugboard(): Promise<number> {
  const logger = createSilentLogger();
  const plugins = [
    createScriptedBackend({
      name: 'scripted',
      models: [MODEL],
      reply: REPLY,
      chunking: CHUNK_CHARS,
      recordCalls: false,
    }),
    ...Array.from({ length: 10 }, (_, index) => pluginAt(index)),
  ];
  const manager = await startManager(plugins, { logger });
  const server = await createServer({ manager, logger, settings: { host: '127.0.0.1', port: 0 } });
  const url = await server.listen();
  return Number(new URL(url).port);
}

/**
 * The proxy case's ceiling: a minimal node:http proxy to the upstream (a `bare` target) that
 * parses and re-serializes the request JSON, re-serializes a JSON answer, and pipes a
 * stream, over a keep-alive agent.
 */
async function startBareProxy(upstream: string): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const target = new URL('/v1/chat/completions', upstream);
  const server = createHttpServer((request, response) => {
    if (request.method !== 'POST' || request.url !== '/v1/chat/completions') {
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
            if (type.startsWith('text/event-stream')) {
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

/** Plugboard in front of the upstream: the openai backend pointed at it, and the 10 no-op plugins. */
async function startPlugboardProxy(upstream: string): Promise<number> {
  const logger = createSilentLogger();
  const plugins = [
    [createOpenAiBackend(), { config: { base_url: `${upstream}/v1`, api_key: 'bench', list_models: [MODEL] } }],
    ...Array.from({ length: 10 }, (_, index) => pluginAt(index)),
  ];
  const manager = await startManager(plugins, { logger });
  const server = await createServer({ manager, logger, settings: { host: '127.0.0.1', port: 0 } });
  const url = await server.listen();
  return Number(new URL(url).port);
}

async function start(name: string | undefined, upstream: string | undefined): Promise<number> {
  if (name === 'bare') return startBare();
  if (name === 'plugboard') return startPlugboard();
  if (name === 'bare-proxy' && upstream) return startBareProxy(upstream);
  if (name === 'plugboard-proxy' && upstream) return startPlugboardProxy(upstream);
  throw new Error(`unknown target ${name}; use bare, plugboard, or bare-proxy / plugboard-proxy <upstream url>`);
}

const port = await start(process.argv[2], process.argv[3]);
process.on('message', (message) => {
  if (message === 'cpu') {
    const usage = process.cpuUsage();
    process.send?.({ cpu: usage.user + usage.system });
  }
});
process.send?.({ port });
