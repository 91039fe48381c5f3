import { modelFileErrors } from './model-file-errors.ts';

/** Where the Hugging Face Hub is when neither an option nor `HF_ENDPOINT` says otherwise. */
export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co/';

/** A model source, checked and resolved to the URL to download and the file name to save as. */
export interface ModelSource {
  /** The source as given (trimmed). */
  readonly source: string;
  /** `huggingface` for `hf:` sources and Hub file URLs, `url` for any other http(s) URL. */
  readonly kind: 'huggingface' | 'url';
  /** The URL the bytes come from (a Hub `resolve/` URL for Hugging Face sources). */
  readonly url: URL;
  /** The name the file gets in the models folder: the last segment of the source's path. */
  readonly file: string;
}

/** Options of {@link parseModelSource}. */
export interface ModelSourceOptions {
  /** The Hub's base URL for `hf:` sources; default `env.HF_ENDPOINT`, else https://huggingface.co/. */
  readonly endpoint?: string;
  /** Environment read for `HF_ENDPOINT` (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * A source or URL as logs, errors and pull lists show it: the query (and fragment) of an http(s)
 * URL replaced by `?…`. A presigned URL carries its access token there (`X-Amz-Signature=…`,
 * `token=…`); only the fetch itself uses the whole URL.
 *
 * @example
 * ```ts
 * shownSource('https://bucket.example/m.gguf?X-Amz-Signature=abc'); // 'https://bucket.example/m.gguf?…'
 * shownSource('hf:owner/repo/m.gguf'); // unchanged
 * ```
 */
export function shownSource(source: string | URL): string {
  const text = typeof source === 'string' ? source : source.href;
  const match = /^(https?:\/\/[^?#]*)[?#]/i.exec(text);
  return match === null ? text : `${match[1]}?…`;
}

/** Owner and repository names on the Hub: letters, digits, `-`, `_`, `.`. */
const HUB_NAME = /^[A-Za-z0-9][\w.-]{0,95}$/;
/** A branch, tag or commit (no `/`: it would be ambiguous with the file's path). */
const REVISION = /^[\w.-]{1,100}$/;
/** A path segment of the file in the repository. */
const PATH_SEGMENT = /^[\w.+-]{1,200}$/;
/** A name safe for any file system, not hidden, ending in .gguf. */
const FILE_NAME = /^[A-Za-z0-9_+-][\w.+-]{0,199}$/;

/**
 * Checks a model source and resolves it to a download URL and a file name. Accepted:
 *
 * - `hf:owner/repo/path/file.gguf` — branch `main`; `hf:owner/repo:branch/path/file.gguf` for
 *   another branch, tag or commit. Resolved on the Hub's endpoint (option, then `HF_ENDPOINT`
 *   as llama.cpp and node-llama-cpp read it, then https://huggingface.co/) as
 *   `${endpoint}owner/repo/resolve/branch/path/file.gguf`.
 * - a Hub file URL, `https://huggingface.co/owner/repo/blob/…` (the web page, turned into
 *   its `resolve/` URL) or `…/resolve/…`;
 * - any other `https://` or `http://` URL of a `.gguf` file.
 *
 * The file name must end in `.gguf` and be a plain name (no `..`, no hidden file, no special
 * characters); URLs with credentials are refused (they would show in logs and pull lists).
 *
 * @example
 * ```ts
 * parseModelSource('hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf').url.href;
 * // 'https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q4_k_m.gguf'
 * ```
 * @throws PlugboardError `MODEL_SOURCE_INVALID` saying what is wrong and what is accepted.
 */
export function parseModelSource(source: string, options: ModelSourceOptions = {}): ModelSource {
  const given = source.trim();
  if (given === '') throw invalid(given, 'it is empty');
  if (given.length > 2048) throw invalid(`${given.slice(0, 60)}…`, 'it is longer than 2048 characters');
  if (/^hf:/i.test(given)) return fromHubPath(given, given.slice(3), huggingFaceEndpoint(options));
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw invalid(given, 'it is neither `hf:owner/repo/file.gguf` nor an http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalid(given, `only http(s) URLs are downloaded, not ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw invalid(given, 'URLs with a user name or password are refused (they would show in logs)');
  }
  const segments = decodedSegments(given, url.pathname);
  const hub = isHubHost(url, huggingFaceEndpoint(options));
  // owner/repo/(blob|resolve)/revision/path…: the web page of a file is not the file.
  if (hub && segments.length >= 5 && (segments[2] === 'blob' || segments[2] === 'resolve')) {
    const [owner, repo, , revision, ...path] = segments as [string, string, string, string, ...string[]];
    const base = new URL('/', url);
    return fromParts(given, base.href, owner, repo, revision, path);
  }
  const file = checkedFileName(given, segments.at(-1) ?? '');
  for (const segment of segments) {
    if (segment === '..' || segment === '.') throw invalid(given, 'the path has a "." or ".." segment');
  }
  return { source: given, kind: 'url', url, file };
}

/** The Hub endpoint with a trailing slash. @throws PlugboardError `MODEL_SOURCE_INVALID` when it is no http(s) URL. */
export function huggingFaceEndpoint(options: ModelSourceOptions = {}): string {
  const env = options.env ?? process.env;
  const chosen = nonEmpty(options.endpoint) ?? nonEmpty(env.HF_ENDPOINT) ?? DEFAULT_HF_ENDPOINT;
  let url: URL;
  try {
    url = new URL(chosen);
  } catch {
    throw modelFileErrors.MODEL_SOURCE_INVALID(`The Hugging Face endpoint "${chosen}" (HF_ENDPOINT) is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw modelFileErrors.MODEL_SOURCE_INVALID(
      `The Hugging Face endpoint "${chosen}" (HF_ENDPOINT) must be an http(s) URL`,
    );
  }
  return url.href.endsWith('/') ? url.href : `${url.href}/`;
}

/** `owner/repo[:revision]/path/file.gguf` after `hf:`. */
function fromHubPath(given: string, rest: string, endpoint: string): ModelSource {
  const [owner = '', repoAndRevision = '', ...path] = rest.split('/');
  const [repo = '', revision = 'main', ...extra] = repoAndRevision.split(':');
  if (extra.length > 0) throw invalid(given, 'expected at most one ":" (hf:owner/repo:branch/file.gguf)');
  if (path.length === 0) {
    throw invalid(given, 'name the file too: hf:owner/repo/file.gguf (or hf:owner/repo:branch/file.gguf)');
  }
  return fromParts(given, endpoint, owner, repo, revision, path);
}

function fromParts(
  given: string,
  endpoint: string,
  owner: string,
  repo: string,
  revision: string,
  path: readonly string[],
): ModelSource {
  if (!HUB_NAME.test(owner)) throw invalid(given, `"${owner}" is not a Hugging Face user or organisation name`);
  if (!HUB_NAME.test(repo)) throw invalid(given, `"${repo}" is not a Hugging Face repository name`);
  if (!REVISION.test(revision) || revision === '.' || revision === '..') {
    throw invalid(given, `"${revision}" is not a branch, tag or commit (letters, digits, ".", "_", "-")`);
  }
  for (const segment of path) {
    if (segment === '..' || segment === '.' || !PATH_SEGMENT.test(segment)) {
      throw invalid(given, `the file path segment "${segment}" is not allowed (letters, digits, ".", "_", "-", "+")`);
    }
  }
  const file = checkedFileName(given, path.at(-1) ?? '');
  const encoded = [owner, repo, 'resolve', revision, ...path].map(encodeURIComponent).join('/');
  return { source: given, kind: 'huggingface', url: new URL(encoded, endpoint), file };
}

function checkedFileName(given: string, name: string): string {
  if (!/\.gguf$/i.test(name)) throw invalid(given, `"${name || '(no file name)'}" does not end in .gguf`);
  if (!FILE_NAME.test(name) || name.includes('..')) {
    throw invalid(given, `"${name}" is not a safe file name (letters, digits, ".", "_", "-", "+"; not hidden)`);
  }
  return name;
}

/** The URL path's segments, percent-decoded (an encoded `/` or `..` is caught like a plain one). */
function decodedSegments(given: string, pathname: string): string[] {
  try {
    return pathname
      .split('/')
      .filter((segment) => segment !== '')
      .map((segment) => decodeURIComponent(segment));
  } catch {
    throw invalid(given, 'its path has malformed percent-encoding');
  }
}

/** The Hub itself, or the endpoint's host (a mirror set with HF_ENDPOINT). */
function isHubHost(url: URL, endpoint: string): boolean {
  const host = url.hostname.toLowerCase();
  return host === 'huggingface.co' || host === 'hf.co' || url.host === new URL(endpoint).host;
}

function invalid(given: string, why: string) {
  const shown = shownSource(given);
  return modelFileErrors.MODEL_SOURCE_INVALID(`Cannot download "${shown}": ${why}`, { details: { source: shown } });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
