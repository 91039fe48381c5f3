import { formatClock } from './format.ts';

/** One line of the page's activity: a change it observed, or an admin action's outcome. */
export interface ActivityEntry {
  readonly id: number;
  readonly at: number;
  readonly text: string;
  readonly hint?: string;
  readonly tone: 'ok' | 'warning' | 'error' | 'info';
}

/**
 * What happened while the page was open, newest first and timestamped: state and breaker
 * changes seen between polls, and the outcome of each admin action. It is the page's one live
 * region (role "log"): screen readers announce each new line, once.
 */
export function ActivityLog(props: { readonly entries: readonly ActivityEntry[] }) {
  return (
    <section class="panel activity" aria-labelledby="activity-title">
      <h2 id="activity-title">Activity</h2>
      <div role="log" aria-labelledby="activity-title">
        <ol class="activity-list">
          {[...props.entries].reverse().map((entry) => (
            <li key={entry.id} class={`activity-${entry.tone}`}>
              <time dateTime={new Date(entry.at).toISOString()}>{formatClock(entry.at)}</time> <span>{entry.text}</span>
              {entry.hint === undefined ? null : <span class="activity-hint"> {entry.hint}</span>}
            </li>
          ))}
        </ol>
      </div>
      {props.entries.length === 0 ? <p class="muted">Nothing yet: changes and admin actions show here.</p> : null}
    </section>
  );
}
