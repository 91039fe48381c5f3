import type { BreakerState, HealthStatus, PluginState } from './types.ts';

export type Tone = 'ok' | 'warning' | 'error' | 'muted' | 'info';

const STATE_TONES: Readonly<Record<PluginState, Tone>> = {
  ACTIVE: 'ok',
  PAUSED: 'warning',
  ERROR: 'error',
  UNLOADED: 'muted',
  LOADING: 'info',
  LOADED: 'info',
  INITIALIZING: 'info',
  UNLOADING: 'info',
};

const BREAKER_TONES: Readonly<Record<BreakerState, Tone>> = {
  closed: 'ok',
  'half-open': 'warning',
  open: 'error',
  disabled: 'muted',
};

const HEALTH_TONES: Readonly<Record<HealthStatus, Tone>> = {
  healthy: 'ok',
  degraded: 'warning',
  unhealthy: 'error',
};

/** A word in a coloured pill; the word itself carries the meaning, the colour only helps. */
export function Badge(props: { readonly tone: Tone; readonly children: string; readonly title?: string }) {
  return (
    <span class={`badge badge-${props.tone}`} {...(props.title === undefined ? {} : { title: props.title })}>
      {props.children}
    </span>
  );
}

export const stateTone = (state: PluginState): Tone => STATE_TONES[state] ?? 'muted';
export const breakerTone = (state: BreakerState): Tone => BREAKER_TONES[state] ?? 'muted';
export const healthTone = (status: HealthStatus): Tone => HEALTH_TONES[status] ?? 'muted';
