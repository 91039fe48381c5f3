import { useCallback, useRef, useState } from 'preact/hooks';
import type { CredentialKind } from '../auth/credentials.ts';
import type { Outcome } from './action-outcome.tsx';
import { type ActivityEntry, ActivityLog } from './activity-log.tsx';
import { ConfigPanel } from './config-panel.tsx';
import { HealthSummary } from './health-summary.tsx';
import type { ObservedChange } from './observed-transitions.ts';
import { PluginTable } from './plugin-table.tsx';
import { TrafficCharts } from './traffic-charts.tsx';
import { useDashboardData } from './use-dashboard-data.ts';
import { usePageVisible } from './use-page-visible.ts';
import { usePluginActions } from './use-plugin-actions.ts';
import './dashboard.css';

const MAX_ACTIVITY = 50;

/**
 * The plugin dashboard (`#/dashboard`): the server's health, request and token rates, every
 * plugin with its state, breaker, health and figures — polled every 2 s while the tab is
 * visible — and the admin actions (enable, disable, reload, breaker reset, configuration).
 */
export function DashboardView(props: {
  readonly rest: readonly string[];
  readonly onAskCredential: (kind: CredentialKind) => void;
}) {
  const [activity, setActivity] = useState<readonly ActivityEntry[]>([]);
  const nextId = useRef(0);
  const log = useCallback((entries: readonly Omit<ActivityEntry, 'id'>[]) => {
    setActivity((current) =>
      [...current, ...entries.map((entry) => ({ ...entry, id: nextId.current++ }))].slice(-MAX_ACTIVITY),
    );
  }, []);
  const onChanges = useCallback(
    (changes: readonly ObservedChange[]) => log(changes.map(({ at, text, tone }) => ({ at, text, tone }))),
    [log],
  );
  const { data, refresh, showStatus } = useDashboardData(onChanges);
  const visible = usePageVisible();

  const logOutcome = (outcome: Outcome) => {
    if (outcome.tone === 'pending') return;
    log([
      {
        at: outcome.at,
        text: outcome.message,
        tone: outcome.tone,
        ...(outcome.hint === undefined ? {} : { hint: outcome.hint }),
      },
    ]);
    refresh();
  };
  const actions = usePluginActions((_plugin, outcome, response) => {
    if (response !== undefined) showStatus(response.status);
    logOutcome(outcome);
  });
  const errors = Object.entries(data.errors);

  return (
    <section class="dashboard" aria-labelledby="dashboard-title">
      <h1 id="dashboard-title">Dashboard</h1>
      {errors.length === 0 ? null : (
        <div class="banner error">
          {errors.map(([what, error]) => (
            <p key={what}>
              Could not read {what}: {error.message}
              {error.hint === undefined ? null : <span class="outcome-hint"> {error.hint}</span>}
            </p>
          ))}
        </div>
      )}
      <div class="dashboard-top">
        <HealthSummary health={data.health} status={data.status} updatedAt={data.updatedAt} paused={!visible} />
        <ConfigPanel
          status={data.status}
          onAskAdminToken={() => props.onAskCredential('adminToken')}
          onDone={logOutcome}
        />
      </div>
      <TrafficCharts traffic={data.traffic} tokenSource={data.tokenSource} available={data.prometheus} />
      <section class="panel plugins" aria-labelledby="plugins-title">
        <h2 id="plugins-title">Plugins</h2>
        <PluginTable
          data={data}
          pending={actions.pending}
          outcomes={actions.outcomes}
          onAction={(plugin, action) => void actions.run(plugin, action)}
          onConfigApplied={(_plugin, outcome) => logOutcome(outcome)}
        />
      </section>
      <ActivityLog entries={activity} />
    </section>
  );
}
