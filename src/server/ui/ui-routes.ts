import { relative, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { PlugboardError } from '../../core/errors/plugboard-error.ts';
import { installErrorFormat, sendError } from '../error-format.ts';
import { plugboardErrorBody, toHttpError } from '../http-errors.ts';
import type { RouteTable } from '../route-table.ts';
import { serverErrors } from '../server-errors.ts';
import { ASSET_CACHE_CONTROL, PAGE_CACHE_CONTROL, UI_SECURITY_HEADERS } from './security-headers.ts';
import type { WebUi } from './web-ui.ts';

/**
 * Serves the web UI's files under `/ui/` (Vite builds with `base: '/ui/'`): `/ui/` and
 * `/ui/index.html` are the page (as `GET /` is for a browser), `/ui/assets/*` the hashed
 * scripts and styles — cached for a year, `immutable` — sent as their `.br` or `.gz` sibling
 * when the client accepts it and the build wrote one. Every response carries the UI's
 * security headers. Public: the page must load before it can ask for a key, and the files
 * hold no data (every call they make to the APIs carries its own credentials).
 *
 * Only files inside the folder are served: a path with `..` (plain or percent-encoded), a
 * backslash or a NUL, and dot files, are 404s.
 */
export async function registerUiRoutes(app: FastifyInstance, ui: WebUi, routes: RouteTable): Promise<void> {
  await app.register(
    async (prefixed) => {
      // Unknown paths and wrong methods under /ui, in Plugboard's format.
      installErrorFormat(prefixed, plugboardErrorBody, routes);
      await prefixed.register(async (scope) => {
        // @fastify/send's refusals (403 for a path it distrusts, 416 for a bad range) are
        // http-errors objects, not Fastify's: say what they mean rather than a 500.
        scope.setErrorHandler((thrown, request, reply) =>
          sendError(request, reply, fileError(thrown, request.url), plugboardErrorBody),
        );
        scope.addHook('onRequest', (_request, reply, done) => {
          reply.headers(UI_SECURITY_HEADERS);
          done();
        });
        scope.get('/', (_request, reply) => ui.sendPage(reply));
        scope.get('/index.html', (_request, reply) => ui.sendPage(reply));
        await scope.register(fastifyStatic, {
          root: ui.folder,
          prefix: '/',
          decorateReply: false,
          index: false,
          list: false,
          redirect: false,
          dotfiles: 'ignore',
          preCompressed: true,
          cacheControl: false,
          allowedPath: isSafePath,
          setHeaders: (response, path) => {
            const asset = relative(ui.folder, path).split(sep)[0] === 'assets';
            response.setHeader('cache-control', asset ? ASSET_CACHE_CONTROL : PAGE_CACHE_CONTROL);
            // The same URL is sent as br, gzip or plain: caches must keep them apart.
            response.setHeader('vary', 'accept-encoding');
          },
        });
      });
    },
    { prefix: '/ui' },
  );
}

/** An error of a file route as the client is told it. */
function fileError(thrown: unknown, url: string): PlugboardError {
  const status = (thrown as { status?: unknown }).status;
  const code = (thrown as { code?: unknown }).code;
  if (thrown instanceof PlugboardError || (typeof code === 'string' && code.startsWith('FST_'))) {
    return toHttpError(thrown);
  }
  if (typeof status !== 'number' || status < 400 || status >= 500) return toHttpError(thrown);
  if (status === 403 || status === 404) return serverErrors.ROUTE_NOT_FOUND(`No file ${url.split('?')[0]}`);
  return new PlugboardError('REQUEST_INVALID', `The file cannot be sent as asked (HTTP ${status})`, { status });
}

/**
 * A path that stays inside the UI's folder, however it is decoded: no `..` segment, no
 * backslash (a separator on Windows), no NUL, no dot file or folder.
 */
export function isSafePath(path: string): boolean {
  let decoded = path;
  for (let round = 0; round < 3; round++) {
    if (/[\\\0]/.test(decoded) || decoded.split('/').some((segment) => segment.startsWith('.'))) return false;
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      return false;
    }
    if (next === decoded) return true;
    decoded = next;
  }
  return false;
}
