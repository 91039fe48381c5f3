/**
 * OpenTelemetry tracing: a SERVER span per HTTP request with a child span per plugin call
 * (processors, middleware, hooks, the backend and its stream), all in one trace; exported
 * over OTLP/HTTP to a collector; and none of it when tracing is off.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  type ChatChunk,
  defineBackend,
  defineMessageProcessor,
  defineMiddleware,
  definePlugin,
} from '../../src/index.ts';
import { createTracing, otlpTracesEndpoint } from '../../src/server/observability/tracing.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { deferred } from '../support/deferred.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';
import { chat, get, startTracedServer } from './observability-support.ts';

const upper = defineMessageProcessor({
  metadata: { name: 'upper', version: '1.0.0' },
  direction: 'input',
  processMessage: async (message) => ({ ...message, content: message.content.toUpperCase() }),
});
const gatekeeper = defineMiddleware({
  metadata: { name: 'gatekeeper', version: '1.0.0' },
  processRequest: (context) => context,
});
const audit = definePlugin({
  metadata: { name: 'audit', version: '1.0.0' },
  onRequestEnd: async () => undefined,
  healthCheck: async () => ({ status: 'healthy' as const }),
});
const flaky = defineMessageProcessor({
  metadata: { name: 'flaky', version: '1.0.0' },
  direction: 'input',
  processMessage: (message) => {
    if (/fail/i.test(message.content)) throw new Error('flaky failed');
    return message;
  },
});

const serverSpanOf = (spans: readonly ReadableSpan[], requestId: string): ReadableSpan => {
  const found = spans.filter(
    (span) => span.kind === SpanKind.SERVER && span.attributes['plugboard.request_id'] === requestId,
  );
  assert.equal(found.length, 1, `one server span for ${requestId}`);
  return found[0]!;
};
const childrenOf = (spans: readonly ReadableSpan[], parent: ReadableSpan): ReadableSpan[] =>
  spans.filter(
    (span) =>
      span.spanContext().traceId === parent.spanContext().traceId &&
      span.parentSpanContext?.spanId === parent.spanContext().spanId,
  );

describe('tracing into an in-memory exporter', () => {
  const exporter = new InMemorySpanExporter();
  let server: TestServer;
  before(async () => {
    server = await startTracedServer([createScriptedBackend(), upper, gatekeeper, audit, flaky], { exporter });
  });
  after(() => server.close());

  test('one chat request: a server span, and a child span for each plugin call and the backend call', async () => {
    const response = await chat(server.url, 'hello', { headers: { 'x-request-id': 'trace-1' } });
    assert.equal(response.status, 200);
    const spans = exporter.getFinishedSpans();
    const root = serverSpanOf(spans, 'trace-1');
    assert.equal(root.name, 'POST /v1/chat/completions');
    assert.equal(root.attributes['http.request.method'], 'POST');
    assert.equal(root.attributes['http.route'], '/v1/chat/completions');
    assert.equal(root.attributes['http.response.status_code'], 200);
    assert.equal(root.parentSpanContext, undefined, 'a root span (no traceparent was sent)');

    const children = childrenOf(spans, root).filter((span) => span.attributes['plugboard.request_id'] === 'trace-1');
    const names = children.map((span) => span.name).sort();
    assert.deepEqual(names, [
      'chat scripted',
      'hook:requestEnd audit',
      'processMessage.input flaky',
      'processMessage.input upper',
      'processRequest gatekeeper',
    ]);
    for (const span of children) {
      assert.equal(span.attributes['plugboard.outcome'], 'success', span.name);
      assert.equal(span.status.code, SpanStatusCode.UNSET, span.name);
    }
    const backend = children.find((span) => span.name === 'chat scripted')!;
    assert.equal(backend.kind, SpanKind.CLIENT);
    assert.equal(backend.attributes['plugboard.plugin.name'], 'scripted');
    assert.equal(backend.attributes['plugboard.plugin.operation'], 'chat');
    const processor = children.find((span) => span.name === 'processMessage.input upper')!;
    assert.equal(processor.kind, SpanKind.INTERNAL);
    // Children lie within their parent.
    for (const span of children) {
      assert.ok(hrtimeToNs(span.startTime) >= hrtimeToNs(root.startTime), `${span.name} starts inside the request`);
      assert.ok(hrtimeToNs(span.endTime) <= hrtimeToNs(root.endTime), `${span.name} ends inside the request`);
    }
  });

  test('a streamed request adds the backend stream span, in the same trace', async () => {
    const response = await chat(server.url, 'stream me', { stream: true, headers: { 'x-request-id': 'trace-2' } });
    assert.equal(response.status, 200);
    const spans = exporter.getFinishedSpans();
    const root = serverSpanOf(spans, 'trace-2');
    const stream = childrenOf(spans, root).find((span) => span.name === 'chat:stream scripted');
    assert.ok(stream, 'a chat:stream span under the request span');
    assert.equal(stream.kind, SpanKind.CLIENT);
    assert.equal(stream.attributes['plugboard.outcome'], 'success');
  });

  test('a failing plugin call: its span says failure with the error code; the request still succeeds', async () => {
    const response = await chat(server.url, 'please fail', { headers: { 'x-request-id': 'trace-3' } });
    assert.equal(response.status, 200);
    const spans = exporter.getFinishedSpans();
    const root = serverSpanOf(spans, 'trace-3');
    const failed = childrenOf(spans, root).find((span) => span.name === 'processMessage.input flaky');
    assert.ok(failed);
    assert.equal(failed.attributes['plugboard.outcome'], 'failure');
    assert.equal(failed.attributes['error.type'], 'PLUGIN_CALL_FAILED');
    assert.equal(failed.status.code, SpanStatusCode.ERROR);
    assert.equal(root.status.code, SpanStatusCode.UNSET);
  });

  test('a request with a W3C traceparent continues the caller’s trace', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentId = '00f067aa0ba902b7';
    const response = await chat(server.url, 'hello', {
      headers: { 'x-request-id': 'trace-4', traceparent: `00-${traceId}-${parentId}-01` },
    });
    assert.equal(response.status, 200);
    const spans = exporter.getFinishedSpans();
    const root = serverSpanOf(spans, 'trace-4');
    assert.equal(root.spanContext().traceId, traceId);
    assert.equal(root.parentSpanContext?.spanId, parentId);
    assert.ok(childrenOf(spans, root).length >= 4);
  });

  test('calls with no request id (health checks) nest under the request span through the async context', async () => {
    const response = await get(`${server.url}/health`, { 'x-request-id': 'trace-5' });
    assert.equal(response.status, 200);
    const spans = exporter.getFinishedSpans();
    const root = serverSpanOf(spans, 'trace-5');
    assert.equal(root.name, 'GET /health');
    const checks = childrenOf(spans, root);
    assert.deepEqual(
      checks.map((span) => span.name),
      ['healthCheck audit'],
    );
    assert.equal(checks[0]!.attributes['plugboard.request_id'], undefined);
  });

  test('a 5xx response marks the server span as an error; a 4xx does not', async () => {
    const missing = await chat(server.url, 'hello', { model: 'no-such-model', headers: { 'x-request-id': 'trace-6' } });
    assert.equal(missing.status, 404);
    const root = serverSpanOf(exporter.getFinishedSpans(), 'trace-6');
    assert.equal(root.attributes['http.response.status_code'], 404);
    assert.equal(root.status.code, SpanStatusCode.UNSET);
  });
});

describe('tracing a stream the client abandons', () => {
  const exporter = new InMemorySpanExporter();
  const firstChunkSent = deferred();
  /** Sends one chunk, then nothing until the request is aborted. */
  const stalling = defineBackend({
    metadata: { name: 'stalling', version: '1.0.0' },
    listModels: () => [{ id: 'stalling-model' }],
    chat: (_context, call) =>
      (async function* (): AsyncGenerator<ChatChunk> {
        yield { content: 'partial ' };
        firstChunkSent.resolve();
        await new Promise((_, reject) => call.signal.addEventListener('abort', () => reject(call.signal.reason)));
      })(),
  });
  let server: TestServer;
  before(async () => {
    server = await startTracedServer([stalling], { exporter });
  });
  after(() => server.close());

  test('the request span says aborted, and so does the backend stream span', async () => {
    const client = new AbortController();
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'trace-abort' },
      body: JSON.stringify({ model: 'stalling-model', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      signal: client.signal,
    });
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    await reader.read();
    await firstChunkSent.promise;
    client.abort();
    await reader.read().catch(() => undefined);
    // The server notices the disconnect on its own time: wait for the spans, not for a clock.
    const ended = (name: string) =>
      exporter
        .getFinishedSpans()
        .find((span) => span.name === name && span.attributes['plugboard.request_id'] === 'trace-abort');
    while (!ended('POST /v1/chat/completions') || !ended('chat:stream stalling')) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const root = ended('POST /v1/chat/completions')!;
    assert.equal(root.attributes['error.type'], 'aborted');
    assert.equal(root.status.code, SpanStatusCode.ERROR);
    const stream = ended('chat:stream stalling')!;
    assert.equal(stream.attributes['plugboard.outcome'], 'aborted');
    assert.equal(stream.parentSpanContext?.spanId, root.spanContext().spanId);
  });
});

describe('tracing switched off', () => {
  test('with no OTLP endpoint in the environment there is no tracing and no call observer', async () => {
    assert.equal(createTracing({ env: {} }), undefined);
    assert.equal(createTracing({ env: { OTEL_SERVICE_NAME: 'x' } }), undefined);
    assert.equal(
      createTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_SDK_DISABLED: 'true' } }),
      undefined,
    );
    assert.equal(
      createTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_TRACES_EXPORTER: 'none' } }),
      undefined,
    );
    const server = await startTracedServer([createScriptedBackend()], { env: {} });
    try {
      assert.equal(server.server.context.tracing, undefined);
      assert.equal(server.manager.callObserver, undefined);
      assert.equal((await chat(server.url, 'hi')).status, 200);
    } finally {
      await server.close();
    }
  });

  test('tracing: false turns it off whatever the environment', async () => {
    const server = await startTracedServer([createScriptedBackend()], false);
    try {
      assert.equal(server.server.context.tracing, undefined);
      assert.equal(server.manager.callObserver, undefined);
    } finally {
      await server.close();
    }
  });

  test('closing the server removes its call observer from the manager', async () => {
    const server = await startTracedServer([createScriptedBackend()], { exporter: new InMemorySpanExporter() });
    assert.ok(server.manager.callObserver !== undefined);
    await server.server.close();
    assert.equal(server.manager.callObserver, undefined);
    await server.manager.shutdown();
  });

  test('the traces endpoint: the signal-specific variable wins; /v1/traces is added to the general one', () => {
    assert.equal(otlpTracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' }), 'http://c:4318/v1/traces');
    assert.equal(
      otlpTracesEndpoint({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:9999/custom',
      }),
      'http://t:9999/custom',
    );
    assert.equal(otlpTracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }), undefined);
  });
});

describe('OTLP export to a collector', () => {
  /** A stand-in OpenTelemetry collector: records every POST. */
  const received: { path: string; contentType: string; body: string }[] = [];
  const collector = createHttpServer((request: IncomingMessage, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => {
      received.push({ path: request.url ?? '', contentType: request.headers['content-type'] ?? '', body });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  let endpoint: string;
  before(async () => {
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => collector.close(() => resolve())));

  test('with OTEL_EXPORTER_OTLP_ENDPOINT set, closing the server sends the spans to <endpoint>/v1/traces', async () => {
    const server = await startTracedServer([createScriptedBackend(), upper], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'plugboard-under-test' },
    });
    assert.equal(server.server.context.tracing?.destination, `${endpoint}/v1/traces`);
    try {
      const response = await chat(server.url, 'hello', { headers: { 'x-request-id': 'otlp-1' } });
      assert.equal(response.status, 200);
    } finally {
      await server.close(); // flushes the batch
    }
    const posts = received.filter((post) => post.path === '/v1/traces');
    assert.ok(posts.length >= 1, `the collector received ${received.length} requests`);
    assert.match(posts[0]!.contentType, /application\/json/);
    const spans = posts.flatMap((post) => {
      const body = JSON.parse(post.body) as {
        resourceSpans: {
          resource: { attributes: { key: string; value: { stringValue?: string } }[] };
          scopeSpans: { spans: { name: string; traceId: string; parentSpanId?: string }[] }[];
        }[];
      };
      return body.resourceSpans.flatMap((resource) => {
        const service = resource.resource.attributes.find((attribute) => attribute.key === 'service.name');
        assert.equal(service?.value.stringValue, 'plugboard-under-test');
        return resource.scopeSpans.flatMap((scope) => scope.spans);
      });
    });
    const names = spans.map((span) => span.name);
    for (const name of ['POST /v1/chat/completions', 'processMessage.input upper', 'chat scripted']) {
      assert.ok(names.includes(name), `${name} exported; got ${names.join(', ')}`);
    }
    const root = spans.find((span) => span.name === 'POST /v1/chat/completions')!;
    const backend = spans.find((span) => span.name === 'chat scripted')!;
    assert.equal(backend.traceId, root.traceId);
  });
});

/** The default server (no tracing option, no OTEL_* variables in the test environment) does not trace. */
describe('startTestServer', () => {
  test('has no tracing unless the environment asks for it', async (t) => {
    if (otlpTracesEndpoint(process.env) !== undefined) t.skip('OTEL_EXPORTER_OTLP_ENDPOINT is set for this run');
    const server = await startTestServer([createScriptedBackend()]);
    try {
      assert.equal(server.manager.callObserver, undefined);
    } finally {
      await server.close();
    }
  });
});

function hrtimeToNs([seconds, nanos]: readonly [number, number]): bigint {
  return BigInt(seconds) * 1_000_000_000n + BigInt(nanos);
}
