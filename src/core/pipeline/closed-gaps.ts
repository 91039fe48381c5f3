import type { ChatContext } from '../model/context.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import type { PipelineSnapshot } from './snapshot.ts';

/**
 * The first fail-closed plugin in ERROR that `context` concerns (see `Pluggable.concerns`):
 * the request must be refused in its name. Undefined when none is down, or none of the down
 * ones concerns this request.
 */
export function closedGapFor(snapshot: PipelineSnapshot, context: ChatContext): PluginRecord | undefined {
  for (const record of snapshot.closedGaps) {
    if (concerns(record, context)) return record;
  }
  return undefined;
}

/** True when the plugin says the request concerns it, has no say, or fails to say. */
export function concerns(record: PluginRecord, context: ChatContext): boolean {
  const predicate = record.plugin.concerns;
  if (predicate === undefined) return true;
  try {
    return predicate.call(record.plugin, context) !== false;
  } catch {
    return true;
  }
}
