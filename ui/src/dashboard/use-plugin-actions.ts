import { useEffect, useState } from 'preact/hooks';
import { onCredentialsChange } from '../auth/credentials.ts';
import type { Outcome } from './action-outcome.tsx';
import { describeAction, describeFailure, type PluginAction, runPluginAction } from './admin-actions.ts';
import type { AdminPluginResponse } from './types.ts';

/**
 * Runs admin actions on plugins and keeps, per plugin, the one running and the last outcome.
 * `onDone` hears every outcome, with the server's answer when it succeeded (the page shows the
 * plugin's new status at once, logs the outcome and polls).
 */
export function usePluginActions(onDone: (plugin: string, outcome: Outcome, response?: AdminPluginResponse) => void): {
  readonly pending: Readonly<Record<string, PluginAction>>;
  readonly outcomes: Readonly<Record<string, Outcome>>;
  readonly run: (plugin: string, action: PluginAction) => Promise<void>;
} {
  const [pending, setPending] = useState<Readonly<Record<string, PluginAction>>>({});
  const [outcomes, setOutcomes] = useState<Readonly<Record<string, Outcome>>>({});
  // A refusal for want of a token is stale once a credential is given (the log keeps it).
  useEffect(() => onCredentialsChange(() => setOutcomes({})), []);

  const run = async (plugin: string, action: PluginAction): Promise<void> => {
    setPending((current) => ({ ...current, [plugin]: action }));
    let outcome: Outcome;
    let response: AdminPluginResponse | undefined;
    try {
      response = await runPluginAction(plugin, action);
      outcome = { tone: 'ok', message: describeAction(response), at: Date.now() };
    } catch (error) {
      outcome = { tone: 'error', ...describeFailure(error), at: Date.now() };
    }
    setPending(({ [plugin]: _done, ...rest }) => rest);
    setOutcomes((current) => ({ ...current, [plugin]: outcome }));
    onDone(plugin, outcome, response);
  };

  return { pending, outcomes, run };
}
