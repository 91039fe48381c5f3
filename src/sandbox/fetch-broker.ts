import { PlugboardError } from '../core/errors/plugboard-error.ts';
import type { Logger } from '../core/logger.ts';
import type { ChildMessage, ParentMessage } from './protocol.ts';
import { toWireError } from './wire-values.ts';

/** Largest response body handed to a sandboxed plugin (bytes). */
const MAX_BODY = 16 * 1024 * 1024;
const TIMEOUT_MS = 30_000;

/**
 * True when `host` is on the allow-list: an exact host (`api.example.com`, or with a port
 * `localhost:8080`), or a wildcard for subdomains (`*.example.com`, which is not example.com).
 */
export function hostAllowed(url: URL, allowHosts: readonly string[]): boolean {
  const host = url.hostname.toLowerCase();
  const withPort = url.host.toLowerCase();
  return allowHosts.some((allowed) => {
    const rule = allowed.toLowerCase();
    if (rule.startsWith('*.')) return host.endsWith(rule.slice(1)) && host.length > rule.length - 1;
    return rule === host || rule === withPort;
  });
}

/**
 * Makes a sandboxed plugin's `fetch` for it, when the URL's host is allowed: the plugin's process
 * has no network of its own (its namespace), so this is its only way out. Redirects are not
 * followed (a 3xx goes back to the plugin, whose next fetch is checked again), so an allowed host
 * cannot bounce it elsewhere. Only http and https.
 */
export async function brokerFetch(
  message: Extract<ChildMessage, { t: 'fetch' }>,
  allowHosts: readonly string[],
  reply: (message: ParentMessage) => void,
  logger: Logger,
): Promise<void> {
  const { request } = message;
  if (inFlight >= MAX_IN_FLIGHT) {
    reply({
      t: 'fetch-result',
      id: message.id,
      ok: false,
      error: toWireError(
        new PlugboardError('PLUGIN_SANDBOX_UNSUPPORTED', `more than ${MAX_IN_FLIGHT} fetches at once`),
      ),
    });
    return;
  }
  inFlight++;
  try {
    const url = new URL(request.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new PlugboardError('PLUGIN_SANDBOX_UNSUPPORTED', `fetch ${url.protocol}: only http and https`);
    }
    if (!hostAllowed(url, allowHosts)) {
      logger.warn(
        { sandbox: { denied: 'network', host: url.host } },
        'sandboxed plugin tried to reach a host it is not allowed',
      );
      throw new PlugboardError(
        'PLUGIN_SANDBOX_UNSUPPORTED',
        `fetch ${url.host}: not in this plugin's sandbox.network.allow_hosts (${allowHosts.join(', ') || 'none'})`,
      );
    }
    const response = await fetch(url, {
      method: request.method,
      headers: request.headers as [string, string][],
      ...(request.body === undefined ? {} : { body: Buffer.from(request.body, 'base64') }),
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const body = Buffer.from(await response.arrayBuffer());
    if (body.length > MAX_BODY)
      throw new PlugboardError('PLUGIN_SANDBOX_UNSUPPORTED', `fetch ${url.host}: response over ${MAX_BODY} bytes`);
    reply({
      t: 'fetch-result',
      id: message.id,
      ok: true,
      value: {
        status: response.status,
        statusText: response.statusText,
        headers: [...response.headers],
        body: body.toString('base64'),
      },
    });
  } catch (error) {
    reply({ t: 'fetch-result', id: message.id, ok: false, error: toWireError(error) });
  } finally {
    inFlight--;
  }
}

/** Fetches made for sandboxed plugins at once (all plugins together), at most. */
const MAX_IN_FLIGHT = 32;
let inFlight = 0;
