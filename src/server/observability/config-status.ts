import type { LastReload } from '../../config/runtime-support.ts';
import type { AdminControl } from '../admin/admin-control.ts';

/** `config` in `GET /plugins` and `GET /health`, for a server run from a configuration file. */
export interface ConfigStatusBody {
  /** The configuration file in effect. */
  readonly file?: string;
  /** What the last reload did (absent before any): see `LastReload`. */
  readonly lastReload?: LastReload;
}

/**
 * What an {@link AdminControl} that runs from a configuration file can also tell: the
 * status of the configuration (`configAdminControl` implements it).
 */
export interface ConfigStatusSource {
  configStatus(): ConfigStatusBody;
}

/** The configuration's status, when the server runs from a file whose control tells it. */
export function configStatusOf(admin: AdminControl | undefined): ConfigStatusBody | undefined {
  const source = admin as (AdminControl & Partial<ConfigStatusSource>) | undefined;
  return typeof source?.configStatus === 'function' ? source.configStatus() : undefined;
}

/** `{ config }` to spread into a status body, or nothing without a configuration file. */
export function configField(admin: AdminControl | undefined): { config?: ConfigStatusBody } {
  const config = configStatusOf(admin);
  return config === undefined ? {} : { config };
}
