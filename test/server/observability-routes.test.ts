/**
 * The observability endpoints over real HTTP: GET /plugins, /plugins/metrics, /health (and
 * /health/live, /health/ready) and /metrics in Prometheus' text format, after real chat
 * requests through the OpenAI-compatible API.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PlugboardError } from '../../src/core/errors/plugboard-error.ts';
import { type ChatChunk, defineBackend, defineMessageProcessor, definePlugin } from '../../src/index.ts';
import type { HealthBody } from '../../src/server/observability/health-routes.ts';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { deferred } from '../support/deferred.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';
import { chat, get, parsePrometheus, sampleValue, scrape } from './observability-support.ts';

const upper = defineMessageProcessor({
  metadata: { name: 'upper', version: '2.1.0', description: 'Shouts' },
  direction: 'input',
  processMessage: (message) => ({ ...message, content: message.content.toUpperCase() }),
});

/** The plugin operation stats of GET /plugins/metrics. */
interface OperationStats {
  readonly invocations: number;
  readonly successes: number;
  readonly failures: number;
}
interface PluginsMetricsBody {
  readonly system: { readonly plugins: Record<string, number>; readonly uptimeSeconds: number };
  readonly plugins: Record<string, OperationStats & { readonly operations: Record<string, OperationStats> }>;
}

describe('GET /plugins and /plugins/metrics', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer([createScriptedBackend(), [upper, { priority: 'HIGH' }]]);
  });
  after(() => server.close());

  test('/plugins shows each plugin: state and transitions, kinds, priority, breaker', async () => {
    await chat(server.url, 'hello');
    const response = await get(`${server.url}/plugins`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /application\/json/);
    const body = response.json() as {
      plugins: Record<string, Record<string, unknown>>;
      loadErrors: unknown[];
      snapshotVersion: number;
    };
    assert.deepEqual(Object.keys(body.plugins).sort(), ['scripted', 'upper']);
    const plugin = body.plugins.upper!;
    assert.equal(plugin.state, 'ACTIVE');
    assert.equal(plugin.version, '2.1.0');
    assert.deepEqual(plugin.kinds, ['message-processor']);
    assert.equal(plugin.priority, 'HIGH');
    assert.deepEqual(plugin.breaker, { state: 'closed', opened: 0 });
    const transitions = plugin.transitions as { to: string }[];
    assert.deepEqual(
      transitions.map((transition) => transition.to),
      ['LOADING', 'LOADED', 'INITIALIZING', 'ACTIVE'],
    );
    assert.deepEqual(body.plugins.scripted!.kinds, ['backend-provider']);
    assert.deepEqual(body.loadErrors, []);
  });

  test('/plugins lists files that could not be loaded, with the reason', async () => {
    server.manager.reportLoadProblem(
      '/plugins/broken.plugin.ts',
      new PlugboardError('PLUGIN_MODULE_LOAD_FAILED', 'broken.plugin.ts: Unexpected token'),
      'broken',
    );
    const body = (await get(`${server.url}/plugins`)).json() as {
      loadErrors: { path: string; plugin: string; error: { code: string; message: string } }[];
    };
    assert.deepEqual(body.loadErrors, [
      {
        path: '/plugins/broken.plugin.ts',
        plugin: 'broken',
        error: { code: 'PLUGIN_MODULE_LOAD_FAILED', message: 'broken.plugin.ts: Unexpected token' },
      },
    ]);
    server.manager.clearLoadProblem('broken');
  });

  test('/plugins/metrics counts grow with each chat request, per plugin and per operation', async () => {
    const read = async () => (await get(`${server.url}/plugins/metrics`)).json() as PluginsMetricsBody;
    const before = await read();
    for (const text of ['one', 'two', 'three']) assert.equal((await chat(server.url, text)).status, 200);
    const after = await read();

    const calls = (body: PluginsMetricsBody, plugin: string, operation: string) =>
      body.plugins[plugin]?.operations[operation]?.successes ?? 0;
    assert.equal(calls(after, 'upper', 'processMessage.input') - calls(before, 'upper', 'processMessage.input'), 3);
    assert.equal(calls(after, 'scripted', 'chat') - calls(before, 'scripted', 'chat'), 3);
    assert.equal(after.plugins.upper!.invocations - before.plugins.upper!.invocations, 3);
    assert.equal(after.plugins.upper!.failures, 0);
    assert.equal(after.system.plugins.active, 2);
    assert.equal(after.system.plugins.total, 2);
  });
});

describe('GET /health', () => {
  const servers: TestServer[] = [];
  after(() => Promise.all(servers.map((server) => server.close())));
  const start = async (...args: Parameters<typeof startTestServer>) => {
    const server = await startTestServer(...args);
    servers.push(server);
    return server;
  };
  const watcher = (status: 'healthy' | 'degraded' | 'unhealthy', details?: Record<string, unknown>) =>
    definePlugin({
      metadata: { name: 'watcher', version: '1.0.0' },
      onRequestEnd: () => undefined,
      healthCheck: () => ({ status, message: `queue is ${status}`, ...(details ? { details } : {}) }),
    });

  test('healthy: 200 in the shape of spec §11.3, with each plugin’s custom metrics, version and uptime', async () => {
    const server = await start([createScriptedBackend(), watcher('healthy', { queue: 3 })]);
    const response = await get(`${server.url}/health`);
    assert.equal(response.status, 200);
    const body = response.json() as Record<string, unknown>;
    assert.equal(body.status, 'healthy');
    assert.ok(!Number.isNaN(Date.parse(body.timestamp as string)), 'timestamp is ISO 8601');
    assert.match(body.version as string, /^\d+\.\d+\.\d+/);
    assert.equal(typeof body.uptime_seconds, 'number');
    assert.deepEqual(body.reasons, []);
    assert.deepEqual(body.plugins, {
      scripted: { state: 'ACTIVE', health: { status: 'healthy', custom_metrics: {} } },
      watcher: {
        state: 'ACTIVE',
        health: { status: 'healthy', message: 'queue is healthy', custom_metrics: { queue: 3 } },
      },
    });
  });

  test('degraded: a plugin reporting itself degraded gives 200 and says which', async () => {
    const server = await start([createScriptedBackend(), watcher('degraded')]);
    const response = await get(`${server.url}/health`);
    assert.equal(response.status, 200);
    const body = response.json() as HealthBody;
    assert.equal(body.status, 'degraded');
    assert.deepEqual(body.reasons, ['watcher: queue is degraded']);
    assert.equal(body.plugins.watcher?.health.status, 'degraded');
  });

  test('unhealthy: 503 when a fail-closed plugin is unwell', async () => {
    const server = await start([createScriptedBackend(), [watcher('unhealthy'), { failurePolicy: 'closed' }]]);
    const response = await get(`${server.url}/health`);
    assert.equal(response.status, 503);
    const body = response.json() as { status: string; reasons: string[] };
    assert.equal(body.status, 'unhealthy');
    assert.deepEqual(body.reasons, ['watcher: queue is unhealthy (fail-closed)']);
  });

  test('unhealthy: 503 when no backend is active', async () => {
    const server = await start([upper]);
    const response = await get(`${server.url}/health`);
    assert.equal(response.status, 503);
    assert.deepEqual((response.json() as { reasons: string[] }).reasons, ['no backend provider is active']);
  });

  test('a health check that never answers is reported as timed out; the endpoint still answers', async () => {
    const hanging = definePlugin({
      metadata: { name: 'hanging', version: '1.0.0' },
      onRequestEnd: () => undefined,
      healthCheck: () => new Promise<never>(() => undefined),
    });
    const server = await start([createScriptedBackend(), hanging], { manager: { healthTimeoutMs: 100 } });
    const response = await get(`${server.url}/health`);
    assert.equal(response.status, 200);
    const body = response.json() as HealthBody;
    assert.equal(body.status, 'degraded');
    assert.equal(body.plugins.hanging?.health.status, 'unhealthy');
    assert.match(body.plugins.hanging?.health.message ?? '', /^PLUGIN_TIMEOUT: .*within 100 ms/);
    assert.equal(body.plugins.scripted?.health.status, 'healthy');
  });

  test('/health/live answers 200 {status: ok}', async () => {
    const server = await start([upper]);
    const response = await get(`${server.url}/health/live`);
    assert.equal(response.status, 200);
    assert.deepEqual(response.json(), { status: 'ok' });
  });

  test('/health/ready: 200 with the active backends; 503 with the reasons when there is none', async () => {
    const ready = await start([createScriptedBackend({ name: 'alpha' })]);
    const yes = await get(`${ready.url}/health/ready`);
    assert.equal(yes.status, 200);
    assert.deepEqual(yes.json(), { status: 'ready', reasons: [], backends: ['alpha'] });

    const notReady = await start([upper]);
    const no = await get(`${notReady.url}/health/ready`);
    assert.equal(no.status, 503);
    assert.deepEqual(no.json(), { status: 'not_ready', reasons: ['no backend provider is active'], backends: [] });
  });

  test('/health/ready turns 503 when the backend is paused, and 200 again when resumed', async () => {
    const server = await start([createScriptedBackend({ name: 'solo' })]);
    server.manager.pausePlugin('solo');
    assert.equal((await get(`${server.url}/health/ready`)).status, 503);
    server.manager.resumePlugin('solo');
    assert.equal((await get(`${server.url}/health/ready`)).status, 200);
  });
});

describe('GET /metrics (Prometheus)', () => {
  /** A backend whose stream stops after its first chunk until the test lets it go on. */
  const gate = deferred();
  const firstChunkSent = deferred();
  const gated = defineBackend({
    metadata: { name: 'gated', version: '1.0.0' },
    listModels: () => [{ id: 'gated-model' }],
    async chat(context) {
      if (!context.stream) return { message: { role: 'assistant', content: 'whole' } };
      return (async function* (): AsyncGenerator<ChatChunk> {
        yield { content: 'first ' };
        firstChunkSent.resolve();
        await gate.promise;
        yield { content: 'last', finishReason: 'stop', usage: { promptTokens: 2, completionTokens: 2 } };
      })();
    },
  });
  const failing = createScriptedBackend({
    name: 'failing',
    models: ['failing-model'],
    fail: () => ({ error: new Error('model server unreachable') }),
  });

  let server: TestServer;
  before(async () => {
    server = await startTestServer([
      createScriptedBackend({ reply: 'three word reply' }),
      gated,
      failing,
      [upper, { priority: 'HIGH' }],
    ]);
  });
  after(() => server.close());

  test('is valid Prometheus text with its content type, and includes process metrics', async () => {
    const response = await get(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const samples = parsePrometheus(response.text);
    assert.ok(samples.some((sample) => sample.name === 'process_cpu_seconds_total'));
    assert.ok(samples.some((sample) => sample.name === 'nodejs_heap_size_used_bytes'));
    assert.equal(sampleValue(samples, 'plugboard_build_info').valueOf(), 1);
    assert.equal(sampleValue(samples, 'plugboard_plugins', { state: 'active' }), 4);
    assert.equal(sampleValue(samples, 'plugboard_plugin_breaker_state', { plugin: 'upper' }), 0);
  });

  test('counts the HTTP requests of the route just called, by route pattern and status', async () => {
    const before = await scrape(server.url);
    const count = (samples: typeof before) =>
      samples.find(
        (sample) =>
          sample.name === 'plugboard_http_requests_total' &&
          sample.labels.route === '/v1/chat/completions' &&
          sample.labels.status === '200' &&
          sample.labels.method === 'POST',
      )?.value ?? 0;
    assert.equal((await chat(server.url, 'hi there')).status, 200);
    assert.equal((await chat(server.url, 'hi again')).status, 200);
    const after = await scrape(server.url);
    assert.equal(count(after) - count(before), 2);
    const latency = sampleValue(after, 'plugboard_http_request_duration_seconds_count', {
      method: 'POST',
      route: '/v1/chat/completions',
      status: '200',
    });
    assert.ok(latency >= 2);
    // A URL with no route is counted under one label, not under the raw URL.
    await get(`${server.url}/no/such/path/${Date.now()}`);
    const unmatched = (await scrape(server.url)).filter(
      (sample) => sample.name === 'plugboard_http_requests_total' && sample.labels.status === '404',
    );
    assert.deepEqual(
      unmatched.map((sample) => sample.labels.route),
      ['unmatched'],
    );
  });

  test('counts plugin invocations per plugin and operation, and tokens in and out', async () => {
    const before = await scrape(server.url);
    assert.equal((await chat(server.url, 'count these four words')).status, 200);
    const after = await scrape(server.url);
    const delta = (name: string, labels: Record<string, string>) =>
      sampleValue(after, name, labels) -
      (before.some((sample) => sample.name === name && Object.entries(labels).every(([k, v]) => sample.labels[k] === v))
        ? sampleValue(before, name, labels)
        : 0);
    assert.equal(
      delta('plugboard_plugin_invocations_total', {
        plugin: 'upper',
        operation: 'processMessage.input',
        outcome: 'success',
      }),
      1,
    );
    assert.equal(
      delta('plugboard_plugin_invocations_total', { plugin: 'scripted', operation: 'chat', outcome: 'success' }),
      1,
    );
    assert.equal(delta('plugboard_tokens_total', { direction: 'in', backend: 'scripted', api: 'openai' }), 4);
    assert.equal(delta('plugboard_tokens_total', { direction: 'out', backend: 'scripted', api: 'openai' }), 3);
    assert.equal(
      delta('plugboard_chat_requests_total', { backend: 'scripted', api: 'openai', finish_reason: 'stop' }),
      1,
    );
    assert.ok(sampleValue(after, 'plugboard_plugin_latency_seconds', { plugin: 'upper', quantile: '0.99' }) > 0);
    assert.ok(sampleValue(after, 'plugboard_plugin_last_invocation_timestamp_seconds', { plugin: 'upper' }) > 0);
  });

  test('counts plugin failures and failed chats by error code', async () => {
    const response = await chat(server.url, 'hello', { model: 'failing-model' });
    assert.equal(response.status, 502);
    const samples = await scrape(server.url);
    assert.equal(
      sampleValue(samples, 'plugboard_plugin_invocations_total', {
        plugin: 'failing',
        operation: 'chat',
        outcome: 'failure',
      }),
      1,
    );
    assert.equal(sampleValue(samples, 'plugboard_chat_failures_total', { api: 'openai', code: 'BACKEND_FAILED' }), 1);
  });

  test('the active streams gauge is 1 while a stream is open and back to 0 after it', async () => {
    const streaming = chat(server.url, 'stream please', { stream: true, model: 'gated-model' });
    await firstChunkSent.promise;
    assert.equal(sampleValue(await scrape(server.url), 'plugboard_active_streams'), 1);
    gate.resolve();
    const response = await streaming;
    assert.equal(response.status, 200);
    assert.match(response.text, /first /);
    assert.match(response.text, /\[DONE\]/);
    const samples = await scrape(server.url);
    assert.equal(sampleValue(samples, 'plugboard_active_streams'), 0);
    assert.equal(sampleValue(samples, 'plugboard_tokens_total', { direction: 'out', backend: 'gated' }), 2);
    assert.equal(
      sampleValue(samples, 'plugboard_plugin_invocations_total', {
        plugin: 'gated',
        operation: 'chat:stream',
        outcome: 'success',
      }),
      1,
    );
  });
});

describe('GET /metrics switched off', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer([createScriptedBackend()], { settings: { metricsEnabled: false } });
  });
  after(() => server.close());

  test('answers 404 in Plugboard’s error format; the JSON endpoints stay', async () => {
    const response = await get(`${server.url}/metrics`);
    assert.equal(response.status, 404);
    assert.equal((response.json() as { error: { code: string } }).error.code, 'ROUTE_NOT_FOUND');
    assert.equal((await get(`${server.url}/plugins/metrics`)).status, 200);
  });
});
