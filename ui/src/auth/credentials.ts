/**
 * The credentials the UI sends, kept only where the user chose:
 * - `memory`: for this page only, gone on reload;
 * - `session`: this browser tab (sessionStorage), gone when the tab closes;
 * - `device`: this browser (localStorage), until cleared.
 *
 * Two of them: the API key (`Authorization: Bearer` on /v1 and /api, for the auth plugin) and
 * the admin token (`server.admin_token`, or the one `plugboard serve` prints in development as
 * `/#token=…`) for /admin. Admin calls fall back to the API key, which works when the key has
 * the admin scope.
 */
import { takeTokenFromHash } from './token-in-hash.ts';

export type CredentialKind = 'apiKey' | 'adminToken';
export type Keeping = 'memory' | 'session' | 'device';

const STORAGE_KEY: Record<CredentialKind, string> = {
  apiKey: 'plugboard.apiKey',
  adminToken: 'plugboard.adminToken',
};

const inMemory = new Map<CredentialKind, string>();
const listeners = new Set<() => void>();

/** The credential in effect, if any. */
export function getCredential(kind: CredentialKind): string | undefined {
  return inMemory.get(kind) ?? read(sessionStorage, kind) ?? read(localStorage, kind);
}

/** Where a credential is kept now (undefined: not set). */
export function keepingOf(kind: CredentialKind): Keeping | undefined {
  if (inMemory.has(kind)) return 'memory';
  if (read(sessionStorage, kind) !== undefined) return 'session';
  if (read(localStorage, kind) !== undefined) return 'device';
  return undefined;
}

/** Sets a credential, kept only where asked (and removed from everywhere else). */
export function setCredential(kind: CredentialKind, value: string, keeping: Keeping): void {
  clearCredential(kind, false);
  const trimmed = value.trim();
  if (trimmed !== '') {
    if (keeping === 'memory') inMemory.set(kind, trimmed);
    else {
      const storage = keeping === 'session' ? sessionStorage : localStorage;
      const stored = safely(() => {
        storage.setItem(STORAGE_KEY[kind], trimmed);
        return true;
      });
      if (stored === undefined) inMemory.set(kind, trimmed);
    }
  }
  notify();
}

/** Forgets a credential everywhere. */
export function clearCredential(kind: CredentialKind, announce = true): void {
  inMemory.delete(kind);
  safely(() => sessionStorage.removeItem(STORAGE_KEY[kind]));
  safely(() => localStorage.removeItem(STORAGE_KEY[kind]));
  if (announce) notify();
}

/** Calls `listener` whenever a credential changes; returns the unsubscribe function. */
export function onCredentialsChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Takes an admin token from the address (`/#token=…`, as `plugboard serve` prints it in
 * development) into this tab's session, and removes it from the address bar and history —
 * also when it is malformed (it is then not adopted). The route beside it is kept
 * (`#/dashboard&token=…` stays on the dashboard). Run at load and on every `hashchange`
 * (a link opened in a tab that already shows the UI), before the route is read.
 */
export function adoptTokenFromLocation(): void {
  const found = takeTokenFromHash(location.hash);
  if (found === undefined) return;
  // The address first: whatever happens next, the token must not stay in the history.
  history.replaceState(history.state, '', `${location.pathname}${location.search}${found.hash}`);
  if (found.token !== undefined) setCredential('adminToken', found.token, 'session');
}

function read(storage: Storage, kind: CredentialKind): string | undefined {
  return safely(() => storage.getItem(STORAGE_KEY[kind])) ?? undefined;
}

function safely<T>(action: () => T): T | undefined {
  try {
    return action();
  } catch {
    // Storage can be disabled (private mode, policies): the credential then lives in memory only.
    return undefined;
  }
}

function notify(): void {
  for (const listener of listeners) listener();
}
