import { PlugboardError } from '../errors/plugboard-error.ts';

/** The eight plugin states of FR-1.3. */
export const PLUGIN_STATES = [
  'UNLOADED',
  'LOADING',
  'LOADED',
  'INITIALIZING',
  'ACTIVE',
  'PAUSED',
  'ERROR',
  'UNLOADING',
] as const;

export type PluginState = (typeof PLUGIN_STATES)[number];

/** One recorded change of state. */
export interface StateTransition {
  readonly from: PluginState;
  readonly to: PluginState;
  /** ISO-8601 time of the change. */
  readonly at: string;
  readonly reason: string;
}

/**
 * Which state may follow which. Anything not listed is a bug in the caller and is rejected.
 * ERROR may be left for INITIALIZING (a retry after the cause is fixed) or UNLOADING.
 */
const ALLOWED: Readonly<Record<PluginState, readonly PluginState[]>> = {
  UNLOADED: ['LOADING'],
  LOADING: ['LOADED', 'ERROR'],
  LOADED: ['INITIALIZING', 'UNLOADING', 'ERROR'],
  INITIALIZING: ['ACTIVE', 'ERROR'],
  ACTIVE: ['PAUSED', 'UNLOADING', 'ERROR'],
  PAUSED: ['ACTIVE', 'UNLOADING', 'ERROR'],
  ERROR: ['INITIALIZING', 'UNLOADING'],
  UNLOADING: ['UNLOADED', 'ERROR'],
};

/** How many transitions are kept per plugin (older ones are dropped). */
const HISTORY_LIMIT = 50;

/** Tracks a plugin's state and the history of how it got there. */
export class PluginStateMachine {
  #state: PluginState = 'UNLOADED';
  readonly #history: StateTransition[] = [];

  constructor(private readonly plugin: string) {}

  get state(): PluginState {
    return this.#state;
  }

  /** Transitions, oldest first. */
  get history(): readonly StateTransition[] {
    return this.#history;
  }

  /** True when `to` may follow the current state. */
  canMoveTo(to: PluginState): boolean {
    return ALLOWED[this.#state].includes(to);
  }

  /** Moves to `to`, recording why. @throws PlugboardError `ILLEGAL_STATE_TRANSITION`. */
  moveTo(to: PluginState, reason: string): StateTransition {
    if (!this.canMoveTo(to)) {
      throw new PlugboardError(
        'ILLEGAL_STATE_TRANSITION',
        `Plugin "${this.plugin}" cannot move from ${this.#state} to ${to} (${reason})`,
        { plugin: this.plugin, details: { from: this.#state, to, allowed: ALLOWED[this.#state] } },
      );
    }
    const transition: StateTransition = { from: this.#state, to, at: new Date().toISOString(), reason };
    this.#state = to;
    this.#history.push(transition);
    if (this.#history.length > HISTORY_LIMIT) this.#history.shift();
    return transition;
  }
}
