import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply } from 'fastify';
import type { Logger } from '../../core/logger.ts';
import { notBuiltPage } from './not-built-page.ts';
import { PAGE_CACHE_CONTROL, UI_SECURITY_HEADERS } from './security-headers.ts';

/**
 * Where the web UI's build is by default: this package's `dist/ui` (written by `npm run
 * build:ui`). Found from this module's location as package.json is (src/server/version.ts);
 * the precompiled build keeps each module's source URL, so both find the same folder.
 */
export const DEFAULT_UI_FOLDER = fileURLToPath(new URL('../../../dist/ui/', import.meta.url));

/** Settings of the web UI (`createServer`'s `ui`). */
export interface WebUiOptions {
  /** The folder of the UI's build (its index.html and assets/); default {@link DEFAULT_UI_FOLDER}. */
  readonly folder?: string;
}

/** The web UI as the server's routes use it. */
export interface WebUi {
  /** The folder its files are served from. */
  readonly folder: string;
  /**
   * Answers with the UI's page (index.html, `no-cache`, the security headers), or — when the
   * UI is not built — a 503 page saying how to build it. Read at each request: a build made
   * while the server runs is served at once.
   */
  sendPage(reply: FastifyReply): Promise<FastifyReply>;
}

/**
 * The web UI served from `options.folder`.
 *
 * @example
 * ```ts
 * const ui = createWebUi({ folder: '/srv/plugboard/dist/ui' }, logger);
 * app.get('/', (request, reply) => ui.sendPage(reply));
 * ```
 */
export function createWebUi(options: WebUiOptions, logger: Logger): WebUi {
  const folder = options.folder ?? DEFAULT_UI_FOLDER;
  const page = join(folder, 'index.html');
  // Said once while the build is missing (and again if it goes missing after being found).
  let missingLogged = false;
  return {
    folder,
    async sendPage(reply) {
      reply.headers(UI_SECURITY_HEADERS).header('cache-control', PAGE_CACHE_CONTROL);
      let html: Buffer;
      try {
        html = await readFile(page);
        missingLogged = false;
      } catch (error) {
        if (!missingLogged) {
          missingLogged = true;
          const code = (error as NodeJS.ErrnoException).code;
          logger.warn(
            { operation: 'web_ui', file: page, cause: code ?? String(error) },
            code === 'ENOENT' || code === 'ENOTDIR'
              ? `the web UI is not built (${page} is missing): run \`npm run build:ui\``
              : `the web UI's page cannot be read (${code ?? String(error)}): ${page}`,
          );
        }
        return reply.code(503).type('text/html; charset=utf-8').send(notBuiltPage());
      }
      return reply.type('text/html; charset=utf-8').send(html);
    },
  };
}
