import { useState } from 'preact/hooks';
import type { Outcome } from './action-outcome.tsx';
import { PluginConfigForm } from './config-form/plugin-config-form.tsx';
import { formatClock, formatDateTime, formatMs, formatWhen } from './format.ts';
import type { ObservedChange } from './observed-transitions.ts';
import type { PluginStatus, SandboxStatus } from './types.ts';

/**
 * Everything else about one plugin: its description and facts, last error, open breakers,
 * endpoints, its state history (the server's, and what this page saw), and its configuration
 * form (loaded on demand: it needs the admin token).
 */
export function PluginDetails(props: {
  readonly plugin: PluginStatus;
  readonly observed: readonly ObservedChange[];
  readonly onConfigApplied: (outcome: Outcome) => void;
}) {
  const { plugin } = props;
  const [editing, setEditing] = useState(false);
  const transitions = plugin.transitions ?? [];
  const dependencies = Object.entries(plugin.dependencies);
  return (
    <div class="plugin-details">
      {plugin.description === undefined ? null : <p class="plugin-description">{plugin.description}</p>}
      <dl class="facts">
        <div>
          <dt>Version</dt>
          <dd>{plugin.version}</dd>
        </div>
        <div>
          <dt>Timeout</dt>
          <dd>{formatMs(plugin.timeoutMs)}</dd>
        </div>
        <div>
          <dt>In flight</dt>
          <dd>{plugin.inFlight}</dd>
        </div>
        <div>
          <dt>In the configuration</dt>
          <dd>{plugin.enabled ? 'enabled' : 'enabled: false'}</dd>
        </div>
        {plugin.source === undefined ? null : (
          <div class="wide">
            <dt>Source</dt>
            <dd>
              <code>{plugin.source}</code>
            </dd>
          </div>
        )}
        {plugin.hooks.length === 0 ? null : (
          <div class="wide">
            <dt>Hooks</dt>
            <dd>{plugin.hooks.join(', ')}</dd>
          </div>
        )}
        {dependencies.length === 0 ? null : (
          <div class="wide">
            <dt>Depends on</dt>
            <dd>{dependencies.map(([name, range]) => `${name} ${range}`).join(', ')}</dd>
          </div>
        )}
        {plugin.endpoints === undefined ? null : (
          <div class="wide">
            <dt>Endpoints</dt>
            <dd>
              {plugin.endpoints.map((endpoint) => (
                <code key={endpoint} class="endpoint">
                  {endpoint}
                </code>
              ))}
            </dd>
          </div>
        )}
      </dl>
      {plugin.sandbox === undefined ? null : <SandboxDetails sandbox={plugin.sandbox} />}
      {plugin.lastError === undefined ? null : (
        <p class="banner error">
          <strong>Last error</strong> {plugin.lastError.code}
          {plugin.lastError.hook === undefined ? '' : ` in ${plugin.lastError.hook}`}: {plugin.lastError.message}
        </p>
      )}
      {plugin.breaker.operations === undefined ? null : (
        <p class="banner warning">
          <strong>Circuit breaker</strong> (opened {plugin.breaker.opened} time(s)
          {plugin.breaker.lastOpenedAt === undefined ? '' : `, last at ${formatDateTime(plugin.breaker.lastOpenedAt)}`}
          ):{' '}
          {Object.entries(plugin.breaker.operations)
            .map(([operation, breaker]) => `${operation} ${breaker.state}`)
            .join(', ')}
        </p>
      )}
      <h3>State history</h3>
      {transitions.length === 0 ? (
        <p class="muted">The server reports no transitions for this plugin.</p>
      ) : (
        <div class="table-scroll">
          <table class="transitions">
            <caption class="visually-hidden">State transitions of {plugin.name}</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">From</th>
                <th scope="col">To</th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              {transitions.map((transition, index) => (
                <tr key={index}>
                  <td>
                    <time dateTime={transition.at} title={formatDateTime(transition.at)}>
                      {formatWhen(transition.at)}
                    </time>
                  </td>
                  <td>{transition.from}</td>
                  <td>{transition.to}</td>
                  <td>{transition.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {props.observed.length === 0 ? null : (
        <>
          <h3>Seen by this page</h3>
          <ul class="observed">
            {props.observed.map((change) => (
              <li key={`${change.at}:${change.text}`}>
                <time dateTime={new Date(change.at).toISOString()}>{formatClock(change.at)}</time> {change.text}
              </li>
            ))}
          </ul>
        </>
      )}
      <h3>Configuration</h3>
      {editing ? (
        <PluginConfigForm plugin={plugin.name} onApplied={props.onConfigApplied} onClose={() => setEditing(false)} />
      ) : (
        <button type="button" onClick={() => setEditing(true)} aria-label={`Edit the configuration of ${plugin.name}`}>
          Edit configuration
        </button>
      )}
    </div>
  );
}

/** Where a sandboxed plugin runs, how it is held, and what this machine cannot enforce. */
function SandboxDetails({ sandbox }: { sandbox: SandboxStatus }) {
  const memory = sandbox.usage?.memoryBytes;
  return (
    <section class="sandbox" aria-label="Sandbox">
      <h3>Sandbox</h3>
      <p>
        Own process{sandbox.pid === undefined ? '' : ` (pid ${sandbox.pid})`}, {sandbox.state}; restarted{' '}
        {sandbox.restarts} time(s). Limits: {sandbox.limits.memoryMb} MB
        {memory === undefined ? '' : ` (using ${Math.round(memory / 1048576)} MB)`}, {sandbox.limits.cpuPercent} % CPU,
        network {sandbox.limits.allowHosts.length === 0 ? 'none' : sandbox.limits.allowHosts.join(', ')}.
      </p>
      {sandbox.lastExit === undefined ? null : (
        <p class="banner warning">
          <strong>Last exit</strong> ({sandbox.lastExit.kind}, {formatDateTime(sandbox.lastExit.at)}):{' '}
          {sandbox.lastExit.detail}
        </p>
      )}
      {sandbox.gaps.length === 0 ? null : (
        <p class="banner warning">
          <strong>Not enforced here</strong>: {sandbox.gaps.join('; ')}
        </p>
      )}
      <ul class="enforcement">
        {Object.entries(sandbox.enforcement).map(([limit, how]) => (
          <li key={limit}>
            <strong>{limit}</strong>: {how}
          </li>
        ))}
      </ul>
    </section>
  );
}
