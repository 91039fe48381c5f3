import type { CredentialKind } from '../auth/credentials.ts';

/** The plugin dashboard (placeholder until the dashboard lands). */
export function DashboardView(_props: {
  readonly rest: readonly string[];
  readonly onAskCredential: (kind: CredentialKind) => void;
}) {
  return <section aria-label="Dashboard">Dashboard</section>;
}
