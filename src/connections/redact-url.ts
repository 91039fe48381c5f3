/** What a password (or another secret) in a URL is replaced with. */
export const REDACTED_PASSWORD = '***';

/** Query parameters that carry secrets (`?password=…`, `?sslpassword=…`, `?auth_token=…`). */
const SECRET_PARAM = /(?:pass(?:word)?|passwd|secret|token)$/i;

/** `scheme://user:password@` at the start of a URL, up to the last `@` before the path. */
const USERINFO_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)[^/?#]*@/i;

/** The same anywhere in a text (a password ends at the first `@`, space or quote). */
const USERINFO_PASSWORD_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s'"]*:)[^@\s'"]*@/gi;

/**
 * The URL with its password (and any secret-looking query parameter) replaced by `***`, for
 * messages and log lines. The user name, host, port and path stay, so the reader still sees
 * which server was meant. A URL without a secret is returned exactly as given.
 *
 * @example
 * ```ts
 * redactUrl('redis://:secret@127.0.0.1:6379/0'); // 'redis://:***@127.0.0.1:6379/0'
 * redactUrl('postgres://user:secret@db/app');     // 'postgres://user:***@db/app'
 * ```
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not a URL the WHATWG parser accepts: still never let a `user:password@` through.
    return url.replace(USERINFO_PASSWORD, `$1${REDACTED_PASSWORD}@`);
  }
  let changed = false;
  if (parsed.password !== '') {
    parsed.password = REDACTED_PASSWORD;
    changed = true;
  }
  for (const key of new Set(parsed.searchParams.keys())) {
    if (SECRET_PARAM.test(key) && parsed.searchParams.get(key) !== '') {
      parsed.searchParams.set(key, REDACTED_PASSWORD);
      changed = true;
    }
  }
  return changed ? parsed.toString() : url;
}

/**
 * A text (an error message, typically) with every `scheme://user:password@` in it redacted,
 * and every occurrence of the given secrets (and of their URL-encoded forms) replaced by `***`.
 * Secrets shorter than 4 characters are not searched for: they would mangle the text.
 */
export function redactCredentials(text: string, secrets: readonly string[] = []): string {
  let result = text.replace(USERINFO_PASSWORD_IN_TEXT, `$1${REDACTED_PASSWORD}@`);
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
    for (const [key, value] of parsed.searchParams) if (SECRET_PARAM.test(key) && value !== '') secrets.push(value);
    return secrets;
  } catch {
    return [];
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
