import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError } from '../../api/api-error.ts';
import { ActionOutcome, type Outcome } from '../action-outcome.tsx';
import { describeFailure } from '../admin-actions.ts';
import { ReloadReportView } from '../reload-report.tsx';
import { checkConfig, fieldPaths } from './client-checks.ts';
import { type FieldIssue, issuesFromBody, placeIssues } from './field-issues.ts';
import type { FormApi } from './form-api.ts';
import { fieldKind, type JsonSchema } from './json-schema.ts';
import {
  applyPluginConfig,
  type ConfigApplied,
  fetchPluginConfig,
  type PluginConfigView,
} from './plugin-config-api.ts';
import { SchemaField } from './schema-field.tsx';
import { type KeyPath, pathKey, setAt } from './value-path.ts';
import './config-form.css';

type Loaded =
  | { readonly state: 'loading' }
  | { readonly state: 'failed'; readonly error: unknown }
  | { readonly state: 'ready'; readonly view: PluginConfigView };

/**
 * A plugin's configuration as a form generated from its JSON Schema (like Open WebUI's
 * valves). The form checks what it can (required, types, bounds); Apply sends the config to
 * the server, which validates it with the plugin's own schema, writes it into the
 * configuration file (comments kept) and reloads — or answers where each problem is, shown
 * next to its field. A file the server cannot write makes the form read-only, saying why.
 */
export function PluginConfigForm(props: {
  readonly plugin: string;
  readonly onApplied: (outcome: Outcome) => void;
  readonly onClose: () => void;
}) {
  const [loaded, setLoaded] = useState<Loaded>({ state: 'loading' });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setLoaded({ state: 'loading' });
    fetchPluginConfig(props.plugin, controller.signal).then(
      (view) => setLoaded({ state: 'ready', view }),
      (error: unknown) => {
        if (!controller.signal.aborted) setLoaded({ state: 'failed', error });
      },
    );
    return () => controller.abort();
  }, [props.plugin, attempt]);

  if (loaded.state === 'loading') return <p class="muted">Loading the configuration of {props.plugin}…</p>;
  if (loaded.state === 'failed') {
    const failure = describeFailure(loaded.error);
    return (
      <div class="config-form">
        <ActionOutcome outcome={{ tone: 'error', ...failure, at: Date.now() }} />
        <div class="form-actions">
          <button type="button" onClick={() => setAttempt((count) => count + 1)}>
            Try again
          </button>
          <button type="button" onClick={props.onClose}>
            Close
          </button>
        </div>
      </div>
    );
  }
  return (
    <ConfigEditor
      key={attempt}
      plugin={props.plugin}
      view={loaded.view}
      onApplied={(outcome, view) => {
        props.onApplied(outcome);
        if (view !== undefined) setLoaded({ state: 'ready', view });
      }}
      onClose={props.onClose}
    />
  );
}

function ConfigEditor(props: {
  readonly plugin: string;
  readonly view: PluginConfigView;
  readonly onApplied: (outcome: Outcome, view?: PluginConfigView) => void;
  readonly onClose: () => void;
}) {
  const { plugin, view } = props;
  const root = useMemo<JsonSchema>(() => view.schema ?? {}, [view]);
  const [draft, setDraft] = useState<unknown>(view.config);
  const [inputErrors, setInputErrors] = useState<Readonly<Record<string, string>>>({});
  const [serverIssues, setServerIssues] = useState<readonly FieldIssue[]>([]);
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const [applying, setApplying] = useState(false);
  const [result, setResult] = useState<ConfigApplied | undefined>();
  const [failure, setFailure] = useState<{ message: string; hint?: string } | undefined>();
  const [writable, setWritable] = useState({ ok: view.writable, reason: view.reason });
  const formRef = useRef<HTMLFormElement>(null);

  // A new view (after Apply) is the config the server now has: edit from there.
  useEffect(() => {
    setDraft(view.config);
    setTouched(new Set());
    setSubmitted(false);
    setInputErrors({});
  }, [view]);

  const fields = useMemo(() => fieldPaths(root, draft), [root, draft]);
  const clientIssues = useMemo(() => checkConfig(root, draft), [root, draft]);
  const client = useMemo(() => placeIssues(clientIssues, fields), [clientIssues, fields]);
  const server = useMemo(() => placeIssues(serverIssues, fields), [serverIssues, fields]);
  const idPrefix = `config-${plugin.replace(/[^A-Za-z0-9_-]/g, '_')}`;

  const form: FormApi = {
    root,
    draft,
    idPrefix,
    disabled: !writable.ok || applying,
    change: (path, value) => {
      const key = pathKey(path);
      setDraft((current: unknown) => setAt(current, path, value));
      setTouched((current) => new Set(current).add(key));
      // The server's words were about the old value.
      setServerIssues((current) => current.filter((issue) => !startsWith(issue.path, path)));
      setFailure(undefined);
    },
    errorsAt: (path) => {
      const key = pathKey(path);
      const own = inputErrors[key];
      const checks = submitted || touched.has(key) ? (client.byField[key] ?? []) : [];
      return [...(own === undefined ? [] : [own]), ...checks, ...(server.byField[key] ?? [])];
    },
    setInputError: (path, message) =>
      setInputErrors(({ [pathKey(path)]: _old, ...rest }) =>
        message === undefined ? rest : { ...rest, [pathKey(path)]: message },
      ),
  };

  const apply = async (event: Event) => {
    event.preventDefault();
    setSubmitted(true);
    setResult(undefined);
    const problems = clientIssues.length + Object.keys(inputErrors).length;
    if (problems > 0) {
      setFailure({ message: `Fix the ${problems} marked field(s) first: nothing was sent.` });
      focusFirstInvalid(formRef.current);
      return;
    }
    setApplying(true);
    setFailure(undefined);
    try {
      const applied = await applyPluginConfig(plugin, draft);
      setResult(applied);
      setServerIssues([]);
      const outcome: Outcome = {
        tone: applied.outcome === 'refused' ? 'error' : 'ok',
        message: describeApplied(plugin, applied),
        at: Date.now(),
      };
      // Edit from what the server now has (its redactions, its defaults).
      const fresh = await fetchPluginConfig(plugin).catch(() => undefined);
      props.onApplied(outcome, fresh);
    } catch (error) {
      const words = describeFailure(error);
      if (error instanceof ApiError && error.status === 409) setWritable({ ok: false, reason: error.message });
      if (error instanceof ApiError && error.status === 400) setServerIssues(issuesFromBody(error.body));
      setFailure(words);
      props.onApplied({
        tone: 'error',
        message: `${plugin}: configuration not applied: ${words.message}`,
        at: Date.now(),
      });
      requestAnimationFrame(() => focusFirstInvalid(formRef.current));
    } finally {
      setApplying(false);
    }
  };

  const titleId = `${idPrefix}-title`;
  const unplaced = [...(submitted ? client.unplaced : []), ...server.unplaced];
  return (
    <form ref={formRef} class="config-form" aria-labelledby={titleId} onSubmit={apply} noValidate>
      <p id={titleId} class="config-form-title">
        <strong>{plugin}</strong> configuration
        {view.file === undefined || view.file === null ? null : (
          <>
            {' '}
            in <code>{view.file}</code>
          </>
        )}
      </p>
      {writable.ok ? null : (
        <p class="banner warning">Read-only: {writable.reason ?? 'the server cannot write the configuration file.'}</p>
      )}
      {view.schema === null ? (
        <p class="muted">This plugin declares no schema: its configuration is edited as JSON.</p>
      ) : null}
      {failure === undefined ? null : (
        <div class="banner error" role="alert">
          <p>{failure.message}</p>
          {failure.hint === undefined ? null : <p class="outcome-hint">{failure.hint}</p>}
          {unplaced.length === 0 ? null : (
            <ul>
              {unplaced.map((message) => (
                <li key={message}>{message}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      <SchemaField form={form} field={fieldKind(root, root)} path={[]} required={false} />
      <div class="form-actions">
        <button type="submit" class="primary" disabled={!writable.ok || applying}>
          {applying ? 'Applying…' : 'Apply'}
        </button>
        <button
          type="button"
          disabled={applying}
          onClick={() => {
            setDraft(view.config);
            setInputErrors({});
            setServerIssues([]);
            setTouched(new Set());
            setSubmitted(false);
            setFailure(undefined);
          }}
        >
          Revert
        </button>
        <button type="button" onClick={props.onClose}>
          Close
        </button>
      </div>
      {result === undefined ? null : result.report === undefined || !result.changed ? (
        <p class={`banner ${result.outcome === 'refused' ? 'error' : 'ok'}`}>{describeApplied(plugin, result)}</p>
      ) : (
        <ReloadReportView report={result.report} title={describeApplied(plugin, result)} />
      )}
    </form>
  );
}

function describeApplied(plugin: string, applied: ConfigApplied): string {
  const where = applied.file === undefined ? '' : ` to ${applied.file}`;
  if (!applied.changed) return `${plugin}: no change — the file already says this`;
  if (applied.outcome === 'refused')
    return `${plugin}: saved${where}, but the reload refused it: the running version stays`;
  if (applied.outcome === 'unchanged') return `${plugin}: saved${where}; the reload changed nothing`;
  return `${plugin}: configuration saved${where} and applied`;
}

function startsWith(path: KeyPath, prefix: KeyPath): boolean {
  return prefix.every((key, index) => String(path[index]) === String(key));
}

function focusFirstInvalid(form: HTMLFormElement | null): void {
  const invalid = form?.querySelector<HTMLElement>('[aria-invalid="true"]');
  invalid?.focus();
}
