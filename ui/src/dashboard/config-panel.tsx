import { useEffect, useState } from 'preact/hooks';
import { getCredential, onCredentialsChange } from '../auth/credentials.ts';
import { ActionOutcome, type Outcome } from './action-outcome.tsx';
import { describeFailure, reloadConfiguration } from './admin-actions.ts';
import { formatDateTime } from './format.ts';
import { ReloadReportView } from './reload-report.tsx';
import type { ReloadReport, StatusReport } from './types.ts';

/**
 * The configuration: its file and what its last reload did, endpoint conflicts and files that
 * could not be loaded (from `GET /plugins`); the admin token and "Reload configuration".
 */
export function ConfigPanel(props: {
  readonly status: StatusReport | undefined;
  readonly onAskAdminToken: () => void;
  readonly onDone: (outcome: Outcome) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [report, setReport] = useState<ReloadReport | undefined>();
  const [outcome, setOutcome] = useState<Outcome | undefined>();
  // A refusal for want of a token is stale once a credential is given (the log keeps it).
  useEffect(
    () => onCredentialsChange(() => setOutcome((current) => (current?.tone === 'error' ? undefined : current))),
    [],
  );
  const config = props.status?.config;
  const lastReload = config?.lastReload;
  const conflicts = props.status?.endpointConflicts ?? [];
  const loadErrors = props.status?.loadErrors ?? [];
  const hasToken = getCredential('adminToken') !== undefined;

  const reload = async () => {
    setBusy(true);
    setOutcome({ tone: 'pending', message: 'Reloading the configuration…', at: Date.now() });
    try {
      const result = await reloadConfiguration();
      setReport(result);
      const done: Outcome = {
        tone: result.refused.length === 0 ? 'ok' : 'error',
        message:
          result.refused.length === 0
            ? `Configuration reloaded: ${result.applied.length === 0 ? 'nothing changed' : `applied ${result.applied.join(', ')}`}`
            : `Configuration reloaded, ${result.refused.length} change(s) refused: ${result.refused.map((r) => r.plugin).join(', ')}`,
        at: Date.now(),
      };
      setOutcome(done);
      props.onDone(done);
    } catch (error) {
      setReport(undefined);
      const done: Outcome = { tone: 'error', ...describeFailure(error), at: Date.now() };
      setOutcome(done);
      props.onDone(done);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="panel config-panel" aria-labelledby="config-title">
      <h2 id="config-title">Configuration</h2>
      <dl class="facts">
        <div class="wide">
          <dt>File</dt>
          <dd>{config?.file === undefined ? <em>none (embedded server)</em> : <code>{config.file}</code>}</dd>
        </div>
        <div>
          <dt>Last reload</dt>
          <dd>
            {lastReload === undefined
              ? 'none since start'
              : `${formatDateTime(lastReload.at)}: ${lastReload.ok ? 'ok' : 'refused'}`}
          </dd>
        </div>
      </dl>
      {lastReload?.error === undefined ? null : (
        <p class="banner error">
          {lastReload.error.code}: {lastReload.error.message}
        </p>
      )}
      {(lastReload?.refused ?? []).length === 0 ? null : (
        <ul class="refusals" aria-label="Refused at the last reload">
          {lastReload?.refused?.map((refusal) => (
            <li key={`${refusal.plugin}:${refusal.code}`}>
              <code>{refusal.plugin}</code> ({refusal.code}): {refusal.message}
            </li>
          ))}
        </ul>
      )}
      <div class="panel-actions">
        <button type="button" class="primary" onClick={reload} disabled={busy}>
          Reload configuration
        </button>
        <button type="button" onClick={props.onAskAdminToken}>
          {hasToken ? 'Admin token ✓' : 'Admin token'}
        </button>
      </div>
      <div>
        <ActionOutcome outcome={outcome} />
        {report === undefined ? null : <ReloadReportView report={report} />}
      </div>
      {conflicts.length === 0 ? null : (
        <div class="banner warning">
          <p>
            <strong>Endpoint conflicts</strong>: these endpoints are not served, because a plugin before them declares
            the same method and path.
          </p>
          <ul>
            {conflicts.map((conflict) => (
              <li key={conflict}>
                <code>{conflict}</code>
              </li>
            ))}
          </ul>
        </div>
      )}
      {loadErrors.length === 0 ? null : (
        <div class="banner error">
          <p>
            <strong>Files that could not be loaded</strong>
          </p>
          <ul>
            {loadErrors.map((problem) => (
              <li key={problem.path}>
                <code>{problem.path}</code>
                {problem.plugin === undefined ? '' : ` (${problem.plugin})`}: {problem.error.code} —{' '}
                {problem.error.message}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
