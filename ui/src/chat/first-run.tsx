import { ErrorBanner } from './error-banner.tsx';
import { formatBytes } from './format-bytes.ts';
import { modelIdOfFile } from './model-pull-api.ts';
import { useModelPull } from './use-model-pull.ts';
import type { Models } from './use-models.ts';
import './first-run.css';

/**
 * What the page shows when there is no model to chat with — no backend reachable, or none
 * that lists a model: says so plainly, with the server's words, and offers both ways out:
 * start Ollama, or let Plugboard download a small model for llama.cpp (admin API).
 */
export function FirstRun(props: { readonly models: Models }) {
  const { models } = props;
  const download = useModelPull((file) => void models.reload(modelIdOfFile(file)));
  const pull = download.pull;
  const running = pull?.state === 'running';
  const state = models.state;
  return (
    <section class="first-run" aria-labelledby="first-run-title">
      <h2 id="first-run-title">No model to chat with yet</h2>
      <p>
        {state.status === 'failed'
          ? 'Plugboard could not list any model: no backend answered.'
          : 'Plugboard is running, but its backends list no model.'}{' '}
        Choose one of the two ways below; this page finds the model by itself afterwards.
      </p>
      {state.status === 'failed' ? <ErrorBanner title="What the server said" error={state.error} /> : null}
      <div class="first-run-options">
        <article class="first-run-option" aria-labelledby="first-run-ollama">
          <h3 id="first-run-ollama">Use Ollama</h3>
          <p>
            Install Ollama from <span class="nowrap">ollama.com</span>, then in a terminal start it and fetch a model:
          </p>
          <pre class="first-run-commands">
            <code>{'ollama serve\nollama pull llama3.2'}</code>
          </pre>
          <p class="muted">
            Plugboard's <code>ollama</code> backend looks for it at <code>$OLLAMA_HOST</code> (by default{' '}
            <code>http://127.0.0.1:11434</code>; the server's message above names the address it tried).
          </p>
          <button type="button" onClick={() => void models.reload()}>
            Look for models again
          </button>
        </article>
        <article class="first-run-option" aria-labelledby="first-run-download">
          <h3 id="first-run-download">Or let Plugboard download one</h3>
          <p>
            A small instruction-tuned model (GGUF) goes into Plugboard's models folder and is served by its built-in
            llama.cpp backend. It needs the admin token.
          </p>
          {pull === undefined || pull.state === 'failed' || pull.state === 'cancelled' ? (
            <button type="button" class="primary" disabled={download.starting} onClick={download.start}>
              Download a small model (~400 MB)
            </button>
          ) : null}
          {pull === undefined ? null : <PullProgress pull={pull} onCancel={download.cancel} running={running} />}
          {download.error === undefined ? null : <ErrorBanner error={download.error} />}
        </article>
      </div>
    </section>
  );
}

function PullProgress(props: {
  readonly pull: NonNullable<ReturnType<typeof useModelPull>['pull']>;
  readonly running: boolean;
  readonly onCancel: () => void;
}) {
  const { pull } = props;
  const total = pull.total ?? undefined;
  const percent = total === undefined || total === 0 ? undefined : Math.floor((pull.received / total) * 100);
  return (
    <div class="pull-progress">
      <div class="pull-progress-label">
        <span id={`pull-${pull.id}`}>
          {PROGRESS_WORDS[pull.state]} <code>{pull.file}</code>
        </span>
        {/* A failed pull draws no bar: a full one would read as "done". */}
        {pull.state === 'failed' ? null : (
          <progress
            aria-labelledby={`pull-${pull.id}`}
            max={total ?? 1}
            value={total !== undefined ? pull.received : pull.state === 'running' ? undefined : 1}
          />
        )}
      </div>
      <p class="visually-hidden" aria-live="polite">
        {STATE_WORDS[pull.state]}
      </p>
      <p class="muted">
        {formatBytes(pull.received)}
        {total === undefined ? '' : ` of ${formatBytes(total)}`}
        {percent === undefined ? '' : ` (${percent} %)`}
        {props.running && pull.bytesPerSecond > 0 ? ` · ${formatBytes(pull.bytesPerSecond)}/s` : ''}
        {pull.state === 'done' ? ' · ready: selecting it…' : ''}
        {pull.state === 'cancelled' ? ' · cancelled' : ''}
      </p>
      {pull.state === 'failed' && pull.error !== undefined ? (
        <ErrorBanner
          title="The download failed"
          error={{
            message: pull.error.message,
            code: pull.error.code,
            ...(pull.error.hint === undefined ? {} : { hint: pull.error.hint }),
          }}
        />
      ) : null}
      {props.running ? (
        <button type="button" onClick={props.onCancel}>
          Cancel download
        </button>
      ) : null}
    </div>
  );
}

const PROGRESS_WORDS = {
  running: 'Downloading',
  done: 'Downloaded',
  failed: 'Could not download',
  cancelled: 'Stopped',
} as const;

const STATE_WORDS = {
  running: 'Download started',
  done: 'Download finished',
  failed: 'Download failed',
  cancelled: 'Download cancelled',
} as const;
