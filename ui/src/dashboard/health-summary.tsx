import { Badge, healthTone } from './badge.tsx';
import { formatClock, formatUptime } from './format.ts';
import type { HealthReport, StatusReport } from './types.ts';

/** The server at a glance: health (and why, when not healthy), uptime, version, plugin counts. */
export function HealthSummary(props: {
  readonly health: HealthReport | undefined;
  readonly status: StatusReport | undefined;
  readonly updatedAt: number | undefined;
  readonly paused: boolean;
}) {
  const { health, status } = props;
  const plugins = status === undefined ? [] : Object.values(status.plugins);
  const active = plugins.filter((plugin) => plugin.state === 'ACTIVE').length;
  return (
    <section class="panel health-summary" aria-labelledby="health-title">
      <h2 id="health-title">System</h2>
      <dl class="facts">
        <div>
          <dt>Health</dt>
          <dd>{health === undefined ? '…' : <Badge tone={healthTone(health.status)}>{health.status}</Badge>}</dd>
        </div>
        <div>
          <dt>Uptime</dt>
          <dd>{health === undefined ? '…' : formatUptime(health.uptime_seconds)}</dd>
        </div>
        <div>
          <dt>Version</dt>
          <dd>{health?.version ?? '…'}</dd>
        </div>
        <div>
          <dt>Plugins active</dt>
          <dd>{status === undefined ? '…' : `${active} of ${plugins.length}`}</dd>
        </div>
        <div>
          <dt>Snapshot</dt>
          <dd>{status?.snapshotVersion ?? '…'}</dd>
        </div>
        <div>
          <dt>Updated</dt>
          <dd>
            {props.paused ? 'paused (tab hidden)' : props.updatedAt === undefined ? '…' : formatClock(props.updatedAt)}
          </dd>
        </div>
      </dl>
      {health !== undefined && health.reasons.length > 0 ? (
        <ul class="reasons" aria-label="Why the server is not healthy">
          {health.reasons.map((reason) => (
            <li key={reason}>{reason}</li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
