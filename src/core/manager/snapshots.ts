import type { HookTable } from '../hooks/hook-manager.ts';
import type { Logger } from '../logger.ts';
import { type PipelineSnapshot, SnapshotLease } from '../pipeline/snapshot.ts';
import { EndpointTable } from '../plugin/endpoint-table.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';
import { priorityRank } from '../plugin/priority.ts';

/** What a snapshot is built from. */
export interface SnapshotSource {
  /** Every loaded record; only ACTIVE ones not in `leaving` take part. */
  readonly records: Iterable<PluginRecord>;
  /** ACTIVE plugins on their way out (disabled by a reload): already gone from new snapshots. */
  readonly leaving: ReadonlySet<PluginRecord>;
  readonly defaultBackend: string | undefined;
  readonly hooks: HookTable;
  /** Told once of each endpoint that another plugin's hides (see `EndpointTable.conflicts`). */
  readonly logger?: Logger;
}

/**
 * The pipeline snapshots of one manager: the current one that new requests lease, and the
 * replaced ones that still have requests running on them. Any change of the plugin set
 * builds a new snapshot; a plugin is shut down only once every snapshot containing it drained.
 */
export class SnapshotKeeper {
  #version = 0;
  #lease: SnapshotLease;
  readonly #retired = new Set<SnapshotLease>();
  readonly #reportedConflicts = new Set<string>();

  constructor(private readonly source: () => SnapshotSource) {
    this.#lease = new SnapshotLease(this.#build());
  }

  /** The snapshot new requests get. */
  get current(): PipelineSnapshot {
    return this.#lease.snapshot;
  }

  /** Leases the current snapshot for one request (release the lease when it ends). */
  acquire(): SnapshotLease {
    this.#lease.acquire();
    return this.#lease;
  }

  /**
   * Builds a new snapshot from the current records and retires the old one. Resolves when
   * every retired snapshot has no request left running on it.
   */
  rebuild(): Promise<void> {
    const old = this.#lease;
    this.#lease = new SnapshotLease(this.#build());
    this.#retired.add(old);
    void old.retire().then(() => this.#retired.delete(old));
    return this.#drainRetired();
  }

  /** Resolves when no request runs on any snapshot (shutdown). */
  drainAll(): Promise<void> {
    return Promise.all([this.#lease.retire(), this.#drainRetired()]).then(() => undefined);
  }

  #drainRetired(): Promise<void> {
    return Promise.all([...this.#retired].map((lease) => lease.retire())).then(() => undefined);
  }

  #build(): PipelineSnapshot {
    const source = this.source();
    const snapshot = buildSnapshot(source, ++this.#version);
    for (const conflict of snapshot.endpoints.conflicts) {
      if (this.#reportedConflicts.has(conflict)) continue;
      this.#reportedConflicts.add(conflict);
      source.logger?.warn(
        { operation: 'endpoints', conflict },
        `endpoint not served: ${conflict} — give one of the two plugins another path, or disable one`,
      );
    }
    return snapshot;
  }
}

/**
 * The ACTIVE plugins in priority order (ties in load order), sorted into the pipeline's stages;
 * and the fail-closed plugins in ERROR, which refuse every request while they are.
 */
export function buildSnapshot(source: SnapshotSource, version: number): PipelineSnapshot {
  const active = [...source.records]
    .filter((record) => record.state === 'ACTIVE' && !source.leaving.has(record))
    .sort((a, b) => priorityRank(a.config.priority) - priorityRank(b.config.priority) || a.loadOrder - b.loadOrder);
  const processors = active.filter((record) => record.kinds.has('message-processor'));
  const backends = new Map(
    active.filter((record) => record.kinds.has('backend-provider')).map((record) => [record.name, record]),
  );
  const preferred = source.defaultBackend;
  const middleware = active.filter((record) => record.kinds.has('middleware'));
  return Object.freeze({
    version,
    middleware,
    answering: middleware.some((record) => record.plugin.answerRequest !== undefined),
    inputProcessors: processors.filter((record) => record.plugin.direction !== 'output'),
    outputProcessors: processors.filter((record) => record.plugin.direction !== 'input'),
    extensions: active.filter((record) => record.kinds.has('feature-extension')),
    backends,
    defaultBackend: preferred !== undefined && backends.has(preferred) ? preferred : backends.keys().next().value,
    hooks: source.hooks,
    closedGaps: [...source.records].filter(
      (record) => record.state === 'ERROR' && record.config.failurePolicy === 'closed' && !source.leaving.has(record),
    ),
    endpoints: new EndpointTable(active),
    dormantEndpoints: new EndpointTable(
      [...source.records].filter((record) => record.plugin.endpoints?.length && !active.includes(record)),
    ),
  });
}
