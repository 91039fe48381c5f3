import type { AdminControl, ConfigStatusBody } from '../admin/admin-control.ts';

/** `{ config }` to spread into a status body (`GET /plugins`, `GET /health`), or nothing without a configuration file. */
export function configField(admin: AdminControl | undefined): { config?: ConfigStatusBody } {
  const config = admin?.configStatus?.();
  return config === undefined ? {} : { config };
}
