/**
 * The one set of redaction rules: which field names hold secrets, how a URL's credentials
 * are hidden, which strings carry a credential of their own. The logger, `plugboard config
 * print`, `GET /admin/config`, the connections and the backends all use these functions, so a
 * secret hidden in one place is hidden everywhere.
 *
 * - A field whose **name** says it holds a secret ({@link isSecretKey}) shows `[redacted]`
 *   (an empty or missing value is shown as it is: "not set" is no secret).
 * - A **URL**'s password, and its secret-looking query parameters, become `***`; the user name,
 *   host, port and path stay, so the reader still sees which server was meant
 *   (`http://user:***@127.0.0.1:8000/v1`). Anywhere in a text, too.
 * - A **credential in a string**: `Bearer <token>` / `Basic <token>` become `Bearer [redacted]`;
 *   a list entry written as a header or assignment of a secret (`"Authorization: Bearer …"`,
 *   `"X-Api-Key: …"`, `"OPENAI_API_KEY=…"`) keeps its name only.
 */

/** What a secret value is replaced with. */
export const REDACTED = '[redacted]';

/** What a password (or another secret) inside a URL is replaced with. */
export const REDACTED_PASSWORD = '***';

/**
 * Words that make any field name a secret, wherever they appear in it (also inside a longer
 * word: `dbPassword`, `sslpassword`, `clientsecret`, `xapikey`).
 */
const SECRET_WORDS = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'credential',
  'authorization',
  'cookie',
  'bearer',
  'apikey',
  'privatekey',
  'accesskey',
];

/** What may come before a final `key` to make it a secret (`api_key`, `accessKey`, `x-api-key`, `ssh_key`). */
const KEY_QUALIFIERS = new Set([
  'access',
  'account',
  'admin',
  'api',
  'auth',
  'client',
  'encryption',
  'license',
  'master',
  'private',
  'secret',
  'service',
  'session',
  'signing',
  'ssh',
  'subscription',
]);

/** Names that are secrets only when they are the whole name. */
const SECRET_NAMES = new Set(['key', 'pass', 'pwd']);

const secretKeyCache = new Map<string, boolean>();

/**
 * True when a field named `name` holds a secret. The name is read as words (`snake_case`,
 * `kebab-case`, `camelCase`, `UPPER_CASE`, `adminAPIKey` → admin, api, key), and it is a secret
 * when:
 *
 * - a word contains `password`, `passwd`, `passphrase`, `secret`, `credential`,
 *   `authorization`, `cookie`, `bearer`, `apikey`, `privatekey` or `accesskey`;
 * - the last word ends in `token` (`token`, `admin_token`, `authToken`) — not `tokens`:
 *   `max_tokens`, `prompt_tokens` and `token_count` are counts;
 * - the last word is `auth` (`auth`, `basic_auth`, `proxyAuth`) — not `author`, `auth_mode`;
 * - the last word is `key` (or `key` then `id`) after a word such as `api`, `access`, `private`,
 *   `secret`, `ssh`, `signing`, `client` (`api_key`, `accessKey`, `access_key_id`) — not
 *   `cache_key`, `key_prefix`, `keys`, `monkey`;
 * - the whole name is `key`, `pass` or `pwd`.
 *
 * Answers are cached per name: the logger asks for every field of every line.
 */
export function isSecretKey(name: string): boolean {
  let known = secretKeyCache.get(name);
  if (known === undefined) {
    known = classify(name);
    if (secretKeyCache.size >= 4096) secretKeyCache.clear();
    secretKeyCache.set(name, known);
  }
  return known;
}

function classify(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== '');
  if (words.length === 0) return false;
  if (words.length === 1 && SECRET_NAMES.has(words[0]!)) return true;
  if (words.some((word) => SECRET_WORDS.some((secret) => word.includes(secret)))) return true;
  const last = words[words.length - 1]!;
  if (last.endsWith('token') || last === 'auth') return true;
  const keyAt = last === 'key' ? words.length - 1 : last === 'id' && words.at(-2) === 'key' ? words.length - 2 : -1;
  return keyAt > 0 && KEY_QUALIFIERS.has(words[keyAt - 1]!);
}

/** `scheme://user:password@` at the start of a URL, up to the last `@` before the path. */
const USERINFO_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)[^/?#]*@/i;

/** The same anywhere in a text (a password ends at the first `@`, space or quote). */
const USERINFO_PASSWORD_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s'"]*:)[^@\s'"]*@/gi;

/** A query parameter of a URL in a text: `?name=value` or `&name=value`. */
const QUERY_PARAMETER = /([?&])([^=&#\s'"]+)=([^&#\s'"]*)/g;

/** `Bearer <token>` or `Basic <token>` (RFC 6750's b64token). */
const SCHEME_TOKEN = /\b(Bearer|Basic)([ \t]+)([A-Za-z0-9\-._~+/]+=*)/gi;

/** A scheme-less `user:password@host…` (Ollama's `host` may be written so), as a whole string. */
const BARE_USERINFO = /^(\s*[^\s:/?#@]+:)[^\s/?#@]+@(?=[^\s/?#@])/;

/** A list entry written as a header or an assignment: `Authorization: Bearer …`, `API_KEY=…`. */
const NAMED_ENTRY = /^(\s*)([A-Za-z][\w.-]*)(\s*[:=]\s*)\S/;

/** What a text must contain for any text rule to apply (checked first: most texts contain none). */
const SUSPICIOUS = /[@?&]|bearer|basic/i;

/**
 * The URL with its password (and any secret-looking query parameter, see {@link isSecretKey})
 * replaced by `***`, for messages and log lines. The user name, host, port and path stay, so the
 * reader still sees which server was meant. A URL without a secret is returned exactly as given.
 *
 * @example
 * ```ts
 * redactUrl('redis://:secret@127.0.0.1:6379/0'); // 'redis://:***@127.0.0.1:6379/0'
 * redactUrl('http://user:key@127.0.0.1:8000/v1'); // 'http://user:***@127.0.0.1:8000/v1'
 * ```
 */
export function redactUrl(url: string): string {
  const withoutPassword = url.replace(USERINFO_PASSWORD, `$1${REDACTED_PASSWORD}@`);
  return withoutPassword.includes('?') ? redactQuery(withoutPassword) : withoutPassword;
}

/**
 * A text (an error message, a log line's message) with every credential in it hidden: URL
 * passwords and secret query parameters (`***`), `Bearer`/`Basic` tokens (`[redacted]`).
 * Returns the text itself when there is nothing to hide, cheaply.
 *
 * @example
 * ```ts
 * redactText('cannot reach http://bob:hunter22@db:5432'); // 'cannot reach http://bob:***@db:5432'
 * redactText('sent Authorization: Bearer sk-12345678'); // 'sent Authorization: Bearer [redacted]'
 * ```
 */
export function redactText(text: string): string {
  if (!SUSPICIOUS.test(text)) return text;
  let result = text.includes('@') ? text.replace(USERINFO_PASSWORD_IN_TEXT, `$1${REDACTED_PASSWORD}@`) : text;
  if (result.includes('?')) result = redactQuery(result);
  return result.replace(SCHEME_TOKEN, (whole, scheme: string, space: string, token: string) =>
    looksLikeCredential(token) ? `${scheme}${space}${REDACTED}` : whole,
  );
}

/**
 * A text with every credential {@link redactText} finds hidden, and every occurrence of the
 * given secrets (and of their URL-encoded forms) replaced by `***`. Secrets shorter than 4
 * characters are not searched for: they would mangle the text.
 */
export function redactCredentials(text: string, secrets: readonly string[] = []): string {
  let result = redactText(text);
  for (const secret of secrets) {
    for (const form of new Set([secret, safeDecode(secret), encodeURIComponent(secret)])) {
      if (form.length >= 4) result = result.split(form).join(REDACTED_PASSWORD);
    }
  }
  return result;
}

/**
 * The secrets a URL carries (its password and secret-looking query parameters), decoded, so
 * that {@link redactCredentials} can remove them from messages that quote them.
 */
export function urlSecrets(url: string): string[] {
  try {
    const parsed = new URL(url);
    const secrets = parsed.password === '' ? [] : [safeDecode(parsed.password)];
    for (const [key, value] of parsed.searchParams) if (isSecretKey(key) && value !== '') secrets.push(value);
    return secrets;
  } catch {
    return [];
  }
}

/**
 * A URL without its user name and password, and those credentials as the value of an HTTP
 * `Authorization: Basic` header (what curl and browsers send for `http://user:password@host`;
 * fetch refuses such URLs). For backends that connect to a URL given with credentials.
 *
 * @example
 * ```ts
 * splitUrlCredentials('http://user:pw@127.0.0.1:8000/v1');
 * // { url: 'http://127.0.0.1:8000/v1', authorization: 'Basic dXNlcjpwdw==' }
 * ```
 */
export function splitUrlCredentials(url: string): { readonly url: string; readonly authorization?: string } {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i.exec(url);
  if (match === null) return { url };
  const userinfo = match[2]!;
  const colon = userinfo.indexOf(':');
  const user = safeDecode(colon === -1 ? userinfo : userinfo.slice(0, colon));
  const password = colon === -1 ? '' : safeDecode(userinfo.slice(colon + 1));
  return {
    url: `${match[1]}${url.slice(match[0].length)}`,
    authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
  };
}

/** Options of {@link redactSecrets}. */
export interface RedactOptions {
  /** How deep objects and arrays are searched (default: all the way). */
  readonly depth?: number;
}

/**
 * `value` with every secret hidden, at any depth (up to `depth`), in plain objects and arrays:
 * values of secret-named fields become `[redacted]` ({@link isSecretKey}); strings lose their
 * credentials ({@link redactText}, plus a scheme-less `user:password@host`); a list entry
 * naming a secret (`"Authorization: Bearer …"`) keeps its name only; an error whose message or
 * stack holds a credential is replaced by a plain copy without it. Other class instances are
 * left alone.
 *
 * Copy on write: what contains a secret is copied, the rest is returned as it is (so a log line
 * without secrets costs one walk over its fields). The value given is never changed.
 *
 * @example
 * ```ts
 * redactSecrets({ headers: { authorization: 'Bearer x' }, max_tokens: 5 });
 * // { headers: { authorization: '[redacted]' }, max_tokens: 5 }
 * redactSecrets(['Authorization: Bearer abc', 'Accept: text/plain']);
 * // ['Authorization: [redacted]', 'Accept: text/plain']
 * ```
 */
export function redactSecrets<T>(value: T, options: RedactOptions = {}): T {
  return redactValue(value, options.depth ?? Number.POSITIVE_INFINITY, false) as T;
}

function redactValue(value: unknown, depth: number, inList: boolean): unknown {
  if (typeof value === 'string') return redactString(value, inList);
  if (typeof value !== 'object' || value === null || depth <= 0) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let index = 0; index < value.length; index++) {
      const item = value[index];
      const redacted = redactValue(item, depth - 1, true);
      if (redacted !== item) {
        copy ??= value.slice();
        copy[index] = redacted;
      }
    }
    return copy ?? value;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    return value instanceof Error ? redactError(value) : value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    const redacted =
      item !== undefined && item !== null && item !== '' && isSecretKey(key)
        ? REDACTED
        : redactValue(item, depth - 1, false);
    if (redacted !== item) {
      copy ??= { ...(value as Record<string, unknown>) };
      copy[key] = redacted;
    }
  }
  return copy ?? value;
}

function redactString(text: string, inList: boolean): string {
  if (inList) {
    const named = NAMED_ENTRY.exec(text);
    if (named !== null && isSecretKey(named[2]!)) return `${named[1]}${named[2]}${named[3]}${REDACTED}`;
  }
  if (!SUSPICIOUS.test(text)) return text;
  const redacted = redactText(text);
  return redacted.includes('@') ? redacted.replace(BARE_USERINFO, `$1${REDACTED_PASSWORD}@`) : redacted;
}

/** An error as pino would show it (type, message, stack, code), without credentials; the error itself when it has none. */
function redactError(error: Error): unknown {
  const message = redactText(error.message);
  const stack = error.stack === undefined ? undefined : redactText(error.stack);
  if (message === error.message && stack === error.stack) return error;
  const code = (error as { code?: unknown }).code;
  return {
    type: error.name,
    message,
    ...(stack === undefined ? {} : { stack }),
    ...(code === undefined ? {} : { code }),
  };
}

function redactQuery(text: string): string {
  return text.replace(QUERY_PARAMETER, (whole, separator: string, name: string, value: string) =>
    value !== '' && value !== REDACTED_PASSWORD && isSecretKey(safeDecode(name))
      ? `${separator}${name}=${REDACTED_PASSWORD}`
      : whole,
  );
}

/**
 * A token after `Bearer`/`Basic` that is a credential rather than a word of prose ("Bearer
 * token", "Basic authentication"): 8 characters or more, with a digit, a symbol or a capital
 * letter past the first.
 */
function looksLikeCredential(token: string): boolean {
  return token.length >= 8 && (/[0-9._~+/=-]/.test(token) || /[A-Z]/.test(token.slice(1)));
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
