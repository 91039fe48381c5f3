/**
 * `plugboard rag add PATH… [--collection C] [--url URL] [--api-key K]`: uploads files, and the
 * files of folders (recursively, by extension), to a running Plugboard's rag API, with a
 * progress bar of the files done and the chunks made. It talks HTTP only — the server does the
 * parsing, chunking and embedding — so it works against a remote server too.
 *
 * Exit codes: 0 every file added (or unchanged), 1 a file was refused or the server could not
 * be reached, 2 wrong usage.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { COLLECTION_NAME } from './config.ts';
import { SUPPORTED_EXTENSIONS } from './parsers/parse-document.ts';

/** Where the command writes: lines, and the progress bar (a terminal, else plain lines). */
export interface RagCommandIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** The stream the progress bar is drawn on (default process.stderr); drawn only when it is a TTY. */
  readonly progress?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Environment (default process.env): PLUGBOARD_URL, PLUGBOARD_API_KEY. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const USAGE = `Usage: plugboard rag add PATH… [--collection C] [--url URL] [--api-key KEY] [--metadata JSON]

Uploads files (and the .txt, .md, .html, .pdf files of folders, recursively) to a running
Plugboard's rag API. A file already there with the same name and content is left unchanged.

  --collection C   the collection to add to (default: default)
  --url URL        the server (default: $PLUGBOARD_URL, else http://127.0.0.1:8080)
  --api-key KEY    a key with the documents scope (default: $PLUGBOARD_API_KEY)
  --metadata JSON  metadata for every file, a flat JSON object: '{"team":"support"}'`;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.txt': 'text/plain',
  '.text': 'text/plain',
  '.md': 'text/markdown',
  '.markdown': 'text/markdown',
  '.mdown': 'text/markdown',
  '.html': 'text/html',
  '.htm': 'text/html',
  '.xhtml': 'application/xhtml+xml',
  '.pdf': 'application/pdf',
};

/** A file to upload and the name it gets on the server. */
interface Upload {
  readonly path: string;
  readonly name: string;
}

/** What the server answered for a file. */
interface Added {
  readonly status: 'added' | 'replaced' | 'unchanged';
  readonly chunks: number;
}

/**
 * Runs `plugboard rag …` with `argv` (after `rag`) and returns the exit code.
 *
 * @example
 * ```ts
 * // what `plugboard rag add docs/ --collection handbook` runs (src/cli/rag-command.ts loads this module through jiti)
 * const code = await runRagCommand(['add', 'docs/', '--collection', 'handbook'], { out: console.log, err: console.error });
 * ```
 */
export async function runRagCommand(argv: readonly string[], io: RagCommandIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [command, ...paths] = parsed.positionals;
  if (parsed.values.help) {
    io.out(USAGE);
    return 0;
  }
  if (command !== 'add' || paths.length === 0) {
    io.err(
      `${command === undefined || command === 'add' ? 'Name the files or folders to add.' : `Unknown rag command: ${command}`}\n\n${USAGE}`,
    );
    return 2;
  }
  const env = io.env ?? process.env;
  const collection = parsed.values.collection ?? 'default';
  if (!COLLECTION_NAME.test(collection)) {
    io.err(
      `--collection "${collection}": expected 1–64 letters, digits, "_", "-" or "." starting with a letter or digit`,
    );
    return 2;
  }
  const base = (parsed.values.url ?? env.PLUGBOARD_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(base)) {
    io.err(`--url "${base}": expected http://host:port`);
    return 2;
  }
  const metadata = parsed.values.metadata;
  if (metadata !== undefined && !isJsonObject(metadata)) {
    io.err(`--metadata: expected a JSON object such as '{"team":"support"}'`);
    return 2;
  }
  const apiKey = parsed.values['api-key'] ?? env.PLUGBOARD_API_KEY;

  let uploads: Upload[];
  try {
    uploads = await collect(paths);
  } catch (error) {
    io.err(`Cannot read ${(error as NodeJS.ErrnoException).path ?? 'a path'}: ${(error as Error).message}`);
    return 1;
  }
  if (uploads.length === 0) {
    io.err(
      `No files to add: folders are searched for ${SUPPORTED_EXTENSIONS.map((extension) => `.${extension}`).join(', ')}`,
    );
    return 1;
  }

  const progress = io.progress ?? process.stderr;
  const bar = progress.isTTY
    ? new SingleBar({
        stream: progress,
        format: 'rag add [{bar}] {value}/{total} files | {chunks} chunks | {file}',
        hideCursor: true,
        clearOnComplete: false,
      })
    : undefined;
  bar?.start(uploads.length, 0, { chunks: 0, file: '' });
  const counts = { added: 0, replaced: 0, unchanged: 0, failed: 0, chunks: 0 };
  const endpoint = `${base}/v1/rag/collections/${encodeURIComponent(collection)}/documents`;
  try {
    for (const [done, upload] of uploads.entries()) {
      bar?.update(done, { file: upload.name });
      const result = await send(endpoint, upload, apiKey, metadata);
      if ('unreachable' in result) {
        bar?.stop();
        io.err(
          `Cannot reach Plugboard at ${base} (${result.unreachable}): is the server running (plugboard serve)? Set --url or PLUGBOARD_URL.`,
        );
        return 1;
      }
      if ('refused' in result) {
        counts.failed++;
        const line = `${upload.name}: refused (${result.status}) ${result.refused}`;
        if (bar) bar.update(done + 1, { file: upload.name });
        io.err(line);
        if (result.status === 401 || result.status === 403 || result.status === 404) {
          bar?.stop();
          io.err(
            result.status === 404
              ? `The server at ${base} has no rag API: is the rag plugin enabled (features: rag)?`
              : 'Check the API key (--api-key or PLUGBOARD_API_KEY): it needs the documents scope.',
          );
          return 1;
        }
        continue;
      }
      counts[result.status]++;
      counts.chunks += result.chunks;
      if (bar) bar.update(done + 1, { chunks: counts.chunks, file: upload.name });
      else io.out(`${upload.name}: ${result.status} (${result.chunks} chunks)`);
    }
  } finally {
    bar?.stop();
  }
  io.out(
    `Collection "${collection}": ${counts.added} added, ${counts.replaced} replaced, ${counts.unchanged} unchanged, ${counts.failed} refused; ${counts.chunks} chunks.`,
  );
  return counts.failed === 0 ? 0 : 1;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      collection: { type: 'string', short: 'c' },
      url: { type: 'string' },
      'api-key': { type: 'string' },
      metadata: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** The files to upload: files as given (named by their base name), folders' supported files (named by their path in the folder). */
async function collect(paths: readonly string[]): Promise<Upload[]> {
  const uploads: Upload[] = [];
  for (const path of paths) {
    if ((await stat(path)).isDirectory()) {
      const entries = await readdir(path, { recursive: true, withFileTypes: true });
      const files = entries
        .filter((entry) => entry.isFile() && CONTENT_TYPES[extname(entry.name).toLowerCase()] !== undefined)
        .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
        .sort();
      for (const file of files) uploads.push({ path: file, name: relative(path, file).split('\\').join('/') });
    } else {
      uploads.push({ path, name: basename(path) });
    }
  }
  return uploads;
}

async function send(
  endpoint: string,
  upload: Upload,
  apiKey: string | undefined,
  metadata: string | undefined,
): Promise<Added | { refused: string; status: number } | { unreachable: string }> {
  const body = await readFile(upload.path);
  const headers: Record<string, string> = {
    'content-type': CONTENT_TYPES[extname(upload.path).toLowerCase()] ?? 'application/octet-stream',
  };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  if (metadata !== undefined) headers['x-rag-metadata'] = metadata;
  let response: Response;
  try {
    response = await fetch(`${endpoint}?name=${encodeURIComponent(upload.name)}`, { method: 'POST', headers, body });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { unreachable: cause?.code ?? cause?.message ?? (error as Error).message };
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!response.ok)
    return { refused: errorMessage(json) ?? (text.slice(0, 200) || response.statusText), status: response.status };
  const added = json as Partial<Added> | undefined;
  if (added?.status === undefined || typeof added.chunks !== 'number') {
    return { refused: `unexpected answer: ${text.slice(0, 200)}`, status: response.status };
  }
  return { status: added.status, chunks: added.chunks };
}

/** The message of an error body in the OpenAI format (`{ error: { message } }`) or Plugboard's. */
function errorMessage(json: unknown): string | undefined {
  const error = (json as { error?: unknown } | undefined)?.error;
  if (typeof error === 'string') return error;
  const message = (error as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : undefined;
}

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
