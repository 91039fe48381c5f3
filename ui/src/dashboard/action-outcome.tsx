/** What an admin action ended with, as the page shows it next to what it acted on. */
export interface Outcome {
  readonly tone: 'ok' | 'error' | 'pending';
  readonly message: string;
  readonly hint?: string;
  /** When it ended (ms since the epoch). */
  readonly at: number;
}

/** An action's outcome: the server's message and, on failure, its hint saying what to do. */
export function ActionOutcome(props: { readonly outcome: Outcome | undefined; readonly class?: string }) {
  const { outcome } = props;
  if (outcome === undefined) return null;
  return (
    <div class={`outcome outcome-${outcome.tone} ${props.class ?? ''}`}>
      <span class="outcome-message">{outcome.message}</span>
      {outcome.hint === undefined ? null : <span class="outcome-hint">{outcome.hint}</span>}
    </div>
  );
}
