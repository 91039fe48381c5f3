/**
 * The official `ollama` client, one per call, bound to that call's AbortSignal: the client's
 * own `abort()` aborts every stream of its instance, and its unstreamed requests take no
 * signal at all, so cancellation goes through the `fetch` it is given instead. Aborting one
 * call never touches another's requests.
 */
import { Ollama } from 'ollama';
import { splitUrlCredentials } from '../../src/index.ts';
import type { OllamaSettings } from './settings.ts';

/**
 * The client, minus its file-path images: for a string image the Node client reads the file
 * of that name if one exists, so a client-supplied "image" such as `/etc/passwd` would send a
 * local file to the model. Images here are already base64 (see `imageData`).
 */
class OllamaClient extends Ollama {
  override async encodeImage(image: Uint8Array | Buffer | string): Promise<string> {
    return typeof image === 'string' ? image : Buffer.from(image).toString('base64');
  }
}

/**
 * A client for `settings.host` whose every request is aborted with `signal`. Credentials in the
 * host (`http://user:password@host`, which fetch refuses) are sent as `Authorization: Basic …`
 * unless `headers` sets an Authorization of its own.
 */
export function createClient(settings: Pick<OllamaSettings, 'host' | 'headers'>, signal: AbortSignal): Ollama {
  return new OllamaClient({
    host: splitUrlCredentials(settings.host).url,
    headers: wireHeaders(settings),
    fetch: boundFetch(signal),
  });
}

/** The configured headers, plus `Authorization: Basic …` for credentials in the host unless they set one. */
export function wireHeaders(settings: Pick<OllamaSettings, 'host' | 'headers'>): Record<string, string> {
  const { authorization } = splitUrlCredentials(settings.host);
  const ownAuthorization = Object.keys(settings.headers).some((key) => key.toLowerCase() === 'authorization');
  return {
    ...(authorization === undefined || ownAuthorization ? {} : { Authorization: authorization }),
    ...settings.headers,
  };
}

function boundFetch(signal: AbortSignal): typeof fetch {
  return async (input, init) => {
    const own = init?.signal;
    const response = await fetch(input, { ...init, signal: own ? AbortSignal.any([signal, own]) : signal });
    if (response.ok || response.headers.get('content-type')?.includes('application/json')) return response;
    // A proxy's (or an old server's) plain-text error: the client would log it to the console
    // before failing; handed over as Ollama's JSON error, it only fails, with the same text.
    const text = (await response.text()).trim();
    return new Response(JSON.stringify({ error: text || `${response.status} ${response.statusText}`.trim() }), {
      status: response.status,
      statusText: response.statusText,
      headers: { 'content-type': 'application/json' },
    });
  };
}
