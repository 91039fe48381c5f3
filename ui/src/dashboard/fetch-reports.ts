import { ApiError } from '../api/api-error.ts';
import { api, send } from '../api/client.ts';
import type { HealthReport, MetricsReport, StatusReport } from './types.ts';

/**
 * The four reads of one dashboard poll. None needs a credential (docs/api/observability.md),
 * but they go through the API client so a server that guards them anyway gets its key.
 */

export function fetchStatus(signal: AbortSignal): Promise<StatusReport> {
  return api<StatusReport>('/plugins', { signal });
}

export function fetchPluginMetrics(signal: AbortSignal): Promise<MetricsReport> {
  return api<MetricsReport>('/plugins/metrics', { signal });
}

/** `GET /health`: an unhealthy server answers 503 with the same report, which is no error here. */
export async function fetchHealth(signal: AbortSignal): Promise<HealthReport> {
  try {
    return await api<HealthReport>('/health', { signal });
  } catch (error) {
    if (error instanceof ApiError && error.status === 503 && isHealthReport(error.body)) return error.body;
    throw error;
  }
}

/** `GET /metrics` as text; undefined when the server has it turned off (404). */
export async function fetchPrometheusText(signal: AbortSignal): Promise<string | undefined> {
  try {
    const response = await send('/metrics', { signal, headers: { accept: 'text/plain' } });
    return await response.text();
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
}

function isHealthReport(body: unknown): body is HealthReport {
  return typeof body === 'object' && body !== null && 'status' in body && 'plugins' in body;
}
