import type { StatusReport } from './types.ts';

/** A change the page saw between two polls of `GET /plugins` (kept while the page is open). */
export interface ObservedChange {
  readonly at: number;
  readonly plugin: string;
  readonly text: string;
  readonly tone: 'ok' | 'warning' | 'error' | 'info';
}

/**
 * What changed between two status reports: states, breakers, plugins that came or went. The
 * server keeps each plugin's own transitions (reset by a reload); these are the page's log,
 * announced to screen readers as they happen.
 *
 * @example
 * ```ts
 * observeChanges(before, after, Date.now()); // [{ plugin: 'cache', text: 'cache: ACTIVE → PAUSED', … }]
 * ```
 */
export function observeChanges(
  previous: StatusReport | undefined,
  current: StatusReport,
  at: number,
): ObservedChange[] {
  if (previous === undefined) return [];
  const changes: ObservedChange[] = [];
  for (const [name, plugin] of Object.entries(current.plugins)) {
    const before = previous.plugins[name];
    if (before === undefined) {
      changes.push({ at, plugin: name, text: `${name}: added (${plugin.state})`, tone: 'info' });
      continue;
    }
    if (before.state !== plugin.state) {
      changes.push({
        at,
        plugin: name,
        text: `${name}: ${before.state} → ${plugin.state}`,
        tone: plugin.state === 'ACTIVE' ? 'ok' : plugin.state === 'ERROR' ? 'error' : 'warning',
      });
    }
    if (before.breaker.state !== plugin.breaker.state) {
      changes.push({
        at,
        plugin: name,
        text: `${name}: circuit breaker ${before.breaker.state} → ${plugin.breaker.state}`,
        tone: plugin.breaker.state === 'open' ? 'error' : plugin.breaker.state === 'closed' ? 'ok' : 'warning',
      });
    }
  }
  for (const name of Object.keys(previous.plugins)) {
    if (!(name in current.plugins)) changes.push({ at, plugin: name, text: `${name}: removed`, tone: 'warning' });
  }
  return changes;
}
