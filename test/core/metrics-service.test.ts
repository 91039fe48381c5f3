import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PrometheusMetrics } from '../../src/core/metrics/metrics-service.ts';
import { isPlugboardError } from '../../src/index.ts';

function metricInvalid(pattern: RegExp) {
  return (error: unknown) => isPlugboardError(error) && error.code === 'METRIC_INVALID' && pattern.test(error.message);
}

describe("the plugins' metrics service (PrometheusMetrics)", () => {
  test('counters, gauges and histograms render in the Prometheus text format', async () => {
    const metrics = new PrometheusMetrics();
    const tokens = metrics.counter({ name: 'tc_tokens_total', help: 'Tokens', labelNames: ['direction'] });
    tokens.inc({ direction: 'in' }, 12);
    tokens.inc({ direction: 'in' });
    metrics.gauge({ name: 'tc_entries', help: 'Entries' }).set({}, 3);
    metrics.histogram({ name: 'tc_bytes', help: 'Bytes', buckets: [10, 100] }).observe({}, 42);
    const text = await metrics.registry.metrics();
    assert.match(text, /tc_tokens_total\{direction="in"\} 13/);
    assert.match(text, /tc_entries 3/);
    assert.match(text, /tc_bytes_bucket\{le="100"\} 1/);
  });

  test('defining a metric again returns it (a reloaded plugin keeps its series); another definition of the name is refused', () => {
    const metrics = new PrometheusMetrics();
    const first = metrics.counter({ name: 'a_total', help: 'A', labelNames: ['x'] });
    first.inc({ x: '1' }, 2);
    const again = metrics.counter({ name: 'a_total', help: 'A', labelNames: ['x'] });
    again.inc({ x: '1' }, 3);
    assert.throws(
      () => metrics.gauge({ name: 'a_total', help: 'A', labelNames: ['x'] }),
      metricInvalid(/already defined as a counter/),
    );
    assert.throws(
      () => metrics.counter({ name: 'a_total', help: 'A', labelNames: ['y'] }),
      metricInvalid(/already defined/),
    );
  });

  test("malformed names, the server's prefixes and bad labels are refused", () => {
    const metrics = new PrometheusMetrics();
    assert.throws(() => metrics.counter({ name: 'has space', help: 'x' }), metricInvalid(/not a Prometheus name/));
    assert.throws(
      () => metrics.counter({ name: 'plugboard_mine_total', help: 'x' }),
      metricInvalid(/are the server's/),
    );
    assert.throws(() => metrics.counter({ name: 'nodejs_mine', help: 'x' }), metricInvalid(/are the server's/));
    assert.throws(() => metrics.counter({ name: 'ok_total', help: '' }), metricInvalid(/needs a help text/));
    assert.throws(
      () => metrics.counter({ name: 'ok_total', help: 'x', labelNames: ['__reserved'] }),
      metricInvalid(/not a label name/),
    );
  });

  test('recording never throws: an undeclared label, a negative or non-finite amount are dropped', async () => {
    const metrics = new PrometheusMetrics();
    const counter = metrics.counter<'model'>({ name: 'b_total', help: 'B', labelNames: ['model'] });
    counter.inc({ model: 'm' }, -1);
    counter.inc({ model: 'm' }, Number.NaN);
    counter.inc({ model: 'm', other: 'x' } as never);
    counter.inc({ model: 'm' }, 2);
    assert.match(await metrics.registry.metrics(), /b_total\{model="m"\} 2/);
  });
});
