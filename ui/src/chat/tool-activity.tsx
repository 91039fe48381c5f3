import type { ToolCallView, ToolRun } from './chat-types.ts';

/**
 * The tools of a reply: the calls the model made (`tool_calls`), and the tools the server's
 * tool loop ran for it (`plugboard.tools`), each with its arguments and output on opening.
 */
export function ToolActivity(props: { readonly calls?: readonly ToolCallView[]; readonly runs?: readonly ToolRun[] }) {
  const calls = props.calls ?? [];
  const runs = props.runs ?? [];
  if (calls.length === 0 && runs.length === 0) return null;
  return (
    <div class="tool-activity">
      {runs.map((run, index) => (
        <details key={`run-${run.id ?? index}`} class={`tool-run ${run.ok === false ? 'tool-failed' : ''}`}>
          <summary>
            Ran <code>{run.name}</code>
            <span class="muted">
              {' '}
              · {run.ok === false ? `failed (${run.outcome ?? 'error'})` : 'ok'}
              {run.duration_ms === undefined ? '' : ` · ${formatDuration(run.duration_ms)}`}
            </span>
          </summary>
          <p class="tool-label">Arguments</p>
          <pre class="tool-json">{pretty(run.arguments)}</pre>
          {run.output === undefined ? null : (
            <>
              <p class="tool-label">Output</p>
              <pre class="tool-json">{run.output}</pre>
            </>
          )}
        </details>
      ))}
      {calls.map((call, index) => (
        <details key={`call-${call.id ?? index}`} class="tool-call">
          <summary>
            Tool call <code>{call.name || '(unnamed)'}</code>
          </summary>
          <pre class="tool-json">{pretty(call.arguments)}</pre>
        </details>
      ))}
    </div>
  );
}

/** Arguments as indented JSON (JSON text parsed first; text that is not JSON as it is). */
function pretty(value: unknown): string {
  if (typeof value === 'string') {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return value === undefined ? '' : JSON.stringify(value, null, 2);
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
