import { ApiError } from '../api/api-error.ts';
import { api } from '../api/client.ts';
import type { AdminPluginResponse, ReloadReport } from './types.ts';

/**
 * The admin API calls the dashboard makes (docs/api/admin.md). The API client sends the admin
 * token on /admin paths (or the API key, which works when it has the admin scope), and a 401
 * or 403 makes the shell ask for it.
 */

export type PluginAction = 'enable' | 'disable' | 'reload' | 'breaker-reset';

const PATHS: Record<PluginAction, string> = {
  enable: 'enable',
  disable: 'disable',
  reload: 'reload',
  'breaker-reset': 'breaker/reset',
};

/**
 * Runs an action on one plugin.
 *
 * @example
 * ```ts
 * const { changed, status } = await runPluginAction('content_filter', 'disable');
 * ```
 */
export function runPluginAction(plugin: string, action: PluginAction): Promise<AdminPluginResponse> {
  return api<AdminPluginResponse>(`/admin/plugins/${encodeURIComponent(plugin)}/${PATHS[action]}`, {
    method: 'POST',
  });
}

/** `POST /admin/reload`: reads the configuration file again and applies what changed. */
export function reloadConfiguration(): Promise<ReloadReport> {
  return api<ReloadReport>('/admin/reload', { method: 'POST' });
}

/** What an action did, in words. */
export function describeAction(response: AdminPluginResponse): string {
  const { plugin, changed, status } = response;
  switch (response.action) {
    case 'disable':
      return changed ? `${plugin} disabled (now ${status.state})` : `${plugin} was already off (${status.state})`;
    case 'enable':
      return changed ? `${plugin} enabled (now ${status.state})` : `${plugin} was already on (${status.state})`;
    case 'breaker-reset':
      return changed
        ? `${plugin}: circuit breaker reset (now ${status.breaker.state})`
        : `${plugin}: circuit breaker was already ${status.breaker.state}`;
    case 'reload':
      return `${plugin} reloaded (now ${status.state}, snapshot ${response.snapshotVersion ?? '?'})`;
  }
}

/** The message to show for a failed action: the server's words, and what to do. */
export function describeFailure(error: unknown): { readonly message: string; readonly hint?: string } {
  if (error instanceof ApiError) {
    if (error.status === 401 || error.status === 403)
      return {
        message: error.message,
        hint: error.hint ?? 'Enter the admin token (the "Admin token" button), then try again.',
      };
    return error.hint === undefined ? { message: error.message } : { message: error.message, hint: error.hint };
  }
  return { message: error instanceof Error ? error.message : String(error) };
}
