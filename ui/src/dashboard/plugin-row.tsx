import { ActionOutcome, type Outcome } from './action-outcome.tsx';
import type { PluginAction } from './admin-actions.ts';
import { Badge, breakerTone, healthTone, stateTone } from './badge.tsx';
import { formatCount, formatKind, formatMs, formatRate } from './format.ts';
import type { PluginSample } from './plugin-samples.ts';
import type { RingBuffer } from './ring-buffer.ts';
import { Sparkline } from './sparkline.tsx';
import type { CallStats, HealthReport, PluginStatus } from './types.ts';

/** The table's columns, for the header and for each cell's label when rows become cards (narrow screens). */
export const PLUGIN_COLUMNS = [
  'Plugin',
  'Kind',
  'State',
  'Priority',
  'Breaker',
  'Health',
  'Calls',
  'Failures',
  'Latency p50 / p99',
  'Calls/s',
  'Actions',
] as const;

type Column = (typeof PLUGIN_COLUMNS)[number];

const POLICY_WORDS = { open: 'bypass (open)', closed: 'refuse (closed)' } as const;

/** One plugin's row: what it is, how it is, its figures, and the admin actions on it. */
export function PluginRow(props: {
  readonly plugin: PluginStatus;
  readonly stats: CallStats | undefined;
  readonly samples: RingBuffer<PluginSample> | undefined;
  readonly health: HealthReport['plugins'][string] | undefined;
  readonly pending: PluginAction | undefined;
  readonly outcome: Outcome | undefined;
  readonly expanded: boolean;
  readonly detailsId: string;
  readonly onToggle: () => void;
  readonly onAction: (action: PluginAction) => void;
}) {
  const { plugin, stats, health } = props;
  const name = plugin.name;
  const cell = (column: Column) => ({ 'data-label': column });
  const samples = props.samples?.items ?? [];
  const calls = samples.map((sample) => sample.callsPerSecond);
  const failures = samples.map((sample) => sample.failuresPerSecond);
  const lastCalls = calls[calls.length - 1] ?? 0;
  const busy = props.pending !== undefined;
  const breakerTripped = plugin.breaker.state === 'open' || plugin.breaker.state === 'half-open';
  return (
    <tr class={`plugin-row state-${plugin.state.toLowerCase()}`} data-plugin={name}>
      <th scope="row" {...cell('Plugin')}>
        <span class="plugin-name">{name}</span>
        <span class="plugin-version">{plugin.version}</span>
        {plugin.enabled ? null : <span class="plugin-off">off in the configuration</span>}
        <button
          type="button"
          class="link-button details-toggle"
          aria-label={`Details of ${name}`}
          aria-expanded={props.expanded}
          aria-controls={props.detailsId}
          onClick={props.onToggle}
        >
          {props.expanded ? 'Hide details' : 'Details'}
        </button>
      </th>
      <td {...cell('Kind')}>
        {plugin.kinds.length > 0
          ? plugin.kinds.map(formatKind).join(', ')
          : plugin.hooks.length > 0
            ? 'hooks only'
            : '–'}
      </td>
      <td {...cell('State')}>
        <Badge tone={stateTone(plugin.state)}>{plugin.state}</Badge>
        {plugin.lastError === undefined ? null : (
          <span class="last-error-code" title={plugin.lastError.message}>
            last error: {plugin.lastError.code}
          </span>
        )}
      </td>
      <td {...cell('Priority')}>
        {plugin.priority}
        <span class="policy" title="What a request does when this plugin fails">
          on failure: {POLICY_WORDS[plugin.failurePolicy] ?? plugin.failurePolicy}
        </span>
      </td>
      <td {...cell('Breaker')}>
        <Badge tone={breakerTone(plugin.breaker.state)}>{plugin.breaker.state}</Badge>
        {breakerTripped ? (
          <button
            type="button"
            class="small"
            aria-label={`Reset the circuit breaker of ${name}`}
            disabled={busy}
            onClick={() => props.onAction('breaker-reset')}
          >
            Reset
          </button>
        ) : null}
      </td>
      <td {...cell('Health')}>
        {health === undefined ? (
          <span class="muted">–</span>
        ) : (
          <Badge
            tone={healthTone(health.health.status)}
            {...(health.health.message === undefined ? {} : { title: health.health.message })}
          >
            {health.health.status}
          </Badge>
        )}
      </td>
      <td {...cell('Calls')} class="number">
        {stats === undefined ? '–' : formatCount(stats.invocations)}
      </td>
      <td
        {...cell('Failures')}
        class={`number ${stats !== undefined && stats.failures + stats.timeouts > 0 ? 'has-failures' : ''}`}
      >
        {stats === undefined ? '–' : formatCount(stats.failures + stats.timeouts)}
        {stats !== undefined && stats.skipped > 0 ? (
          <span class="skipped"> ({formatCount(stats.skipped)} skipped)</span>
        ) : null}
      </td>
      <td {...cell('Latency p50 / p99')} class="number">
        {stats === undefined || stats.invocations === 0 ? (
          '–'
        ) : (
          <>
            <span class="nowrap">{formatMs(stats.latencyMs.p50)}</span> /{' '}
            <span class="nowrap">{formatMs(stats.latencyMs.p99)}</span>
          </>
        )}
      </td>
      <td {...cell('Calls/s')}>
        <span class="trend">
          <Sparkline
            values={calls}
            alert={failures}
            label={`${name}: ${formatRate(lastCalls)} calls/s now${failures.some((value) => value > 0) ? ', with failures' : ''}`}
          />
          <span class="trend-value">{formatRate(lastCalls)}</span>
        </span>
      </td>
      <td {...cell('Actions')}>
        <div class="row-actions">
          {plugin.state === 'ACTIVE' ? (
            <button
              type="button"
              aria-label={`Disable ${name}`}
              disabled={busy}
              onClick={() => props.onAction('disable')}
            >
              Disable
            </button>
          ) : (
            <button
              type="button"
              aria-label={`Enable ${name}`}
              disabled={busy}
              onClick={() => props.onAction('enable')}
            >
              Enable
            </button>
          )}
          <button type="button" aria-label={`Reload ${name}`} disabled={busy} onClick={() => props.onAction('reload')}>
            Reload
          </button>
        </div>
        <ActionOutcome outcome={props.pending === undefined ? recent(props.outcome) : pendingOutcome(props.pending)} />
      </td>
    </tr>
  );
}

/** How long an action's outcome stays in its row (the activity log keeps every one). */
const OUTCOME_SHOWN_MS = 30_000;

function recent(outcome: Outcome | undefined): Outcome | undefined {
  return outcome !== undefined && Date.now() - outcome.at < OUTCOME_SHOWN_MS ? outcome : undefined;
}

function pendingOutcome(action: PluginAction): Outcome {
  const words: Record<PluginAction, string> = {
    enable: 'Enabling…',
    disable: 'Disabling…',
    reload: 'Reloading…',
    'breaker-reset': 'Resetting the breaker…',
  };
  return { tone: 'pending', message: words[action], at: Date.now() };
}
