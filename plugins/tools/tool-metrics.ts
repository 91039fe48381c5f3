import type { MetricCounter, MetricGauge, MetricHistogram, MetricsService } from '../../src/index.ts';

/** How a tool call ended: the `outcome` label of the metrics and the tool results' `outcome`. */
export const OUTCOMES = [
  'ok',
  'error',
  'invalid_arguments',
  'timeout',
  'unavailable',
  'failed',
  'not_run',
  'aborted',
] as const;
export type ToolOutcome = (typeof OUTCOMES)[number];

/** The tools plugin's metrics (on `GET /metrics`). */
export interface ToolMetrics {
  /** Tool calls by tool and outcome. */
  readonly calls: MetricCounter<'tool' | 'outcome'>;
  /** How long tool calls took, by tool. */
  readonly duration: MetricHistogram<'tool'>;
  /** Tool rounds (a model turn whose tool calls were run), by whether the model may call tools again. */
  readonly rounds: MetricCounter<'next'>;
  /** 1 while an MCP server is connected, 0 otherwise. */
  readonly serverUp: MetricGauge<'server'>;
  /** Tools an MCP server registered. */
  readonly serverTools: MetricGauge<'server'>;
}

/**
 * Defines the metrics (defining them again, after a reload, returns the same series).
 *
 * @example
 * ```ts
 * const metrics = defineToolMetrics(call.services.get(metricsRef));
 * metrics.calls.inc({ tool: 'weather', outcome: 'ok' });
 * ```
 */
export function defineToolMetrics(service: MetricsService): ToolMetrics {
  return {
    calls: service.counter({
      name: 'tools_calls_total',
      help: 'Tool calls the tool loop ran, by tool and outcome',
      labelNames: ['tool', 'outcome'],
    }),
    duration: service.histogram({
      name: 'tools_call_duration_seconds',
      help: 'How long tool calls took, by tool',
      labelNames: ['tool'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    }),
    rounds: service.counter({
      name: 'tools_rounds_total',
      help: 'Tool rounds run; next = auto (the model may call tools again) or none (max_turns reached)',
      labelNames: ['next'],
    }),
    serverUp: service.gauge({
      name: 'tools_mcp_server_up',
      help: '1 while the MCP server is connected, 0 otherwise',
      labelNames: ['server'],
    }),
    serverTools: service.gauge({
      name: 'tools_mcp_server_tools',
      help: 'Tools the MCP server registered',
      labelNames: ['server'],
    }),
  };
}
