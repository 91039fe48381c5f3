import { randomBytes } from 'node:crypto';

/**
 * A random admin token for one run of a development server that has none configured (32
 * URL-safe characters, 192 bits), so that the web UI's dashboard works out of the box. It is
 * never written anywhere but the start-up log line (see {@link webUiAddress}).
 */
export function createDevAdminToken(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * The address to open the web UI at, from the URL the server listens on: a wildcard address
 * (`0.0.0.0`, `::`) becomes 127.0.0.1, which a browser on the same machine can open. With a
 * token, the token rides in the fragment (`/#token=…`): a browser never sends the fragment,
 * so it reaches neither the server nor any proxy's log; the UI reads it and keeps it.
 *
 * @example
 * ```ts
 * webUiAddress('http://0.0.0.0:8080'); // 'http://127.0.0.1:8080/'
 * webUiAddress('http://127.0.0.1:8080', 'abc'); // 'http://127.0.0.1:8080/#token=abc'
 * ```
 */
export function webUiAddress(url: string, token?: string): string {
  const address = new URL(url);
  if (address.hostname === '0.0.0.0' || address.hostname === '[::]') address.hostname = '127.0.0.1';
  address.pathname = '/';
  if (token !== undefined) address.hash = `token=${encodeURIComponent(token)}`;
  return address.href;
}
