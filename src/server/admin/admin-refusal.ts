import type { ApplyReport } from '../../core/manager/plugin-change.ts';

/** A refused change as the admin API answers it (reloads, enables, config edits). */
export interface AdminRefusal {
  readonly plugin: string;
  readonly code: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** One refusal of the manager's apply report, as the admin API answers it. */
export function refusalOf(refusal: ApplyReport['refused'][number]): AdminRefusal {
  return {
    plugin: refusal.plugin,
    code: refusal.error.code,
    message: refusal.error.message,
    ...(refusal.error.details === undefined ? {} : { details: refusal.error.details }),
  };
}
