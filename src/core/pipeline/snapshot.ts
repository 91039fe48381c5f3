import type { HookTable } from '../hooks/hook-manager.ts';
import type { EndpointTable } from '../plugin/endpoint-table.ts';
import type { PluginRecord } from '../plugin/plugin-record.ts';

/**
 * The plugins a request runs on, fixed when it starts. The manager builds a new snapshot
 * whenever plugins, their states or their settings change; requests already running keep
 * theirs, so no request sees half of an old and half of a new set of plugins.
 */
export interface PipelineSnapshot {
  readonly version: number;
  /** In priority order (requests pass them in this order, responses in reverse). */
  readonly middleware: readonly PluginRecord[];
  /** Whether any middleware has `answerRequest` (spares every other request the walk). */
  readonly answering: boolean;
  /** Message processors applied to incoming user messages, in priority order. */
  readonly inputProcessors: readonly PluginRecord[];
  /** Message processors applied to model output, in priority order. */
  readonly outputProcessors: readonly PluginRecord[];
  readonly extensions: readonly PluginRecord[];
  /** Active backends by name, in priority order. */
  readonly backends: ReadonlyMap<string, PluginRecord>;
  /** Backend used when a request names none. */
  readonly defaultBackend: string | undefined;
  readonly hooks: HookTable;
  /**
   * Fail-closed plugins that should take part but are in ERROR (they failed to start, or broke
   * while running). While any is, every request is refused: an authentication or redaction
   * plugin that is not running must not let requests through unchecked.
   */
  readonly closedGaps: readonly PluginRecord[];
  /** The HTTP endpoints the active plugins add (see `PluginEndpoint`). */
  readonly endpoints: EndpointTable;
  /**
   * The endpoints of loaded plugins that are not ACTIVE (in ERROR, paused, disabled): not
   * served, but a request to one is told which plugin would serve it and why it does not.
   */
  readonly dormantEndpoints: EndpointTable;
}

/** A snapshot plus the count of requests still running on it (for draining). */
export class SnapshotLease {
  #active = 0;
  #retired = false;
  #waiters: (() => void)[] = [];

  constructor(readonly snapshot: PipelineSnapshot) {}

  acquire(): void {
    this.#active++;
  }

  release(): void {
    this.#active--;
    if (this.#active === 0) this.#wake();
  }

  get active(): number {
    return this.#active;
  }

  get retired(): boolean {
    return this.#retired;
  }

  /** Marks the snapshot as replaced and resolves once its last request finished. */
  retire(): Promise<void> {
    this.#retired = true;
    if (this.#active === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
