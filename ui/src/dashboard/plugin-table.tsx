import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import type { Outcome } from './action-outcome.tsx';
import type { PluginAction } from './admin-actions.ts';
import type { ObservedChange } from './observed-transitions.ts';
import { PluginDetails } from './plugin-details.tsx';
import { PLUGIN_COLUMNS, PluginRow } from './plugin-row.tsx';
import type { DashboardData } from './use-dashboard-data.ts';
import './plugin-table.css';

/**
 * Every plugin in one table (a card per plugin on narrow screens, dashboard.css), each with a
 * details row opened on demand.
 */
export function PluginTable(props: {
  readonly data: DashboardData;
  readonly pending: Readonly<Record<string, PluginAction>>;
  readonly outcomes: Readonly<Record<string, Outcome>>;
  readonly onAction: (plugin: string, action: PluginAction) => void;
  readonly onConfigApplied: (plugin: string, outcome: Outcome) => void;
}) {
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const { status, metrics, health, samples, changes } = props.data;
  if (status === undefined) return <p class="muted">Loading the plugins…</p>;
  const plugins = Object.values(status.plugins);
  if (plugins.length === 0) return <p class="muted">No plugin is loaded.</p>;
  const toggle = (name: string) =>
    setExpanded((current) => {
      const next = new Set(current);
      if (!next.delete(name)) next.add(name);
      return next;
    });
  const observedBy = (name: string): ObservedChange[] => changes.items.filter((change) => change.plugin === name);
  return (
    <div class="table-scroll">
      <table class="plugin-table">
        <caption class="visually-hidden">Plugins: state, health, calls and admin actions</caption>
        <thead>
          <tr>
            {PLUGIN_COLUMNS.map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {plugins.map((plugin) => {
            const detailsId = `plugin-details-${plugin.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
            const isOpen = expanded.has(plugin.name);
            return (
              <Fragment key={plugin.name}>
                <PluginRow
                  plugin={plugin}
                  stats={metrics?.plugins[plugin.name]}
                  samples={samples[plugin.name]}
                  health={health?.plugins[plugin.name]}
                  pending={props.pending[plugin.name]}
                  outcome={props.outcomes[plugin.name]}
                  expanded={isOpen}
                  detailsId={detailsId}
                  onToggle={() => toggle(plugin.name)}
                  onAction={(action) => props.onAction(plugin.name, action)}
                />
                {isOpen ? (
                  <tr class="details-row" id={detailsId}>
                    <td colSpan={PLUGIN_COLUMNS.length}>
                      <PluginDetails
                        plugin={plugin}
                        observed={observedBy(plugin.name)}
                        onConfigApplied={(outcome) => props.onConfigApplied(plugin.name, outcome)}
                      />
                    </td>
                  </tr>
                ) : null}
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
