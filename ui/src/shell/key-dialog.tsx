import { useEffect, useRef, useState } from 'preact/hooks';
import { type CredentialKind, clearCredential, type Keeping, keepingOf, setCredential } from '../auth/credentials.ts';

const TITLES: Record<CredentialKind, string> = {
  apiKey: 'API key',
  adminToken: 'Admin token',
};

const EXPLANATIONS: Record<CredentialKind, string> = {
  apiKey:
    'This server asks for an API key (the auth plugin). Ask its operator for one, or create one with `plugboard keys create`.',
  adminToken:
    'Admin actions need the admin token (server.admin_token), or an API key with the admin scope. In development, `plugboard serve` prints a link with a token at start.',
};

/**
 * Asks for a credential, and where to keep it: the user chooses (this page only, this tab, or
 * this browser). Shown when the server refused a request for want of one, or from the header.
 * When one is set already, it can also be forgotten here (everywhere it was kept).
 */
export function KeyDialog(props: {
  readonly kind: CredentialKind;
  readonly reason?: string;
  readonly onClose: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [value, setValue] = useState('');
  const [keeping, setKeeping] = useState<Keeping>(keepingOf(props.kind) ?? 'session');
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  // Read once: the dialog offers to forget what was set when it opened.
  const [isSet] = useState(() => keepingOf(props.kind) !== undefined);
  const title = TITLES[props.kind];
  return (
    <dialog ref={dialog} class="key-dialog" aria-labelledby="key-dialog-title" onClose={props.onClose}>
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault();
          setCredential(props.kind, value, keeping);
          dialog.current?.close();
        }}
      >
        <h2 id="key-dialog-title">{title}</h2>
        {props.reason === undefined ? null : (
          <p class="key-dialog-reason" role="alert">
            {props.reason}
          </p>
        )}
        <p>{EXPLANATIONS[props.kind]}</p>
        <label>
          {title}
          <input
            type="password"
            autocomplete="off"
            required
            value={value}
            onInput={(event) => setValue(event.currentTarget.value)}
          />
        </label>
        <fieldset>
          <legend>Keep it</legend>
          <label>
            <input type="radio" name="keeping" checked={keeping === 'memory'} onChange={() => setKeeping('memory')} />
            for this page only
          </label>
          <label>
            <input type="radio" name="keeping" checked={keeping === 'session'} onChange={() => setKeeping('session')} />
            in this tab until it closes
          </label>
          <label>
            <input type="radio" name="keeping" checked={keeping === 'device'} onChange={() => setKeeping('device')} />
            in this browser
          </label>
        </fieldset>
        <div class="dialog-actions">
          {isSet ? (
            <button
              type="button"
              class="dialog-forget"
              onClick={() => {
                clearCredential(props.kind);
                dialog.current?.close();
              }}
            >
              Forget {title.toLowerCase()}
            </button>
          ) : null}
          <button type="button" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button type="submit" class="primary">
            Save
          </button>
        </div>
      </form>
    </dialog>
  );
}
