import { useEffect, useState } from 'preact/hooks';
import { onCredentialNeeded } from '../api/client.ts';
import { type CredentialKind, clearCredential, getCredential, onCredentialsChange } from '../auth/credentials.ts';
import { ChatView } from '../chat/chat-view.tsx';
import { DashboardView } from '../dashboard/dashboard-view.tsx';
import { KeyDialog } from './key-dialog.tsx';
import { useRoute } from './use-route.ts';

/** The page: a header (pages, credentials) and the page the address names. */
export function App() {
  const route = useRoute();
  const [asking, setAsking] = useState<{ kind: CredentialKind; reason?: string } | undefined>();
  const [, setVersion] = useState(0);
  useEffect(() => onCredentialsChange(() => setVersion((version) => version + 1)), []);
  useEffect(
    () =>
      onCredentialNeeded((need) => {
        setAsking((current) => current ?? { kind: need.kind, reason: need.error.message });
      }),
    [],
  );
  const hasKey = getCredential('apiKey') !== undefined;
  return (
    <div class="app">
      <header class="app-header">
        <a class="brand" href="#/">
          Plugboard
        </a>
        <nav aria-label="Pages">
          <a href="#/" aria-current={route.page === 'chat' ? 'page' : undefined}>
            Chat
          </a>
          <a href="#/dashboard" aria-current={route.page === 'dashboard' ? 'page' : undefined}>
            Dashboard
          </a>
        </nav>
        <div class="header-actions">
          {hasKey ? (
            <button type="button" onClick={() => clearCredential('apiKey')} title="Forget the API key">
              Forget key
            </button>
          ) : (
            <button type="button" onClick={() => setAsking({ kind: 'apiKey' })}>
              API key
            </button>
          )}
        </div>
      </header>
      <main class="app-main">
        {route.page === 'dashboard' ? (
          <DashboardView rest={route.rest} onAskCredential={(kind) => setAsking({ kind })} />
        ) : (
          <ChatView rest={route.rest} />
        )}
      </main>
      {asking === undefined ? null : (
        <KeyDialog
          kind={asking.kind}
          {...(asking.reason === undefined ? {} : { reason: asking.reason })}
          onClose={() => setAsking(undefined)}
        />
      )}
    </div>
  );
}
