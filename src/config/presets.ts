import type { Mode } from './schema.ts';

/**
 * Defaults each deployment mode presets (spec §13.2). They apply only where the file says
 * nothing: an explicit value always wins.
 * - development: hot reload, discovery of plugin files, debug logs, pretty output;
 * - staging: production-like, verbose;
 * - production: every safeguard — strict validation (any config error is fatal), breakers on.
 */
export const MODE_PRESETS: Readonly<Record<Mode, Readonly<Record<string, unknown>>>> = {
  development: {
    strict: false,
    plugin_manager: { enable_hot_reload: true, enable_circuit_breaker: true, discover: true },
    observability: { logging: { level: 'DEBUG', format: 'pretty' } },
  },
  staging: {
    strict: false,
    plugin_manager: { enable_hot_reload: false, enable_circuit_breaker: true },
    observability: { logging: { level: 'DEBUG', format: 'json' } },
  },
  production: {
    strict: true,
    plugin_manager: { enable_hot_reload: false, enable_circuit_breaker: true },
    observability: { logging: { level: 'INFO', format: 'json' } },
  },
};

/** `base` with `preset` filled in wherever `base` has no value (recursively for objects). */
export function fillFrom(base: unknown, preset: unknown): unknown {
  if (base === undefined) return structuredClone(preset);
  if (!isPlainObject(base) || !isPlainObject(preset)) return base;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(preset)) merged[key] = fillFrom(base[key], value);
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
