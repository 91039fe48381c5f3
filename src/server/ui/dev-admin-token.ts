import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * A random admin token for one run of a development server that has none configured (32
 * URL-safe characters, 192 bits), so that the web UI's dashboard works out of the box — only
 * on a loopback address ({@link devAdminTokenDecision}). It is never written anywhere but the
 * start-up log line (see {@link webUiAddress}).
 */
export function createDevAdminToken(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * True for an address only this machine can reach: `localhost`, 127.0.0.0/8, `::1` (bracketed
 * or not), an IPv4-mapped 127.x (`::ffff:127.0.0.1`). A wildcard (`0.0.0.0`, `::`) or any other
 * address is reachable from the network: a development admin token on it would hand the admin
 * API to whoever reads the log or guesses nothing at all but the port.
 *
 * @example
 * ```ts
 * isLoopbackHost('127.0.0.1'); // true
 * isLoopbackHost('0.0.0.0'); // false
 * ```
 */
export function isLoopbackHost(host: string): boolean {
  const name = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (name === 'localhost' || name === 'localhost.') return true;
  if (isIP(name) === 4) return name.split('.')[0] === '127';
  if (isIP(name) !== 6) return false;
  // The URL parser writes IPv6 in its shortest form (`0:0::1` → `::1`, `::ffff:127.0.0.1` → `::ffff:7f00:1`).
  const shortest = new URL(`http://[${name}]/`).hostname;
  return shortest === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(shortest);
}

/** Why no development admin token is made, or `make`. */
export type DevAdminTokenDecision = 'make' | 'not-wanted' | 'not-loopback';

/**
 * Whether `plugboard serve` makes a development admin token: asked for, the web UI on,
 * `development` mode, no token configured — and a loopback listen address. `not-loopback`
 * means it would have, but the server is reachable from the network: the caller warns.
 *
 * @example
 * ```ts
 * devAdminTokenDecision({ wanted: true, ui: true, mode: 'development', configured: false, host: '0.0.0.0' });
 * // 'not-loopback'
 * ```
 */
export function devAdminTokenDecision(options: {
  readonly wanted: boolean;
  readonly ui: boolean;
  readonly mode: string;
  readonly configured: boolean;
  readonly host: string;
}): DevAdminTokenDecision {
  if (!options.wanted || !options.ui || options.mode !== 'development' || options.configured) return 'not-wanted';
  return isLoopbackHost(options.host) ? 'make' : 'not-loopback';
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
