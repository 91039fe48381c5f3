/**
 * URL redaction for the connections (`redis://:***@host`), from the one set of redaction
 * rules in `core/util/redact.ts`.
 */
export { REDACTED_PASSWORD, redactCredentials, redactUrl, urlSecrets } from '../core/util/redact.ts';
