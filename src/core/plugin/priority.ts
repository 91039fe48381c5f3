/** Execution priorities, first to last. MONITORING plugins observe only and never delay a response. */
export const PRIORITIES = ['CRITICAL', 'HIGH', 'NORMAL', 'LOW', 'MONITORING'] as const;

/** A plugin's or hook's priority. */
export type Priority = (typeof PRIORITIES)[number];

/** Numeric rank of a priority: lower runs first. */
export function priorityRank(priority: Priority): number {
  return PRIORITIES.indexOf(priority);
}
