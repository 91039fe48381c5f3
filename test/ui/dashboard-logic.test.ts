/**
 * The dashboard's logic without a browser: the Prometheus text parser, request and token rates
 * between scrapes, the ring buffer and chart geometry, what a poll observes, and the config
 * form's schema reading, client checks and placement of the server's issues.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSecretKey } from '../../src/core/util/redact.ts';
import { linePoints, niceMax } from '../../ui/src/dashboard/chart-geometry.ts';
import { checkConfig, fieldPaths } from '../../ui/src/dashboard/config-form/client-checks.ts';
import { issuesFromBody, placeIssues } from '../../ui/src/dashboard/config-form/field-issues.ts';
import { fieldKind, type JsonSchema } from '../../ui/src/dashboard/config-form/json-schema.ts';
import { isSecretName, isSecretPath } from '../../ui/src/dashboard/config-form/secret-names.ts';
import { getAt, parseIssuePath, pathKey, setAt } from '../../ui/src/dashboard/config-form/value-path.ts';
import { observeChanges } from '../../ui/src/dashboard/observed-transitions.ts';
import { addPluginSamples } from '../../ui/src/dashboard/plugin-samples.ts';
import { declaredMetrics, parsePrometheusText, sumSamples } from '../../ui/src/dashboard/prometheus-text.ts';
import { RingBuffer } from '../../ui/src/dashboard/ring-buffer.ts';
import { ratesBetween, trafficTotals } from '../../ui/src/dashboard/traffic-rates.ts';
import type { CallStats, MetricsReport, PluginStatus, StatusReport } from '../../ui/src/dashboard/types.ts';

const SCRAPE = `# HELP plugboard_http_requests_total HTTP requests by method, route pattern and status
# TYPE plugboard_http_requests_total counter
plugboard_http_requests_total{method="POST",route="/v1/chat/completions",status="200"} 3
plugboard_http_requests_total{method="POST",route="/v1/chat/completions",status="502"} 1
plugboard_http_requests_total{method="GET",route="/plugins",status="200"} 40
plugboard_http_requests_total{method="GET",route="/v1/models/:id",status="404"} 2
token_counter_tokens_total{direction="prompt",model="echo",backend="echo",principal="",source="estimate"} 30
token_counter_tokens_total{direction="completion",model="echo",backend="echo",principal="",source="estimate"} 12
plugboard_tokens_total{direction="in",backend="echo",api="openai"} 5
odd_metric{label="with \\"quotes\\", a \\\\ and a\\nnewline"} 1.5e3 1700000000000
broken_line{unclosed="x 3
nodejs_heap_size_used_bytes 1234
`;

describe('Prometheus text', () => {
  it('reads samples with labels, escapes and timestamps, and skips comments and broken lines', () => {
    const samples = parsePrometheusText(SCRAPE);
    assert.equal(samples.length, 9, 'every sample line but the broken one');
    const odd = samples.find((sample) => sample.name === 'odd_metric');
    assert.deepEqual(odd?.labels, { label: 'with "quotes", a \\ and a\nnewline' });
    assert.equal(odd?.value, 1500);
    assert.equal(sumSamples(samples, 'nodejs_heap_size_used_bytes'), 1234);
    assert.equal(sumSamples(samples, 'plugboard_http_requests_total', { status: '200' }), 43);
  });

  it('computes request rates by status class without the dashboard routes, and token rates', () => {
    const before = trafficTotals(parsePrometheusText(SCRAPE), 10_000);
    const later = SCRAPE.replace('status="200"} 3', 'status="200"} 7')
      .replace('route="/plugins",status="200"} 40', 'route="/plugins",status="200"} 80')
      .replace('source="estimate"} 30', 'source="estimate"} 50');
    const after = trafficTotals(parsePrometheusText(later), 12_000);
    assert.equal(before.tokenSource, 'token_counter');
    assert.deepEqual(before.requests, { '2xx': 3, '3xx': 0, '4xx': 2, '5xx': 1 });
    const rates = ratesBetween(before, after);
    assert.ok(rates !== undefined, 'two seconds apart: rates');
    assert.equal(rates.requests['2xx'], 2, '4 chat requests in 2 s; /plugins polling left out');
    assert.equal(rates.tokens.prompt, 10);
    assert.equal(rates.tokens.completion, 0);
    assert.equal(ratesBetween(after, after), undefined, 'no time between: no rate');
  });

  it('treats a counter that went down as reset, and falls back to the backends token counter', () => {
    const backendOnly = 'plugboard_tokens_total{direction="in"} 10\nplugboard_tokens_total{direction="out"} 4\n';
    const before = trafficTotals(parsePrometheusText(backendOnly), 0);
    const after = trafficTotals(parsePrometheusText(backendOnly.replace('} 10', '} 3')), 1000);
    assert.equal(before.tokenSource, 'backend');
    assert.equal(ratesBetween(before, after)?.tokens.prompt, 3, 'reset: the new value is the increase');
    const declaredOnly = '# HELP token_counter_tokens_total Tokens\n# TYPE token_counter_tokens_total counter\n';
    assert.deepEqual([...declaredMetrics(declaredOnly)], ['token_counter_tokens_total']);
    assert.equal(
      trafficTotals(parsePrometheusText(declaredOnly), 0, declaredMetrics(declaredOnly)).tokenSource,
      'token_counter',
      'token_counter runs before it counted anything',
    );
  });
});

describe('ring buffer and charts', () => {
  it('keeps the last items only', () => {
    let buffer = RingBuffer.empty<number>(3);
    for (const value of [1, 2, 3, 4, 5]) buffer = buffer.push(value);
    assert.deepEqual(buffer.items, [3, 4, 5]);
    assert.equal(buffer.last, 5);
    assert.throws(() => RingBuffer.empty(0), RangeError);
  });

  it('lays points out left to right, 0 at the bottom, and rounds scales up', () => {
    assert.equal(linePoints([0, 1, 2], 2, 100, 20), '0,20 50,10 100,0');
    assert.equal(linePoints([5], 0, 100, 20), '100,0', 'a value over a zero max is clamped to the top');
    assert.equal(niceMax(0), 1);
    assert.equal(niceMax(3.2), 5);
    assert.equal(niceMax(0.013), 0.02);
  });
});

const stats = (invocations: number, failures = 0): CallStats => ({
  invocations,
  successes: invocations - failures,
  failures,
  timeouts: 0,
  skipped: 0,
  latencyMs: { min: 1, mean: 1, max: 1, p50: 1, p99: 2 },
});

const plugin = (
  name: string,
  state: PluginStatus['state'],
  breaker: PluginStatus['breaker']['state'] = 'closed',
): PluginStatus => ({
  name,
  version: '1.0.0',
  state,
  enabled: true,
  kinds: ['message-processor'],
  priority: 'NORMAL',
  failurePolicy: 'open',
  timeoutMs: 1000,
  dependencies: {},
  hooks: [],
  breaker: { state: breaker, opened: 0 },
  inFlight: 0,
});

describe('polls', () => {
  it('turns call counts into per-second samples per plugin', () => {
    const report = (count: number, failures: number): MetricsReport => ({
      system: { uptimeSeconds: 1 },
      plugins: { filter: stats(count, failures) },
    });
    const first = addPluginSamples({}, undefined, report(10, 0), 0);
    assert.equal(first.filter?.size, 0, 'the first poll only sets the counts');
    const second = addPluginSamples(first, { at: 0, report: report(10, 0) }, report(14, 2), 2000);
    assert.deepEqual(second.filter?.last, { at: 2000, callsPerSecond: 2, failuresPerSecond: 1, p50: 1 });
  });

  it('observes state and breaker changes, and plugins that came or went', () => {
    const before: StatusReport = {
      snapshotVersion: 1,
      loadErrors: [],
      plugins: { a: plugin('a', 'ACTIVE'), b: plugin('b', 'ACTIVE') },
    };
    const after: StatusReport = {
      snapshotVersion: 2,
      loadErrors: [],
      plugins: { a: plugin('a', 'PAUSED', 'open'), c: plugin('c', 'ACTIVE') },
    };
    assert.deepEqual(observeChanges(undefined, after, 1), [], 'the first poll observes nothing');
    const texts = observeChanges(before, after, 5).map((change) => change.text);
    assert.deepEqual(texts, [
      'a: ACTIVE → PAUSED',
      'a: circuit breaker closed → open',
      'c: added (ACTIVE)',
      'b: removed',
    ]);
  });
});

const SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    window: { type: 'integer', minimum: 16, maximum: 4096, default: 96 },
    ratio: { type: 'number', exclusiveMinimum: 0, default: 4 },
    preload: { type: 'boolean', default: false },
    mode: { type: 'string', enum: ['a', 'b'], default: 'a' },
    region: { type: 'string', pattern: '^[A-Z]{2}$' },
    name: { type: 'string', minLength: 1 },
    tags: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 2 },
    rules: { type: 'array', items: { type: 'object', properties: { x: { type: 'string' } } } },
    nested: {
      type: 'object',
      properties: { level: { $ref: '#/$defs/level' } },
      required: ['level'],
      additionalProperties: false,
    },
    either: { anyOf: [{ type: 'string' }, { type: 'number' }] },
    maybe: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'null' }] },
    record: { type: 'object', additionalProperties: { type: 'string' } },
  },
  required: ['name'],
  $defs: { level: { type: 'string', enum: ['low', 'high'] } },
};

describe('the config form', () => {
  it('maps each schema to a field: scalars, enums, lists of scalars, fieldsets, and JSON for the rest', () => {
    const kinds = Object.fromEntries(
      Object.entries(SCHEMA.properties ?? {}).map(([key, schema]) => [key, fieldKind(schema, SCHEMA).kind]),
    );
    assert.deepEqual(kinds, {
      window: 'integer',
      ratio: 'number',
      preload: 'boolean',
      mode: 'enum',
      region: 'string',
      name: 'string',
      tags: 'array',
      rules: 'json',
      nested: 'object',
      either: 'json',
      maybe: 'integer',
      record: 'json',
    });
    const nested = SCHEMA.properties?.nested;
    assert.ok(nested?.properties?.level !== undefined, 'the schema has nested.level');
    assert.equal(fieldKind(nested.properties.level, SCHEMA).kind, 'enum', '$ref followed');
    assert.equal(fieldKind(SCHEMA.properties?.maybe ?? {}, SCHEMA).nullable, true);
  });

  it('checks required keys, types and bounds, and leaves patterns to the server', () => {
    const issues = checkConfig(SCHEMA, {
      window: 8,
      ratio: 0,
      mode: 'c',
      region: 'lower',
      tags: ['x', '', 'z'],
      nested: {},
      maybe: null,
    });
    assert.deepEqual(
      issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
      [
        'window: must be at least 16',
        'ratio: must be more than 0',
        'mode: expected one of a, b',
        'name: required',
        'tags: takes at most 2 item(s)',
        'tags.1: must not be empty',
        'nested.level: required',
      ],
    );
    assert.deepEqual(checkConfig(SCHEMA, { name: 'ok', window: 96.5 })[0]?.message, 'expected a whole number');
  });

  it("puts the server's issues next to their field, or inside the JSON field that holds them", () => {
    const config = { name: 'x', tags: ['a'], rules: [{ x: 1 }] };
    const fields = fieldPaths(SCHEMA, config);
    assert.ok(fields.has(pathKey(['nested', 'level'])), 'nested fields are fields');
    assert.ok(fields.has(pathKey(['tags', 0])), 'each list item is a field');
    const placed = placeIssues(
      [
        { path: ['region'], message: 'expected two capitals' },
        { path: ['rules', 0, 'x'], message: 'expected string' },
        { path: ['tags', '0'], message: 'too short' },
        { path: ['unknown'], message: 'unknown key "unknown"' },
        { path: [], message: 'two names are the same' },
      ],
      fields,
    );
    assert.deepEqual(placed.byField[pathKey(['region'])], ['expected two capitals']);
    assert.deepEqual(placed.byField[pathKey(['rules'])], ['[0].x: expected string']);
    assert.deepEqual(placed.byField[pathKey(['tags', 0])], ['too short'], "the server's '0' is item 0");
    assert.deepEqual(placed.unplaced, ['unknown: unknown key "unknown"', 'two names are the same']);
  });

  it('reads issue paths however the server writes them, and edits values at paths', () => {
    assert.deepEqual(parseIssuePath('custom[0].pattern'), ['custom', '0', 'pattern']);
    assert.deepEqual(parseIssuePath('/a~1b/1'), ['a/b', '1']);
    assert.deepEqual(parseIssuePath(['a', 2]), ['a', 2]);
    assert.deepEqual(
      issuesFromBody({ error: { code: 'X', message: 'm', issues: [{ path: 'a.b', message: 'bad' }, { nope: 1 }] } }),
      [{ path: ['a', 'b'], message: 'bad' }],
    );
    const value = { a: { b: 1 }, list: ['x', 'y'] };
    assert.deepEqual(setAt(value, ['a', 'c'], 2), { a: { b: 1, c: 2 }, list: ['x', 'y'] });
    assert.deepEqual(setAt(value, ['a', 'b'], undefined), { a: {}, list: ['x', 'y'] });
    assert.deepEqual(setAt(value, ['list', 0], undefined), { a: { b: 1 }, list: ['y'] });
    assert.deepEqual(value, { a: { b: 1 }, list: ['x', 'y'] }, 'the original is unchanged');
    assert.equal(getAt(value, ['list', 1]), 'y');
  });
});

describe('secret config keys (the form shows them as dots)', () => {
  const names = [
    'api_key',
    'apiKey',
    'x-api-key',
    'access_key_id',
    'ssh_key',
    'admin_token',
    'authToken',
    'token',
    'password',
    'dbPassword',
    'client_secret',
    'basic_auth',
    'cookie',
    'key',
    'pwd',
    'OPENAI_API_KEY',
    'max_tokens',
    'token_count',
    'cache_key',
    'keys',
    'author',
    'auth_mode',
    'monkey',
    'model',
    'url',
    '',
  ];
  it("agrees with the server's rule (src/core/util/redact.ts) on every name", () => {
    for (const name of names) assert.equal(isSecretName(name), isSecretKey(name), `same answer for "${name}"`);
    assert.ok(names.some(isSecretName) && !names.every(isSecretName), 'the list holds both kinds');
  });
  it('a path is secret by its nearest named key (a list item by its list)', () => {
    assert.equal(isSecretPath(['connection', 'password']), true);
    assert.equal(isSecretPath(['api_keys', 0]), false);
    assert.equal(isSecretPath(['secrets', 2]), true);
    assert.equal(isSecretPath(['url']), false);
    assert.equal(isSecretPath([]), false);
  });
});
